"""Which phases a plan has and in what order: declared by the stack files themselves.

A phase is a stack file ``Pulumi.<stack>.yaml`` in the project root; its name is the user's
(``environment.phase``, any label). The order is the order of the plan's capacity steps:
ascending ``scaleplan:capacity.users_max``, then the stack name. Why this and not a list:

- a scaling plan's phases *are* its capacity steps (0-5k users, then 5k-25k, ...), so the
  order is already stated, as data, in every stack file; a separate list would be a second
  statement of the same fact that can fall out of step with the files;
- ``Pulumi.yaml`` is the CLI's project file and takes no keys of ours;
- adding a phase is adding a stack file, and nothing else changes.

Two stack files with the same ``users_max`` (two environments of one phase, say) are ordered
by stack name. Nothing here, or anywhere, branches on a phase's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from infra.config import PhaseConfig, PhaseConfigError
from infra.config.loader import load_stack_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT_FILE = "Pulumi.yaml"


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    """The stack file of ``stack``: ``Pulumi.<stack>.yaml`` in ``root``."""
    return root / f"Pulumi.{stack}.yaml"


def stack_files(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Every stack file in ``root`` by stack name, in name order (not yet the plan's order)."""
    files = sorted(path for path in root.glob("Pulumi.*.yaml") if path.name != PROJECT_FILE)
    return {path.name.removeprefix("Pulumi.").removesuffix(".yaml"): path for path in files}


def plan_order(configs: Mapping[str, PhaseConfig]) -> list[str]:
    """The stacks in the plan's order: ascending ``capacity.users_max``, then stack name."""
    return sorted(configs, key=lambda stack: (configs[stack].capacity.users_max, stack))


def load_plan(
    root: Path = PROJECT_ROOT, source: Callable[[Path], str] | None = None
) -> tuple[dict[str, PhaseConfig], list[PhaseConfigError]]:
    """Every stack file in ``root``, validated and in the plan's order, and every file's error.

    A ``root`` without any stack file is itself an error: a plan needs at least one phase.
    ``source`` names a file in errors (default: its file name, as the project root's are known).
    """
    files = stack_files(root)
    if not files:
        return {}, [PhaseConfigError(str(root), ["no stack file Pulumi.<stack>.yaml: a plan needs at least one phase"])]
    configs: dict[str, PhaseConfig] = {}
    problems: list[PhaseConfigError] = []
    for stack, path in files.items():
        try:
            configs[stack] = load_stack_file(path, source=source(path) if source else None)
        except PhaseConfigError as exc:
            problems.append(exc)
    return {stack: configs[stack] for stack in plan_order(configs)}, problems
