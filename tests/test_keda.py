"""KEDA on the EKS phases (issue 12, application scaling on CPU and p95 latency): its release,
its least-privilege identity, the TriggerAuthentication and one ScaledObject per slot, each
checked against the CRD schemas of the pinned chart (infra/platform/crds/keda-2.20.2.json,
copied with source and commit from kedacore/charts), and the config that refuses what cannot work."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from infra.catalog.versions import keda_charts
from infra.config.load_balancer import Slot
from infra.plan.capture import CapturedResource, ProgramRun
from infra.platform.autoscaling import KEDA_PAUSED_ANNOTATION, KEDA_TRANSFER_HPA_ANNOTATION, scaled_object_spec
from infra.platform.policies import keda_operator_policy
from tests.conftest import ROOT, built_phase, phase_config
from tests.test_application_autoscaling import settings
from tests.test_config_rejections import changed, rejection

EKS_PHASES = ("growth", "scale", "optimize")
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTHENTICATION = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"


def crd_schemas(version: str = "2.20.2") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / keda_charts()[version].crd_schemas).read_text())
    return data


_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
    "number": (int, float),
}


def _is_a(value: Any, expected: str) -> bool:
    if expected == "integer":
        # The mocks carry every number as a float (protobuf Struct); a whole one goes out as an integer.
        return not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
    return isinstance(value, _TYPES[expected])


def schema_problems(path: str, value: Any, schema: Mapping[str, Any]) -> list[str]:
    """What the API server would refuse or silently prune: wrong types, values outside an enum,
    missing required fields, and fields the structural schema does not declare (pruned)."""
    expected = schema.get("type")
    if expected is not None and not _is_a(value, expected):
        return [f"{path}: expected {expected}, got {value!r}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} not one of {schema['enum']}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        problems.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        problems += [f"{path}.{key}: required field missing" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if properties is not None and key in properties:
                problems += schema_problems(f"{path}.{key}", item, properties[key])
            elif isinstance(extra, dict):
                problems += schema_problems(f"{path}.{key}", item, extra)
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                problems.append(f"{path}.{key}: not in the schema (the API server would prune it)")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        for index, item in enumerate(value):
            problems += schema_problems(f"{path}[{index}]", item, schema.get("items", {}))
    return problems


def keda_objects(run: ProgramRun) -> list[CapturedResource]:
    return [*run.of_type(SCALED_OBJECT), *run.of_type(TRIGGER_AUTHENTICATION)]


# --- the schema check itself is not vacuous ---------------------------------------------------


def test_schema_check_catches_what_the_api_server_would_refuse_or_prune() -> None:
    schema = crd_schemas()["ScaledObject"]["spec"]
    good = scaled_object_spec(
        settings(response_time_p95_seconds=0.5),
        "web-blue",
        region="us-east-1",
        load_balancer_arn_suffix="app/ftw-prod-alb/0123",
        target_group_arn_suffix="targetgroup/ftw-prod-ip-blue/4567",
        trigger_authentication="aws-keda-operator",
    )
    assert schema_problems("spec", good, schema) == []
    misspelt = {**good, "maxReplicas": 3}
    assert schema_problems("spec", misspelt, schema) == [
        "spec.maxReplicas: not in the schema (the API server would prune it)"
    ]
    no_target = {key: value for key, value in good.items() if key != "scaleTargetRef"}
    assert schema_problems("spec", no_target, schema) == ["spec.scaleTargetRef: required field missing"]
    number = {**good, "triggers": [{**good["triggers"][0], "metadata": {"value": 70}}]}
    assert schema_problems("spec", number, schema) == ["spec.triggers[0].metadata.value: expected string, got 70"]
    bad_owner = {"podIdentity": {"provider": "aws", "identityOwner": "operator"}}
    assert schema_problems("spec", bad_owner, crd_schemas()["TriggerAuthentication"]["spec"]) == [
        "spec.podIdentity.identityOwner: 'operator' not one of ['keda', 'workload']"
    ]


def test_scaled_object_spec_needs_the_latency_target() -> None:
    with pytest.raises(ValueError, match="response_time_p95_seconds"):
        scaled_object_spec(
            settings(),
            "web-blue",
            region="us-east-1",
            load_balancer_arn_suffix="a",
            target_group_arn_suffix="b",
            trigger_authentication="c",
        )


# --- every EKS phase ---------------------------------------------------------------------------


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_keda_objects_match_the_crds_of_the_pinned_chart(phase: str) -> None:
    run = built_phase(phase)
    eks = phase_config(phase).eks
    assert eks is not None
    assert eks.charts.keda is not None
    schemas = crd_schemas(eks.charts.keda.version)
    objects = keda_objects(run)
    assert {r.type for r in objects} == {SCALED_OBJECT, TRIGGER_AUTHENTICATION}
    for resource in objects:
        kind = resource.inputs["kind"]
        assert resource.inputs["apiVersion"] == f"{schemas[kind]['group']}/{schemas[kind]['version']}"
        assert schema_problems(f"{resource.name}.spec", resource.inputs["spec"], schemas[kind]["spec"]) == []


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_latency_trigger_reads_the_p95_of_the_slots_target_group_as_a_value(phase: str) -> None:
    run = built_phase(phase)
    (load_balancer,) = run.of_type("aws:lb/loadBalancer:LoadBalancer")
    groups = {g.name: g.outputs["arnSuffix"] for g in run.of_type("aws:lb/targetGroup:TargetGroup")}
    for slot in Slot:
        scaled = run.one(SCALED_OBJECT, f"app-scaling-{slot.value}")
        (latency,) = [t for t in scaled.inputs["spec"]["triggers"] if t["type"] == "aws-cloudwatch"]
        # Value: replicas follow p95 / target; AverageValue would divide latency by the pod count.
        assert latency["metricType"] == "Value"
        assert latency["authenticationRef"] == {"kind": "TriggerAuthentication", "name": "aws-keda-operator"}
        target_group = next(suffix for name, suffix in groups.items() if name == f"alb-{slot.value}-ip")
        assert latency["metadata"] == {
            "namespace": "AWS/ApplicationELB",
            "metricName": "TargetResponseTime",
            "dimensionName": "TargetGroup;LoadBalancer",
            "dimensionValue": f"{target_group};{load_balancer.outputs['arnSuffix']}",
            "metricStat": "p95",
            "metricStatPeriod": "60",
            "metricCollectionTime": "300",
            "targetMetricValue": "0.5",
            "minMetricValue": "0",
            "awsRegion": "us-east-1",
        }


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_idle_slot_is_paused_and_the_live_one_adopts_the_old_hpa(phase: str) -> None:
    run = built_phase(phase)
    weights = phase_config(phase).load_balancer.weights
    for slot in Slot:
        scaled = run.one(SCALED_OBJECT, f"app-scaling-{slot.value}")
        annotations = scaled.inputs["metadata"]["annotations"]
        # KEDA would scale a Deployment at 0 up to minReplicaCount: the idle colour is paused instead.
        assert (annotations.get(KEDA_PAUSED_ANNOTATION) == "true") == (weights.of(slot) == 0), slot
        # The plain HPA of the same name is adopted, so KEDA's webhook admits the ScaledObject.
        assert annotations[KEDA_TRANSFER_HPA_ANNOTATION] == "true"
        hpa_config = scaled.inputs["spec"]["advanced"]["horizontalPodAutoscalerConfig"]
        assert hpa_config["name"] == scaled.inputs["metadata"]["name"]


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_scaled_objects_wait_for_keda_and_the_trigger_authentication(phase: str) -> None:
    run = built_phase(phase)
    keda = run.one(RELEASE, "platform-keda")
    auth = run.one(TRIGGER_AUTHENTICATION, "platform-keda-trigger-authentication")
    assert keda.urn in auth.dependencies
    for scaled in run.of_type(SCALED_OBJECT):
        assert {keda.urn, auth.urn} <= set(scaled.dependencies), scaled.name


def test_keda_operator_may_only_read_metric_data() -> None:
    policy = json.loads(keda_operator_policy())
    assert policy["Statement"] == [
        {"Sid": "ReadScalingMetrics", "Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}
    ]


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_keda_operator_role_is_its_service_accounts_alone(phase: str) -> None:
    run = built_phase(phase)
    role = run.one("aws:iam/role:Role", "platform-keda-operator-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    (condition,) = statement["Condition"].values()
    subjects = [value for key, value in condition.items() if key.endswith(":sub")]
    assert subjects == ["system:serviceaccount:kube-system:keda-operator"]
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "platform-keda-operator-policy")
    assert json.loads(policy.inputs["policy"]) == json.loads(keda_operator_policy())
    assert run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == [] or not [
        a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "keda" in a.name
    ]
    values = run.one(RELEASE, "platform-keda").inputs["values"]
    assert values["podIdentity"] == {"aws": {"irsa": {"enabled": True, "roleArn": role.outputs["arn"]}}}
    assert values["serviceAccount"] == {"operator": {"create": True, "name": "keda-operator"}}
    auth = run.one(TRIGGER_AUTHENTICATION, "platform-keda-trigger-authentication")
    assert auth.inputs["spec"] == {"podIdentity": {"provider": "aws", "identityOwner": "keda"}}


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_keda_chart_is_the_pinned_catalog_version(phase: str) -> None:
    run = built_phase(phase)
    eks = phase_config(phase).eks
    assert eks is not None
    assert eks.charts.keda is not None
    release = run.one(RELEASE, "platform-keda")
    assert release.inputs["version"] == eks.charts.keda.version
    assert release.inputs["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    assert eks.kubernetes_version in keda_charts()[eks.charts.keda.version].kubernetes


def test_crd_copy_names_its_source_commit() -> None:
    assert "cbb9bb8ce0809dc9048f72302f7c09765d66ed56" in crd_schemas()["_source"]
    assert (
        Path(ROOT / "infra/catalog/keda_charts.yaml").read_text().count("cbb9bb8ce0809dc9048f72302f7c09765d66ed56") >= 1
    )


# --- refused configs ---------------------------------------------------------------------------

KEDA_REJECTED: list[tuple[str, str, Any, str]] = [
    (
        "latency_without_keda",
        "eks.charts.keda",
        None,
        "scaleplan:eks.charts.keda: is required by application.autoscaling.response_time_p95_seconds: only "
        "KEDA evaluates the CloudWatch latency trigger; add {repository: https://kedacore.github.io/charts, "
        "version: ...} or drop the latency trigger (got none)",
    ),
    (
        "unlisted_chart",
        "eks.charts.keda.version",
        "2.19.0",
        "scaleplan:eks.charts.keda.version: is not a KEDA chart infra/catalog/keda_charts.yaml lists for "
        "Kubernetes 1.35; allowed: 2.20.2 (got 2.19.0)",
    ),
    (
        "other_repository",
        "eks.charts.keda.repository",
        "https://charts.example.com/keda",
        "scaleplan:eks.charts.keda.repository: must be https://kedacore.github.io/charts "
        "(got https://charts.example.com/keda)",
    ),
    (
        "latency_target_zero",
        "eks.application.autoscaling.response_time_p95_seconds",
        0,
        "scaleplan:eks.application.autoscaling.response_time_p95_seconds: must be > 0 (got 0)",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"), [c[1:] for c in KEDA_REJECTED], ids=[c[0] for c in KEDA_REJECTED]
)
def test_rejects_keda_settings_that_cannot_work(path: str, value: Any, expected: str) -> None:
    assert rejection(changed(path, value)) == [f"Pulumi.growth.yaml: {expected}"]


# --- cost: KEDA's pods run on the priced nodes; its CloudWatch reads are priced ------------------


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_only_the_live_slots_scaled_object_pays_for_cloudwatch_reads(phase: str) -> None:
    from infra.cost.section import phase_estimate

    estimate = phase_estimate(phase_config(phase), built_phase(phase))
    reads = {line.name: line for line in estimate.lines if line.type == SCALED_OBJECT}
    weights = phase_config(phase).load_balancer.weights
    live = {f"app-scaling-{slot.value}" for slot in Slot if weights.of(slot) > 0}
    assert set(reads) == live
    for line in reads.values():
        # One metric every 30 s for 730 h: 87,600 metrics, at $0.01 per 1,000.
        assert line.quantity == pytest.approx(87.6)
        assert line.unit_price_usd == 0.01
        assert line.monthly_usd == pytest.approx(0.876)
