r"""The stack files of a move between phases that cannot be one ``pulumi up``.

A phase that runs the application on an EC2 Auto Scaling group, followed in the plan's order by
one that runs it on EKS only: applying the later file straight to a live environment of the
earlier would delete the group in the same ``up`` that points the load balancer at pod target
groups nothing has registered in yet. The move is therefore three ``up``\s, each with its own
file (the shipped plan's foundation -> growth: README, "Moving foundation to growth";
docs/request-path.md):

1. ``transitions/<earlier>-to-<later>-1.yaml``: the later phase, plus the earlier phase's Auto
   Scaling group, with all requests on the instances. The cluster, node pools and the ip target
   groups come up beside the serving group.
2. ``transitions/<earlier>-to-<later>-2.yaml``: the same, all requests on the pods, the group
   still registered (rollback is the step 1 file).
3. ``Pulumi.<later>.yaml``: the group and its target groups are deleted.

Which moves need them is read from the stack files, never from a phase's name: each pair of
consecutive phases (the plan's order, :func:`infra.config.phases.plan_order`) whose earlier file
has ``scaleplan:compute.auto_scaling_group`` and whose later file has none. The files are derived
from the two phase files, never edited by hand: ``python -m infra.config.transitions [--stack-dir
DIR]`` rewrites them under ``DIR/transitions/``, and a test fails when a committed one of the
project's root differs from what its phase files give.
"""

from __future__ import annotations

import argparse
import copy
import functools
import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import NAMESPACE, PhaseConfigError
from infra.yaml_files import load_file

ROOT = Path(__file__).resolve().parent.parent.parent
DIRECTORY = "transitions"
COMPUTE_KEY = f"{NAMESPACE}:compute"
LOAD_BALANCER_KEY = f"{NAMESPACE}:load_balancer"


@dataclass(frozen=True)
class TransitionStep:
    """One intermediate stack file of a move: the later phase, the earlier phase's Auto Scaling
    group kept beside its node pools, and the share of requests each backend gets."""

    earlier: str
    later: str
    number: int
    auto_scaling_group_percent: int
    purpose: str
    root: Path = ROOT
    """The plan's folder: its stack files are read from here, the step's file written under it."""

    @property
    def file_name(self) -> str:
        return f"{self.earlier}-to-{self.later}-{self.number}.yaml"

    @property
    def path(self) -> Path:
        return self.root / DIRECTORY / self.file_name

    @property
    def cost_policy_config_path(self) -> Path:
        """The cost pack's ``--policy-pack-config`` for this step: both backends' node ceilings
        and instance families, from the step's own config (``infra.cost.policy_config``)."""
        return self.root / "policies" / "cost" / "config" / self.file_name.replace(".yaml", ".json")


STEP_SHAPES: tuple[tuple[int, str], ...] = (
    (100, "the cluster, node pools and ip target groups come up beside the serving Auto Scaling group"),
    (0, "requests go to the pods; the Auto Scaling group stays registered for rollback"),
)
"""Each step's share of requests on the Auto Scaling group, and what the step does."""


class TransitionError(ValueError):
    """A move that needs intermediate steps the program cannot write (names both stack files)."""


@functools.cache
def steps(root: Path = ROOT) -> tuple[TransitionStep, ...]:
    """The intermediate steps of every move in the plan in ``root`` that needs them, in the plan's order."""
    # Imported here: the phases module imports the config package this module belongs to.
    from infra.config.phases import load_plan  # noqa: PLC0415

    # Outside the project's root a file is named by its path, as the plan names it.
    configs, problems = load_plan(root, source=None if root == ROOT else str)
    if problems:
        raise problems[0]
    found: list[TransitionStep] = []
    for earlier, later in itertools.pairwise(configs):
        before, after = configs[earlier], configs[later]
        if before.compute.auto_scaling_group is None or after.compute.auto_scaling_group is not None:
            continue
        if before.load_balancer is None or after.load_balancer is None:
            raise TransitionError(
                f"Pulumi.{earlier}.yaml -> Pulumi.{later}.yaml: the move from an Auto Scaling group to the "
                f"cluster shifts requests between them with the load balancer's weights ({LOAD_BALANCER_KEY}), "
                "which both files need"
            )
        found += [
            TransitionStep(earlier, later, number, percent, purpose, root)
            for number, (percent, purpose) in enumerate(STEP_SHAPES, start=1)
        ]
    return tuple(found)


