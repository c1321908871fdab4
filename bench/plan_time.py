"""Offline plan time per phase against the bare import time of the Pulumi SDKs.

    uv run python -m bench.plan_time [--runs 5] [--phases growth scale]

Target: planning a phase (``python -m infra.plan <phase>`` in a fresh interpreter) takes at
most 1.5x the time a fresh interpreter needs just to import pulumi, pulumi_aws,
pulumi_cloudflare and pulumi_kubernetes. Everything is measured in fresh subprocesses (a
warm interpreter would hide import cost, which dominates), and each figure is the median
of ``--runs`` runs. A stage breakdown of one in-process plan (imports, config, program
under mocks, sections, rendering) shows where the time goes. Prints figures only; nothing
here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("foundation", "growth", "scale", "optimize")
SDKS = ("pulumi", "pulumi_aws", "pulumi_cloudflare", "pulumi_kubernetes")
TARGET_RATIO = 1.5

_IMPORT_SCRIPT = """
import time
start = time.perf_counter()
import {modules}
print(time.perf_counter() - start)
"""

_STAGES_SCRIPT = """
import json, sys, time
marks = {{"start": time.perf_counter()}}
from infra.config.loader import load_stack_file
from infra.plan.report import build_sections, default_stack_file, run_phase
marks["import config and plan"] = time.perf_counter()
config = load_stack_file(default_stack_file({phase!r}))
marks["load and validate stack file"] = time.perf_counter()
import infra.stack
marks["import program (SDK modules it uses)"] = time.perf_counter()
run = run_phase(config, {phase!r})
marks["run program under mocks"] = time.perf_counter()
sections = build_sections(config, run)
marks["build sections"] = time.perf_counter()
from infra.plan.render import render_json
from infra.plan.report import PhaseReport
render_json([PhaseReport(stack={phase!r}, stack_file="", sections=sections)])
marks["render json"] = time.perf_counter()
names = list(marks)
print(json.dumps({{b: marks[b] - marks[a] for a, b in zip(names, names[1:])}} | {{"resources": len(run.resources)}}))
"""


ENV = dict(os.environ)
"""Environment of every measured subprocess (see ``--pycache-prefix``)."""


def _wall(argv: Sequence[str], ok: tuple[int, ...] = (0,)) -> float:
    """Wall time of one fresh subprocess, which must exit with a status in ``ok``."""
    start = time.perf_counter()
    completed = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return elapsed


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _fmt(samples: list[float]) -> str:
    spread = f" (min {min(samples):.2f}, max {max(samples):.2f})" if len(samples) > 1 else ""
    return f"{_median(samples):7.2f} s{spread}"


def import_times(runs: int) -> tuple[list[float], dict[str, list[float]]]:
    """Wall time of a fresh interpreter importing all SDKs, and each SDK alone."""
    combined = [_wall([sys.executable, "-c", f"import {', '.join(SDKS)}"]) for _ in range(runs)]
    each = {sdk: [_wall([sys.executable, "-c", f"import {sdk}"]) for _ in range(runs)] for sdk in SDKS}
    return combined, each


def plan_times(phase: str, runs: int) -> list[float]:
    # Exit 1 (a section such as cost or policy failed) is still a complete plan.
    return [_wall(_plan_argv(phase), ok=(0, 1)) for _ in range(runs)]


def _plan_argv(phase: str) -> list[str]:
    return [sys.executable, "-m", "infra.plan", phase, "--format", "json"]


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure; the median is reported (default 5)")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--breakdown", choices=PHASES, default="optimize", help="phase whose stages are timed")
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
        _wall([sys.executable, "-c", f"import {', '.join(SDKS)}"])
        for phase in args.phases:
            _wall(_plan_argv(phase), ok=(0, 1))
    elif ENV.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: every run compiles the SDK sources again (both sides alike)")
    print(f"median of {args.runs} fresh-subprocess runs each\n")

    combined, each = import_times(args.runs)
    baseline = _median(combined)
    print(f"bare import of {' + '.join(SDKS)}: {_fmt(combined)}")
    for sdk, samples in each.items():
        print(f"  {sdk:<20} alone {_fmt(samples)}")
    print()

    print(f"{'phase':<11} {'plan (python -m infra.plan)':<38} {'ratio':>6}  target <= {TARGET_RATIO}x")
    for phase in args.phases:
        samples = plan_times(phase, args.runs)
        ratio = _median(samples) / baseline
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(f"{phase:<11} {_fmt(samples):<38} {ratio:5.2f}x  {verdict}")
    print()

    stages = stage_breakdown(args.breakdown)
    resources = int(stages.pop("resources"))
    print(f"one in-process plan of {args.breakdown} ({resources} resources), by stage:")
    for stage, seconds in stages.items():
        print(f"  {stage:<40} {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
