"""Moving a live environment to the next phase's stack file replaces nothing it cannot.

A live environment is promoted by running the next phase's configuration against the same
state. Every resource of the earlier phase is compared with the one the later phase declares
under the same URN (or under an alias of it), through the replacement oracle
(:mod:`infra.provider_schemas.replacement`, derived from the providers' own sources):

- a stateful resource (database, replica, cache, key, secret, bucket, vault, log group...)
  may be neither removed nor replaced;
- a stateless resource may be replaced only when the engine can create the new one before it
  deletes the old one: no input that fixes a physical name keeps its value across the
  replacement, and ``deleteBeforeReplace`` is not set.

A change that needs a manual, documented procedure even though the provider applies it in
place (the cache's cluster mode) must be listed in :data:`KNOWN_MIGRATIONS` with the section
of docs/data-tier.md that describes it; today there are none.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from infra.config.loader import parse_phase_config
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.provider_schemas.replacement import (
    conditional_replacement_paths,
    is_stateful,
    physical_name_paths,
    replaced_by,
    replacement_paths,
    value_at,
)
from infra.stack import build_phase
from tests.conftest import PHASES, ROOT, built_phase, stack_file
from tests.test_promotion_moves import MOVE_IDS, MOVES, run_of

MANUAL_MIGRATION_PATHS: Mapping[str, tuple[str, ...]] = {
    # Changed in place by the provider, but only safe through a documented procedure.
    "aws:elasticache/replicationGroup:ReplicationGroup": ("clusterMode",),
}

KNOWN_MIGRATIONS: Mapping[tuple[str, str, str], str] = {}
"""(from phase, to phase, "<resource name>.<property>") -> docs/data-tier.md section that
documents the migration. Empty: no phase promotion of the four stack files needs one."""

KNOWN_REMOVALS: Mapping[tuple[str, str, str], tuple[str, str]] = {
    ("foundation-to-growth-1.yaml", "growth", "app-logs"): ("README.md", "/scaleplan/ftw-prod/app"),
}
"""(from stack file, to stack file, resource name) -> (document, the physical name it gives)
where the deliberate removal of a stateful resource, and what to save first, is written down.
The last ``up`` of the move to EKS deletes the instances' log group with the Auto Scaling group
(README, "Moving foundation to growth", step 4: export the logs first if they must outlive it)."""

CACHE_CLUSTER_MODE_MIGRATION = "docs/data-tier.md#migration-cache-to-cluster-mode"


@dataclass(frozen=True, order=True)
class Finding:
    key: str
    """URN without the stack, so the same resource matches across stack files."""
    problem: str

    @property
    def name(self) -> str:
        return self.key.rsplit("::", 1)[1]

    def __str__(self) -> str:
        return f"{self.name}: {self.problem}"


def stackless(urn: str) -> str:
    """``urn:pulumi:growth::scaleplan::type::name`` -> ``scaleplan::type::name``."""
    return urn.split("::", 1)[1]


def _checked(run: ProgramRun) -> list[CapturedResource]:
    """The resources a provider creates (components and provider objects have no diff of their own)."""
    return [r for r in run.resources if r.custom and not r.is_provider]


def _successors(after: ProgramRun) -> dict[str, CapturedResource]:
    """Later resources by their own stackless URN and by every alias they carry."""
    found: dict[str, CapturedResource] = {}
    for resource in _checked(after):
        found[stackless(resource.urn)] = resource
        for alias in resource.aliases:
            found.setdefault(stackless(alias), resource)
    return found


def _collisions(old: CapturedResource, new: CapturedResource) -> list[str]:
    """Name-fixing inputs that hold the same value before and after (the new one cannot coexist)."""
    return sorted(
        path
        for path in physical_name_paths(old.type)
        if value_at(old.inputs, path) is not None and value_at(old.inputs, path) == value_at(new.inputs, path)
    )


def promotion_findings(before: ProgramRun, after: ProgramRun) -> list[Finding]:
    """Everything that moving a live ``before`` to ``after`` would lose or break by replacing."""
    later = _successors(after)
    findings: list[Finding] = []
    for old in _checked(before):
        key = stackless(old.urn)
        new = later.get(key)
        if new is None:
            if is_stateful(old.type):
                findings.append(Finding(key, "stateful resource removed"))
            continue
        if new.type != old.type:
            findings.append(Finding(key, f"type changes to {new.type} (delete and create)"))
            continue
        changed = replaced_by(old.type, old.inputs, new.inputs)
        maybe = sorted(
            p for p in conditional_replacement_paths(old.type) if value_at(old.inputs, p) != value_at(new.inputs, p)
        )
        if maybe and is_stateful(old.type):
            findings.append(Finding(key, f"stateful resource may be replaced by a change of {', '.join(maybe)}"))
        if not changed:
            continue
        if is_stateful(old.type):
            findings.append(Finding(key, f"stateful resource replaced by a change of {', '.join(changed)}"))
            continue
        collisions = _collisions(old, new)
        if collisions:
            findings.append(
                Finding(
                    key,
                    f"replaced by a change of {', '.join(changed)}, but {', '.join(collisions)} "
                    "keeps its value: the new one cannot be created before the old one is deleted",
                )
            )
        if new.delete_before_replace:
            findings.append(Finding(key, f"replaced by a change of {', '.join(changed)} with deleteBeforeReplace"))
    return sorted(findings)


@dataclass(frozen=True, order=True)
class Migration:
    key: str
    prop: str
    before: object
    after: object

    @property
    def name_and_prop(self) -> str:
        return f"{self.key.rsplit('::', 1)[1]}.{self.prop}"


def manual_migrations(before: ProgramRun, after: ProgramRun) -> list[Migration]:
    """Changes the provider makes in place that still need the documented procedure."""
    later = _successors(after)
    changes = []
    for old in _checked(before):
        new = later.get(stackless(old.urn))
        if new is None:
            continue
        changes.extend(
            Migration(stackless(old.urn), prop, old.inputs.get(prop), new.inputs.get(prop))
            for prop in MANUAL_MIGRATION_PATHS.get(old.type, ())
            if old.inputs.get(prop) != new.inputs.get(prop)
        )
    return sorted(changes)


PAIRS = list(itertools.pairwise(PHASES))
"""Consecutive phases (what stays true from one phase to the next, whatever the steps)."""
# MOVES: every ``pulumi up`` of a promotion, the move to EKS step by step through transitions/
# (tests/test_promotion_moves.py builds those files once per process).


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_promotion_removes_or_replaces_nothing_it_cannot(earlier: str, later: str) -> None:
    findings = promotion_findings(run_of(earlier), run_of(later))
    unexplained = [
        str(f)
        for f in findings
        if not (f.problem == "stateful resource removed" and (earlier, later, f.name) in KNOWN_REMOVALS)
    ]
    assert unexplained == []


def test_every_known_removal_is_written_down_where_it_says() -> None:
    for (_, _, name), (document, physical_name) in KNOWN_REMOVALS.items():
        assert physical_name in (ROOT / document).read_text(), name


def test_foundation_straight_to_growth_would_remove_the_instances_log_group() -> None:
    # Why the move goes through transitions/: the known removal is caught when it happens.
    findings = promotion_findings(built_phase("foundation"), built_phase("growth"))
    assert "app-logs: stateful resource removed" in [str(f) for f in findings]


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_promotion_needs_no_undocumented_manual_migration(earlier: str, later: str) -> None:
    changes = manual_migrations(run_of(earlier), run_of(later))
    assert [c.name_and_prop for c in changes if (earlier, later, c.name_and_prop) not in KNOWN_MIGRATIONS] == []


@pytest.mark.parametrize("phase", PHASES)
def test_the_oracle_knows_every_resource_type_of_the_phase(phase: str) -> None:
    # replacement_paths raises for a type the data files do not describe: a new resource type
    # must be added to tools/provider_schemas/generate.py, not slip past the promotion check.
    for resource in _checked(built_phase(phase)):
        replacement_paths(resource.type)


@pytest.mark.parametrize(("earlier", "later"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_promotion_grows_the_data_tier_in_place(earlier: str, later: str) -> None:
    """What does change between phases is what AWS modifies without replacement."""
    before, after = built_phase(earlier), built_phase(later)
    primary_before = before.one("aws:rds/instance:Instance", "database-primary")
    primary_after = after.one("aws:rds/instance:Instance", "database-primary")
    assert stackless(primary_before.urn) == stackless(primary_after.urn)
    assert primary_after.inputs["allocatedStorage"] >= primary_before.inputs["allocatedStorage"]
    replicas_before = {r.name for r in before.of_type("aws:rds/instance:Instance")} - {"database-primary"}
    replicas_after = {r.name for r in after.of_type("aws:rds/instance:Instance")} - {"database-primary"}
    assert replicas_before <= replicas_after  # replicas are added under new keys, never renumbered
    cache_before = before.one("aws:elasticache/replicationGroup:ReplicationGroup")
    cache_after = after.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache_after.inputs["numNodeGroups"] >= cache_before.inputs["numNodeGroups"]


PROTECTED_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "aws:backup/vault:Vault",
    }
)
"""The data tier's resources, which set ``protect`` (log groups, the generated cache token and
secret versions are stateful for the oracle but not protected: Pulumi would refuse the
foundation -> growth removal of a protected log group)."""


@pytest.mark.parametrize("phase", PHASES)
def test_every_data_tier_resource_is_protected(phase: str) -> None:
    unprotected = [r.name for r in _checked(built_phase(phase)) if r.type in PROTECTED_TYPES and not r.protect]
    assert unprotected == []
    assert {r.type for r in _checked(built_phase(phase)) if r.type in PROTECTED_TYPES} == PROTECTED_TYPES


@pytest.mark.parametrize("phase", PHASES)
def test_databases_have_deletion_protection_and_a_final_snapshot(phase: str) -> None:
    for instance in built_phase(phase).of_type("aws:rds/instance:Instance"):
        assert instance.inputs["deletionProtection"] is True, instance.name
        if "replicateSourceDb" not in instance.inputs:
            assert instance.inputs["skipFinalSnapshot"] is False
            assert instance.inputs["finalSnapshotIdentifier"] == f"{instance.inputs['identifier']}-final"
    (cache,) = built_phase(phase).of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.inputs["finalSnapshotIdentifier"] == "ftw-prod-cache-final"


def test_every_phase_has_the_data_tier_stateful_resources() -> None:
    for phase in PHASES:
        names = {r.name for r in _checked(built_phase(phase)) if is_stateful(r.type)}
        assert {
            "database-primary",
            "database-backup-vault",
            "cache-replication-group",
            "cache-auth-token-secret",
            "keys-database",
            "keys-cache",
        } <= names, phase


# The detectors themselves: each must name what it is built to catch.


def _variant(run: ProgramRun, name: str, **changes: Any) -> ProgramRun:
    """``run`` with the named resource's inputs (and ``delete_before_replace``) changed; None removes."""
    delete_first = changes.pop("delete_before_replace", None)

    def changed(resource: CapturedResource) -> CapturedResource:
        if resource.name != name:
            return resource
        inputs = {k: v for k, v in {**resource.inputs, **changes}.items() if v is not None}
        if delete_first is None:
            return dataclasses.replace(resource, inputs=inputs)
        return dataclasses.replace(resource, inputs=inputs, delete_before_replace=bool(delete_first))

    return ProgramRun(resources=tuple(changed(r) for r in run.resources), stack_outputs=run.stack_outputs)


