"""The plan's data tier section for every phase, and its failure when the run disagrees."""

from __future__ import annotations

import dataclasses

import pytest

from infra.database.plan_section import data_tier_section
from infra.plan.capacity_section import capacity_section
from infra.plan.capture import ProgramRun
from infra.plan.sections import SECTION_MODULES, SECTIONS
from tests.conftest import PHASES, built_phase, phase_config


def test_section_is_registered() -> None:
    assert "infra.database.plan_section" in SECTION_MODULES
    assert data_tier_section in SECTIONS


@pytest.mark.parametrize("phase", PHASES)
def test_section_shows_each_instance_and_the_cache(phase: str) -> None:
    config = phase_config(phase)
    section = data_tier_section(config, built_phase(phase))
    assert not section.failed
    names = [row[0] for row in section.rows]
    replicas = [f"database-replica-{i}" for i in range(1, config.database.read_replica_count + 1)]
    assert names == ["database-primary", *replicas, "cache-replication-group"]
    primary = section.rows[0]
    budget = config.database.connection_budget()
    assert primary[1:5] == [
        config.database.instance_class,
        config.database.instance.vcpus,
        config.database.instance.memory_gib,
        True,
    ]
    assert primary[7] == budget.max_connections
    cache = section.rows[-1]
    assert cache[8] == f"{config.cache.shards} x {1 + config.cache.replicas_per_shard} (enabled)"
    assert section.data["max_connections"] == budget.max_connections
    assert section.data["cache_nodes"] == config.cache.node_count


def test_optimize_figures() -> None:
    section = data_tier_section(phase_config("optimize"), built_phase("optimize"))
    assert [row[5] for row in section.rows[1:3]] == ["us-east-1b", "us-east-1c"]
    assert section.notes[0] == "PostgreSQL 16 (postgres16): max_connections 256 from 16 GiB, 10 reserved, 246 for pools"
    assert section.rows[-1][8] == "2 x 2 (enabled)"


def test_section_fails_when_a_replica_is_missing_from_the_run() -> None:
    run = built_phase("optimize")
    without = ProgramRun(
        resources=tuple(r for r in run.resources if r.name != "database-replica-2"),
        stack_outputs=run.stack_outputs,
    )
    section = data_tier_section(phase_config("optimize"), without)
    assert section.failed
    assert "declared 2 PostgreSQL instances, the stack file asks for 1 + 2" in section.notes


def test_section_fails_when_a_class_differs_from_the_stack_file() -> None:
    run = built_phase("growth")
    changed = tuple(
        dataclasses.replace(r, inputs={**r.inputs, "instanceClass": "db.r7g.large"})
        if r.name == "database-primary"
        else r
        for r in run.resources
    )
    section = data_tier_section(phase_config("growth"), ProgramRun(resources=changed, stack_outputs={}))
    assert section.failed
    assert "a declared instance is not db.t4g.large" in section.notes


def test_connection_budget_is_shown_as_checkable_arithmetic() -> None:
    scale = data_tier_section(phase_config("scale"), built_phase("scale"))
    pgbouncer = phase_config("scale").pgbouncer
    assert pgbouncer is not None
    rw = pgbouncer.autoscaling.max_replicas * (pgbouncer.default_pool_size + pgbouncer.reserve_pool_size)
    budget_lines = [note for note in scale.notes if note.startswith("connection budget")]
    assert len(budget_lines) == 2
    assert (
        f"= {rw} server connections to the primary; max_connections 256 - 10 reserved = 246 available"
        in (budget_lines[0])
    )
    assert "to each read replica" in budget_lines[1]
    foundation = data_tier_section(phase_config("foundation"), built_phase("foundation"))
    assert "connection budget: no PgBouncer in this phase; the application connects directly" in foundation.notes


def test_section_shows_each_tier_against_the_peak() -> None:
    section = data_tier_section(phase_config("optimize"), built_phase("optimize"))
    assert (
        "carries the peak: cache memory: 4.42 GiB needed, 4.63 available ((15,000 concurrent x 8 sessions x 2 KiB "
        "+ 120,000 daily active x 25 KiB x hit ratio 0.95) x headroom 1.5; 2 shards x cache.t4g.medium 3.09 GiB "
        "less 25% reserved memory)"
    ) in section.notes
    sizing = {row["what"]: row for row in section.data["sizing"]}
    assert sizing["PgBouncer read-only server connections"] == {
        "key": "scaleplan:pgbouncer.read_only_pool.default_pool_size",
        "what": "PgBouncer read-only server connections",
        "needed": 162,
        "available": 175,
        "unit": "connections",
        "passes": True,
    }


def test_section_and_capacity_fail_when_a_tier_cannot_carry_the_peak() -> None:
    # model_copy skips the validators that would refuse this file: the section guards the report itself.
    config = phase_config("optimize")
    smaller = config.model_copy(update={"cache": config.cache.model_copy(update={"node_type": "cache.t4g.small"})})
    section = data_tier_section(smaller, built_phase("optimize"))
    assert section.failed
    assert any(
        note.startswith("carries the peak: NO: cache memory: 4.42 GiB needed, 2.06 available") for note in section.notes
    )
    capacity = capacity_section(smaller, built_phase("optimize"))
    assert capacity.failed
    assert capacity.notes[1] == "the data tier cannot carry the peak: cache memory: 4.42 GiB needed, 2.06 available"
    assert capacity.data["data_tier_short"] == ["cache memory"]
