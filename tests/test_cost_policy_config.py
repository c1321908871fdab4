"""The cost pack's per-phase config files are generated from the stack files and kept current."""

from __future__ import annotations

import json

import pytest

from infra.cost.policy_config import BUDGET, FAMILIES, MAX_NODES, NAT_COUNT, cost_policy_config, render
from tests.conftest import PHASES, ROOT, phase_config


@pytest.mark.parametrize("phase", PHASES)
def test_committed_config_is_up_to_date(phase: str) -> None:
    path = ROOT / "policies" / "cost" / "config" / f"{phase}.json"
    assert path.read_text() == render(phase_config(phase)), (
        f"{path} is stale; regenerate with: uv run python -m infra.policy.settings"
    )


def test_config_carries_the_phase_limits() -> None:
    config = phase_config("foundation")
    generated = cost_policy_config(config)
    assert generated["all"] == "mandatory"
    assert generated[BUDGET]["budget_monthly_usd"] == config.budget.monthly_usd
    assert generated[BUDGET]["usage"] == json.loads(config.usage.model_dump_json())
    assert generated[NAT_COUNT] == {"nat_strategy": "single", "expected_nat_gateways": 1}
    group = config.compute.auto_scaling_group
    pools = config.compute.node_pools.values()
    expected_max = (group.max_size if group else 0) + sum(p.max_size for p in pools)
    assert generated[MAX_NODES] == {"max_nodes": expected_max}
    families = {t.split(".")[0] for p in pools for t in p.instance_types} | (
        {group.instance_type.split(".")[0]} if group else set()
    )
    assert generated[FAMILIES] == {"allowed_families": sorted(families)}
