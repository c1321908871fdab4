"""The example plans under ``examples/``: every stack file there validates, each directory is an
example the CI script finds, and its README carries the stage table the plan writes.

Planning the examples whole takes a minute; ``.ci/examples`` does it (every stage builds, its
policies pass with its own settings, its cost is within its budget, its README is current).
These tests stay at the config level.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from infra.config import PhaseConfig, PhaseConfigError
from infra.config.loader import load_stack_file
from infra.config.phases import plan_order, stack_files
from infra.plan.examples import BEGIN, END, EXAMPLES_DIR, example_dirs, summary_table, with_summary
from infra.policy.settings import pack_settings
from tests.conftest import ROOT

EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*/Pulumi.*.yaml"))
"""Every example stack file, found as the CI script finds them: another plan's files count as they land."""


@functools.cache
def example_config(path: Path) -> PhaseConfig:
    return load_stack_file(path)


def test_the_seed_examples_are_there() -> None:
    names = {directory.name for directory in example_dirs()}
    assert {"fairtradeworker-400k-day-one", "flowforge-100k-concurrent", "cutlistcreator-30-60-90"} <= names


def test_every_example_stack_file_belongs_to_a_discovered_example() -> None:
    discovered = {path for directory in example_dirs() for path in stack_files(directory).values()}
    assert set(EXAMPLE_FILES) == discovered


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_stack_file_validates(path: Path) -> None:
    config = example_config(path)
    # The stack name is the file's; the label is free, but two stages of one plan must differ.
    assert config.environment.phase
    assert config.budget.monthly_usd > 0


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_derives_its_own_policy_settings(path: Path) -> None:
    config = example_config(path)
    cost = pack_settings(config)["cost"]
    # Judged against this file's budget and node ceiling, never the root plan's (issue 14).
    assert cost["scaleplan-cost-stack-disallow-over-budget"]["budget_monthly_usd"] == config.budget.monthly_usd
    # Every server the file may run: its node pools' and its Auto Scaling group's maximum sizes.
    group = config.compute.auto_scaling_group
    ceiling = sum(pool.max_size for pool in config.compute.node_pools.values()) + (group.max_size if group else 0)
    assert cost["aws-ec2-capacity-limit-max-nodes"]["max_nodes"] == ceiling


@pytest.mark.parametrize("directory", example_dirs(), ids=lambda d: d.name)
def test_each_example_has_distinct_phase_labels_in_capacity_order(directory: Path) -> None:
    configs = {path.name: example_config(path) for path in stack_files(directory).values()}
    labels = [config.environment.phase for config in configs.values()]
    assert len(set(labels)) == len(labels)
    users = [configs[name].capacity.users_max for name in plan_order(configs)]
    assert users == sorted(users)


@pytest.mark.parametrize("directory", example_dirs(), ids=lambda d: d.name)
def test_each_example_readme_has_a_generated_row_per_stage(directory: Path) -> None:
    readme = (directory / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| `Pulumi.")]
    assert sorted(row.split("`")[1] for row in rows) == sorted(p.name for p in stack_files(directory).values())
    assert all(row.endswith("| ok |") for row in rows), "a stage the plan failed: run .ci/examples"


@pytest.mark.parametrize("directory", example_dirs(), ids=lambda d: d.name)
def test_example_readmes_state_their_figures_instead_of_pointing_at_shared(directory: Path) -> None:
    assert "../shared" not in (directory / "README.md").read_text()


def test_the_largest_ftw_stages_spread_the_read_only_pool_over_replicas() -> None:
    # 750k and 1M: one replica's 399 connections cannot hold the read-only pool; they are
    # buildable only because the budget spreads it over the replicas left up.
    for stage, replicas in (("users-750k", 3), ("users-1m", 4)):
        config = example_config(EXAMPLES_DIR / "fairtradeworker-400k-day-one" / f"Pulumi.{stage}.yaml")
        assert config.pgbouncer is not None
        assert config.pgbouncer.read_only_pool is not None
        assert config.database.read_replica_count == replicas
        assert config.pgbouncer.read_only_pool.replicas_down_tolerated == 1


def test_the_1m_stage_is_refused_when_each_replica_must_take_the_whole_pool(tmp_path: Path) -> None:
    source = EXAMPLES_DIR / "fairtradeworker-400k-day-one" / "Pulumi.users-1m.yaml"
    text = source.read_text().replace(", replicas_down_tolerated: 1}", "}")
    assert text != source.read_text()
    (tmp_path / "Pulumi.users-1m.yaml").write_text(text)
    with pytest.raises(PhaseConfigError, match=r"read_only_pool\.default_pool_size: .* = 780 server connections"):
        load_stack_file(tmp_path / "Pulumi.users-1m.yaml")


def test_summary_table_is_written_from_the_plan_output() -> None:
    document = {
        "phases": [
            {
                "stack": "day-1",
                "stack_file": "examples/x/Pulumi.day-1.yaml",
                "failed": False,
                "sections": [
                    {
                        "title": "Capacity",
                        "rows": [
                            ["users (top of phase)", 400000, "x"],
                            ["peak concurrent users", 20000, "x"],
                            ["peak requests/s", 800.0, "x"],
                        ],
                        "data": {},
                    },
                    {
                        "title": "Cost",
                        "rows": [],
                        "data": {"total_usd": 3864.454, "budget_usd": 8500, "budget_ratio": 0.4546},
                    },
                ],
            },
            {"stack": "later", "stack_file": "examples/x/Pulumi.later.yaml", "failed": True, "sections": []},
        ]
    }
    assert summary_table(document).splitlines()[3:5] == [
        "| `Pulumi.day-1.yaml` | 400,000 | 20,000 | 800 | $3,864.45 | $8,500 | 45.5% | ok |",
        "| `Pulumi.later.yaml` | - | - | - | not priced | - | - | FAILED |",
    ]


def test_rejects_a_readme_without_a_summary_block() -> None:
    with pytest.raises(ValueError, match=r"README\.md: no <!-- plan-summary"):
        with_summary("# An example\n", "table", "README.md")


def test_summary_block_is_replaced_in_place() -> None:
    readme = f"# Example\n\n{BEGIN}\nold\n{END}\n\nafter\n"
    assert with_summary(readme, f"{BEGIN}\nnew\n{END}", "README.md") == f"# Example\n\n{BEGIN}\nnew\n{END}\n\nafter\n"


def test_ci_plans_every_example_after_the_unit_suite() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert run.index("uv run --frozen pytest\n") < run.index(".ci/examples") < run.index(".ci/slow")
    assert "python -m infra.plan.examples --check" in (ROOT / ".ci" / "examples").read_text()
    assert "bash .ci/examples" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()
