"""``python -m infra.review``: what a change does, for the reviewer of a pull request.

    python -m infra.review diff growth scale                 # the promotion about to run
    python -m infra.review diff examples/<plan>/Pulumi.<a>.yaml examples/<plan>/Pulumi.<b>.yaml   # another plan's
    python -m infra.review diff scale@origin/main scale      # one phase, base revision vs working tree
    python -m infra.review pr --base origin/main             # every phase the change touches
    python -m infra.review touched --base origin/main        # the phases a change can alter, as JSON
    python -m infra.review chart                             # redraw docs/cost-per-phase.svg

Each writes Markdown (one PR comment, under GitHub's limit) to standard output or ``--output``,
and with ``--json-output`` everything as JSON. Exit status: 0 when every guardrail passes, 1
when one fails (the reports are written first, and each failure is printed on one line), 2
when a side cannot be built.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.review.diff import Limits, PlanDiff, as_json, compare, failed_guardrails
from infra.review.markdown import render
from infra.review.sides import (
    ROOT,
    ReviewError,
    Side,
    capture_many,
    changed_paths,
    phases_at,
    phases_in,
    touched_phases,
)

EXIT_OK = 0
EXIT_GUARDRAIL_FAILED = 1
EXIT_ERROR = 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, help="write the Markdown report here instead of standard output")
    parser.add_argument("--json-output", type=Path, help="also write the JSON report here")
    parser.add_argument(
        "--max-cost-increase-percent",
        type=float,
        help="fail when a phase's monthly cost rises by more than this share of the base (default: no limit)",
    )
    parser.add_argument(
        "--allow-stateful-replacement",
        action="store_true",
        help="report, but do not fail on, a stateful resource replaced or removed (a planned migration)",
    )
    parser.add_argument(
        "--allow-accepted-risk",
        action="store_true",
        help="report, but do not fail on, a risk newly accepted under scaleplan:accepted_risks (a reviewed decision)",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.review", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    diff = commands.add_parser(
        "diff", help="compare two plans: PHASE, a stack file's path, either with @REVISION, on each side"
    )
    diff.add_argument("before", type=Side.parse)
    diff.add_argument("after", type=Side.parse)
    _common(diff)
    touched = commands.add_parser("touched", help="print, as a JSON list, the phases whose plan a change can alter")
    touched.add_argument("--base", required=True, help="base revision (e.g. origin/main)")
    touched.add_argument("--head", help="head revision (default: the working tree)")
    commands.add_parser("chart", help="redraw docs/cost-per-phase.svg from every phase's cost estimate")
    pr = commands.add_parser("pr", help="compare every phase a change touches, at the base and the head")
    pr.add_argument("--base", required=True, help="base revision (e.g. origin/main)")
    pr.add_argument("--head", help="head revision (default: the working tree)")
    pr.add_argument("--phase", action="append", dest="phases", help="compare this phase (repeatable; default: touched)")
    _common(pr)
    return parser.parse_args(argv)


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_cost_increase_percent=args.max_cost_increase_percent,
        allow_stateful_replacement=args.allow_stateful_replacement,
        allow_new_accepted_risks=args.allow_accepted_risk,
    )


def diff_command(args: argparse.Namespace) -> tuple[str, list[PlanDiff], list[str]]:
    before, after = args.before, args.after
    requests: dict[str | None, list[str]] = {}
    for side in (before, after):
        requests.setdefault(side.revision, []).append(side.stack_file)
    plans = capture_many({revision: sorted(set(files)) for revision, files in requests.items()})
    old, new = plans.get((before.revision, before.stack_file)), plans.get((after.revision, after.stack_file))
    if old is None and new is None:
        raise ReviewError(f"neither {before.label} nor {after.label} has a stack file")
    diff = compare(
        old,
        new,
        title=f"{before.label} → {after.label}",
        before_label=before.label,
        after_label=after.label,
        limits=_limits(args),
        same_phase=before.stack_file == after.stack_file,
    )
    return f"scaleplan review: {before.label} → {after.label}", [diff], []


def pr_command(args: argparse.Namespace) -> tuple[str, list[PlanDiff], list[str]]:
    head_phases = phases_in(ROOT) if args.head is None else phases_at(args.head)
    every = sorted(set(head_phases) | set(phases_at(args.base)))
    changed = changed_paths(args.base, args.head)
    phases = sorted(args.phases) if args.phases else touched_phases(changed, every)
    heading = f"scaleplan review: {args.base} → {args.head or 'this change'}"
    if not phases:
        return heading, [], [f"No phase's plan can change: {len(changed)} changed files, none a plan input."]
    files = [Side(phase).stack_file for phase in phases]
    plans = capture_many({args.base: files, args.head: files})
    diffs = [
        compare(
            plans.get((args.base, Side(phase).stack_file)),
            plans.get((args.head, Side(phase).stack_file)),
            title=phase,
            before_label=f"{phase}@{args.base}",
            after_label=f"{phase}@{args.head or 'head'}",
            limits=_limits(args),
        )
        for phase in phases
    ]
    notes = [f"Phases compared: {', '.join(phases)} ({len(changed)} changed files)."]
    return heading, diffs, notes


def touched_command(args: argparse.Namespace) -> int:
    try:
        head_phases = phases_in(ROOT) if args.head is None else phases_at(args.head)
        phases = touched_phases(changed_paths(args.base, args.head), head_phases)
    except ReviewError as error:
        print(f"python -m infra.review: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(phases))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "touched":
        return touched_command(args)
    if args.command == "chart":
        from infra.review.chart import CHART_FILE, regenerate  # noqa: PLC0415 - matplotlib, only here

        regenerate()
        print(f"wrote {CHART_FILE}")
        return EXIT_OK
    try:
        heading, diffs, notes = (diff_command if args.command == "diff" else pr_command)(args)
    except ReviewError as error:
        print(f"python -m infra.review: {error}", file=sys.stderr)
        return EXIT_ERROR
    markdown = render(diffs, heading=heading, notes=notes)
    if args.output:
        args.output.write_text(markdown + "\n")
    else:
        sys.stdout.write(markdown + "\n")
    if args.json_output:
        args.json_output.write_text(json.dumps(as_json(diffs), indent=1, default=str) + "\n")
    failures = failed_guardrails(diffs)
    for line in failures:
        print(f"guardrail failed: {line}", file=sys.stderr)
    return EXIT_GUARDRAIL_FAILED if failures else EXIT_OK
