"""Offline plan time per phase against the bare import time of the Pulumi SDKs.

    uv run python -m bench.plan_time [--runs 5] [--phases growth scale]

Target: planning a phase (``python -m infra.plan <phase>`` in a fresh interpreter) takes at
most 1.5x the time a fresh interpreter needs just to import pulumi, pulumi_aws,
pulumi_cloudflare and pulumi_kubernetes. Everything is measured in fresh subprocesses (a
warm interpreter would hide import cost, which dominates). The two commands alternate, a
bare import then a plan, so that a change in the machine's load hits both alike; each
figure is the median of ``--runs`` runs, and the ratio is the median of the pairs' ratios.
The plan is also timed with the SDKs imported eagerly (``SCALEPLAN_EAGER_SDK_IMPORTS=1``),
to show what the lazy loader of :mod:`infra.plan.lazy_sdk` is worth, and a stage breakdown of
one plan as the command runs it shows where the time goes. Prints figures only; nothing
here asserts on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("pulumi", "pulumi_aws", "pulumi_cloudflare", "pulumi_kubernetes")
TARGET_RATIO = 1.5
EAGER_ENV = "SCALEPLAN_EAGER_SDK_IMPORTS"

_IMPORT_SCRIPT = """
import time
start = time.perf_counter()
import {modules}
print(time.perf_counter() - start)
"""

_STAGES_SCRIPT = """
import gc, json, time
marks = {{"start": time.perf_counter()}}
gc.disable()
from infra.plan.lazy_sdk import install
install()  # as infra/plan/__main__.py does first
from infra.policy.launch import discover_packs, launch
launched = [launch(pack_dir) for pack_dir in discover_packs()]
marks["launch policy packs"] = time.perf_counter()
from infra.config.loader import load_stack_file
from infra.plan.cli import policy_analysis_ahead
from infra.policy.packs import shared_pool
from infra.plan.report import default_stack_file, run_phase
from infra.plan.sections import section_builders
marks["import config and plan"] = time.perf_counter()
config = load_stack_file(default_stack_file({phase!r}))
marks["load and validate stack file"] = time.perf_counter()
import infra.stack
marks["import program"] = time.perf_counter()
shared_pool().adopt(launched)
analysis = policy_analysis_ahead(config, {phase!r})
run = run_phase(config, {phase!r}, observers=[analysis])
analysis.finish()
marks["run program under mocks (SDK modules load here)"] = time.perf_counter()
for builder in section_builders():
    builder(config, run)
    marks["section " + builder.__name__] = time.perf_counter()
names = list(marks)
print(json.dumps({{b: marks[b] - marks[a] for a, b in zip(names, names[1:])}} | {{"resources": len(run.resources)}}))
"""


ENV = dict(os.environ)
"""Environment of every measured subprocess (see ``--pycache-prefix``)."""


def _wall(argv: Sequence[str], ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> float:
    """Wall time of one fresh subprocess, which must exit with a status in ``ok``."""
    start = time.perf_counter()
    completed = subprocess.run(argv, cwd=ROOT, env=env or ENV, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return elapsed


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _fmt(samples: list[float]) -> str:
    spread = f" (min {min(samples):.2f}, max {max(samples):.2f})" if len(samples) > 1 else ""
    return f"{_median(samples):7.2f} s{spread}"


def import_times(runs: int) -> dict[str, list[float]]:
    """Wall time of a fresh interpreter importing each SDK alone."""
    return {sdk: [_wall([sys.executable, "-c", f"import {sdk}"]) for _ in range(runs)] for sdk in SDKS}


def _bare_import() -> float:
    return _wall([sys.executable, "-c", f"import {', '.join(SDKS)}"])


def _plan(phase: str, eager: bool = False) -> float:
    # Exit 1 (a section such as cost or policy failed) is still a complete plan.
    env = {**ENV, EAGER_ENV: "1"} if eager else None
    return _wall([sys.executable, "-m", "infra.plan", phase, "--format", "json"], ok=(0, 1), env=env)


def paired_times(phase: str, runs: int, eager: bool = False) -> tuple[list[float], list[float]]:
    """``runs`` pairs of (bare import, plan), each pair run back to back."""
    bare, plan = [], []
    for _ in range(runs):
        bare.append(_bare_import())
        plan.append(_plan(phase, eager))
    return bare, plan


def bytecode_installed(module: str) -> bool:
    """True when ``module``'s compiled bytecode sits beside its source (written at install)."""
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec else None
    return bool(origin) and Path(importlib.util.cache_from_source(str(origin))).is_file()