def step_values(step: TransitionStep, earlier: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config:`` of ``step``: the later phase's values with the earlier phase's Auto
    Scaling group and the step's backend weights. Nothing else differs from the later phase."""
    values: dict[str, Any] = copy.deepcopy(dict(later))
    group = earlier[COMPUTE_KEY].get("auto_scaling_group")
    if group is None:
        raise ValueError(f"Pulumi.{step.earlier}.yaml has no {COMPUTE_KEY}.auto_scaling_group to keep")
    if "auto_scaling_group" in values[COMPUTE_KEY]:
        raise ValueError(f"Pulumi.{step.later}.yaml already has {COMPUTE_KEY}.auto_scaling_group")
    values[COMPUTE_KEY] = {"auto_scaling_group": copy.deepcopy(group), **values[COMPUTE_KEY]}
    values[LOAD_BALANCER_KEY] = {
        **values[LOAD_BALANCER_KEY],
        "backend_weights": {
            "auto_scaling_group": step.auto_scaling_group_percent,
            "node_pools": 100 - step.auto_scaling_group_percent,
        },
    }
    return values


def _config_of(phase: str, root: Path) -> dict[str, Any]:
    document = load_file(root / f"Pulumi.{phase}.yaml")
    return dict(document["config"])


def render(step: TransitionStep) -> str:
    """The text of ``step``'s file, as committed."""
    values = step_values(step, _config_of(step.earlier, step.root), _config_of(step.later, step.root))
    header = (
        f"# Step {step.number} of moving a live environment from {step.earlier} to {step.later}: {step.purpose}.\n"
        f"# Generated from Pulumi.{step.earlier}.yaml and Pulumi.{step.later}.yaml by "
        f"`python -m infra.config.transitions`; do not edit.\n"
        f"# Differs from Pulumi.{step.later}.yaml only in {COMPUTE_KEY}.auto_scaling_group (kept from "
        f"{step.earlier}) and {LOAD_BALANCER_KEY}.backend_weights.\n"
        "# Apply with: pulumi up -s <stack> --config-file "
        f'{DIRECTORY}/{step.file_name}  (README.md, "Moving foundation to growth")\n'
    )
    return header + yaml.safe_dump({"config": values}, sort_keys=False, default_flow_style=False, width=120)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.config.transitions", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-dir", type=Path, default=ROOT, help="the plan's folder (default: the project's root)")
    root = parser.parse_args(argv).stack_dir.resolve()
    # Imported here: the cost package imports the config package this module belongs to.
    # Every pack's config for each step, as for any stack file (infra.policy.settings).
    from infra.policy.settings import expected_files  # noqa: PLC0415

    try:
        found = steps(root)
    except (PhaseConfigError, TransitionError) as exc:  # a bad stack file, or a move the steps cannot carry
        print(exc, file=sys.stderr)
        return 2
    if not found:
        print(f"{root}: no move from an Auto Scaling group to a cluster; nothing to write")
    for step in found:
        step.path.parent.mkdir(exist_ok=True)
        step.path.write_text(render(step))
        print(step.path.relative_to(ROOT) if step.path.is_relative_to(ROOT) else step.path)
        if root != ROOT:
            continue  # the packs' committed configs are the project's own (what `pulumi preview` is given)
        for config_path, text in expected_files({step.path.stem: step.path}, ROOT).items():
            config_path.write_text(text)
            print(config_path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
