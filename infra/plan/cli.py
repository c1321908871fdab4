"""The offline plan command (``python -m infra.plan <stack|all>``): what ``pulumi up`` would create.

Loads ``Pulumi.<stack>.yaml`` (or ``--stack-file``), runs the real program under Pulumi's
mocks and prints each registered plan section. ``all`` plans every stack file in the project
root, in the plan's order (ascending ``capacity.users_max``: :mod:`infra.config.phases`).
Exit status: 0 when every section passes, 1 when a section failed
(a capacity shortfall, a mandatory policy violation), 2 when a stack file is invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import weakref
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from infra.catalog.support import parse_run_date, run_date, set_run_date
from infra.config import PhaseConfig, PhaseConfigError
from infra.config.loader import load_stack_file
from infra.config.phases import load_plan, stack_files
from infra.plan.report import PhaseReport, build_sections, default_stack_file, run_phase
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
        help="stack to plan (its file is Pulumi.<stack>.yaml unless --stack-file is given), or all of them",
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table", dest="fmt")
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="stack file to read instead of Pulumi.<phase>.yaml in the project root (single phase only)",
    )
    parser.add_argument(
        "--today",
        type=_run_date,
        help="judge version support on this date (YYYY-MM-DD) instead of today; also SCALEPLAN_TODAY",
    )
    args = parser.parse_args(argv)
    if args.stack_file is not None and args.phase == ALL:
        parser.error("--stack-file names one stack file, so it needs one phase, not 'all'")
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
    configs: dict[str, PhaseConfig] = {}
    problems: list[PhaseConfigError] = []
    if args.phase == ALL:
        configs, problems = load_plan()
        files = {stack: default_stack_file(stack) for stack in configs}
    else:
        files = {args.phase: args.stack_file or default_stack_file(args.phase)}
        if not files[args.phase].is_file() and args.stack_file is None:
            known = ", ".join(stack_files()) or "none"
            print(
                f"{files[args.phase].name}: no such stack file; stacks in the project: {known} (or give --stack-file)",
                file=sys.stderr,
            )
            return EXIT_INVALID_CONFIG
        try:
            # A file given on the command line is named as given: the one actually read.
            source = str(args.stack_file) if args.stack_file else None
            configs[args.phase] = load_stack_file(files[args.phase], source=source)
        except PhaseConfigError as exc:
            problems.append(exc)
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
    for stack, config in configs.items():
        analysis = policy_analysis_ahead(config, stack, _shown(files[stack]))
        try:
            run = run_phase(config, stack, observers=[analysis])
        except PhaseConfigError as exc:  # a rule checked while the program declares resources
            analysis.finish()
            print(exc, file=sys.stderr)
            return EXIT_INVALID_CONFIG
        analysis.finish(run.resources)
        reports.append(PhaseReport(stack=stack, stack_file=_shown(files[stack]), sections=build_sections(config, run)))

    sys.stdout.write(RENDERERS[args.fmt](reports) + "\n")
    return EXIT_SECTION_FAILED if any(report.failed for report in reports) else EXIT_OK


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