def _print_bytecode_status() -> None:
    """Which side compiles sources in every run: where PYTHONDONTWRITEBYTECODE is set, nothing is cached."""
    no_cache = bool(ENV.get("PYTHONDONTWRITEBYTECODE"))
    if bytecode_installed("pulumi_cloudflare"):
        print("the venv holds compiled bytecode for the SDKs (uv sync --compile-bytecode)")
    elif no_cache:
        print(
            "PYTHONDONTWRITEBYTECODE is set and the venv has no bytecode: every run compiles the SDK sources "
            "again (both sides alike; `uv sync --compile-bytecode` is what .ci/run does)"
        )
    if bytecode_installed("infra.plan.cli"):
        print("infra/ and policies/ hold compiled bytecode (python -m compileall, as README's first command)")
    elif no_cache:
        print(
            "PYTHONDONTWRITEBYTECODE is set and infra/ has no bytecode: every plan compiles the project's "
            "modules again (README's first command compiles them with python -m compileall)"
        )


def stage_breakdown(phase: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", _STAGES_SCRIPT.format(phase=phase)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"stage breakdown of {phase} failed:\n{completed.stderr[-2000:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _ratio(bare: list[float], plan: list[float]) -> float:
    return _median([p / b for b, p in zip(bare, plan, strict=True)])


def plan_stacks() -> list[str]:
    """Every stack file in the project root, in the plan's order (``infra.config.phases``)."""
    from infra.config.phases import load_plan  # noqa: PLC0415 - timed runs are subprocesses

    configs, _problems = load_plan(ROOT)
    return list(configs)


def main(argv: Sequence[str] | None = None) -> int:
    stacks = plan_stacks()
    parser = argparse.ArgumentParser(prog="python -m bench.plan_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure; the median is reported (default 5)")
    parser.add_argument("--phases", nargs="+", choices=stacks, default=stacks)
    parser.add_argument(
        "--breakdown", choices=stacks, default=stacks[-1], help="phase whose stages are timed (default: the largest)"
    )
    parser.add_argument("--no-eager", action="store_true", help="skip timing the plan with eager SDK imports")
    parser.add_argument(
        "--pycache-prefix",
        type=Path,
        help="measure with bytecode cached in this directory (PYTHONPYCACHEPREFIX; the venv is not written to), "
        "as on a machine where imports are not compiled every time; one warm-up run of each command fills it",
    )
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if args.pycache_prefix is not None:
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = str(args.pycache_prefix.resolve())
        print(f"bytecode cached in {ENV['PYTHONPYCACHEPREFIX']}; warming it up")
        _bare_import()
        for phase in args.phases:
            _plan(phase)
    else:
        _print_bytecode_status()
    print(f"median of {args.runs} fresh-subprocess runs each\n")

    for sdk, samples in import_times(args.runs).items():
        print(f"  {sdk:<20} alone {_fmt(samples)}")
    print()

    print(f"{'phase':<11} {'bare import of the 4 SDKs':<36} {'plan (python -m infra.plan)':<36} {'ratio':>6}")
    for phase in args.phases:
        bare, plan = paired_times(phase, args.runs)
        ratio = _ratio(bare, plan)
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(f"{phase:<11} {_fmt(bare):<36} {_fmt(plan):<36} {ratio:5.2f}x  {verdict} target <= {TARGET_RATIO}x")
    if not args.no_eager:
        phase = args.phases[0]
        bare, plan = paired_times(phase, args.runs, eager=True)
        print(
            f"{phase + ' *':<11} {_fmt(bare):<36} {_fmt(plan):<36} {_ratio(bare, plan):5.2f}x  "
            f"* with {EAGER_ENV}=1: the SDKs' own eager package imports"
        )
    print()

    stages = stage_breakdown(args.breakdown)
    resources = int(stages.pop("resources"))
    print(f"one plan of {args.breakdown} ({resources} resources) as the command runs it, by stage:")
    for stage, seconds in stages.items():
        print(f"  {stage:<48} {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
