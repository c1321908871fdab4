"""The offline plan command (``python -m infra.plan <stack|all>``): what ``pulumi up`` would create.

Loads ``Pulumi.<stack>.yaml`` (or ``--stack-file``), runs the real program under Pulumi's
mocks and prints each registered plan section. ``all`` plans every stack file in the project
root, ``all --stack-dir DIR`` every one in ``DIR`` (an example plan), in the plan's order
(ascending ``capacity.users_max``: :mod:`infra.config.phases`).
Exit status: 0 when every section passes, 1 when a section failed
(a capacity shortfall, a mandatory policy violation, over budget), 2 when a stack file is invalid.
When a stack fails, a ``FAILED <stack>: <check>: <reason>`` line per failure goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import weakref
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from infra.catalog.support import parse_run_date, run_date, set_run_date
from infra.config import PhaseConfig, PhaseConfigError
from infra.config.loader import load_stack_file
from infra.config.phases import PROJECT_ROOT, load_plan, stack_files
from infra.plan.report import PhaseReport, build_sections, default_stack_file, run_phase
from infra.plan.sections import Section
from infra.tagging import PROJECT

if TYPE_CHECKING:
    from infra.policy.launch import LaunchedPack
    from infra.policy.packs import AnalysisAhead

EXIT_OK = 0
EXIT_SECTION_FAILED = 1
EXIT_INVALID_CONFIG = 2

ALL = "all"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.plan",
        description="Offline plan of a phase: the resources `pulumi up` would create, sized, with capacity figures.",
    )
    parser.add_argument(
        "phase",
        metavar="stack|all",
        nargs="?",
        help="stack to plan (its file is Pulumi.<stack>.yaml unless --stack-file is given), or all of them "
        "(the default with --stack-dir)",
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table", dest="fmt")
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="stack file to read instead of Pulumi.<phase>.yaml in the project root (single phase only)",
    )
    parser.add_argument(
        "--stack-dir",
        type=Path,
        help="read the stack files from this directory (an example plan) instead of the project root; "
        "without a stack, plan every Pulumi.<stack>.yaml in it",
    )
    parser.add_argument(
        "--today",
        type=_run_date,
        help="judge version support on this date (YYYY-MM-DD) instead of today; also SCALEPLAN_TODAY",
    )
    args = parser.parse_args(argv)
    if args.stack_file is not None and args.phase == ALL:
        parser.error("--stack-file names one stack file, so it needs one phase, not 'all'")
    if args.stack_dir is not None:
        if args.stack_file is not None:
            parser.error("--stack-dir plans a directory of stack files; give it or --stack-file, not both")
        if not args.stack_dir.is_dir():
            parser.error(f"--stack-dir {args.stack_dir}: no such directory")
        args.phase = args.phase or ALL
    if args.phase is None:
        parser.error("name a stack to plan, or all (or give --stack-dir DIR)")
    if args.today is not None:
        set_run_date(args.today)
    return args


def _run_date(text: str) -> date:
    try:
        return parse_run_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None, launched_packs: Sequence[LaunchedPack] = ()) -> int:
    """Run the command; ``launched_packs`` are policy-pack processes already started for it."""
    args = parse_args(argv)
    try:
        run_date()  # a malformed SCALEPLAN_TODAY is a bad input, reported before any work
    except PhaseConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID_CONFIG
    loaded = _load_stacks(args)
    if loaded is None:
        return EXIT_INVALID_CONFIG
    configs, files, problems = loaded
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID_CONFIG

    # Imported after validation so that a bad file is reported without loading the renderers' deps.
    from infra.plan.render import RENDERERS  # noqa: PLC0415

    if launched_packs:
        from infra.policy.packs import shared_pool  # noqa: PLC0415

        shared_pool().adopt(launched_packs)
    reports: list[PhaseReport] = []
    build_errors: dict[str, PhaseConfigError] = {}
    for stack, config in configs.items():
        analysis = policy_analysis_ahead(config, stack, _shown(files[stack]))
        try:
            run = run_phase(config, stack, observers=[analysis])
        except PhaseConfigError as exc:  # a rule checked while the program declares resources
            analysis.finish()
            print(exc, file=sys.stderr)
            # The other stacks of the plan are still planned: one broken stage must not hide the rest.
            build_errors[stack] = exc
            continue
        analysis.finish(run.resources)
        reports.append(PhaseReport(stack=stack, stack_file=_shown(files[stack]), sections=build_sections(config, run)))

    if reports:
        sys.stdout.write(RENDERERS[args.fmt](reports) + "\n")
    for line in failure_lines(reports, build_errors):
        print(line, file=sys.stderr)
    if build_errors:
        return EXIT_INVALID_CONFIG
    return EXIT_SECTION_FAILED if any(report.failed for report in reports) else EXIT_OK


def _load_stacks(
    args: argparse.Namespace,
) -> tuple[dict[str, PhaseConfig], dict[str, Path], list[PhaseConfigError]] | None:
    """The stacks to plan in the plan's order, their files and every file's error.

    None when a named stack has no file (already reported).
    """
    root: Path = args.stack_dir or PROJECT_ROOT
    if args.phase == ALL:
        # Outside the root a file is named by its path: two example plans may share stack names.
        plan, errors = load_plan(root, source=_shown if args.stack_dir else None)
        return plan, stack_files(root), errors
    configs: dict[str, PhaseConfig] = {}
    problems: list[PhaseConfigError] = []
    files = {args.phase: args.stack_file or default_stack_file(args.phase, root)}
    if not files[args.phase].is_file() and args.stack_file is None:
        known = ", ".join(stack_files(root)) or "none"
        print(
            f"{files[args.phase].name}: no such stack file; stacks in the project: {known} (or give --stack-file)",
            file=sys.stderr,
        )
        return None
    try:
        # A file given on the command line is named as given: the one actually read.
        source = str(args.stack_file) if args.stack_file else _shown(files[args.phase]) if args.stack_dir else None
        configs[args.phase] = load_stack_file(files[args.phase], source=source)
    except PhaseConfigError as exc:
        problems.append(exc)
    return configs, files, problems


CHECKS: dict[str, str] = {
    "Policy verdicts": "mandatory policy finding",
    "Cost": "over budget",
    "Capacity": "capacity shortfall",
}
"""The check a failed section stands for, in the reason line; any other section is named by its title."""


def failure_lines(reports: Sequence[PhaseReport], build_errors: Mapping[str, PhaseConfigError]) -> list[str]:
    """One short line per failure: the stack, which check failed and its first reason.

    The full sections are above in the report; these lines are what a CI log shows last.
    """
    lines = [
        f"FAILED {stack}: build error: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
        for stack, error in build_errors.items()
    ]
    for report in reports:
        for section in report.sections:
            if not section.failed:
                continue
            check = CHECKS.get(section.title, f"{section.title.lower()} check")
            if section.title == "Cost" and "total_usd" not in section.data:
                check = "cost estimate"  # nothing priced, so no budget comparison was made
            lines.append(f"FAILED {report.stack} ({report.stack_file}): {check}: {_first_reason(section)}")
    return lines


def _first_reason(section: Section) -> str:
    """The section's own words for what failed: the budget sum, a mandatory finding, else its first row or note."""
    total, budget = section.data.get("total_usd"), section.data.get("budget_usd")
    if isinstance(total, int | float) and isinstance(budget, int | float):
        return f"estimated ${total:,.2f}/month is above the ${budget:,.2f} budget"
    for row in section.rows:
        if any(str(cell) in ("mandatory", "error") for cell in row):
            return " ".join(str(cell) for cell in row if cell not in (None, ""))
    if section.columns == ("problem",) and section.rows:
        return str(section.rows[0][0])
    flagged = [note for note in section.notes if any(word in note for word in ("short", "not ", "cannot"))]
    if flagged:
        return flagged[0]
    if section.rows and section.rows[0]:
        return " ".join(str(cell) for cell in section.rows[0] if cell not in (None, ""))
    return section.notes[0] if section.notes else "see the section above"


