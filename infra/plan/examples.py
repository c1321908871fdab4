"""``python -m infra.plan.examples [--check]``: plan every example plan and keep its README's figures current.

An example plan is a directory ``examples/<name>/`` holding ``Pulumi.<stack>.yaml`` files and a
``README.md``. Each directory is planned in its own process, exactly as a user would run it
(``python -m infra.plan --stack-dir examples/<name> --format json``), so a stage that fails to
build, draws a mandatory policy finding or goes over its budget fails here too.

The README's stage table (between the ``<!-- plan-summary -->`` markers) is written from that
plan output, never typed by hand: without ``--check`` the block is rewritten; with ``--check``
a stale block is a failure. Exit status: 0 when every stage of every example plans and every
README is current, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config.phases import PROJECT_ROOT, stack_files

EXAMPLES_DIR = PROJECT_ROOT / "examples"
BEGIN = "<!-- plan-summary (python -m infra.plan.examples) -->"
END = "<!-- /plan-summary -->"


def example_dirs(root: Path = EXAMPLES_DIR) -> list[Path]:
    """Every example plan: each directory under ``root`` with at least one stack file, by name."""
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if d.is_dir() and stack_files(d))


@dataclass(frozen=True)
class ExamplePlan:
    """One example directory planned in its own process."""

    directory: Path
    returncode: int
    document: Mapping[str, Any] | None
    """The plan's JSON output; None when the process wrote none (a stack file failed to load)."""
    stderr: str
    seconds: float


def plan_example(directory: Path) -> ExamplePlan:
    """``python -m infra.plan --stack-dir <directory> --format json`` in a fresh process."""
    started = time.monotonic()
    done = subprocess.run(  # our own interpreter and module, with arguments built here
        [sys.executable, "-m", "infra.plan", "--stack-dir", str(directory), "--format", "json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    document = json.loads(done.stdout) if done.stdout.strip() else None
    return ExamplePlan(directory, done.returncode, document, done.stderr, time.monotonic() - started)


def _section(phase: Mapping[str, Any], title: str) -> Mapping[str, Any]:
    for section in phase["sections"]:
        if section["title"] == title:
            return dict(section)
    return {}


def summary_table(document: Mapping[str, Any]) -> str:
    """The README block: one row per stage, in the plan's order, from the plan's own figures."""
    lines = [
        BEGIN,
        "| stage (stack file) | users | peak concurrent | peak requests/s | estimated / month | budget / month "
        "| share of budget | plan |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for phase in document["phases"]:
        cost = _section(phase, "Cost").get("data", {})
        capacity = {row[0]: row[1] for row in _section(phase, "Capacity").get("rows", [])}
        total, budget = cost.get("total_usd"), cost.get("budget_usd")
        estimated = f"${total:,.2f}" if isinstance(total, int | float) else "not priced"
        budgeted = f"${budget:,.0f}" if isinstance(budget, int | float) else "-"
        share = f"{cost['budget_ratio']:.1%}" if isinstance(cost.get("budget_ratio"), int | float) else "-"
        users, concurrent, rps = (
            _figure(capacity.get(key)) for key in ("users (top of phase)", "peak concurrent users", "peak requests/s")
        )
        lines.append(
            f"| `{Path(phase['stack_file']).name}` | {users} | {concurrent} | {rps} "
            f"| {estimated} | {budgeted} | {share} | {'FAILED' if phase['failed'] else 'ok'} |"
        )
    lines.append(END)
    return "\n".join(lines)


def _figure(value: object) -> str:
    """A capacity figure as the README shows it: whole numbers with thousands separators."""
    if isinstance(value, int | float):
        return f"{value:,.0f}"
    return "-" if value is None else str(value)


def with_summary(readme: str, block: str, source: str) -> str:
    """``readme`` with its summary block replaced by ``block``; a README without markers is an error."""
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"{source}: no {BEGIN} ... {END} block to write the stage table into")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan.examples", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on a stale README block instead of writing it")
    parser.add_argument("directories", nargs="*", type=Path, help="example directories (default: every one)")
    args = parser.parse_args(argv)
    directories = args.directories or example_dirs()
    if not directories:
        print(f"{EXAMPLES_DIR}: no example plan (a directory of Pulumi.<stack>.yaml files)", file=sys.stderr)
        return 1
    failures = 0
    for directory in directories:
        result = plan_example(directory)
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"{directory}: {len(stack_files(directory))} stacks planned in {result.seconds:.1f} s: {status}")
        if result.returncode != 0:
            failures += 1
            sys.stderr.write(result.stderr)
        if result.document is None:
            continue
        readme_path = directory / "README.md"
        readme = readme_path.read_text() if readme_path.is_file() else ""
        try:
            updated = with_summary(readme, summary_table(result.document), str(readme_path))
        except ValueError as exc:
            print(exc, file=sys.stderr)
            failures += 1
            continue
        if updated == readme:
            continue
        if args.check:
            print(f"{readme_path}: stage table is stale; run `python -m infra.plan.examples`", file=sys.stderr)
            failures += 1
        else:
            readme_path.write_text(updated)
            print(f"{readme_path}: stage table rewritten")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
