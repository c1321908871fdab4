"""Wiring checks over every captured resource of every phase (issue 10.5).

Mocks echo inputs, so these read what the program would send: who may read each of the
application's secrets (every IAM policy and key policy walked, not a list of expected ones),
that no ``str()`` of an ``Output`` or of ``None`` reached an input, and that every Kubernetes
custom resource waits for the Helm release that installs its CRD.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from infra.cache.component import auth_token_secret_name
from infra.plan.capture import CapturedResource, ProgramRun
from tests.conftest import PHASES, built_phase, phase_config

SECRET = "aws:secretsmanager/secret:Secret"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KEY = "aws:kms/key:Key"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

READ_ACTIONS = ("secretsmanager:GetSecretValue",)
DECRYPT_ACTIONS = ("kms:Decrypt",)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(granted: str, wanted: str) -> bool:
    return fnmatch.fnmatchcase(wanted.lower(), granted.lower())


def _grants(statement: dict[str, Any], actions: tuple[str, ...], resource: str) -> bool:
    """Whether an Allow statement grants one of ``actions`` on ``resource`` (IAM wildcards)."""
    if statement.get("Effect") != "Allow":
        return False
    # A grant by exclusion would defeat this walk: none may exist.
    assert "NotAction" not in statement, statement
    assert "NotResource" not in statement, statement
    if not any(_action_matches(a, w) for a in _listed(statement.get("Action", [])) for w in actions):
        return False
    return any(fnmatch.fnmatchcase(resource, pattern) for pattern in _listed(statement.get("Resource", [])))


def _application_role(run: ProgramRun, phase: str) -> CapturedResource:
    """The role the application runs as: the IRSA role on EKS, else the instance role."""
    name = "platform-app-role" if phase_config(phase).eks is not None else "app-role"
    return run.one(ROLE, name)


def _role_named(run: ProgramRun, reference: Any) -> CapturedResource:
    matches = [r for r in run.of_type(ROLE) if reference in (r.outputs.get("name"), r.outputs.get("id"))]
    assert len(matches) == 1, f"role {reference!r} matches {len(matches)} roles"
    return matches[0]


def _role_statements(run: ProgramRun) -> Iterator[tuple[CapturedResource, dict[str, Any]]]:
    """(role, statement) for every inline policy and attached customer policy of every role."""
    for policy in run.of_type(ROLE_POLICY):
        role = _role_named(run, policy.inputs["role"])
        for statement in _listed(json.loads(policy.inputs["policy"])["Statement"]):
            yield role, statement
    managed = {p.outputs.get("arn"): p for p in run.of_type(MANAGED_POLICY)}
    for attachment in run.of_type(ATTACHMENT):
        policy = managed.get(attachment.inputs["policyArn"])
        if policy is None:
            # AWS-managed policies (SSM core, EKS worker/CNI): none of them reads Secrets Manager.
            assert "arn:aws:iam::aws:policy/" in attachment.inputs["policyArn"], attachment.inputs
            assert "Secrets" not in attachment.inputs["policyArn"], attachment.inputs
            continue
        role = _role_named(run, attachment.inputs["role"])
        for statement in _listed(json.loads(policy.inputs["policy"])["Statement"]):
            yield role, statement


def _application_secrets(run: ProgramRun, phase: str) -> list[CapturedResource]:
    config = phase_config(phase)
    prefix = config.application_secrets_prefix()
    names = {auth_token_secret_name(config.environment.name)}
    secrets = [s for s in run.of_type(SECRET) if s.inputs["name"].startswith(prefix) or s.inputs["name"] in names]
    assert config.secrets is not None
    identity = config.pgbouncer is not None and config.pgbouncer.application_identity is not None
    # Its credentials, the cache's AUTH token, and its database login where PgBouncer makes one.
    assert len(secrets) == len(config.secrets.credentials) + 1 + identity
    return secrets


def _key_of(run: ProgramRun, secret: CapturedResource) -> CapturedResource:
    matches = [k for k in run.of_type(KEY) if k.outputs.get("arn") == secret.inputs["kmsKeyId"]]
    assert len(matches) == 1, f"{secret.name}: no customer-managed key of the program"
    return matches[0]


@pytest.mark.parametrize("phase", PHASES)
def test_every_application_secret_is_read_by_the_application_role_only(phase: str) -> None:
    run = built_phase(phase)
    app_role = _application_role(run, phase)
    statements = list(_role_statements(run))
    for secret in _application_secrets(run, phase):
        arn = secret.outputs["arn"]
        readers = {role.name for role, statement in statements if _grants(statement, READ_ACTIONS, arn)}
        assert readers == {app_role.name}, f"{secret.inputs['name']} is readable by {sorted(readers)}"


@pytest.mark.parametrize("phase", PHASES)
def test_every_application_secret_key_decrypts_for_the_application_only_via_secrets_manager(phase: str) -> None:
    run = built_phase(phase)
    region = phase_config(phase).environment.region
    app_role = _application_role(run, phase)
    statements = list(_role_statements(run))
    for secret in _application_secrets(run, phase):
        key = _key_of(run, secret)
        granted = [(role, s) for role, s in statements if _grants(s, DECRYPT_ACTIONS, key.outputs["arn"])]
        # Other roles may decrypt with this key only for other purposes: never for this secret.
        for role, statement in granted:
            condition = statement.get("Condition", {})
            via = condition.get("StringEquals", {}).get("kms:ViaService")
            contexts = _listed(condition.get("StringLike", {}).get("kms:EncryptionContext:SecretARN", []))
            for_this_secret = any(fnmatch.fnmatchcase(secret.outputs["arn"], c) for c in contexts)
            if role.name == app_role.name and for_this_secret:
                assert via == f"secretsmanager.{region}.amazonaws.com", statement
            else:
                assert contexts, f"{role.name} may decrypt with {key.name} for any purpose"
                assert not for_this_secret, f"{role.name} may decrypt {secret.inputs['name']}"
        assert any(role.name == app_role.name for role, _ in granted), f"no kms:Decrypt for {secret.name}"
        # The key policy delegates to IAM (the account root) and names no other principal.
        key_policy = json.loads(key.inputs["policy"])
        for statement in key_policy["Statement"]:
            if _grants(statement, DECRYPT_ACTIONS, "*"):
                assert statement["Principal"] == {"AWS": f"arn:aws:iam::{key.outputs['arn'].split(':')[4]}:root"}, (
                    f"{key.name}: {statement.get('Sid')} lets another principal decrypt"
                )


# --- no str() of an Output or of None in any input

_BROKEN = (
    re.compile(r"Calling __str__ on an Output"),
    re.compile(r"<pulumi\.output\.Output"),
    re.compile(r"pulumi\.output\.Output object"),
    re.compile(r"<coroutine object"),
)
_NONE_FIELD = re.compile(r"(^|[\s=:\"',(\[{/-])None($|[\s\"',)\]}/.-])")
"""``None`` as a token: ``--env X=None``, ``"None"``, ``/None/``; not words like ``NoneSuch``."""


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
        decoded = _decoded(value)
        if decoded is not None:
            yield f"{path} (decoded)", decoded
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _decoded(value: str) -> str | None:
    """Base64 user data, as the launch templates carry it."""
    if len(value) < 16 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


@pytest.mark.parametrize("phase", PHASES)
def test_no_input_holds_the_text_of_an_output_or_of_none(phase: str) -> None:
    problems = []
    for resource in built_phase(phase).resources:
        for path, text in _strings(dict(resource.inputs)):
            for pattern in (*_BROKEN, _NONE_FIELD):
                if pattern.search(text):
                    problems.append(f"{resource.type} {resource.name}{path}: {text[:120]!r}")
    assert not problems, "\n".join(problems)


def test_the_none_scan_catches_what_it_looks_for() -> None:
    user_data = base64.b64encode(b"docker run --env APP_SECRETS_PREFIX=None app").decode()
    found = [t for _, t in _strings({"userData": user_data, "x": "None"}) if _NONE_FIELD.search(t)]
    assert len(found) == 2
    assert not _NONE_FIELD.search("NoneSuch and Nonesense")


# --- custom resources wait for the chart that installs their CRD

CRD_CHARTS = {
    "external-secrets.io": "external-secrets",
    "cert-manager.io": "cert-manager",
    "elbv2.k8s.aws": "aws-load-balancer-controller",
    "keda.sh": "keda",
}
"""API group -> the Helm chart whose release installs that group's CRDs."""


