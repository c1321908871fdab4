"""The repository stands alone: nothing outside tests/ points at a path beside the clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import ROOT

OUTSIDE = ("../shared", "shared/seeds", "/work/shared")
"""The team's working directories beside the repository, which a clone does not have."""


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def mentions_outside(files: list[Path], root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        relative = path.relative_to(root)
        if relative.parts[0] == "tests" or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{relative}: {needle}" for needle in OUTSIDE if needle in text]
    return found


def test_no_tracked_file_outside_tests_points_beside_the_repository() -> None:
    files = tracked_files()
    assert ROOT / "README.md" in files
    assert mentions_outside(files) == []


def test_the_check_finds_a_mention(tmp_path: Path) -> None:
    # The check itself can fail: a file that names ../shared is reported, one under tests/ is not.
    (tmp_path / "docs").mkdir()
    (tmp_path / "tests").mkdir()
    probe = tmp_path / "docs" / "probe.md"
    probe.write_text("see ../shared/seeds/000\n")
    fixture = tmp_path / "tests" / "fixture.py"
    fixture.write_text("'../shared'\n")
    assert mentions_outside([probe, fixture], tmp_path) == ["docs/probe.md: ../shared", "docs/probe.md: shared/seeds"]
