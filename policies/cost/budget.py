"""The estimated monthly cost of the stack against the phase's budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from infra.config.usage import UsageConfig
from infra.cost.catalog import UnknownPriceError
from infra.cost.estimate import Estimate, PricedResource, estimate
from infra.cost.policy_config import BUDGET

# Type-token packages of our own component resources: they group children and cost nothing.
_COMPONENT_PACKAGES = ("scaleplan:",)


def _integral(value: Any) -> Any:
    """Protobuf numbers are doubles; the usage model's counts are strict integers."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def usage_from_config(config: Mapping[str, Any]) -> UsageConfig:
    return UsageConfig.model_validate({k: _integral(v) for k, v in dict(config["usage"]).items()})


def _resource_id(props: Mapping[str, Any]) -> str:
    # A resource to be created has no ID yet during preview; only references need it.
    try:
        return str(props.get("id") or "")
    except UnknownValueError:
        return ""


def priced(args: StackValidationArgs) -> list[PricedResource]:
    """The stack's resources for the estimator (a sizing input unknown in preview raises
    ``UnknownValueError``, which the SDK reports as "can't run during preview", not a pass)."""
    return [
        PricedResource(
            type=r.resource_type,
            name=r.name,
            urn=r.urn,
            inputs=r.props,
            resource_id=_resource_id(r.props),
            custom=not r.resource_type.startswith(_COMPONENT_PACKAGES),
        )
        for r in args.resources
    ]


def over_budget_message(result: Estimate, budget_usd: float, max_percent: float, top_lines: int) -> str | None:
    limit = budget_usd * max_percent / 100
    if result.total_usd <= limit:
        return None
    top = "; ".join(f"{line.name} {line.item} ${line.monthly_usd:,.2f}" for line in result.top(top_lines))
    return (
        f"estimated monthly cost ${result.total_usd:,.2f} is above {max_percent:g}% of the "
        f"${budget_usd:,.2f} budget (${limit:,.2f}); top cost lines: {top}"
    )


def _validate(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    try:
        result = estimate(priced(args), usage_from_config(config), region=str(config["region"]))
    except (UnknownPriceError, ValueError) as exc:
        report(f"cannot estimate the monthly cost: {exc}", None)
        return
    message = over_budget_message(
        result, float(config["budget_monthly_usd"]), float(config["max_percent_of_budget"]), int(config["top_lines"])
    )
    if message:
        report(message, None)


policy = StackValidationPolicy(
    name=BUDGET,
    description=(
        "The estimated monthly cost (infra/cost estimator at the region's prices, 730 h, groups at "
        "desired size) stays within the phase budget."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate,
    config_schema=PolicyConfigSchema(
        properties={
            "budget_monthly_usd": {"type": "number", "exclusiveMinimum": 0},
            "region": {"type": "string", "minLength": 1},
            "max_percent_of_budget": {"type": "number", "exclusiveMinimum": 0, "default": 100},
            "top_lines": {"type": "integer", "minimum": 1, "default": 5},
            "usage": {"type": "object"},
        },
        required=["budget_monthly_usd", "region", "usage"],
    ),
)
