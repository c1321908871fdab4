"""The cost pack over the analyzer protocol: a compliant baseline, then one mutation per test."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config.usage import UsageConfig
from infra.cost import policy_config as names
from infra.cost.catalog import price_catalog
from infra.plan.capture import CapturedResource
from infra.policy.runner import PackPool, to_struct
from tests.conftest import PHASES, built_phase
from tests.policies.conftest import POLICIES, PackUnderTest

COST = POLICIES / "cost"
RATES = price_catalog()


def resource(type_: str, name: str, inputs: dict[str, Any], resource_id: str = "") -> CapturedResource:
    outputs = {**inputs, "id": resource_id or f"{name}-id"}
    return CapturedResource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:test::scaleplan::{type_}::{name}",
        custom=True,
        inputs=inputs,
        outputs=outputs,
        inputs_struct=to_struct(inputs),
    )


USAGE = {**dict.fromkeys(UsageConfig.model_fields, 0), "nat_processed_gb_per_month": 100}
BASE_CONFIG: dict[str, Any] = {
    "all": "mandatory",
    names.BUDGET: {"budget_monthly_usd": 1000, "region": "us-east-1", "usage": USAGE},
    names.FAMILIES: {"allowed_families": ["m7g", "t4g"]},
    names.MAX_NODES: {"max_nodes": 10},
    names.NAT_COUNT: {"nat_strategy": "single", "expected_nat_gateways": 1},
}


@pytest.fixture
def cost_pack(policy_packs: PackPool) -> PackUnderTest:
    return PackUnderTest(policy_packs.get(COST), BASE_CONFIG)


def nat() -> CapturedResource:
    return resource("aws:ec2/natGateway:NatGateway", "nat-a", {"connectivityType": "public", "subnetId": "subnet-1"})


def eip() -> CapturedResource:
    return resource("aws:ec2/eip:Eip", "nat-a-eip", {"domain": "vpc"})


def node_group(**changes: Any) -> CapturedResource:
    inputs: dict[str, Any] = {
        "instanceTypes": ["m7g.large"],
        "capacityType": "SPOT",
        "scalingConfig": {"minSize": 2, "desiredSize": 2, "maxSize": 6},
        "labels": {"scaleplan.io/pool": "burst"},
        "diskSize": 20,
    }
    inputs.update(changes)
    return resource("aws:eks/nodeGroup:NodeGroup", "pools-burst", inputs)


def log_group(**changes: Any) -> CapturedResource:
    return resource("aws:cloudwatch/logGroup:LogGroup", "app-logs", {"name": "/app", "retentionInDays": 30, **changes})


def template(**changes: Any) -> CapturedResource:
    inputs = {
        "instanceType": "t4g.large",
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 30, "volumeType": "gp3"}}],
        **changes,
    }
    return resource("aws:ec2/launchTemplate:LaunchTemplate", "asg-lt", inputs, "lt-0abc")


def baseline() -> list[CapturedResource]:
    return [nat(), eip(), node_group(), log_group(), template()]


def cost_violations(pack: PackUnderTest, resources: list[CapturedResource], config: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Every cost-pack violation: each resource analyzed, then the stack."""
    pack.configure(config)
    report = pack.process.run(resources)
    return [(d.policy, d.detail) for d in report.diagnostics]


def test_baseline_is_compliant(cost_pack: PackUnderTest) -> None:
    assert cost_violations(cost_pack, baseline()) == []


def test_every_phase_passes_its_committed_config(cost_pack: PackUnderTest) -> None:
    for phase in PHASES:
        config = json.loads((COST / "config" / f"{phase}.json").read_text())
        report = cost_pack.process
        cost_pack.configure(config)
        found = report.run(built_phase(phase).resources)
        assert [(d.policy, d.detail) for d in found.diagnostics] == [], phase


