"""Capturing the plans a review compares: from the working tree, or from a git revision
checked out in a temporary worktree, each in a process of its own.

A revision is built by its own code (its ``infra/`` and ``policies/``), run with this
checkout's virtualenv: a change to the locked dependencies shows up only on the head side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
DRIVER = Path(__file__).resolve().parent / "plan_capture.py"
CAPTURE_TIMEOUT_SECONDS = 900

PLAN_INPUTS = ("Pulumi.yaml", "infra/", "policies/", "pyproject.toml", "uv.lock")
"""Paths whose change can change every phase's plan; a ``Pulumi.<phase>.yaml`` changes its phase."""


class ReviewError(Exception):
    """A side could not be captured: a bad revision, a missing stack file, a program error."""


@dataclass(frozen=True)
class Side:
    """A phase's stack file at a revision (``None``: the working tree)."""

    phase: str
    revision: str | None = None

    @property
    def stack_file(self) -> str:
        return f"Pulumi.{self.phase}.yaml"

    @property
    def label(self) -> str:
        return f"{self.phase}@{self.revision}" if self.revision else self.phase

    @classmethod
    def parse(cls, text: str) -> Side:
        """``growth`` or ``growth@origin/main``."""
        phase, _, revision = text.partition("@")
        if not phase:
            raise ReviewError(f"{text!r}: expected PHASE or PHASE@REVISION")
        return cls(phase, revision or None)


def git(*args: str, cwd: Path = ROOT) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ReviewError(f"git {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def phases_in(root: Path) -> list[str]:
    """The phases a checkout declares: one per ``Pulumi.<phase>.yaml``."""
    return sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in root.glob("Pulumi.*.yaml"))


def phases_at(revision: str) -> list[str]:
    names = git("ls-tree", "--name-only", revision).split()
    return sorted(n.removeprefix("Pulumi.").removesuffix(".yaml") for n in names if _is_stack_file(n))


def _is_stack_file(name: str) -> bool:
    return name.startswith("Pulumi.") and name.endswith(".yaml") and name != "Pulumi.yaml" and "/" not in name


def touched_phases(changed: Sequence[str], phases: Sequence[str]) -> list[str]:
    """The phases whose plan a change to the ``changed`` paths can alter."""
    if any(path == prefix or path.startswith(prefix) for path in changed for prefix in PLAN_INPUTS):
        return sorted(phases)
    return sorted({path.removeprefix("Pulumi.").removesuffix(".yaml") for path in changed if _is_stack_file(path)})


def changed_paths(base: str, head: str | None) -> list[str]:
    """Paths changed from the merge base of ``base`` and ``head`` (the working tree when None)."""
    merge_base = git("merge-base", base, head or "HEAD").strip()
    args = ["diff", "--name-only", merge_base] + ([head] if head else [])
    changed = git(*args).split()
    if head is None:  # new files not yet committed count too
        changed += git("ls-files", "--others", "--exclude-standard").split()
    return sorted(set(changed))


@contextmanager
def checkout(revision: str | None) -> Iterator[Path]:
    """The working tree for ``None``, else ``revision`` in a temporary worktree removed afterwards."""
    if revision is None:
        yield ROOT
        return
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}").strip()
    folder = Path(tempfile.mkdtemp(prefix="scaleplan-review-"))
    try:
        git("worktree", "add", "--detach", "--quiet", str(folder), commit)
        yield folder
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, capture_output=True, check=False
        )
        shutil.rmtree(folder, ignore_errors=True)


def _start(root: Path, phases: Sequence[str]) -> subprocess.Popen[str]:
    arguments = [item for phase in phases for item in (phase, str(root / f"Pulumi.{phase}.yaml"))]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.Popen(
        [sys.executable, str(DRIVER), *arguments],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def capture_many(requests: Mapping[str | None, Sequence[str]]) -> dict[tuple[str | None, str], dict[str, Any]]:
    """Plans of the given phases at each revision (``None``: the working tree), keyed by
    (revision, phase). One process per revision, all running at once. A phase whose stack
    file the revision does not have is left out (it was added or removed by the change)."""
    results: dict[tuple[str | None, str], dict[str, Any]] = {}
    with _checkouts(list(requests)) as roots:
        running = {}
        for revision, root in roots.items():
            present = [phase for phase in requests[revision] if (root / f"Pulumi.{phase}.yaml").is_file()]
            if present:
                running[revision] = (present, _start(root, present))
        for revision, (present, process) in running.items():
            try:
                out, err = process.communicate(timeout=CAPTURE_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired as exc:
                process.kill()
                raise ReviewError(
                    f"{revision or 'working tree'}: the plan took over {CAPTURE_TIMEOUT_SECONDS} s"
                ) from exc
            if process.returncode != 0:
                raise ReviewError(f"{revision or 'working tree'}: the plan failed: {err.strip().splitlines()[-1:]}")
            for phase, document in zip(present, json.loads(out), strict=True):
                results[(revision, phase)] = document
    return results


@contextmanager
def _checkouts(revisions: Sequence[str | None]) -> Iterator[dict[str | None, Path]]:
    with ExitStack() as stack:
        yield {revision: stack.enter_context(checkout(revision)) for revision in revisions}