def policy_analysis_ahead(config: PhaseConfig, stack: str, source: str | None = None) -> AnalysisAhead:
    """Start the policy packs and analyze each resource while the program runs under mocks.

    Each pack is a separate Python process: started and fed beside the program (on the
    other core) rather than after it, its start-up and most of its analysis leave the plan's
    critical path. The verdict section then runs the packs as usual and takes the answers
    already computed (see :class:`infra.policy.packs.AnalysisAhead`). Both configure the packs
    with the settings derived from ``config``, the stack file being planned (``source``, for
    reports; ``Pulumi.<stack>.yaml`` when not given).
    """
    from infra.policy.packs import AnalysisAhead, for_config  # noqa: PLC0415
    from infra.policy.runner import StackContext  # noqa: PLC0415

    shown = source or default_stack_file(stack).name
    return AnalysisAhead(for_config(config, shown), StackContext(project=PROJECT, stack=stack))


class _RecordingEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, remembering each event loop it creates (see close_event_loops)."""

    def __init__(self) -> None:
        super().__init__()
        self.created: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        self.created.add(loop)
        return loop


def record_event_loops() -> None:
    """Remember the event loops created from now on, so that close_event_loops finds them."""
    asyncio.set_event_loop_policy(_RecordingEventLoopPolicy())


def close_event_loops() -> None:
    """Close the event loops the Pulumi runtime opened in its worker threads, at process exit.

    Left open, each one's finalizer runs at interpreter exit after its sockets are gone and
    prints an ``Invalid file descriptor`` traceback under a good plan. Only for the command:
    in a longer-lived process those threads may still use their loops. The loops are the
    ones recorded since record_event_loops (searching the heap for them took 0.1 s).
    """
    policy = asyncio.get_event_loop_policy()
    if isinstance(policy, _RecordingEventLoopPolicy):
        for loop in list(policy.created):
            if not loop.is_running():
                loop.close()


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is under it, for shorter reports."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
