"""The estimator on hand-built resources: one behaviour per test, figures from catalog x quantity."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.config.usage import UsageConfig
from infra.cost.catalog import price_catalog
from infra.cost.estimate import ACCOUNT, PricedResource, UnpricedResourceError, estimate

CATALOG = price_catalog()
HOURS = 730


def rate(section: str, item: str) -> float:
    return CATALOG.rate(section, item).value


def usage(**overrides: Any) -> UsageConfig:
    values: dict[str, Any] = dict.fromkeys(UsageConfig.model_fields, 0)
    values.update(overrides)
    return UsageConfig.model_validate(values)


def res(type_: str, name: str, inputs: dict[str, Any], resource_id: str = "") -> PricedResource:
    return PricedResource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:test::scaleplan::{type_}::{name}",
        inputs=inputs,
        resource_id=resource_id,
    )


def monthly(resources: list[PricedResource], **usage_values: Any) -> float:
    return estimate(resources, usage(**usage_values)).total_usd


def test_free_types_and_components_cost_nothing() -> None:
    vpc = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    component = PricedResource(type="scaleplan:network:Network", name="net", urn="u", inputs={}, custom=False)
    assert estimate([vpc, component], usage()).lines == ()


def test_rejects_an_unknown_resource_type() -> None:
    with pytest.raises(UnpricedResourceError, match=r"no price for resource type\(s\) aws:sagemaker/domain:Domain"):
        estimate([res("aws:sagemaker/domain:Domain", "d", {})], usage())


def test_rejects_an_instance_type_without_a_price() -> None:
    group = res(
        "aws:eks/nodeGroup:NodeGroup", "pool", {"instanceTypes": ["x9.huge"], "scalingConfig": {"desiredSize": 1}}
    )
    with pytest.raises(UnpricedResourceError, match=r"no price for 'x9.huge' in 'ec2_on_demand_hour'"):
        estimate([group], usage())


def test_rejects_a_db_class_without_a_price() -> None:
    db = res(
        "aws:rds/instance:Instance", "db", {"engine": "postgres", "instanceClass": "db.x1.huge", "allocatedStorage": 20}
    )
    with pytest.raises(UnpricedResourceError, match=r"no price for 'db.x1.huge'"):
        estimate([db], usage())


def test_rejects_a_cache_node_type_without_a_price() -> None:
    cache = res(
        "aws:elasticache/replicationGroup:ReplicationGroup", "c", {"nodeType": "cache.x1.huge", "numCacheClusters": 2}
    )
    with pytest.raises(UnpricedResourceError, match=r"no price for 'cache.x1.huge'"):
        estimate([cache], usage())


def test_node_group_is_priced_at_desired_size_with_its_disk() -> None:
    group = res(
        "aws:eks/nodeGroup:NodeGroup",
        "pool",
        {
            "instanceTypes": ["m7g.large"],
            "capacityType": "ON_DEMAND",
            "scalingConfig": {"minSize": 2, "desiredSize": 3, "maxSize": 10},
            "diskSize": 50,
        },
    )
    expected = 3 * HOURS * rate("ec2_on_demand_hour", "m7g.large") + 3 * 50 * rate("ebs_gb_month", "gp2")
    assert monthly([group]) == pytest.approx(expected)


def test_spot_pool_gets_the_documented_discount_at_its_dearest_type() -> None:
    group = res(
        "aws:eks/nodeGroup:NodeGroup",
        "burst",
        {
            "instanceTypes": ["m6g.large", "m7g.large"],
            "capacityType": "SPOT",
            "scalingConfig": {"desiredSize": 2},
            "diskSize": 20,
        },
    )
    discount = rate("ec2_spot", "discount_fraction")
    expected = 2 * HOURS * rate("ec2_on_demand_hour", "m7g.large") * (1 - discount) + 2 * 20 * rate(
        "ebs_gb_month", "gp2"
    )
    assert monthly([group]) == pytest.approx(expected)


def test_auto_scaling_group_uses_its_launch_template() -> None:
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "lt",
        {
            "instanceType": "t3.large",
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 30, "volumeType": "gp3"}}],
        },
        resource_id="lt-0123",
    )
    group = res(
        "aws:autoscaling/group:Group",
        "asg",
        {
            "minSize": 2,
            "desiredCapacity": 4,
            "maxSize": 8,
            "launchTemplate": {"id": "lt-0123", "version": "$Latest"},
        },
    )
    expected = 4 * HOURS * rate("ec2_on_demand_hour", "t3.large") + 4 * 30 * rate("ebs_gb_month", "gp3")
    assert monthly([template, group]) == pytest.approx(expected)


def test_rds_multi_az_doubles_and_replicas_are_priced() -> None:
    primary = res(
        "aws:rds/instance:Instance",
        "primary",
        {
            "engine": "postgres",
            "instanceClass": "db.m6g.large",
            "multiAz": True,
            "allocatedStorage": 100,
            "storageType": "gp3",
        },
    )
    replica = res(
        "aws:rds/instance:Instance",
        "replica",
        {
            "replicateSourceDb": "primary",
            "instanceClass": "db.m6g.large",
            "multiAz": False,
            "allocatedStorage": 100,
            "storageType": "gp3",
        },
    )
    per_hour = rate("rds_postgresql_single_az_hour", "db.m6g.large")
    per_gb = rate("rds_storage_gb_month_single_az", "gp3")
    expected = (
        (2 * per_hour * HOURS + 2 * 100 * per_gb)
        + (per_hour * HOURS + 100 * per_gb)
        + 30 * rate("rds_extra", "backup_storage_gb_month_beyond_free")
    )
    assert monthly([primary, replica], rds_backup_storage_gb_beyond_free=30) == pytest.approx(expected)


def test_elasticache_nodes_are_shards_times_replicas_plus_one() -> None:
    cache = res(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "c",
        {
            "engine": "valkey",
            "nodeType": "cache.r7g.large",
            "numNodeGroups": 2,
            "replicasPerNodeGroup": 1,
        },
    )
    assert monthly([cache]) == pytest.approx(4 * HOURS * rate("elasticache_valkey_node_hour", "cache.r7g.large"))


def test_elasticache_num_cache_clusters_counts_nodes() -> None:
    cache = res(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "c",
        {"engine": "redis", "nodeType": "cache.t4g.small", "numCacheClusters": 2},
    )
    assert monthly([cache]) == pytest.approx(2 * HOURS * rate("elasticache_redis_node_hour", "cache.t4g.small"))


def test_nat_data_is_shared_between_gateways() -> None:
    nats = [res("aws:ec2/natGateway:NatGateway", f"nat-{az}", {}) for az in "abc"]
    expected = 3 * HOURS * rate("vpc", "nat_gateway_hour") + 900 * rate("vpc", "nat_gateway_gb")
    assert monthly(nats, nat_processed_gb_per_month=900) == pytest.approx(expected)


def test_log_groups_price_ingestion_and_retained_storage() -> None:
    group = res("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30})
    expected = 100 * rate("cloudwatch", "logs_ingestion_gb") + 100 * (30 / (365 / 12)) * rate(
        "cloudwatch", "logs_storage_gb_month"
    )
    assert monthly([group], log_ingestion_gb_per_month=100) == pytest.approx(expected)


def test_internet_egress_goes_through_the_tiers_after_the_free_allowance() -> None:
    # 15,000 GB: 100 free, 10,240 at the first tier, the remaining 4,660 at the second.
    lines = estimate([], usage(internet_egress_gb_per_month=15_000)).lines
    assert {line.name for line in lines} == {ACCOUNT}
    expected = 10_240 * rate("internet_egress_gb", "first_10tb") + 4_660 * rate("internet_egress_gb", "next_40tb")
    assert sum(line.monthly_usd for line in lines) == pytest.approx(expected)


R2_BUCKET = res("cloudflare:index/r2Bucket:R2Bucket", "edge-media", {"name": "ftw-prod-media"})


def test_r2_is_billed_after_the_free_tier_rounded_up() -> None:
    total = monthly(
        [R2_BUCKET],
        r2_storage_gb=110.5,
        r2_class_a_operations_per_month=1_000_001,
        r2_class_b_operations_per_month=9_000_000,
    )
    expected = 101 * rate("cloudflare_r2", "standard_storage_gb_month") + 1 * rate(
        "cloudflare_r2", "class_a_per_million"
    )
    assert total == pytest.approx(expected)


def test_no_r2_line_without_a_bucket_and_its_usage_is_flagged() -> None:
    result = estimate([], usage(r2_storage_gb=110.5, r2_class_a_operations_per_month=1_000_001))
    assert result.total_usd == 0
    assert not [line for line in result.lines if "R2" in line.item]
    assert set(result.usage_without_carrier) == {"r2_storage_gb", "r2_class_a_operations_per_month"}


def test_instances_with_a_public_address_pay_for_it() -> None:
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "app-blue",
        {"instanceType": "t4g.medium", "networkInterfaces": [{"associatePublicIpAddress": "true"}]},
        resource_id="lt-1",
    )
    group = res("aws:autoscaling/group:Group", "app-blue", {"desiredCapacity": 2, "launchTemplate": {"id": "lt-1"}})
    private = res(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "app-blue",
        {"instanceType": "t4g.medium", "networkInterfaces": [{"associatePublicIpAddress": "false"}]},
        resource_id="lt-1",
    )
    difference = monthly([template, group]) - monthly([private, group])
    assert difference == pytest.approx(2 * HOURS * rate("ec2_public_ipv4_hour", "ipv4"))


def test_internet_facing_alb_pays_lcus_and_one_public_ip_per_zone() -> None:
    alb = res(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        {"loadBalancerType": "application", "internal": False, "subnets": ["s1", "s2", "s3"]},
    )
    expected = HOURS * (
        rate("elb", "alb_hour") + 2.5 * rate("elb", "alb_lcu_hour") + 3 * rate("ec2_public_ipv4_hour", "ipv4")
    )
    assert monthly([alb], alb_average_lcus=2.5) == pytest.approx(expected)


def test_interface_endpoint_is_priced_per_zone() -> None:
    endpoint = res(
        "aws:ec2/vpcEndpoint:VpcEndpoint", "sts", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]}
    )
    gateway = res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"})
    expected = 3 * HOURS * rate("vpc", "interface_endpoint_az_hour") + 10 * rate("vpc", "interface_endpoint_gb")
    assert monthly([endpoint, gateway], interface_endpoint_processed_gb_per_month=10) == pytest.approx(expected)


def test_usage_without_a_carrier_is_reported_not_priced() -> None:
    result = estimate([], usage(alb_average_lcus=3, nat_processed_gb_per_month=10))
    assert result.total_usd == 0
    assert result.usage_without_carrier == ("nat_processed_gb_per_month", "alb_average_lcus")


def test_every_line_carries_its_source() -> None:
    result = estimate([res("aws:kms/key:Key", "k", {}), res("aws:secretsmanager/secret:Secret", "s", {})], usage())
    assert [line.source for line in result.lines] == [
        CATALOG.rate("kms", "key_month").source,
        CATALOG.rate("secrets_manager", "secret_month").source,
    ]
    assert result.total_usd == pytest.approx(rate("kms", "key_month") + rate("secrets_manager", "secret_month"))


@given(st.floats(min_value=0, max_value=400_000), st.floats(min_value=0, max_value=50_000))
def test_egress_cost_grows_with_traffic_at_no_more_than_the_first_tier_rate(gb: float, extra: float) -> None:
    low = monthly([], internet_egress_gb_per_month=gb)
    high = monthly([], internet_egress_gb_per_month=gb + extra)
    assert low <= high + 1e-9
    assert high - low <= extra * rate("internet_egress_gb", "first_10tb") + 1e-6


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=100))
def test_spot_share_never_exceeds_the_group(desired: int, on_demand_percent: int) -> None:
    from infra.cost.estimate import _spot_share

    policy = {
        "instancesDistribution": {"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": on_demand_percent}
    }
    spot = _spot_share(policy, desired)
    assert 0 <= spot <= max(0, desired - 1)


def test_self_signed_issuer_is_free_and_a_private_ca_issuer_is_an_error() -> None:
    free = res("kubernetes:cert-manager.io/v1:Issuer", "self-signed", {"spec": {"selfSigned": {}}})
    assert estimate([free], usage()).lines == ()
    pca = res("kubernetes:cert-manager.io/v1:Issuer", "pca", {"spec": {"awsPCA": {"arn": "x"}}})
    with pytest.raises(UnpricedResourceError, match=r"pca: cert-manager issuer kind \['awsPCA'\] has no price"):
        estimate([pca], usage())


AGENT_CONFIG = {
    "logs": {
        "metrics_collected": {
            "prometheus": {
                "emf_processor": {
                    "metric_namespace": "PgBouncer",
                    "metric_declaration": [
                        {"dimensions": [["ClusterName", "PoolRole", "database"]], "metric_selectors": ["^a$", "^b$"]},
                        {"dimensions": [["ClusterName"], ["ClusterName", "database"]], "metric_selectors": ["^c$"]},
                    ],
                }
            }
        }
    }
}


def test_a_cloudwatch_agent_config_map_pays_for_each_selected_metric_under_each_dimension_set() -> None:
    config_map = res("kubernetes:core/v1:ConfigMap", "agent", {"data": {"agent.json": json.dumps(AGENT_CONFIG)}})
    (line,) = estimate([config_map], usage()).lines
    assert (line.quantity, line.unit) == (2 * 1 + 1 * 2, "metric-months")
    assert line.unit_price_usd == price_catalog().rate("cloudwatch", "custom_metric_month").value


@pytest.mark.parametrize(
    "data",
    [{"pgbouncer.ini": "[pgbouncer]\nlisten_port = 6432\n"}, {"broken.json": '{"emf_processor": '}, {}],
    ids=["plain", "malformed", "empty"],
)
def test_any_other_config_map_is_free(data: dict[str, str]) -> None:
    assert estimate([res("kubernetes:core/v1:ConfigMap", "plain", {"data": data})], usage()).lines == ()
