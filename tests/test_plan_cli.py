"""The offline plan: section builders, renderers and the ``python -m infra.plan`` command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pulumi
import pytest
from google.protobuf import struct_pb2

from infra.capacity import demand
from infra.config import PhaseConfig
from infra.plan import sections
from infra.plan.capacity_section import capacity_section
from infra.plan.capture import CapturedResource, ProgramRun, ResourceObserver, run_program
from infra.plan.cli import close_event_loops, main, record_event_loops
from infra.plan.render import comparison, format_cell, render_json, render_markdown, render_table
from infra.plan.report import PhaseReport, build_sections
from infra.plan.resources_section import group_by_top_level, resources_section, sizing_summary
from infra.plan.sections import Section
from infra.policy.launch import discover_packs
from infra.policy.packs import shared_pool
from tests.conftest import ROOT, built_phase, phase_config, stack_file

STACK_URN = "urn:pulumi:test::scaleplan::pulumi:pulumi:Stack::scaleplan-test"


def resource(name: str, type_: str, parent: str = STACK_URN, custom: bool = True, **inputs: object) -> CapturedResource:
    return CapturedResource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:test::scaleplan::{type_}::{name}",
        custom=custom,
        inputs=inputs,
        outputs={},
        inputs_struct=struct_pb2.Struct(),
        parent=parent,
    )


# --- the resources section -----------------------------------------------------------


def test_groups_nested_resources_under_their_top_level_component() -> None:
    outer = resource("data", "scaleplan:database:Data", custom=False)
    inner = resource("data-pg", "scaleplan:database:Postgres", parent=outer.urn, custom=False)
    instance = resource("data-pg-db", "aws:rds/instance:Instance", parent=inner.urn)
    provider = resource("aws", "pulumi:providers:aws")
    loose = resource("bucket", "aws:s3/bucket:Bucket")
    groups = group_by_top_level([provider, outer, inner, instance, loose])
    assert {label: [r.name for r in members] for label, members in groups.items()} == {
        "(providers)": ["aws"],
        "data": ["data-pg", "data-pg-db"],
        "(stack)": ["bucket"],
    }


def test_groups_read_the_same_whatever_order_registrations_arrived_in() -> None:
    provider = resource("aws", "pulumi:providers:aws")
    network = resource("network", "scaleplan:network:Network", custom=False)
    data = resource("data", "scaleplan:database:Data", custom=False)
    edge = resource("edge", "scaleplan:edge:Edge", custom=False)
    first = group_by_top_level([network, edge, provider, data])
    second = group_by_top_level([data, provider, network, edge])
    assert list(first) == list(second) == ["(providers)", "data", "edge", "network"]


def test_sizing_summarises_distinct_values_with_counts() -> None:
    subnets = [
        resource(f"s{i}", "aws:ec2/subnet:Subnet", cidrBlock=cidr)
        for i, cidr in enumerate(["10.0.0.0/19"] * 3 + ["10.0.96.0/24"] * 2)
    ]
    assert sizing_summary(subnets) == "cidrBlock /19×3, /24×2"
    assert (
        sizing_summary([resource("g", "aws:cloudwatch/logGroup:LogGroup", retentionInDays=30.0)])
        == "retentionInDays 30"
    )
    pool = resource(
        "p", "aws:eks/nodeGroup:NodeGroup", scalingConfig={"minSize": 2.0, "maxSize": 4.0, "desiredSize": 2.0}
    )
    assert sizing_summary([pool]) == "scalingConfig desiredSize=2,maxSize=4,minSize=2"


def test_resources_section_counts_every_type_of_the_phase(phase: str) -> None:
    run = built_phase(phase)
    section = resources_section(phase_config(phase), run)
    counted = Counter()
    for component, types in section.data["components"].items():  # type: ignore[union-attr]
        for type_token, count in types.items():
            counted[type_token] += count
            assert [component, type_token, count] == next(
                r[:3] for r in section.rows if r[:2] == [component, type_token]
            )
    top_level_components = sum(
        1 for r in run.resources if not r.custom and r.parent not in {x.urn for x in run.resources}
    )
    assert sum(counted.values()) == len(run.resources) - top_level_components
    assert section.data["cloud_resources"] == sum(1 for r in run.resources if r.custom and not r.is_provider)
    assert section.data["components"]["network"]["aws:ec2/subnet:Subnet"] == 9  # type: ignore[index]
    assert not section.failed


def test_capacity_section_shows_the_seed_figures_for_optimize() -> None:
    config = phase_config("optimize")
    section = capacity_section(config, built_phase("optimize"))
    assert section.data["users_max"] == 300_000
    assert section.data["daily_active_users"] == 120_000
    assert section.data["peak_concurrent_users"] == 15_000
    assert section.data["peak_requests_per_second"] == 600
    assert section.data["average_requests_per_second"] == 200
    assert section.data["required_vcpus"] == demand(config.capacity).required_vcpus
    assert section.data["available_vcpus"] == config.compute.sustained_application_vcpus() == 64
    assert not section.failed


def test_capacity_section_fails_when_compute_falls_short() -> None:
    config = phase_config("growth")
    starved = config.model_copy(update={"capacity": config.capacity.model_copy(update={"users_max": 50_000_000})})
    section = capacity_section(starved, built_phase("growth"))
    assert section.failed
    assert section.data["shortfall_vcpus"] == section.data["required_vcpus"] - section.data["available_vcpus"]  # type: ignore[operator]
    assert section.notes[0].startswith(f"compute is {section.data['shortfall_vcpus']} vCPUs short")


def test_resources_and_capacity_lead_the_registered_sections() -> None:
    assert sections.section_builders()[:2] == (resources_section, capacity_section)


def test_a_builder_that_raises_becomes_a_failed_section() -> None:
    def broken(config: PhaseConfig, run: ProgramRun) -> Section:
        raise KeyError("price of t3.mega")

    result = build_sections(phase_config("growth"), built_phase("growth"), [capacity_section, broken])
    assert [s.failed for s in result] == [False, True]
    assert result[1].title == "broken"
    assert result[1].data == {"error": "KeyError: 'price of t3.mega'"}


# --- renderers -------------------------------------------------------------------------


def _reports() -> list[PhaseReport]:
    first = Section(
        title="Cost", columns=("item", "usd"), rows=[["nat", 32.4], ["a|b", None]], data={"total": 32.4, "lines": [1]}
    )
    second = Section(
        title="Cost", columns=("item", "usd"), rows=[], notes=["over budget"], failed=True, data={"total": 99.5}
    )
    return [
        PhaseReport(stack="foundation", stack_file="Pulumi.foundation.yaml", sections=[first]),
        PhaseReport(stack="growth", stack_file="Pulumi.growth.yaml", sections=[second]),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.376, "0.376"),
        (16.6666, "16.67"),
        (2633.35, "2,633.35"),
        (200.0, "200"),
        (12000, "12,000"),
        (None, "-"),
        (True, "yes"),
    ],
)
def test_formats_cells_for_reading(value: float | int | bool | None, text: str) -> None:
    assert format_cell(value) == text


def test_comparison_lists_headline_figures_per_phase() -> None:
    columns, rows = comparison(_reports())
    assert columns == ["figure", "foundation", "growth"]
    assert rows == [["Cost: total", 32.4, 99.5], ["failed sections", 0, 1]]


def test_json_carries_every_section_and_its_data() -> None:
    document = json.loads(render_json(_reports()))
    assert document["failed"] is True
    assert [p["stack"] for p in document["phases"]] == ["foundation", "growth"]
    assert document["phases"][0]["sections"][0]["data"] == {"total": 32.4, "lines": [1]}
    assert document["phases"][1]["sections"][0]["failed"] is True
    assert document["comparison"]["rows"][0] == ["Cost: total", 32.4, 99.5]


def test_json_stays_valid_for_awkward_values() -> None:
    odd = Section(title="Odd", columns=("x",), data={"nan": float("nan"), "set": {2, 1}, "path": Path("a")})
    document = json.loads(render_json([PhaseReport(stack="s", stack_file="f", sections=[odd])]))
    assert document["phases"][0]["sections"][0]["data"] == {"nan": None, "set": [1, 2], "path": "a"}


def test_markdown_renders_tables_notes_and_escapes_pipes() -> None:
    text = render_markdown(_reports())
    assert "## Phase `growth`: **FAILED**" in text
    assert "| item | usd |\n| --- | --- |\n| nat | 32.4 |\n| a\\|b | - |" in text
    assert "- over budget" in text
    assert "## Comparison" in text


def test_table_aligns_columns_and_marks_failures() -> None:
    text = render_table(_reports())
    assert "Cost  [FAILED]" in text
    assert "  item   usd\n  ----  ----\n  nat   32.4\n  a|b      -" in text


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def shared_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command plans the stack files' phases from the session's shared mocked runs.

    Building every phase again would add seconds; the run of an edited file is still built
    fresh in ``test_reads_another_stack_file``.
    """

    def run_phase(config: PhaseConfig, stack: str, observers: Sequence[ResourceObserver] = ()) -> ProgramRun:
        assert config == phase_config(stack)
        run = built_phase(stack)
        for resource in run.resources:  # as the mocked run reports each registration
            for observer in observers:
                observer(resource)
        return run

    monkeypatch.setattr("infra.plan.cli.run_phase", run_phase)


