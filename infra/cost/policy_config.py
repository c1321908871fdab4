"""The cost pack's ``--policy-pack-config`` for a phase, generated from its ``PhaseConfig``.

:mod:`infra.policy.settings` derives every pack's settings (this pack's and the security
pack's) from the stack file being checked, and writes the committed
``policies/<pack>/config/<stack>.json`` that ``pulumi preview --policy-pack-config`` is given;
``python -m infra.cost.policy_config`` is kept as a shorthand for it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from infra.config import PhaseConfig
from infra.config.network import NatStrategy

BUDGET = "scaleplan-cost-stack-disallow-over-budget"
FAMILIES = "aws-ec2-instance-disallow-unlisted-families"
MAX_NODES = "aws-ec2-capacity-limit-max-nodes"
GP2 = "aws-ebs-volume-disallow-gp2"
BURST_SPOT = "aws-eks-nodegroup-require-spot-for-burst"
NAT_COUNT = "aws-ec2-natgateway-require-strategy-count"
LOG_RETENTION = "aws-cloudwatch-loggroup-require-finite-retention"


def allowed_families(config: PhaseConfig) -> list[str]:
    compute = config.compute
    types = [t for pool in compute.node_pools.values() for t in pool.instance_types]
    if compute.auto_scaling_group is not None:
        types.append(compute.auto_scaling_group.instance_type)
    return sorted({name.split(".")[0] for name in types})


def max_nodes(config: PhaseConfig) -> int:
    compute = config.compute
    total = sum(pool.max_size for pool in compute.node_pools.values())
    if compute.auto_scaling_group is not None:
        total += compute.auto_scaling_group.max_size
    return total


def expected_nat_gateways(config: PhaseConfig) -> int:
    network = config.network
    return {
        NatStrategy.NONE: 0,
        NatStrategy.SINGLE: 1,
        NatStrategy.ONE_PER_AZ: len(network.availability_zones),
    }[network.nat_strategy]


def cost_policy_config(config: PhaseConfig) -> dict[str, Any]:
    """Every cost policy mandatory, with this phase's limits."""
    return {
        "all": "mandatory",
        BUDGET: {
            "budget_monthly_usd": config.budget.monthly_usd,
            "region": config.environment.region,
            "usage": config.usage.model_dump(mode="json"),
        },
        FAMILIES: {"allowed_families": allowed_families(config)},
        MAX_NODES: {"max_nodes": max_nodes(config)},
        NAT_COUNT: {
            "nat_strategy": config.network.nat_strategy.value,
            "expected_nat_gateways": expected_nat_gateways(config),
        },
    }


def render(config: PhaseConfig) -> str:
    """The file text of ``policies/cost/config/<phase>.json``."""
    return json.dumps(cost_policy_config(config), indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Regenerate every pack's committed config from the stack files (:mod:`infra.policy.settings`)."""
    from infra.policy.settings import main as regenerate  # noqa: PLC0415 - it imports this module

    return regenerate([])


if __name__ == "__main__":
    sys.exit(main())
