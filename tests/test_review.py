"""The review of a change: plan diffs, guardrails, the PR comment, diagrams and the cost chart."""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from infra.cost.section import cost_section
from infra.plan.capacity_section import capacity_section
from infra.plan.report import build_sections
from infra.review import sides
from infra.review.chart import CHART_FILE, DATA_FILE, chart_data, data_text, drawn_from, fingerprint
from infra.review.diagram import BOXES, DNS_RECORD, boxes_of, mermaid, readme_block
from infra.review.diff import Action, Limits, compare, flatten, input_changes
from infra.review.markdown import COMMENT_LIMIT, MARKER, render
from infra.review.plan_capture import document
from infra.review.sides import ReviewError, Side, touched_phases
from tests.conftest import PHASES, ROOT, built_phase, phase_config

CONSECUTIVE = list(itertools.pairwise(PHASES))


@functools.cache
def plan_document(phase: str) -> dict[str, Any]:
    """A phase's plan as the review captures it, built in this process (cost and capacity only:
    the policy packs' verdicts have their own tests)."""
    config, run = phase_config(phase), built_phase(phase)
    sections = build_sections(config, run, builders=[cost_section, capacity_section])
    return document(phase, f"Pulumi.{phase}.yaml", config, run, sections)


def entry(plan: Mapping[str, Any], type_token: str, name: str) -> dict[str, Any]:
    [found] = [e for e in plan["resources"] if e["type"] == type_token and e["name"] == name]
    return found


DB_A = {"name": "db", "engine": "a"}
DB_B = {"name": "db", "engine": "b"}