def _custom_resources(run: ProgramRun) -> list[CapturedResource]:
    """Kubernetes objects of an API group that is neither core nor ``*.k8s.io`` nor Helm's."""
    found = []
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or resource.is_provider:
            continue
        group = resource.type.split(":")[1].split("/")[0]
        if "." in group and not group.endswith(".k8s.io") and group != "helm.sh":
            found.append(resource)
    return found


def _waits_for(run: ProgramRun, resource: CapturedResource) -> set[str]:
    """URNs ``resource`` depends on, directly or transitively (explicit and property dependencies)."""
    seen: set[str] = set()
    pending = [resource.urn]
    while pending:
        current = run.by_urn(pending.pop())
        direct = set(current.dependencies)
        for urns in current.property_dependencies.values():
            direct |= set(urns)
        for urn in direct - seen:
            seen.add(urn)
            pending.append(urn)
    return seen


@pytest.mark.parametrize("phase", [p for p in PHASES if phase_config(p).eks is not None])
def test_every_custom_resource_waits_for_the_release_of_its_crd(phase: str) -> None:
    run = built_phase(phase)
    releases = {r.inputs["chart"]: r.urn for r in run.of_type(HELM_RELEASE)}
    custom = _custom_resources(run)
    assert custom, "the EKS phases create custom resources"
    problems = []
    for resource in custom:
        group = resource.type.split(":")[1].split("/")[0]
        chart = CRD_CHARTS.get(group)
        assert chart is not None, f"{resource.type}: which chart installs its CRD? add it to CRD_CHARTS"
        if releases[chart] not in _waits_for(run, resource):
            problems.append(f"{resource.type} {resource.name} does not wait for the {chart} release")
    assert not problems, "\n".join(problems)
