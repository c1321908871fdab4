"""The cost policy pack: builds the PolicyPack from the rule modules, nothing else.

``pulumi preview --policy-pack policies/cost`` runs this file as a script from the pack
directory, so the repository root is not importable yet. The rules price resources with the
project's own estimator (infra/cost: price catalog, usage model), so the root goes on
sys.path first; the pack therefore runs with the project's virtualenv (see docs/cost.md).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from pulumi_policy import PolicyPack

from policies.cost import budget, compute, logs, network, storage

PolicyPack(
    name="scaleplan-cost",
    policies=[
        budget.policy,
        compute.families_policy,
        compute.max_nodes_policy,
        storage.policy,
        compute.burst_spot_policy,
        network.policy,
        logs.policy,
    ],
)