def test_rejects_an_estimate_over_budget(cost_pack: PackUnderTest) -> None:
    hours = RATES.hours
    nat_hours = hours * RATES.rate("vpc", "nat_gateway_hour").value
    nat_data = 100 * RATES.rate("vpc", "nat_gateway_gb").value
    ipv4 = hours * RATES.rate("ec2_public_ipv4_hour", "ipv4").value
    discount = RATES.rate("ec2_spot", "discount_fraction").value
    spot = 2 * hours * RATES.rate("ec2_on_demand_hour", "m7g.large").value * (1 - discount)
    disk = 2 * 20 * RATES.rate("ebs_gb_month", "gp2").value
    total = nat_hours + nat_data + ipv4 + spot + disk
    config = {
        **BASE_CONFIG,
        names.BUDGET: {"budget_monthly_usd": 50, "region": "us-east-1", "usage": USAGE, "top_lines": 2},
    }
    assert cost_pack.stack_violations(baseline(), names.BUDGET, config) == [
        (
            "",
            f"estimated monthly cost ${total:,.2f} is above 100% of the $50.00 budget ($50.00); top cost lines: "
            f"pools-burst m7g.large spot, desired 2 ${spot:,.2f}; nat-a NAT gateway ${nat_hours:,.2f}",
        )
    ]


def test_rejects_a_region_it_has_no_prices_for(cost_pack: PackUnderTest) -> None:
    # Never us-east-1's prices for another region: the budget cannot be judged, which blocks.
    config = {**BASE_CONFIG, names.BUDGET: {**BASE_CONFIG[names.BUDGET], "region": "ap-south-1"}}
    priced = ", ".join(RATES.priced_regions)
    assert cost_pack.stack_violations(baseline(), names.BUDGET, config) == [
        (
            "",
            "cannot estimate the monthly cost: no prices for region 'ap-south-1' in infra/cost/prices.yaml; "
            f"regions with prices: {priced}",
        )
    ]


def test_rejects_a_resource_it_cannot_price(cost_pack: PackUnderTest) -> None:
    unknown = resource("aws:sagemaker/domain:Domain", "notebooks", {})
    assert cost_pack.stack_violations([*baseline(), unknown], names.BUDGET) == [
        (
            "",
            "cannot estimate the monthly cost: no price for resource type(s) aws:sagemaker/domain:Domain: add a "
            "pricer in infra/cost/estimate.py or list the type as free in infra/cost/prices.yaml",
        )
    ]


def test_rejects_an_unlisted_instance_family(cost_pack: PackUnderTest) -> None:
    assert cost_pack.violations(template(instanceType="c7g.2xlarge"), names.FAMILIES) == [
        "instance type 'c7g.2xlarge' is not in a family allowed in this phase (m7g, t4g); use one of them, or add "
        "the type to scaleplan:compute"
    ]


def test_rejects_more_nodes_than_the_phase_allows(cost_pack: PackUnderTest) -> None:
    resources = [nat(), eip(), node_group(scalingConfig={"minSize": 2, "desiredSize": 2, "maxSize": 12})]
    assert cost_pack.stack_violations(resources, names.MAX_NODES) == [
        ("", "the stack can scale to 12 EC2 nodes, above this phase's maximum of 10 (pools-burst 12)")
    ]


def test_rejects_gp2_block_devices(cost_pack: PackUnderTest) -> None:
    gp2 = template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 30, "volumeType": "gp2"}}])
    assert cost_pack.violations(gp2, names.GP2) == [
        "block device /dev/xvda of asg-lt is gp2; use gp3 (cheaper per GB-month, 3,000 IOPS baseline at any size)"
    ]


def test_rejects_an_on_demand_burst_pool(cost_pack: PackUnderTest) -> None:
    assert cost_pack.violations(node_group(capacityType="ON_DEMAND"), names.BURST_SPOT) == [
        "node group pools-burst is a burst pool (scaleplan.io/pool=burst) but runs ON_DEMAND; burst pools must use SPOT"
    ]


