"""The plan's traffic section, built from each phase's mocked run."""

from __future__ import annotations

from infra.compute.traffic_section import traffic_section
from infra.plan.sections import SECTION_MODULES, section_builders
from tests.conftest import built_phase, phase_config


def test_section_is_registered() -> None:
    assert "infra.compute.traffic_section" in SECTION_MODULES
    assert traffic_section in section_builders()


def test_foundation_section_shows_listeners_weights_and_the_group() -> None:
    section = traffic_section(phase_config("foundation"), built_phase("foundation"))
    rows = {str(part): str(setting) for part, setting in section.rows}
    assert section.failed is False
    assert rows["listener HTTP:80"] == "redirect HTTP_301 to HTTPS:443"
    assert rows["listener HTTPS:443"] == "TLS policy ELBSecurityPolicy-TLS13-1-2-2021-06, forward by weight"
    assert rows["target group ftw-prod-blue-instance"] == "instance targets on port 3000, weight 100%"
    assert rows["target group ftw-prod-green-instance"] == "instance targets on port 3000, weight 0%"
    assert rows["auto scaling group ftw-prod-app-blue"] == ("t4g.large, min 2 / desired 2 / max 4, cooldown 180 s")
    assert rows["  trigger cpu-high"] == ("Scale out the blue group: CPUUtilization Average > 70% for 3 min -> +50%")
    assert rows["  trigger latency-high"] == (
        "Scale out the blue group: TargetResponseTime p95 > 0.5 s for 3 min -> +50%"
    )
    assert rows["  trigger cpu-low"] == "Scale in the blue group: CPUUtilization Average < 30% for 15 min -> -25%"
    assert section.data["weights_percent"] == {"blue": 100, "green": 0}


def test_every_phase_reports_its_load_balancer(phase: str) -> None:
    config = phase_config(phase)
    section = traffic_section(config, built_phase(phase))
    assert section.failed is False
    groups = [part for part, _ in section.rows if str(part).startswith("auto scaling group")]
    assert len(groups) == (0 if config.compute.auto_scaling_group is None else 1)
    assert section.data["tls_policy"] == config.load_balancer.tls_policy.value
