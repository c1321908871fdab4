"""IAM: no wildcard grants, no administrator policies, only named principals trusted, IRSA bound to one account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import listing, mapping, resource_policy
from ._documents import allows, as_list, label, public_allows, statements

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INLINE_POLICIES = (
    ROLE_POLICY,
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ADMIN_POLICIES = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
]


def _wildcard(action: object) -> bool:
    text = str(action)
    return text == "*" or text.endswith(":*")


def _broad_grants(statement: Mapping[str, Any]) -> list[str]:
    problems = [f"Action {a}" for a in as_list(statement.get("Action")) if _wildcard(a)]
    problems += [key for key in ("NotAction", "NotResource") if key in statement]
    return problems


def _no_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for index, statement in enumerate(statements(args.props.get("policy"))):
        if not allows(statement):
            continue
        problems = _broad_grants(statement)
        if problems:
            report(
                f"IAM policy '{args.name}' statement {label(statement, index)} allows {listing(problems)}; "
                "list the actions and resources the principal needs.",
                None,
            )


def _no_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    forbidden = list(args.get_config()["forbiddenPolicyArns"])
    if args.props.get("policyArn") in forbidden:
        report(
            f"Policy attachment '{args.name}' grants {args.props.get('policyArn')}; attach a policy scoped to the "
            "role's job instead.",
            None,
        )


def _trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    public = public_allows(args.props.get("assumeRolePolicy"))
    if public:
        report(
            f"Role '{args.name}' may be assumed by anyone (Principal '*' in statements {listing(public)}); "
            "name the trusted service, account or identity provider.",
            None,
        )


def _irsa_subject(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for index, statement in enumerate(statements(args.props.get("assumeRolePolicy"))):
        federated = [str(f) for f in as_list(mapping(statement.get("Principal")).get("Federated"))]
        if not allows(statement) or not any(":oidc-provider/" in f for f in federated):
            continue
        keys = [k for op in ("StringEquals",) for k in mapping(mapping(statement.get("Condition")).get(op))]
        if not any(k.endswith(":sub") for k in keys) or not any(k.endswith(":aud") for k in keys):
            report(
                f"Role '{args.name}' trusts an OIDC provider in statement {label(statement, index)} without "
                "StringEquals on both :sub (one service account) and :aud (sts.amazonaws.com); any pod could "
                "assume it.",
                None,
            )


def _oidc_audience(args: ResourceValidationArgs, report: ReportViolation) -> None:
    audiences = [str(a) for a in as_list(args.props.get("clientIdLists"))]
    if audiences != ["sts.amazonaws.com"]:
        report(
            f"OIDC provider '{args.name}' accepts audiences {listing(audiences) or 'none'}; set "
            "client_id_lists=['sts.amazonaws.com'].",
            None,
        )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-iam-policy-disallow-wildcard-actions",
        "IAM policies must not allow whole services (service:*), every action, NotAction or NotResource.",
        INLINE_POLICIES,
        _no_wildcards,
    ),
    resource_policy(
        "aws-iam-policyattachment-disallow-admin-policies",
        "Roles must not be given administrator-level AWS managed policies.",
        ATTACHMENTS,
        _no_admin,
        {"forbiddenPolicyArns": {"type": "array", "items": {"type": "string"}, "default": ADMIN_POLICIES}},
    ),
    resource_policy(
        "aws-iam-role-disallow-public-trust",
        "Roles must not be assumable by everyone.",
        [ROLE],
        _trust,
    ),
    resource_policy(
        "aws-iam-role-require-irsa-subject-condition",
        "Roles trusted by an EKS OIDC provider must be bound to one service account and the STS audience.",
        [ROLE],
        _irsa_subject,
    ),
    resource_policy(
        "aws-iam-openidconnectprovider-restrict-audience",
        "EKS OIDC providers must accept only the STS audience.",
        [OIDC_PROVIDER],
        _oidc_audience,
    ),
]