def test_rejects_a_nat_count_other_than_the_strategy(cost_pack: PackUnderTest) -> None:
    second = resource("aws:ec2/natGateway:NatGateway", "nat-b", {"connectivityType": "public"})
    assert cost_pack.stack_violations([*baseline(), second], names.NAT_COUNT) == [
        ("", "2 NAT gateways (nat-a, nat-b), but nat_strategy 'single' means 1")
    ]


def test_rejects_a_log_group_without_retention(cost_pack: PackUnderTest) -> None:
    forever = resource("aws:cloudwatch/logGroup:LogGroup", "app-logs", {"name": "/app"})
    assert cost_pack.violations(forever, names.LOG_RETENTION) == [
        "log group app-logs keeps logs forever; set retentionInDays (at most 3653 days)"
    ]


def test_rejects_a_retention_above_the_maximum(cost_pack: PackUnderTest) -> None:
    config = {**BASE_CONFIG, names.LOG_RETENTION: {"max_retention_days": 90}}
    assert cost_pack.violations(log_group(retentionInDays=365), names.LOG_RETENTION, config) == [
        "log group app-logs keeps logs 365 days, more than the maximum of 90"
    ]


def test_pack_prices_a_whole_phase_as_the_estimator_does(cost_pack: PackUnderTest) -> None:
    from infra.cost.estimate import estimate, from_captured
    from tests.conftest import phase_config

    config = phase_config("growth")
    total = estimate(from_captured(built_phase("growth").resources), config.usage).total_usd
    pack_config = names.cost_policy_config(config)
    pack_config[names.BUDGET] = {**pack_config[names.BUDGET], "budget_monthly_usd": total - 1, "top_lines": 1}
    [(_urn, message)] = cost_pack.stack_violations(built_phase("growth").resources, names.BUDGET, pack_config)
    assert message.startswith(f"estimated monthly cost ${total:,.2f} is above 100% of the ${total - 1:,.2f} budget")


def test_budget_is_skipped_not_passed_when_a_size_is_unknown_in_preview(cost_pack: PackUnderTest) -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for an unknown value
    group = node_group()
    previewed = CapturedResource(
        type=group.type,
        name=group.name,
        urn=group.urn,
        custom=True,
        inputs=group.inputs,
        outputs={**group.outputs, "scalingConfig": {"desiredSize": unknown, "maxSize": 6, "minSize": 2}},
        inputs_struct=group.inputs_struct,
    )
    cost_pack.configure()
    report = cost_pack.process.analyze_stack([nat(), eip(), previewed])
    [diagnostic] = [d for d in report.diagnostics if d.policy == names.BUDGET]
    assert diagnostic.skipped_in_preview
    assert diagnostic.enforcement.value == "advisory"


def test_rejects_an_unlisted_family_in_a_node_group(cost_pack: PackUnderTest) -> None:
    assert cost_pack.violations(node_group(instanceTypes=["m7g.large", "r7g.large"]), names.FAMILIES) == [
        "instance type 'r7g.large' is not in a family allowed in this phase (m7g, t4g); use one of them, or add "
        "the type to scaleplan:compute"
    ]


def test_rejects_a_gp2_volume(cost_pack: PackUnderTest) -> None:
    volume = resource("aws:ebs/volume:Volume", "data", {"availabilityZone": "us-east-1a", "size": 100, "type": "gp2"})
    assert cost_pack.violations(volume, names.GP2) == [
        "the volume of data is gp2; use gp3 (cheaper per GB-month, 3,000 IOPS baseline at any size)"
    ]


def test_rejects_a_gp2_storage_class(cost_pack: PackUnderTest) -> None:
    storage_class = resource(
        "kubernetes:storage.k8s.io/v1:StorageClass",
        "ebs",
        {"provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp2"}},
    )
    assert cost_pack.violations(storage_class, names.GP2) == [
        "the storage class of ebs is gp2; use gp3 (cheaper per GB-month, 3,000 IOPS baseline at any size)"
    ]
