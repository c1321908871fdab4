"""The stack files of a move between phases that cannot be one ``pulumi up``.

Foundation runs the application on an EC2 Auto Scaling group, growth on EKS. Applying
``Pulumi.growth.yaml`` straight to a live foundation environment would delete the group in the
same ``up`` that points the load balancer at pod target groups nothing has registered in yet.
The move is therefore three ``up``s, each with its own file (README, "Moving foundation to
growth"; docs/request-path.md):

1. ``transitions/foundation-to-growth-1.yaml``: growth, plus foundation's Auto Scaling group,
   with all requests on the instances. The cluster, node pools and the ip target groups come
   up beside the serving group.
2. ``transitions/foundation-to-growth-2.yaml``: the same, all requests on the pods, the group
   still registered (rollback is the step 1 file).
3. ``Pulumi.growth.yaml``: the group and its target groups are deleted.

The files are derived from the two phase files, never edited by hand:
``python -m infra.config.transitions`` rewrites them, and a test fails when a committed one
differs from what the phase files give.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import NAMESPACE
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

    @property
    def file_name(self) -> str:
        return f"{self.earlier}-to-{self.later}-{self.number}.yaml"

    @property
    def path(self) -> Path:
        return ROOT / DIRECTORY / self.file_name

    @property
    def cost_policy_config_path(self) -> Path:
        """The cost pack's ``--policy-pack-config`` for this step: both backends' node ceilings
        and instance families, from the step's own config (``infra.cost.policy_config``)."""
        return ROOT / "policies" / "cost" / "config" / self.file_name.replace(".yaml", ".json")


STEPS: tuple[TransitionStep, ...] = (
    TransitionStep(
        earlier="foundation",
        later="growth",
        number=1,
        auto_scaling_group_percent=100,
        purpose="the cluster, node pools and ip target groups come up beside the serving Auto Scaling group",
    ),
    TransitionStep(
        earlier="foundation",
        later="growth",
        number=2,
        auto_scaling_group_percent=0,
        purpose="requests go to the pods; the Auto Scaling group stays registered for rollback",
    ),
)


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


def render(step: TransitionStep, root: Path = ROOT) -> str:
    """The text of ``step``'s file, as committed."""
    values = step_values(step, _config_of(step.earlier, root), _config_of(step.later, root))
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


def main() -> int:
    # Imported here: the cost package imports the config package this module belongs to.
    # Every pack's config for each step, as for any stack file (infra.policy.settings).
    from infra.policy.settings import expected_files  # noqa: PLC0415

    for step in STEPS:
        step.path.parent.mkdir(exist_ok=True)
        step.path.write_text(render(step))
        print(step.path.relative_to(ROOT))
        for config_path, text in expected_files({step.path.stem: step.path}, ROOT).items():
            config_path.write_text(text)
            print(config_path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