@pytest.mark.slow  # every phase's sections and both packs: 17-23 s, a quarter of the unit suite's wall time
@pytest.mark.usefixtures("shared_runs")
def test_plans_every_phase_with_a_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["all", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [p["stack"] for p in document["phases"]] == ["foundation", "growth", "scale", "optimize"]
    titles = [s["title"] for s in document["phases"][0]["sections"]]
    assert titles[:2] == ["Resources", "Capacity"]
    peak = next(r for r in document["comparison"]["rows"] if r[0] == "Capacity: peak_requests_per_second")
    assert peak == ["Capacity: peak_requests_per_second", 10, 50, 200, 600]
    # Every analysis the packs ran while the program ran was taken by the verdict section.
    assert [shared_pool().get(pack).answers_waiting for pack in discover_packs()] == [0, 0]


def test_reads_another_stack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "Pulumi.review.yaml"
    copy.write_text(stack_file("scale").read_text().replace("users_max: 100000", "users_max: 90000"))
    assert main(["scale", "--stack-file", str(copy), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert f"From `{copy}`." in out
    assert "| users (top of phase) | 90,000 | scaleplan:capacity.users_max |" in out


def test_bad_stack_file_prints_the_error_lines_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "Pulumi.growth.yaml"
    bad.write_text(stack_file("growth").read_text().replace("nat_strategy: one_per_az", "nat_strategy: two"))
    assert main(["growth", "--stack-file", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    # Named as given on the command line: the file actually read, not the phase's own.
    assert captured.err == (
        f"{bad}: scaleplan:network.nat_strategy: must be one of 'none', 'single' or 'one_per_az' (got 'two')\n"
    )


@pytest.mark.usefixtures("shared_runs")
def test_exits_1_when_a_section_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def verdict(config: PhaseConfig, run: ProgramRun) -> Section:
        return Section(title="Policy", columns=("rule",), rows=[["aws-s3-bucket-disallow-public"]], failed=True)

    monkeypatch.setattr(sections, "SECTIONS", [*sections.section_builders(), verdict])
    assert main(["foundation"]) == 1
    assert "Policy  [FAILED]" in capsys.readouterr().out


def test_refuses_a_stack_file_for_all_phases() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["all", "--stack-file", "Pulumi.growth.yaml"])
    assert exit_.value.code == 2


def test_command_refuses_a_bad_file_without_a_traceback(tmp_path: Path) -> None:
    # The good path runs in-process above (building a phase in a fresh interpreter costs
    # seconds); bench/plan_time.py runs the command end to end.
    bad = tmp_path / "Pulumi.foundation.yaml"
    bad.write_text("config:\n  scaleplan:capacity: {users_max: '5000'}\n")
    refused = subprocess.run(
        [sys.executable, "-m", "infra.plan", "foundation", "--stack-file", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert f"{bad}: scaleplan:environment: required, but missing from the stack file" in lines
    assert (
        f"{bad}: scaleplan:capacity.users_max: must be a whole number, not quoted text; "
        "remove the quotes (got '5000')" in lines
    )
    assert all(line.startswith(f"{bad}: scaleplan:") for line in lines), refused.stderr


def test_closes_the_event_loops_opened_in_other_threads_since_recording() -> None:
    previous = asyncio.get_event_loop_policy()
    record_event_loops()
    try:
        opened: list[asyncio.AbstractEventLoop] = []
        worker = threading.Thread(target=lambda: opened.append(asyncio.new_event_loop()))
        worker.start()
        worker.join()
        close_event_loops()
        assert len(opened) == 1
        assert opened[0].is_closed()
    finally:
        asyncio.set_event_loop_policy(previous)


def test_capture_records_aliases_as_the_urns_the_engine_would_match() -> None:
    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Group", "group")
        pulumi.ComponentResource(
            "test:index:Thing",
            "thing",
            opts=pulumi.ResourceOptions(
                parent=parent,
                aliases=[
                    pulumi.Alias(name="same-parent"),
                    pulumi.Alias(name="elsewhere", parent=pulumi.create_urn("old", "test:index:Old")),
                    pulumi.Alias(name="at-root", parent=pulumi.ROOT_STACK_RESOURCE),
                    "urn:pulumi:test::scaleplan::test:index:Thing::given-whole",
                ],
            ),
        )

    run = run_program(program, project="scaleplan", stack="test")
    assert run.one("test:index:Thing").aliases == (
        "urn:pulumi:test::scaleplan::test:index:Group$test:index:Thing::same-parent",
        "urn:pulumi:test::scaleplan::test:index:Old$test:index:Thing::elsewhere",
        "urn:pulumi:test::scaleplan::test:index:Thing::at-root",
        "urn:pulumi:test::scaleplan::test:index:Thing::given-whole",
    )