def _a_node_group(run: ProgramRun) -> CapturedResource:
    return sorted(run.of_type("aws:eks/nodeGroup:NodeGroup"), key=lambda r: r.name)[0]


def test_a_replaced_stateful_resource_is_caught() -> None:
    growth = built_phase("growth")
    renamed_user = _variant(growth, "database-primary", username="someone_else")
    assert [str(f) for f in promotion_findings(growth, renamed_user)] == [
        "database-primary: stateful resource replaced by a change of username"
    ]


def test_a_replacement_under_a_fixed_name_is_caught_and_a_generated_name_is_not() -> None:
    growth = built_phase("growth")
    group = _a_node_group(growth)
    other_types = ["m7i.24xlarge"] if group.inputs.get("instanceTypes") != ["m7i.24xlarge"] else ["c7i.24xlarge"]
    fixed = _variant(growth, group.name, instanceTypes=other_types, nodeGroupName="fixed-name")
    moved = _variant(fixed, group.name, instanceTypes=["r7i.24xlarge"])
    findings = promotion_findings(fixed, moved)
    assert [f.name for f in findings] == [group.name]
    assert "nodeGroupName keeps its value" in findings[0].problem
    generated = _variant(fixed, group.name, nodeGroupName=None, nodeGroupNamePrefix="pool-")
    generated_moved = _variant(generated, group.name, instanceTypes=["r7i.24xlarge"])
    assert promotion_findings(generated, generated_moved) == []


