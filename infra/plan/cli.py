"""``python -m infra.plan <phase|all>``: what ``pulumi up`` would create, without a cloud.

Loads ``Pulumi.<phase>.yaml``, runs the real program under Pulumi's mocks and prints each
registered plan section. Exit status: 0 when every section passes, 1 when a section failed
(a capacity shortfall, a mandatory policy violation), 2 when a stack file is invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from infra.config import PhaseConfig, PhaseConfigError
from infra.config.environment import Phase
from infra.config.loader import load_stack_file
from infra.plan.report import PhaseReport, build_sections, default_stack_file, run_phase

EXIT_OK = 0
EXIT_SECTION_FAILED = 1
EXIT_INVALID_CONFIG = 2

ALL = "all"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.plan",
        description="Offline plan of a phase: the resources `pulumi up` would create, sized, with capacity figures.",
    )
    parser.add_argument("phase", choices=[*(p.value for p in Phase), ALL], help="phase (stack) to plan, or all")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table", dest="fmt")
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="stack file to read instead of Pulumi.<phase>.yaml in the project root (single phase only)",
    )
    args = parser.parse_args(argv)
    if args.stack_file is not None and args.phase == ALL:
        parser.error("--stack-file names one stack file, so it needs one phase, not 'all'")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stacks = [p.value for p in Phase] if args.phase == ALL else [args.phase]
    files = {stack: args.stack_file or default_stack_file(stack) for stack in stacks}

    configs: dict[str, PhaseConfig] = {}
    problems: list[PhaseConfigError] = []
    for stack, path in files.items():
        try:
            configs[stack] = load_stack_file(path)
        except PhaseConfigError as exc:
            problems.append(exc)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID_CONFIG

    # Imported after validation so that a bad file is reported without loading the renderers' deps.
    from infra.plan.render import RENDERERS  # noqa: PLC0415

    warm_up = threading.Thread(target=_start_policy_packs, name="start-policy-packs", daemon=True)
    warm_up.start()
    reports: list[PhaseReport] = []
    for stack, config in configs.items():
        try:
            run = run_phase(config, stack)
        except PhaseConfigError as exc:  # a rule checked while the program declares resources
            print(exc, file=sys.stderr)
            return EXIT_INVALID_CONFIG
        warm_up.join()
        reports.append(PhaseReport(stack=stack, stack_file=_shown(files[stack]), sections=build_sections(config, run)))

    sys.stdout.write(RENDERERS[args.fmt](reports) + "\n")
    return EXIT_SECTION_FAILED if any(report.failed for report in reports) else EXIT_OK


def _start_policy_packs() -> None:
    """Start the policy-pack processes while the program runs under mocks.

    Each pack is a separate Python process that imports the Pulumi SDK, so starting them
    beside the program (on another core) rather than after it takes their start-up off the
    plan's critical path. The verdict section reuses them from the shared pool; a pack that
    fails to start here is started again there, where its error is reported.
    """
    from infra.policy.packs import discover_packs, shared_pool  # noqa: PLC0415

    for pack_dir in discover_packs():
        try:
            shared_pool().get(pack_dir)
        except Exception:  # noqa: BLE001 - reported by the verdict section's own start
            continue


def _close_event_loops() -> None:
    """Close the event loops the Pulumi runtime opened in its worker threads, at process exit.

    Left open, each one's finalizer runs at interpreter exit after its sockets are gone and
    prints an ``Invalid file descriptor`` traceback under a good plan. Only for the command:
    in a longer-lived process those threads may still use their loops.
    """
    for candidate in gc.get_objects():
        if isinstance(candidate, asyncio.AbstractEventLoop) and not candidate.is_running():
            candidate.close()


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is under it, for shorter reports."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    status = main()
    _close_event_loops()
    sys.exit(status)
