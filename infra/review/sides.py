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
    """A stack file at a revision (``None``: the working tree): a phase of the shipped plan, or a
    stage of another plan in a folder of the repository (``examples/<plan>/``)."""

    phase: str
    revision: str | None = None
    folder: str = ""
    """The stack file's folder, relative to the checkout's root; empty for the root's phases."""

    @property
    def stack_file(self) -> str:
        """The stack file's path relative to the checkout's root."""
        name = f"Pulumi.{self.phase}.yaml"
        return f"{self.folder}/{name}" if self.folder else name

    @property
    def label(self) -> str:
        shown = self.stack_file if self.folder else self.phase
        return f"{shown}@{self.revision}" if self.revision else shown

    @classmethod
    def parse(cls, text: str) -> Side:
        """``growth``, ``growth@origin/main``, or a stack file's path from the repository's root
        (``examples/<plan>/Pulumi.<stage>.yaml``, with ``@REVISION`` too)."""
        target, _, revision = text.partition("@")
        if not target:
            raise ReviewError(f"{text!r}: expected PHASE, PHASE@REVISION or a stack file's path")
        if not target.endswith(".yaml"):
            return cls(target, revision or None)
        path = Path(target)
        if path.is_absolute():
            if not path.is_relative_to(ROOT):
                raise ReviewError(f"{target}: not inside the repository ({ROOT})")
            path = path.relative_to(ROOT)
        name = path.name
        if not _is_stack_file(name) or ".." in path.parts:
            raise ReviewError(f"{target}: expected a Pulumi.<stack>.yaml path inside the repository")
        folder = path.parent.as_posix()
        return cls(
            name.removeprefix("Pulumi.").removesuffix(".yaml"), revision or None, "" if folder == "." else folder
        )


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


def _start(root: Path, stack_files: Sequence[str]) -> subprocess.Popen[str]:
    arguments = [
        item
        for path in stack_files
        for item in (Path(path).name.removeprefix("Pulumi.").removesuffix(".yaml"), str(root / path))
    ]
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
    """Plans of the given stack files (paths from the checkout's root, ``Pulumi.<phase>.yaml``
    for the root's phases) at each revision (``None``: the working tree), keyed by (revision,
    path). One process per revision, all running at once. A stack file the revision does not
    have is left out (it was added or removed by the change)."""
    results: dict[tuple[str | None, str], dict[str, Any]] = {}
    with _checkouts(list(requests)) as roots:
        running = {}
        for revision, root in roots.items():
            present = [path for path in requests[revision] if (root / path).is_file()]
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
            for path, document in zip(present, json.loads(out), strict=True):
                results[(revision, path)] = document
    return results


@contextmanager
def _checkouts(revisions: Sequence[str | None]) -> Iterator[dict[str | None, Path]]:
    with ExitStack() as stack:
        yield {revision: stack.enter_context(checkout(revision)) for revision in revisions}
