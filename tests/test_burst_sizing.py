"""Burstable classes in unlimited mode: the peak on full vCPUs, the average against the credit
baseline, the surplus priced (``burst_sizing``; docs/cost.md, "Burstable classes").

The figures are worked by hand from CutListCreator's day-30 example
(examples/cutlistcreator-30-60-90/Pulumi.day30.yaml): 100 requests/s at the peak, 33.3 on
average (peak / 3), 50 requests/s per application vCPU, up to 2 x t4g.small, 4 statements a
request, 1,000 statements/s per database vCPU.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.capacity import HOURS_PER_MONTH, average_vcpus, surplus_credit_vcpu_hours
from infra.config import PhaseConfig
from infra.config.capacity import BurstSizing
from infra.config.errors import PhaseConfigError
from infra.config.loader import parse_phase_config
from infra.cost.catalog import price_catalog
from infra.cost.estimate import PricedResource, estimate
from infra.data_tier_capacity import database_surplus_credit_vcpu_hours
from tests.test_cost_estimate import res, usage

DRAFT = Path(__file__).resolve().parent.parent / "examples/cutlistcreator-30-60-90/Pulumi.day30.yaml"
SOURCE = "Pulumi.day30.yaml"


@functools.cache
def _parsed() -> dict[str, Any]:
    return dict(yaml.safe_load(DRAFT.read_text())["config"])


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            _merge(into[name], value)
        else:
            into[name] = value


def draft(**changes: dict[str, Any]) -> dict[str, Any]:
    """The day-30 example's config with ``changes`` merged into ``scaleplan:<key>``."""
    config = copy.deepcopy(_parsed())
    for key, values in changes.items():
        _merge(config[f"scaleplan:{key}"], values)
    return config


def parsed(config: dict[str, Any]) -> PhaseConfig:
    return parse_phase_config(config, SOURCE)


def rejection(config: dict[str, Any]) -> str:
    with pytest.raises(PhaseConfigError) as error:
        parsed(config)
    return str(error.value)


# --- the arithmetic ---------------------------------------------------------------------------


def test_surplus_is_the_average_above_the_baseline_for_a_month() -> None:
    # 1.33 vCPUs on average against one t4g.small's 0.4: 0.93 x 730 h.
    assert surplus_credit_vcpu_hours(100 / 3 / 25, 0.4) == pytest.approx((100 / 3 / 25 - 0.4) * 730)


def test_no_surplus_at_or_below_the_baseline() -> None:
    assert surplus_credit_vcpu_hours(0.4, 0.4) == 0
    assert surplus_credit_vcpu_hours(0.1, 0.4) == 0


def test_the_average_carries_no_headroom() -> None:
    # Headroom is capacity kept for the peak; credits are billed on the CPU actually used.
    assert average_vcpus(100 / 3, 25) == pytest.approx(1.333333333)


def test_the_month_is_the_cost_catalogs() -> None:
    assert price_catalog().hours == HOURS_PER_MONTH


