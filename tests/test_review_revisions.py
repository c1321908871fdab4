"""The review of a pull request builds its base from a git worktree: a one-line stack change
between two commits shows as exactly that change.

Slow (two whole plans in processes of their own, policy packs included): runs with
``-m slow`` in CI, beside the real-component tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

FLOW_LOGS = "    flow_logs:\n      retention_days: 30\n"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_base_head_diff_of_a_one_line_stack_change_shows_exactly_that_change(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _git("clone", "--quiet", "--shared", str(ROOT), str(clone), cwd=tmp_path)
    for key, value in (("user.name", "review test"), ("user.email", "review-test@example.invalid")):
        _git("config", key, value, cwd=clone)
    stack = clone / "Pulumi.growth.yaml"
    text = stack.read_text()
    assert text.count(FLOW_LOGS) == 1
    stack.write_text(text.replace(FLOW_LOGS, FLOW_LOGS.replace("30", "60")))
    _git("commit", "--quiet", "-am", "growth: keep flow logs 60 days", cwd=clone)

    report = tmp_path / "review.json"
    result = subprocess.run(
        [sys.executable, "-m", "infra.review", "diff", "growth@HEAD~1", "growth@HEAD", "--json-output", str(report)],
        cwd=clone,
        env={**os.environ, "PYTHONPATH": str(clone)},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [diff] = json.loads(report.read_text())["diffs"]
    assert [(r["type"], r["name"], r["action"]) for r in diff["resources"]] == [
        ("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs", "change")
    ]
    assert diff["resources"][0]["inputs"] == [{"path": "retentionInDays", "before": 30, "after": 60}]
    assert "growth@HEAD~1 → growth@HEAD" in result.stdout
    assert not _git("worktree", "list", "--porcelain", cwd=clone).count("scaleplan-review-")


def test_the_review_compares_two_stages_of_another_plan_by_their_paths(tmp_path: Path) -> None:
    # CutListCreator's day 30 example to its day-60 draft: the move a team would make next.
    earlier = "examples/cutlistcreator-30-60-90/Pulumi.day30.yaml"
    later = "examples/cutlistcreator-30-60-90/drafts/Pulumi.day60.yaml"
    report = tmp_path / "review.json"
    result = subprocess.run(
        [sys.executable, "-m", "infra.review", "diff", earlier, later, "--json-output", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    [diff] = json.loads(report.read_text())["diffs"]
    guardrails = {g["name"]: g["passed"] for g in diff["guardrails"]}
    assert guardrails["stateful replacement"] is True
    # The draft is over its budget, a mandatory cost finding, so the review fails on that alone.
    assert (result.returncode, guardrails["mandatory policy findings"]) == (1, False), result.stderr
    changed = {(r["name"], r["action"]) for r in diff["resources"]}
    assert ("database-primary", "change") in changed
    assert f"{earlier} → {later}" in result.stdout