def test_a_replacement_with_delete_before_replace_is_caught() -> None:
    growth = built_phase("growth")
    group = _a_node_group(growth)
    generated = _variant(growth, group.name, nodeGroupName=None, nodeGroupNamePrefix="pool-")
    moved = _variant(generated, group.name, instanceTypes=["r7i.24xlarge"], delete_before_replace=True)
    assert [f.problem.endswith("with deleteBeforeReplace") for f in promotion_findings(generated, moved)] == [True]


def test_a_conditional_replacement_of_a_stateful_resource_is_caught() -> None:
    # The provider replaces a replication group on an engine-version downgrade: a change of
    # engineVersion must be looked at, whichever way it goes.
    growth = built_phase("growth")
    downgraded = _variant(growth, "cache-replication-group", engineVersion="6.2")
    assert [str(f) for f in promotion_findings(growth, downgraded)] == [
        "cache-replication-group: stateful resource may be replaced by a change of engineVersion"
    ]


def test_a_removed_stateful_resource_is_caught() -> None:
    # A phase with replicas promoted to one without them loses the replicas: the detector must
    # name them (optimize -> scale is the reverse of a real promotion, used as a fixture).
    findings = promotion_findings(built_phase("optimize"), built_phase("scale"))
    removed = [f.name for f in findings if f.problem == "stateful resource removed"]
    assert "database-replica-2" in removed


