"""Monthly cost and cost per user across the phases of a plan, as a committed chart.

``python -m infra.review chart`` plans every phase of the checkout, writes the figures to
``docs/cost-per-phase.json``, draws ``docs/cost-per-phase.svg`` from them and rewrites the
README's architecture diagram of each phase. The SVG carries
the SHA-256 of the figures it was drawn from, so a test can tell, without drawing anything,
that the committed chart still shows what the stack files cost (tests/test_review_chart.py).
matplotlib draws it: axes, a twin axis and an SVG with stable IDs would be a lot of
hand-written SVG.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
DATA_FILE = DOCS / "cost-per-phase.json"
CHART_FILE = DOCS / "cost-per-phase.svg"


def chart_data(phases: Iterable[tuple[str, PhaseConfig, ProgramRun]]) -> dict[str, Any]:
    """Per phase, in plan order: users, estimated monthly cost, budget and cost per user."""
    from infra.cost.section import phase_estimate  # noqa: PLC0415 - the estimator loads the price catalog

    rows = []
    for phase, config, run in phases:
        total = round(phase_estimate(config, run).total_usd, 2)
        users = config.capacity.users_max
        rows.append(
            {
                "phase": phase,
                "users_max": users,
                "monthly_usd": total,
                "budget_usd": float(config.budget.monthly_usd),
                "usd_per_user": round(total / users, 4),
            }
        )
    rows.sort(key=lambda row: (row["users_max"], row["phase"]))
    return {"phases": rows}


def data_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def draw(data: dict[str, Any], path: Path) -> None:
    """The SVG chart of ``data``: bars of cost against budget, and cost per user on a second axis."""
    import matplotlib  # noqa: PLC0415 - only the chart command needs it

    matplotlib.use("svg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    plt.rcParams["svg.hashsalt"] = "scaleplan"  # stable element IDs: the file changes only with its data
    rows = data["phases"]
    labels = [f"{row['phase']}\n{row['users_max']:,} users" for row in rows]
    positions = range(len(rows))
    figure, cost_axis = plt.subplots(figsize=(8, 4.5))
    cost_axis.bar([p - 0.2 for p in positions], [r["monthly_usd"] for r in rows], 0.4, label="estimated cost")
    cost_axis.bar([p + 0.2 for p in positions], [r["budget_usd"] for r in rows], 0.4, label="budget", alpha=0.35)
    cost_axis.set_ylabel("USD per month")
    cost_axis.set_xticks(list(positions), labels)
    per_user_axis = cost_axis.twinx()
    per_user_axis.plot(list(positions), [r["usd_per_user"] for r in rows], "o-", color="black", label="cost per user")
    per_user_axis.set_ylabel("USD per user per month")
    per_user_axis.set_ylim(bottom=0)
    handles = cost_axis.get_legend_handles_labels()[0] + per_user_axis.get_legend_handles_labels()[0]
    cost_axis.legend(handles=handles, loc="upper center")
    cost_axis.set_title("Monthly cost per phase (list prices) and cost per user")
    figure.tight_layout()
    figure.savefig(
        path,
        format="svg",
        metadata={"Date": None, "Creator": None, "Description": f"data sha256 {fingerprint(data_text(data))}"},
    )
    plt.close(figure)


def drawn_from(svg: str) -> str | None:
    """The data fingerprint recorded in a chart drawn by :func:`draw`."""
    marker = "data sha256 "
    start = svg.find(marker)
    return svg[start + len(marker) : start + len(marker) + 64] if start >= 0 else None


def regenerate(root: Path = DOCS.parent) -> None:
    """Plan every phase of the checkout at ``root`` and write the data file and the chart."""
    from infra.config.loader import load_stack_file  # noqa: PLC0415
    from infra.plan.report import run_phase  # noqa: PLC0415
    from infra.review.diagram import readme_block, with_readme_blocks  # noqa: PLC0415
    from infra.review.plan_capture import snapshot_entries  # noqa: PLC0415
    from infra.review.sides import phases_in  # noqa: PLC0415

    phases = []
    for phase in phases_in(root):
        config = load_stack_file(root / f"Pulumi.{phase}.yaml")
        phases.append((phase, config, run_phase(config, phase)))
    data = chart_data(phases)
    DATA_FILE.write_text(data_text(data))
    draw(data, CHART_FILE)
    readme = root / "README.md"
    blocks = {phase: readme_block(phase, snapshot_entries(run.resources)) for phase, _, run in phases}
    readme.write_text(with_readme_blocks(readme.read_text(), blocks))
