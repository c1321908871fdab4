"""Every captured input is one the provider accepts, checked offline against its own schema.

Mocks echo inputs back, so a misspelled property, a missing required one or a value outside
the provider's allowed set would only fail at ``pulumi up``. The data files in
``infra/provider_schemas`` (generated from the providers' sources) list, per resource type,
every input with ``required`` and ``enum``; built-in Kubernetes kinds are validated against
the OpenAPI schemas kubernetes-validate ships, for the cluster's own Kubernetes version.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any
from unittest import mock

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from infra.plan.capture import CapturedResource, ProgramRun
from infra.provider_schemas import PropertySpec, UnknownResourceTypeError, provider_documents, type_spec
from infra.provider_schemas.replacement import (
    conditional_replacement_paths,
    is_stateful,
    physical_name_paths,
    replaced_by,
    replacement_paths,
)
from tests.conftest import PHASES, built_phase

CUSTOM_RESOURCE_GROUPS = ("cert-manager.io", "elbv2.k8s.aws", "external-secrets.io", "keda.sh")
"""CRD kinds: kubernetes-validate has no schema for them (see docs/provider-schemas.md)."""


def schema_problems(path: str, value: Any, properties: Mapping[str, PropertySpec]) -> list[str]:
    """Unknown inputs, missing required ones and values outside an enum, under ``path``."""
    if isinstance(value, list | tuple):
        return [problem for item in value for problem in schema_problems(path, item, properties)]
    if not isinstance(value, Mapping):
        return [f"{path}: expected an object, got {value!r}"]
    problems = [f"{path}.{key}: unknown input" for key in value if key not in properties]
    problems += [
        f"{path}.{name}: required input missing" for name, p in properties.items() if p.required and name not in value
    ]
    for key, item in value.items():
        spec = properties.get(key)
        if spec is None or item is None:
            continue
        if spec.enum is not None:
            values = item if isinstance(item, list | tuple) else [item]
            problems += [
                f"{path}.{key}: {v!r} not one of {list(spec.enum)}"
                for v in values
                if isinstance(v, str) and v not in spec.enum
            ]
        if spec.properties is not None:
            problems += schema_problems(f"{path}.{key}", item, spec.properties)
    return problems


def _kubernetes_version(run: ProgramRun) -> str:
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    return f"{cluster.inputs['version']}.0"


_schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)
"""kubernetes-validate parses its (large) schema files on every call; read each once."""


_SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""Pulumi's marker of a secret value on the wire (``{sig: ..., "value": plaintext}``)."""


