"""``python -m infra.policy <stack> [--stack-file F] [--policy-pack DIR ...] [--policy-pack-config FILE ...]``.

Runs the stack's program under mocks and the policy packs over it, the way
``pulumi preview --policy-pack DIR --policy-pack-config FILE`` would, and prints each verdict.
The stack file is ``--stack-file`` or ``Pulumi.<stack>.yaml`` in the project root.
As with the CLI, the n-th ``--policy-pack-config`` belongs to the n-th ``--policy-pack``.
Without ``--policy-pack``: every pack under ``policies/`` with the settings derived from
the stack file itself (:mod:`infra.policy.settings`).

Exit status: 0 when no mandatory policy is violated, 1 when one is, 2 when the stack file
or a policy config is invalid, 3 when a pack fails (a policy raised).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.config import PhaseConfigError
from infra.config.loader import load_stack_file
from infra.config.phases import stack_file
from infra.plan.capture import run_program
from infra.plan.mocks import RealisticMocks
from infra.policy.config import PolicyConfigError, load_config_file
from infra.policy.launch import POLICIES_ROOT, PolicyPackError
from infra.policy.packs import PackRun, for_config, run_packs
from infra.policy.runner import PackReport, StackContext
from infra.tagging import PROJECT

EXIT_OK = 0
EXIT_MANDATORY_VIOLATION = 1
EXIT_INVALID_CONFIG = 2
EXIT_PACK_FAILED = 3


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.policy", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name: its file is Pulumi.<stack>.yaml unless --stack-file is given")
    parser.add_argument("--stack-file", type=Path, help="stack file to check instead of Pulumi.<stack>.yaml")
    parser.add_argument("--policy-pack", type=Path, action="append", default=[], dest="packs")
    parser.add_argument("--policy-pack-config", type=Path, action="append", default=[], dest="configs")
    args = parser.parse_args(argv)
    if args.configs and len(args.configs) != len(args.packs):
        parser.error("give one --policy-pack-config per --policy-pack, in the same order")
    return args


def format_report(report: PackReport) -> list[str]:
    lines = [f"Policy pack {report.pack}: {len(report.mandatory)} mandatory, {len(report.advisory)} advisory"]
    for diagnostic in report.diagnostics:
        lines.append(f"  [{diagnostic.enforcement.value}] {diagnostic.policy}  {diagnostic.urn or '(stack)'}")
        lines.extend(f"      {line}" for line in diagnostic.detail.splitlines())
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        path = args.stack_file or stack_file(args.stack, POLICIES_ROOT.parent)
        # A file given on the command line is named as given: the one actually read.
        config = load_stack_file(path, source=str(path) if args.stack_file else None)
        if args.packs:
            configs = [load_config_file(path) for path in args.configs] or [{} for _ in args.packs]
            runs = [PackRun(pack, entries) for pack, entries in zip(args.packs, configs, strict=True)]
        else:
            runs = for_config(config, str(path))
        if not runs:
            print(f"no policy packs: none given and none under {POLICIES_ROOT}", file=sys.stderr)
            return EXIT_INVALID_CONFIG
    except (PhaseConfigError, PolicyConfigError) as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID_CONFIG

    # Imported after validation, as the plan does: the program loads every provider SDK.
    from infra.stack import build_phase  # noqa: PLC0415

    def build() -> None:
        build_phase(config)

    program = run_program(
        build,
        project=PROJECT,
        stack=args.stack,
        mocks=RealisticMocks(region=config.environment.region),
    )
    try:
        reports = run_packs(runs, program.resources, StackContext(project=PROJECT, stack=args.stack))
    except PolicyConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID_CONFIG
    except PolicyPackError as error:
        print(error, file=sys.stderr)
        return EXIT_PACK_FAILED
    for report in reports:
        print("\n".join(format_report(report)))
    return EXIT_MANDATORY_VIOLATION if any(report.mandatory for report in reports) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