def test_an_aliased_resource_is_matched_under_its_old_urn() -> None:
    growth = built_phase("growth")
    primary = growth.one("aws:rds/instance:Instance", "database-primary")
    old_urn = primary.urn.replace("database-primary", "db-primary-old")
    earlier = ProgramRun(
        resources=tuple(dataclasses.replace(r, urn=old_urn) if r is primary else r for r in growth.resources),
        stack_outputs={},
    )
    later = ProgramRun(
        resources=tuple(dataclasses.replace(r, aliases=(old_urn,)) if r is primary else r for r in growth.resources),
        stack_outputs={},
    )
    assert promotion_findings(earlier, later) == []
    unaliased = ProgramRun(resources=growth.resources, stack_outputs={})
    assert "db-primary-old: stateful resource removed" in [str(f) for f in promotion_findings(earlier, unaliased)]


# A variant of the foundation file without cluster mode, promoted to the real growth file,
# must be caught as the documented cluster-mode migration (in place, but manual).


@functools.cache
def _foundation_without_cluster_mode() -> ProgramRun:
    values: dict[str, Any] = copy.deepcopy(yaml.safe_load(stack_file("foundation").read_text())["config"])
    values["scaleplan:cache"]["cluster_mode"] = "disabled"
    config = parse_phase_config(values, "Pulumi.foundation.yaml")
    return run_program(lambda: build_phase(config), project="scaleplan", stack="foundation")


def test_enabling_cache_cluster_mode_is_caught_as_the_documented_migration() -> None:
    changes = manual_migrations(_foundation_without_cluster_mode(), built_phase("growth"))
    assert [(c.name_and_prop, c.before, c.after) for c in changes] == [
        ("cache-replication-group.clusterMode", "disabled", "enabled")
    ]
    section = CACHE_CLUSTER_MODE_MIGRATION.split("#", 1)[1]
    docs = (ROOT / "docs" / "data-tier.md").read_text()
    assert "### Migration: cache to cluster mode" in docs
    assert section == "migration-cache-to-cluster-mode"
    # The provider changes cluster mode in place, and the new parameter group carries its own
    # name, so the promotion itself replaces nothing stateful.
    findings = promotion_findings(_foundation_without_cluster_mode(), built_phase("growth"))
    assert [str(f) for f in findings if "cache" in f.name] == []
