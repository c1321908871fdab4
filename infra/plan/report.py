"""Making the offline plan of a phase: run the program under mocks and build each section.

Nothing here knows a concern: each section comes from a builder registered in
:mod:`infra.plan.sections`.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun, ResourceObserver, run_program
from infra.plan.mocks import RealisticMocks
from infra.plan.sections import Section, SectionBuilder, section_builders
from infra.tagging import PROJECT

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class PhaseReport:
    """The plan of one phase: where it came from and what each section says about it."""

    stack: str
    """Stack name (``growth``), as in ``Pulumi.<stack>.yaml``."""
    stack_file: str
    sections: Sequence[Section]

    @property
    def failed(self) -> bool:
        return any(section.failed for section in self.sections)


def default_stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def run_phase(config: PhaseConfig, stack: str, observers: Sequence[ResourceObserver] = ()) -> ProgramRun:
    """The real program for ``config`` under mocks, as ``pulumi up`` on ``stack`` would run it.

    ``observers`` see each resource as it is registered (see :func:`run_program`).
    """
    # Imported here so that a bad stack file is reported before the provider SDKs load.
    from infra.stack import build_phase  # noqa: PLC0415

    def program() -> None:
        build_phase(config)

    return run_program(
        program,
        project=PROJECT,
        stack=stack,
        mocks=RealisticMocks(region=config.environment.region),
        observers=observers,
    )


def build_sections(
    config: PhaseConfig, run: ProgramRun, builders: Sequence[SectionBuilder] | None = None
) -> list[Section]:
    """Each builder's section; a builder that raises yields a failed section saying so.

    One broken concern must not hide what the others report, nor pass silently.
    """
    sections = []
    for builder in section_builders() if builders is None else builders:
        try:
            sections.append(builder(config, run))
        except Exception as exc:  # noqa: BLE001 - reported as a failed section, never swallowed
            last = traceback.extract_tb(exc.__traceback__)[-1]
            sections.append(
                Section(
                    title=builder.__name__,
                    columns=("error",),
                    rows=[[f"{type(exc).__name__}: {exc}"]],
                    notes=[f"raised at {last.filename}:{last.lineno}"],
                    failed=True,
                    data={"error": f"{type(exc).__name__}: {exc}"},
                )
            )
    return sections
