"""Alerting, logs and backups: TLS-only private topics, HTTPS subscriptions, logs and backups kept long enough."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import items, listing, mapping, number, resource_policy
from ._documents import denies_insecure_transport, public_allows

TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BACKUP_PLAN = "aws:backup/plan:Plan"
_PLAINTEXT_PROTOCOLS = ("http",)


def _topic_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not denies_insecure_transport(args.props.get("policy"), "sns"):
        report(
            f"SNS topic policy '{args.name}' does not deny requests without TLS; add a Deny of sns:* to Principal "
            "'*' when aws:SecureTransport is false.",
            None,
        )


def _topic_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    public = public_allows(args.props.get("policy"))
    if public:
        report(
            f"SNS topic policy '{args.name}' allows everyone (Principal '*') in statements {listing(public)} "
            "without a condition; name the publishing services with an aws:SourceAccount condition.",
            None,
        )


def _subscription_protocol(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("protocol") in _PLAINTEXT_PROTOCOLS:
        report(
            f"SNS subscription '{args.name}' delivers over plain HTTP; use protocol 'https' (or email, sqs, lambda).",
            None,
        )


def _log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumDays"]
    days = args.props.get("retentionInDays")
    if days is not None and 0 < days < minimum:
        report(
            f"Log group '{args.name}' keeps logs for {number(days)} days, too short to investigate an incident; "
            f"set retention_in_days to at least {number(minimum)}.",
            None,
        )


def _backup_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumDays"]
    for rule in items(args.props.get("rules")):
        days = mapping(rule.get("lifecycle")).get("deleteAfter")
        if days is not None and days < minimum:
            report(
                f"Backup plan '{args.name}' rule '{rule.get('ruleName')}' deletes recovery points after "
                f"{number(days)} days; set lifecycle.delete_after to at least {number(minimum)}.",
                None,
            )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-sns-topicpolicy-require-tls-only",
        "SNS topic policies must deny requests made without TLS.",
        [TOPIC_POLICY],
        _topic_tls,
    ),
    resource_policy(
        "aws-sns-topicpolicy-disallow-public-principal",
        "SNS topic policies must not allow everyone without a condition.",
        [TOPIC_POLICY],
        _topic_public,
    ),
    resource_policy(
        "aws-sns-topicsubscription-disallow-plain-http",
        "SNS subscriptions must not deliver over plain HTTP.",
        [SUBSCRIPTION],
        _subscription_protocol,
    ),
    resource_policy(
        "aws-cloudwatch-loggroup-require-retention",
        "Log groups must keep logs long enough to investigate an incident.",
        [LOG_GROUP],
        _log_retention,
        {"minimumDays": {"type": "integer", "minimum": 1, "maximum": 3653, "default": 30}},
    ),
    resource_policy(
        "aws-backup-plan-require-retention",
        "Backup plans must keep recovery points long enough to recover.",
        [BACKUP_PLAN],
        _backup_retention,
        {"minimumDays": {"type": "integer", "minimum": 1, "maximum": 36500, "default": 7}},
    ),
]
