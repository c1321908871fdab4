"""CloudWatch log groups: finite retention, so stored logs stop growing."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from infra.cost.policy_config import LOG_RETENTION
from policies.cost.props import number


def _validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return
    limit = int(args.get_config()["max_retention_days"])
    days = int(number(args.props.get("retentionInDays")))
    if days <= 0:
        report(f"log group {args.name} keeps logs forever; set retentionInDays (at most {limit} days)", None)
    elif days > limit:
        report(f"log group {args.name} keeps logs {days} days, more than the maximum of {limit}", None)


policy = ResourceValidationPolicy(
    name=LOG_RETENTION,
    description=(
        "Every CloudWatch log group sets a finite retention (storage is billed per GB-month, forever otherwise)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate,
    config_schema=PolicyConfigSchema(
        properties={"max_retention_days": {"type": "integer", "minimum": 1, "default": 3653}}
    ),
)
