"""NAT gateways: as many as the configured NAT strategy implies, no more."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.cost.policy_config import NAT_COUNT


def _validate(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    expected = int(config["expected_nat_gateways"])
    found = [r.name for r in args.resources if r.resource_type == "aws:ec2/natGateway:NatGateway"]
    if len(found) != expected:
        report(
            f"{len(found)} NAT gateways ({', '.join(found) or 'none'}), but nat_strategy "
            f"{config['nat_strategy']!r} means {expected}",
            None,
        )


policy = StackValidationPolicy(
    name=NAT_COUNT,
    description=(
        "The stack has exactly the NAT gateways its scaleplan:network.nat_strategy implies "
        "(each is billed by the hour plus per GB)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate,
    config_schema=PolicyConfigSchema(
        properties={
            "nat_strategy": {"type": "string", "enum": ["none", "single", "one_per_az"]},
            "expected_nat_gateways": {"type": "integer", "minimum": 0},
        },
        required=["nat_strategy", "expected_nat_gateways"],
    ),
)
