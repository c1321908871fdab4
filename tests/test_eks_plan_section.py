"""The plan's compute section, built from each phase's config and mocked run."""

from __future__ import annotations

import dataclasses

from infra.compute.plan_section import compute_section
from infra.plan.capture import ProgramRun
from infra.plan.sections import section_builders
from tests.conftest import built_phase, phase_config


def test_compute_section_is_registered() -> None:
    assert compute_section in section_builders()


def test_optimize_section_lists_pools_ranges_and_capacity() -> None:
    section = compute_section(phase_config("optimize"), built_phase("optimize"))
    rows = {row[1]: row for row in section.rows}
    assert rows["base"] == ["eks", "base", "m7g.large", "ON_DEMAND", 2, 2, 8, 2, 16, True]
    assert rows["burst"] == [
        "eks",
        "burst",
        "m7g.large, m6g.large",
        "SPOT",
        4,
        "4 (from capacity)",
        24,
        2,
        48,
        True,
    ]
    assert section.data["required_vcpus"] == 36
    assert section.notes[0].startswith("capacity: 36 vCPUs needed at the peak, 64 sustained available ")
    assert section.failed is False


def test_foundation_section_shows_the_auto_scaling_group_only() -> None:
    config = phase_config("foundation")
    group = config.compute.auto_scaling_group
    assert group is not None
    section = compute_section(config, built_phase("foundation"))
    assert [row[0] for row in section.rows] == ["ec2 asg"]
    assert section.rows[0][2:7] == [
        group.instance_type,
        "ON_DEMAND",
        group.min_size,
        group.desired_capacity,
        group.max_size,
    ]
    assert section.data["node_pools"] == 0


def test_section_fails_when_a_declared_range_differs_from_the_file() -> None:
    run = built_phase("growth")
    tampered = []
    for resource in run.resources:
        if resource.type == "aws:eks/nodeGroup:NodeGroup" and resource.name == "node-pools-base":
            scaling = {**resource.inputs["scalingConfig"], "maxSize": 99}
            tampered.append(dataclasses.replace(resource, inputs={**resource.inputs, "scalingConfig": scaling}))
        else:
            tampered.append(resource)
    section = compute_section(
        phase_config("growth"), ProgramRun(resources=tuple(tampered), stack_outputs=run.stack_outputs)
    )
    assert section.failed is True
    assert "node group base: declared (2, 2, 99), stack file says (2, 2, 4)" in section.notes