class FakeRules:
    """Replacement rules for the pure tests: ``engine`` forces a replacement, ``name`` fixes the name."""

    def replaced_by(self, type_token: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
        return ("engine",) if before.get("engine") != after.get("engine") else ()

    def is_stateful(self, type_token: str) -> bool:
        return type_token == "test:db:Db"

    def physical_name_paths(self, type_token: str) -> frozenset[str]:
        return frozenset({"name"})


def plan_of(
    *resources: tuple[str, str, dict[str, Any]], total: float = 100.0, budget: float = 1000.0
) -> dict[str, Any]:
    return {
        "budget_usd": budget,
        "resources": [
            {"key": f"p::{t}::{n}", "type": t, "name": n, "custom": True, "protect": False, "inputs": i}
            for t, n, i in resources
        ],
        "cost": {"data": {"total_usd": total}},
        "cost_lines": [],
        "capacity": {"data": {}},
        "policy": {"data": {"packs": {}}},
    }


# --- pure parts ------------------------------------------------------------------------------


def test_flatten_gives_dotted_paths_to_leaves() -> None:
    assert flatten({"a": {"b": [1, {"c": 2}]}, "d": {}}) == {"a.b[0]": 1, "a.b[1].c": 2, "d": {}}


def test_input_changes_lists_each_changed_leaf() -> None:
    changes = input_changes({"size": 1, "tags": {"a": "x"}}, {"size": 2, "tags": {"a": "x", "b": "y"}})
    assert [(c.path, c.before, c.after) for c in changes] == [("size", 1, 2), ("tags.b", None, "y")]


def test_classifies_added_changed_replaced_and_removed() -> None:
    before = plan_of(
        ("test:vm:Vm", "web", {"size": 1}),
        ("test:vm:Vm", "old", {}),
        ("test:db:Db", "db", DB_A),
    )
    after = plan_of(
        ("test:vm:Vm", "web", {"size": 2}),
        ("test:vm:Vm", "new", {}),
        ("test:db:Db", "db", DB_B),
    )
    diff = compare(before, after, title="t", before_label="a", after_label="b", rules=FakeRules())
    actions = {(c.name, c.action) for c in diff.resources}
    assert actions == {("web", Action.CHANGE), ("old", Action.REMOVE), ("new", Action.ADD), ("db", Action.REPLACE)}
    [database] = diff.dangerous
    assert database.name == "db"
    assert database.stateful
    assert database.replaced_by == ("engine",)
    assert not database.create_before_delete  # a fixed input replaces it: the old one must go first


def test_a_replacement_that_renames_creates_before_it_deletes() -> None:
    class NamedByContent(FakeRules):
        def replaced_by(self, type_token: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
            return ("data",) if before.get("data") != after.get("data") else ()

    before = plan_of(("test:cm:Cm", "config", {"name": "config-1a2b", "data": "a"}))
    renamed = plan_of(("test:cm:Cm", "config", {"name": "config-3c4d", "data": "b"}))
    same_name = plan_of(("test:cm:Cm", "config", {"name": "config-1a2b", "data": "b"}))
    [change] = compare(before, renamed, title="t", before_label="a", after_label="b", rules=NamedByContent()).resources
    assert change.action is Action.REPLACE
    assert change.create_before_delete
    [change] = compare(
        before, same_name, title="t", before_label="a", after_label="b", rules=NamedByContent()
    ).resources
    assert not change.create_before_delete


def test_a_stateful_replacement_fails_its_guardrail_unless_allowed() -> None:
    before = plan_of(("test:db:Db", "db", DB_A))
    after = plan_of(("test:db:Db", "db", DB_B))
    failed = compare(before, after, title="t", before_label="a", after_label="b", rules=FakeRules())
    assert failed.failed
    [guardrail] = [g for g in failed.guardrails if not g.passed]
    assert guardrail.name == "stateful replacement"
    assert "test:db:Db db replaced by engine" in guardrail.detail
    allowed = compare(
        before,
        after,
        title="t",
        before_label="a",
        after_label="b",
        rules=FakeRules(),
        limits=Limits(allow_stateful_replacement=True),
    )
    assert not allowed.failed


def test_cost_increase_above_the_limit_fails() -> None:
    before, after = plan_of(total=100.0), plan_of(total=115.0)
    limits = Limits(max_cost_increase_percent=10)
    diff = compare(before, after, title="t", before_label="a", after_label="b", rules=FakeRules(), limits=limits)
    [cost] = [g for g in diff.guardrails if g.name == "cost increase"]
    assert not cost.passed
    assert "+15.0%" in cost.detail
    within = compare(
        before, plan_of(total=109.0), title="t", before_label="a", after_label="b", rules=FakeRules(), limits=limits
    )
    assert not within.failed


def test_a_mandatory_finding_fails_and_is_named() -> None:
    after = plan_of()
    after["policy"]["data"]["packs"] = {"security": {"mandatory": [["aws-rds-x", "urn::db", "is public"]]}}
    diff = compare(plan_of(), after, title="t", before_label="a", after_label="b", rules=FakeRules())
    [finding] = [g for g in diff.guardrails if not g.passed]
    assert finding.name == "mandatory policy findings"
    assert finding.detail == "security/aws-rds-x on db: is public"
    assert [f.policy for f in diff.findings_added] == ["aws-rds-x"]


def test_a_budget_raised_in_the_change_is_called_out() -> None:
    diff = compare(
        plan_of(budget=100), plan_of(budget=200), title="t", before_label="a", after_label="b", rules=FakeRules()
    )
    assert any("loosens the check that judges it" in note for note in diff.notes)
    promotion = compare(
        plan_of(budget=100),
        plan_of(budget=200),
        title="t",
        before_label="a",
        after_label="b",
        rules=FakeRules(),
        same_phase=False,
    )
    assert promotion.notes == ()


def test_comment_stays_under_the_limit_and_keeps_dangerous_changes() -> None:
    many = [("test:vm:Vm", f"vm-{i}", {"blob": "x" * 300, "size": i}) for i in range(3000)]
    before = plan_of(*many, ("test:db:Db", "db", DB_A))
    after = plan_of(*[(t, n, {**i, "size": -1}) for t, n, i in many], ("test:db:Db", "db", DB_B))
    diff = compare(before, after, title="t", before_label="a", after_label="b", rules=FakeRules())
    body = render([diff], heading="review")
    assert len(body) <= COMMENT_LIMIT
    assert body.startswith(MARKER)
    assert "**db** replace **stateful**" in body
    assert "more (JSON report)" in body


def test_touched_phases() -> None:
    phases = ["growth", "scale"]
    assert touched_phases(["Pulumi.growth.yaml", "README.md"], phases) == ["growth"]
    assert touched_phases(["infra/stack.py"], phases) == phases
    assert touched_phases(["docs/eks.md", "tests/test_eks.py"], phases) == []


def test_side_parses_phase_and_revision() -> None:
    assert Side.parse("scale@origin/main") == Side("scale", "origin/main")
    assert Side.parse("growth").revision is None


CUTLIST_DAY30 = "examples/cutlistcreator-30-60-90/Pulumi.day30.yaml"


def test_side_parses_a_stack_file_path_of_another_plan() -> None:
    side = Side.parse(f"{CUTLIST_DAY30}@origin/main")
    assert side == Side("day30", "origin/main", "examples/cutlistcreator-30-60-90")
    assert (side.stack_file, side.label) == (CUTLIST_DAY30, f"{CUTLIST_DAY30}@origin/main")
    assert Side.parse(str(ROOT / CUTLIST_DAY30)) == Side("day30", None, "examples/cutlistcreator-30-60-90")
    # A root stack file by its path is the phase itself.
    assert Side.parse("Pulumi.growth.yaml") == Side("growth")
    assert Side("growth").stack_file == "Pulumi.growth.yaml"


@pytest.mark.parametrize(
    "text", ["examples/x/settings.yaml", "../elsewhere/Pulumi.a.yaml", "/tmp/Pulumi.a.yaml", "@main"]
)
def test_side_refuses_what_is_not_a_stack_file_in_the_repository(text: str) -> None:
    with pytest.raises(ReviewError):
        Side.parse(text)


def test_capture_reads_each_stack_file_from_its_own_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    class Driver:
        returncode = 0

        def __init__(self, command: list[str], **_: object) -> None:
            started.append(command)

        def communicate(self, timeout: float) -> tuple[str, str]:
            return '[{"phase": "day30"}]', ""

    monkeypatch.setattr(sides.subprocess, "Popen", Driver)
    plans = sides.capture_many({None: [CUTLIST_DAY30, "examples/none/Pulumi.missing.yaml"]})
    assert plans == {(None, CUTLIST_DAY30): {"phase": "day30"}}  # a file the checkout lacks is left out
    assert started[0][2:] == ["day30", str(ROOT / CUTLIST_DAY30)]


# --- the phases ------------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), CONSECUTIVE)
def test_promotion_diff_replaces_no_stateful_resource(before: str, after: str) -> None:
    diff = compare(
        plan_document(before),
        plan_document(after),
        title="p",
        before_label=before,
        after_label=after,
        same_phase=False,
    )
    lost = sorted(c.name for c in diff.resources if c.stateful and c.action in (Action.REPLACE, Action.REMOVE))
    # Straight from foundation to growth, the instances' log group goes with the Auto Scaling
    # group: the report must show it (the documented move goes through transitions/ and says
    # to export those logs first, tests/test_promotion.py).
    assert lost == (["app-logs"] if (before, after) == ("foundation", "growth") else [])
    assert diff.failed is bool(lost)
    assert diff.cost_after > diff.cost_before  # each phase carries more users


def test_growth_to_scale_lists_the_expected_changes() -> None:
    diff = compare(
        plan_document("growth"), plan_document("scale"), title="p", before_label="growth", after_label="scale"
    )
    changes = {(c.type, c.name): c for c in diff.resources}
    primary = changes[("aws:rds/instance:Instance", "database-primary")]
    assert primary.action is Action.CHANGE
    assert "instanceClass" in {i.path for i in primary.inputs}
    growth_class = entry(plan_document("growth"), "aws:rds/instance:Instance", "database-primary")["inputs"]
    scale_class = entry(plan_document("scale"), "aws:rds/instance:Instance", "database-primary")["inputs"]
    assert growth_class["instanceClass"] != scale_class["instanceClass"]
    replicas_before = phase_config("growth").database.read_replica_count
    replicas_after = phase_config("scale").database.read_replica_count
    added = {c.name for c in diff.of_action(Action.ADD) if c.type == "aws:rds/instance:Instance"}
    assert len(added) == replicas_after - replicas_before


def test_a_change_that_replaces_the_database_is_flagged() -> None:
    after = copy.deepcopy(plan_document("growth"))
    primary = entry(after, "aws:rds/instance:Instance", "database-primary")
    primary["inputs"]["storageEncrypted"] = False
    diff = compare(plan_document("growth"), after, title="growth", before_label="base", after_label="head")
    [danger] = diff.dangerous
    assert (danger.name, danger.action, danger.stateful) == ("database-primary", Action.REPLACE, True)
    assert "storageEncrypted" in danger.replaced_by
    assert diff.failed
    body = render([diff], heading="review")
    assert "database-primary" in body.split("<details>")[0]  # above the fold


def test_report_of_every_promotion_fits_one_comment() -> None:
    diffs = [
        compare(plan_document(a), plan_document(b), title=f"{a} → {b}", before_label=a, after_label=b, same_phase=False)
        for a, b in CONSECUTIVE
    ]
    body = render(diffs, heading="all")
    assert len(body) <= COMMENT_LIMIT
    for a, b in CONSECUTIVE:
        assert f"### {a} → {b}" in body


# --- pictures --------------------------------------------------------------------------------


def test_diagram_draws_every_component_of_every_phase(phase: str) -> None:
    entries = plan_document(phase)["resources"]
    shown = boxes_of(entries)
    drawn_by = {component: box.id for box in BOXES for component in box.components}
    components = {e["type"] for e in entries if e["type"].startswith("scaleplan:")}
    assert components <= drawn_by.keys(), f"no box draws {sorted(components - drawn_by.keys())}"
    assert {drawn_by[c] for c in components} <= shown.keys()
    chart = mermaid(entries)
    for box_id in shown:
        assert f"  {box_id}" in chart


def test_diagram_follows_the_request_path() -> None:
    growth_entries = plan_document("growth")["resources"]
    growth = mermaid(growth_entries)
    proxied = any(e["type"] == DNS_RECORD and e["inputs"].get("proxied") for e in growth_entries)
    assert ("edge -->|proxied| alb" in growth) is proxied
    assert ("users -->|HTTPS, not proxied| alb" in growth) is not proxied
    assert "pgbouncer -->|writes| primary" in growth
    foundation = mermaid(plan_document("foundation")["resources"])
    assert "asg -->|SQL| primary" in foundation
    assert "pgbouncer" not in foundation


def test_readme_shows_each_phase_current_diagram(phase: str) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme_block(phase, plan_document(phase)["resources"])
    assert block in readme, f"README's {phase} diagram is stale: run `uv run python -m infra.review chart`"


def test_cost_chart_is_current() -> None:
    data = chart_data((p, phase_config(p), built_phase(p)) for p in PHASES)
    text = data_text(data)
    assert DATA_FILE.read_text() == text, "docs/cost-per-phase.json is stale: run `uv run python -m infra.review chart`"
    assert drawn_from(CHART_FILE.read_text()) == fingerprint(text), "the chart was not drawn from the current figures"
    assert [row["phase"] for row in data["phases"]] == list(PHASES)
