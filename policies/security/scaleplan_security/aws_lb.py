"""Application load balancers: HTTPS with a modern TLS policy, HTTP only to redirect, invalid headers dropped."""

from __future__ import annotations

from pulumi_policy import (
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import is_true, items, listing, mapping, resource_policy

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
TLS_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
]
"""AWS ELB security policies that accept only TLS 1.2 and later."""


def _is_application(props: object) -> bool:
    return mapping(props).get("loadBalancerType") in (None, "application")


def _drop_invalid_headers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_application(args.props) and not is_true(args.props.get("dropInvalidHeaderFields")):
        report(
            f"Load balancer '{args.name}' forwards requests with invalid HTTP headers; "
            "set drop_invalid_header_fields=True.",
            None,
        )


def _access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    logs = mapping(args.props.get("accessLogs"))
    if not is_true(logs.get("enabled")) or not logs.get("bucket"):
        report(
            f"Load balancer '{args.name}' does not write access logs; set access_logs with enabled=True and a bucket.",
            None,
        )


def _deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("enableDeletionProtection")):
        report(
            f"Load balancer '{args.name}' can be deleted by one call; set enable_deletion_protection=True.",
            None,
        )


def _desync(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mode = args.props.get("desyncMitigationMode")
    if _is_application(args.props) and mode == "monitor":
        report(
            f"Load balancer '{args.name}' only monitors HTTP desync (request smuggling); set "
            "desync_mitigation_mode to 'defensive' or 'strictest'.",
            None,
        )


def _tls_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("protocol") not in ("HTTPS", "TLS"):
        return
    allowed = list(args.get_config()["allowedPolicies"])
    policy = args.props.get("sslPolicy")
    if policy not in allowed:
        shown = "unset (AWS default ELBSecurityPolicy-2016-08 accepts TLS 1.0)" if policy is None else repr(policy)
        report(
            f"Listener '{args.name}' uses TLS policy {shown}; set ssl_policy to one of {listing(allowed)}.",
            None,
        )


def _http_redirects(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("protocol") != "HTTP":
        return
    for action in items(args.props.get("defaultActions")):
        redirect = mapping(action.get("redirect"))
        if action.get("type") != "redirect" or redirect.get("protocol") != "HTTPS":
            report(
                f"HTTP listener '{args.name}' has a '{action.get('type')}' default action; plain HTTP may only "
                "redirect to HTTPS (type='redirect', redirect.protocol='HTTPS', status_code='HTTP_301').",
                None,
            )


def _listeners_of(balancer: PolicyResource, listeners: list[PolicyResource]) -> list[PolicyResource]:
    arn = balancer.props.get("arn")
    return [
        listener
        for listener in listeners
        if balancer.urn in {d.urn for d in listener.property_dependencies.get("loadBalancerArn", [])}
        or (arn and listener.props.get("loadBalancerArn") == arn)
    ]


def _https_listener(args: StackValidationArgs, report: ReportViolation) -> None:
    listeners = [r for r in args.resources if r.resource_type in LISTENERS]
    for balancer in args.resources:
        if balancer.resource_type not in LOAD_BALANCERS or not _is_application(balancer.props):
            continue
        protocols = sorted({str(li.props.get("protocol")) for li in _listeners_of(balancer, listeners)})
        if "HTTPS" not in protocols:
            report(
                f"Load balancer '{balancer.name}' has no HTTPS listener (listeners: {listing(protocols) or 'none'}); "
                "add an HTTPS listener with a certificate.",
                balancer.urn,
            )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-lb-loadbalancer-enable-drop-invalid-headers",
        "Application load balancers must drop invalid HTTP header fields.",
        LOAD_BALANCERS,
        _drop_invalid_headers,
    ),
    resource_policy(
        "aws-lb-loadbalancer-enable-access-logs",
        "Load balancers must write access logs.",
        LOAD_BALANCERS,
        _access_logs,
    ),
    resource_policy(
        "aws-lb-loadbalancer-enable-deletion-protection",
        "Load balancers must have deletion protection.",
        LOAD_BALANCERS,
        _deletion_protection,
    ),
    resource_policy(
        "aws-lb-loadbalancer-disallow-desync-monitor-mode",
        "Application load balancers must mitigate HTTP desync, not only monitor it.",
        LOAD_BALANCERS,
        _desync,
    ),
    resource_policy(
        "aws-lb-listener-require-modern-tls-policy",
        "HTTPS and TLS listeners must use a TLS 1.2+ security policy.",
        LISTENERS,
        _tls_policy,
        {"allowedPolicies": {"type": "array", "items": {"type": "string"}, "minItems": 1, "default": TLS_POLICIES}},
    ),
    resource_policy(
        "aws-lb-listener-restrict-http-to-redirect",
        "HTTP listeners may only redirect to HTTPS.",
        LISTENERS,
        _http_redirects,
    ),
    StackValidationPolicy(
        name="aws-lb-loadbalancer-require-https-listener",
        description="Application load balancers must serve HTTPS.",
        validate=_https_listener,
    ),
]
