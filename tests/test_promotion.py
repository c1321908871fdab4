"""Moving a live environment to the next phase's stack file keeps its stateful resources.

A live environment is promoted by running the next phase's configuration against the same
state. That is safe only if every stateful resource of the earlier phase is still declared
under the same URN (no delete, no orphan) and none of its replacement-triggering properties
change (no delete-and-recreate of a database, cache, key or secret). These tests build each
pair of consecutive phases under mocks and compare exactly that. A change that forces a
replacement must be listed in :data:`KNOWN_MIGRATIONS` with the section of docs/data-tier.md
that describes how to carry it out; today there are none.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from infra.config.loader import parse_phase_config
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.stack import build_phase
from tests.conftest import PHASES, ROOT, built_phase, stack_file

STATEFUL: Mapping[str, tuple[str, ...]] = {
    # type token -> inputs whose change makes the provider replace the resource (ForceNew in
    # the AWS provider), or that would orphan data if they changed.
    "aws:rds/instance:Instance": (
        "identifier",
        "engine",
        "storageEncrypted",
        "kmsKeyId",
        "dbSubnetGroupName",
        "username",
        "dbName",
        "replicateSourceDb",
        "availabilityZone",
        "characterSetName",
    ),
    "aws:rds/subnetGroup:SubnetGroup": ("name",),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId",
        "atRestEncryptionEnabled",
        "kmsKeyId",
        "subnetGroupName",
        "port",
        "clusterMode",
        "transitEncryptionEnabled",
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "aws:secretsmanager/secret:Secret": ("name",),
    "aws:backup/vault:Vault": ("name", "kmsKeyArn"),
}
"""Stateful resource types and their replacement-triggering inputs."""

REPLACE_IN_PLACE_SENSITIVE: Mapping[str, tuple[str, ...]] = {
    # Not stateful, but replaced under the same physical name a change would fail (the new
    # group cannot be created while the old one holds the name) or cut clients off.
    "aws:rds/parameterGroup:ParameterGroup": ("name", "family", "description"),
    "aws:elasticache/parameterGroup:ParameterGroup": ("name", "family", "description"),
}

DATA_TIER_SECURITY_GROUPS = ("database-sg", "cache-sg")
"""Replacing these would drop every connection; their name, description and VPC are ForceNew."""


@dataclass(frozen=True, order=True)
class Change:
    key: str
    """URN without the stack, so the same resource matches across stack files."""
    prop: str
    before: object
    after: object


KNOWN_MIGRATIONS: Mapping[tuple[str, str, str], str] = {}
"""(from phase, to phase, "<resource name>.<property>") -> docs/data-tier.md section that
documents the migration. Empty: no phase promotion of the four stack files replaces anything."""

KNOWN_REMOVALS: Mapping[tuple[str, str, str], str] = {}
"""(from phase, to phase, resource name) -> why a stateful resource may go away, and how.
Empty: no phase promotion of the four stack files removes a stateful resource."""

CACHE_CLUSTER_MODE_MIGRATION = "docs/data-tier.md#migration-cache-to-cluster-mode"


def stackless(urn: str) -> str:
    """``urn:pulumi:growth::scaleplan::type::name`` -> ``scaleplan::type::name``."""
    return urn.split("::", 1)[1]


def _watched(run: ProgramRun) -> dict[str, tuple[CapturedResource, tuple[str, ...]]]:
    watched: dict[str, tuple[CapturedResource, tuple[str, ...]]] = {}
    for resource in run.resources:
        props = STATEFUL.get(resource.type) or REPLACE_IN_PLACE_SENSITIVE.get(resource.type)
        if props is None and resource.name in DATA_TIER_SECURITY_GROUPS:
            props = ("name", "description", "vpcId")
        if props is not None:
            watched[stackless(resource.urn)] = (resource, props)
    return watched


def removed_stateful(before: ProgramRun, after: ProgramRun) -> list[str]:
    """Stateful resources of ``before`` that ``after`` no longer declares under the same URN."""
    kept = {stackless(r.urn) for r in after.resources}
    return sorted(stackless(r.urn) for r in before.resources if r.type in STATEFUL and stackless(r.urn) not in kept)


def replacement_changes(before: ProgramRun, after: ProgramRun) -> list[Change]:
    """Every replacement-triggering input that differs between the two runs."""
    later = _watched(after)
    changes = []
    for key, (resource, props) in _watched(before).items():
        if key not in later:
            continue
        other = later[key][0]
        changes.extend(
            Change(key, prop, resource.inputs.get(prop), other.inputs.get(prop))
            for prop in props
            if resource.inputs.get(prop) != other.inputs.get(prop)
        )
    # A replication group switching between num_cache_clusters and num_node_groups is the
    # cluster-mode enablement, whatever cluster_mode says.
    for key, (resource, _) in _watched(before).items():
        if resource.type == "aws:elasticache/replicationGroup:ReplicationGroup" and key in later:
            was = "numNodeGroups" in resource.inputs
            now = "numNodeGroups" in later[key][0].inputs
            if was != now:
                changes.append(Change(key, "numNodeGroups (cluster mode)", was, now))
    return sorted(changes)


def _name_and_prop(change: Change) -> str:
    return f"{change.key.rsplit('::', 1)[1]}.{change.prop}"


PAIRS = list(itertools.pairwise(PHASES))


@pytest.mark.parametrize(("earlier", "later"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_promotion_keeps_every_stateful_resource(earlier: str, later: str) -> None:
    removed = [key.rsplit("::", 1)[1] for key in removed_stateful(built_phase(earlier), built_phase(later))]
    assert [name for name in removed if (earlier, later, name) not in KNOWN_REMOVALS] == []


@pytest.mark.parametrize(("earlier", "later"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_promotion_changes_no_replacement_triggering_property(earlier: str, later: str) -> None:
    changes = replacement_changes(built_phase(earlier), built_phase(later))
    unexplained = [c for c in changes if (earlier, later, _name_and_prop(c)) not in KNOWN_MIGRATIONS]
    assert unexplained == []


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


@pytest.mark.parametrize("phase", PHASES)
def test_every_stateful_resource_is_protected(phase: str) -> None:
    unprotected = [r.name for r in built_phase(phase).resources if r.type in STATEFUL and not r.protect]
    assert unprotected == []


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
        names = {r.name for r in built_phase(phase).resources if r.type in STATEFUL}
        assert {
            "database-primary",
            "database-subnet-group",
            "database-backup-vault",
            "cache-replication-group",
            "cache-subnet-group",
            "cache-auth-token-secret",
            "keys-database",
            "keys-cache",
        } <= names, phase


# The detector itself: a variant of the foundation file without cluster mode, promoted to the
# real growth file, must be caught and named as the documented cluster-mode migration.


@functools.cache
def _foundation_without_cluster_mode() -> ProgramRun:
    values: dict[str, Any] = copy.deepcopy(yaml.safe_load(stack_file("foundation").read_text())["config"])
    values["scaleplan:cache"]["cluster_mode"] = "disabled"
    config = parse_phase_config(values, "Pulumi.foundation.yaml")
    return run_program(lambda: build_phase(config), project="scaleplan", stack="foundation")


def test_enabling_cache_cluster_mode_is_caught_as_the_documented_migration() -> None:
    changes = replacement_changes(_foundation_without_cluster_mode(), built_phase("growth"))
    assert {_name_and_prop(c) for c in changes} == {
        "cache-replication-group.clusterMode",
        "cache-replication-group.numNodeGroups (cluster mode)",
        "cache-parameters.name",
    }
    clusters = [c for c in changes if c.prop == "clusterMode"]
    assert [(c.before, c.after) for c in clusters] == [("disabled", "enabled")]
    section = CACHE_CLUSTER_MODE_MIGRATION.split("#", 1)[1]
    docs = (ROOT / "docs" / "data-tier.md").read_text()
    assert "## Migration: cache to cluster mode" in docs
    assert section == "migration-cache-to-cluster-mode"


def test_a_removed_stateful_resource_is_caught() -> None:
    # Growth -> foundation drops no data-tier resource, but a phase with replicas promoted to
    # one without them loses the replicas: the detector must name them.
    removed = removed_stateful(built_phase("optimize"), built_phase("scale"))
    assert [key.rsplit("::", 1)[1] for key in removed if "database-replica" in key] == ["database-replica-2"]