@given(
    average=st.floats(min_value=0, max_value=1000, allow_nan=False),
    baseline=st.floats(min_value=0, max_value=1000, allow_nan=False),
    more=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_more_average_load_never_costs_fewer_credits(average: float, baseline: float, more: float) -> None:
    assert surplus_credit_vcpu_hours(average + more, baseline) >= surplus_credit_vcpu_hours(average, baseline)


# --- the application's group ------------------------------------------------------------------


def test_unlimited_counts_a_burstable_group_at_its_full_vcpus_at_the_peak() -> None:
    group = parsed(draft()).compute.auto_scaling_group
    assert group is not None
    assert (group.burst_sizing, group.max_sustained_vcpus()) == (BurstSizing.UNLIMITED, 4.0)


def test_baseline_counts_a_burstable_group_at_its_credit_baseline() -> None:
    # 2 x t4g.small at 20% of 2 vCPUs = 0.8: far below the 3 vCPUs the peak needs.
    message = rejection(draft(compute={"auto_scaling_group": {"burst_sizing": "baseline"}}))
    assert "scaleplan:compute: at most 0.8 sustained application vCPUs" in message


def test_the_application_surplus_is_the_average_above_the_desired_instances_baseline() -> None:
    config = parsed(draft())
    expected = (100 / 3 / 50 - 1 * 2 * 0.20) * 730
    assert config.surplus_credit_vcpu_hours()["ec2_surplus_credit_vcpu_hours_per_month"] == pytest.approx(expected)


def test_rejects_stated_surplus_below_the_model() -> None:
    message = rejection(draft(usage={"ec2_surplus_credit_vcpu_hours_per_month": 150}))
    assert message == (
        "Pulumi.day30.yaml: scaleplan:usage.ec2_surplus_credit_vcpu_hours_per_month: must be at least 194.667: "
        "the average load above the CPU-credit baseline of the burstable servers in unlimited mode is billed as "
        'surplus credits (docs/cost.md, "Burstable classes"); state 194.667 or more (got 150)'
    )


def test_rejects_a_desired_size_that_cannot_carry_the_average() -> None:
    # 0.67 vCPU on average on one t4g.small: 2 vCPUs x 70% = 1.4 carry it; at 30%, 0.6 do not.
    scaling = {"cpu_scale_out_percent": 30, "cpu_scale_in_percent": 20}
    message = rejection(draft(compute={"auto_scaling_group": {"scaling": scaling}}))
    assert "scaleplan:compute.auto_scaling_group.desired_capacity: 1 x t4g.small (2 vCPUs) under the 30%" in message
    assert "less than the average load of 0.666667 vCPUs" in message


def test_rejects_unlimited_for_a_fixed_performance_type() -> None:
    message = rejection(draft(compute={"auto_scaling_group": {"instance_type": "m7g.large"}}))
    assert "scaleplan:compute.auto_scaling_group.burst_sizing: unlimited applies to burstable (T) types only" in message


def test_burst_sizing_defaults_to_the_credit_baseline() -> None:
    config = draft()
    del config["scaleplan:compute"]["auto_scaling_group"]["burst_sizing"]
    del config["scaleplan:database"]["burst_sizing"]
    message = rejection(config)
    assert "sustained application vCPUs" in message


# --- the database -----------------------------------------------------------------------------


def test_unlimited_counts_a_db_t4g_class_at_its_full_vcpus() -> None:
    config = parsed(draft())
    (cpu,) = [r for r in config.data_tier_requirements() if r.what == "database primary vCPUs"]
    assert (cpu.needed, cpu.available) == (pytest.approx(0.6), 2.0)
    assert "db.t4g.micro sustains 2 in unlimited mode" in cpu.arithmetic


def test_baseline_counts_a_db_t4g_class_at_its_credit_baseline() -> None:
    # db.t4g.micro: 2 vCPUs at 10% = 0.2, below the peak's 0.6.
    message = rejection(draft(database={"burst_sizing": "baseline"}))
    assert "scaleplan:database.instance_class: cannot carry the peak: database primary vCPUs: 0.60 vCPUs needed" in (
        message
    )


def test_database_surplus_is_the_average_statements_above_the_baseline() -> None:
    # 300 requests/s at the peak, 100 on average x 4 = 400 statements/s = 0.4 vCPUs against 0.2.
    config = parsed(draft())
    busier = config.capacity.model_copy(update={"requests_per_concurrent_user_per_second": 3.0})
    assert database_surplus_credit_vcpu_hours(busier, config.database) == pytest.approx(0.2 * 730)


def test_database_surplus_under_the_baseline_is_zero() -> None:
    # 33.3 requests/s x 4 = 133 statements/s = 0.13 vCPUs, under db.t4g.micro's 0.2.
    config = parsed(draft())
    assert database_surplus_credit_vcpu_hours(config.capacity, config.database) == 0


def test_rejects_unlimited_for_a_fixed_performance_class() -> None:
    message = rejection(draft(database={"instance_class": "db.m7g.large"}))
    assert "scaleplan:database.burst_sizing: unlimited applies to burstable (db.t4g) classes only" in message


# --- the estimate -----------------------------------------------------------------------------


def _group(template_inputs: dict[str, Any]) -> list[PricedResource]:
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate", "lt", {"instanceType": "t4g.small", **template_inputs}, "lt-1"
    )
    group = res(
        "aws:autoscaling/group:Group",
        "asg",
        {"minSize": 1, "desiredCapacity": 1, "maxSize": 3, "launchTemplate": {"id": "lt-1"}},
    )
    return [template, group]


def _credit_lines(resources: list[PricedResource], **values: Any) -> list[tuple[str, float]]:
    return [
        (line.name, line.monthly_usd) for line in estimate(resources, usage(**values)).lines if "credits" in line.item
    ]


def test_an_unlimited_group_pays_its_surplus_credits_per_vcpu_hour() -> None:
    lines = _credit_lines(
        _group({"creditSpecification": {"cpuCredits": "unlimited"}}), ec2_surplus_credit_vcpu_hours_per_month=682
    )
    rate = price_catalog().rate("burstable_surplus_credits", "ec2_t4g_linux").value
    assert lines == [("asg", pytest.approx(682 * rate))]


def test_a_group_without_unlimited_mode_has_no_credit_line_and_its_usage_is_flagged() -> None:
    resources = _group({})
    result = estimate(resources, usage(ec2_surplus_credit_vcpu_hours_per_month=682))
    assert [line for line in result.lines if "credits" in line.item] == []
    assert result.usage_without_carrier == ("ec2_surplus_credit_vcpu_hours_per_month",)


def test_a_burstable_rds_instance_pays_its_credits_and_a_fixed_class_does_not_carry_them() -> None:
    rate = price_catalog().rate("burstable_surplus_credits", "rds_t4g").value
    burstable = res("aws:rds/instance:Instance", "db", {"instanceClass": "db.t4g.micro", "engine": "postgres"})
    assert _credit_lines([burstable], rds_surplus_credit_vcpu_hours_per_month=146) == [
        ("db", pytest.approx(146 * rate))
    ]
    fixed = res("aws:rds/instance:Instance", "db", {"instanceClass": "db.r6g.large", "engine": "postgres"})
    result = estimate([fixed], usage(rds_surplus_credit_vcpu_hours_per_month=146))
    assert result.usage_without_carrier == ("rds_surplus_credit_vcpu_hours_per_month",)


def test_surplus_credit_prices_keep_their_sources() -> None:
    for item in ("ec2_t4g_linux", "rds_t4g"):
        rate = price_catalog().rate("burstable_surplus_credits", item)
        assert rate.source.startswith("AWS, Amazon ")
        assert "https://aws.amazon.com/" in rate.source
