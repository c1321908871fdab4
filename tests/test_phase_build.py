"""Every phase built whole under mocks."""

from __future__ import annotations

from collections import Counter

from tests.conftest import built_phase


def test_each_phase_builds_a_vpc_in_three_zones(phase: str) -> None:
    run = built_phase(phase)
    assert len(run.of_type("aws:ec2/vpc:Vpc")) == 1
    zones = Counter(s.inputs["availabilityZone"] for s in run.of_type("aws:ec2/subnet:Subnet"))
    assert zones == {"us-east-1a": 3, "us-east-1b": 3, "us-east-1c": 3}