def _revealed(value: Any) -> Any:
    """The inputs as the provider receives them: secret wrappers replaced by their plaintext."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return _revealed(value["value"])
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revealed(item) for item in value]
    return value


def kubernetes_problems(resource: CapturedResource, version: str) -> list[str]:
    manifest = copy.deepcopy(_revealed(dict(resource.inputs)))
    manifest.setdefault("metadata", {}).setdefault("name", resource.name)
    try:
        with mock.patch.object(kubernetes_validate.utils, "schema_contents", _schema_contents):
            kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{resource.name}: {'.'.join(str(p) for p in error.path)}: {error.message}"]
    return []


def resource_problems(run: ProgramRun) -> list[str]:
    problems: list[str] = []
    for resource in run.resources:
        if not resource.custom or resource.is_provider:
            continue
        spec = type_spec(resource.type)
        if spec.properties is not None:
            problems += schema_problems(resource.name, resource.inputs, spec.properties)
        elif (
            resource.type.startswith("kubernetes:")
            and resource.type.split(":")[1].split("/")[0] not in CUSTOM_RESOURCE_GROUPS
        ):
            problems += kubernetes_problems(resource, _kubernetes_version(run))
    return problems


@pytest.mark.parametrize("phase", PHASES)
def test_every_input_is_accepted_by_the_providers_schema(phase: str) -> None:
    assert resource_problems(built_phase(phase)) == []


@pytest.mark.parametrize("phase", PHASES)
def test_every_resource_type_of_the_phase_is_in_the_data(phase: str) -> None:
    types = {r.type for r in built_phase(phase).resources if r.custom and not r.is_provider}
    missing = []
    for type_token in sorted(types):
        try:
            type_spec(type_token)
        except UnknownResourceTypeError:
            missing.append(type_token)
    assert missing == []


def test_every_data_file_names_its_source_commit_and_date() -> None:
    for provider, document in provider_documents().items():
        assert document["generatedBy"] == "tools/provider_schemas/generate.py", provider
        assert len(document["source"]["commit"]) == 40, provider
        assert document["source"]["date"][:4] == "2026", provider
        assert document["sdk"].startswith("pulumi-"), provider
        assert document["types"], provider


# The checker must be able to fail: one mutation of a real resource per case.


def _growth(type_token: str, name: str) -> CapturedResource:
    return built_phase("growth").one(type_token, name)


def _problems_of(resource: CapturedResource, **changes: Any) -> list[str]:
    inputs = {k: v for k, v in {**resource.inputs, **changes}.items() if v is not None}
    properties = type_spec(resource.type).properties
    assert properties is not None
    return schema_problems(resource.name, inputs, properties)


def test_rejects_an_unknown_input() -> None:
    primary = _growth("aws:rds/instance:Instance", "database-primary")
    assert _problems_of(primary, storageEncryptd=True) == ["database-primary.storageEncryptd: unknown input"]


def test_rejects_a_missing_required_input() -> None:
    primary = _growth("aws:rds/instance:Instance", "database-primary")
    assert _problems_of(primary, instanceClass=None) == ["database-primary.instanceClass: required input missing"]


def test_rejects_a_value_outside_the_enum() -> None:
    (group, *_) = built_phase("growth").of_type("aws:eks/nodeGroup:NodeGroup")
    problems = _problems_of(group, capacityType="RESERVED")
    assert problems == [f"{group.name}.capacityType: 'RESERVED' not one of ['CAPACITY_BLOCK', 'ON_DEMAND', 'SPOT']"]


def test_rejects_an_unknown_nested_input() -> None:
    (group, *_) = built_phase("growth").of_type("aws:eks/nodeGroup:NodeGroup")
    scaling = {**group.inputs["scalingConfig"], "desiredCapacity": 3}
    assert _problems_of(group, scalingConfig=scaling) == [f"{group.name}.scalingConfig.desiredCapacity: unknown input"]


def test_rejects_a_bad_kubernetes_object() -> None:
    run = built_phase("growth")
    (deployment, *_) = run.of_type("kubernetes:apps/v1:Deployment")
    assert kubernetes_problems(deployment, _kubernetes_version(run)) == []
    spec = copy.deepcopy(dict(deployment.inputs["spec"]))
    spec["replicaz"] = 2
    broken = CapturedResource(**{**deployment.__dict__, "inputs": {**deployment.inputs, "spec": spec}})
    assert len(kubernetes_problems(broken, _kubernetes_version(run))) == 1


# The oracle's facts that the promotion test relies on, each named.


def test_eks_node_group_instance_types_force_replacement_and_scaling_does_not() -> None:
    paths = replacement_paths("aws:eks/nodeGroup:NodeGroup")
    assert "instanceTypes" in paths
    assert "nodeGroupName" in paths
    assert "launchTemplate.id" in paths
    assert not {p for p in paths if p.startswith("scalingConfig")}
    assert "launchTemplate.version" not in paths
    assert "labels" not in paths
    assert physical_name_paths("aws:eks/nodeGroup:NodeGroup") == frozenset({"nodeGroupName"})


def test_rds_instance_replacement_inputs() -> None:
    paths = replacement_paths("aws:rds/instance:Instance")
    assert {"engine", "username", "dbName", "kmsKeyId", "storageEncrypted", "availabilityZone"} <= paths
    assert not {"instanceClass", "allocatedStorage", "engineVersion", "multiAz", "identifier"} & paths
    assert "identifier" in physical_name_paths("aws:rds/instance:Instance")


def test_replaced_by_names_only_changed_replacement_paths() -> None:
    before = {
        "instanceTypes": ["m7g.large"],
        "scalingConfig": {"desiredSize": 2},
        "launchTemplate": {"id": "lt-1", "version": "1"},
    }
    after = {
        "instanceTypes": ["m7g.xlarge"],
        "scalingConfig": {"desiredSize": 5},
        "launchTemplate": {"id": "lt-1", "version": "2"},
    }
    assert replaced_by("aws:eks/nodeGroup:NodeGroup", before, after) == ("instanceTypes",)
    assert replaced_by("aws:eks/nodeGroup:NodeGroup", before, before) == ()


def test_customize_diff_replacements_are_conditional_paths() -> None:
    cache = "aws:elasticache/replicationGroup:ReplicationGroup"
    assert {"engineVersion", "transitEncryptionEnabled"} <= conditional_replacement_paths(cache)
    assert "engineVersion" not in replacement_paths(cache)
    cluster = "aws:eks/cluster:Cluster"
    assert {"encryptionConfig", "vpcConfig.controlPlaneEgressMode"} <= conditional_replacement_paths(cluster)


def test_kubernetes_and_helm_replacement_paths() -> None:
    deployment = replacement_paths("kubernetes:apps/v1:Deployment")
    assert {"metadata.name", "metadata.namespace", "spec.selector"} <= deployment
    assert "spec.template" not in deployment
    assert "spec.clusterIP" in replacement_paths("kubernetes:core/v1:Service")
    assert replacement_paths("kubernetes:helm.sh/v3:Release") == frozenset({"name", "namespace"})


def test_stateful_types() -> None:
    for token in (
        "aws:rds/instance:Instance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "aws:s3/bucket:Bucket",
        "cloudflare:index/r2Bucket:R2Bucket",
        "aws:backup/vault:Vault",
        "aws:cloudwatch/logGroup:LogGroup",
    ):
        assert is_stateful(token), token
    assert not is_stateful("aws:eks/nodeGroup:NodeGroup")
    assert not is_stateful("aws:ec2/launchTemplate:LaunchTemplate")


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(UnknownResourceTypeError):
        replacement_paths("aws:made/up:Thing")
