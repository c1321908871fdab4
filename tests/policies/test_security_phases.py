"""Every phase, built whole under mocks, passes every mandatory rule of the security pack,
and the plan's policy section reports what the packs find.

The pack runs with the phase's own policy config (``policies/security/config/<phase>.json``),
exactly as ``pulumi preview --policy-pack policies/security --policy-pack-config ...`` would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.plan.capture import ProgramRun
from infra.policy import section as section_module
from infra.policy.config import parse_config
from infra.policy.launch import SECURITY_PACK
from infra.policy.packs import for_phase, run_packs
from infra.policy.runner import PackPool, StackContext, resource
from infra.policy.section import policy_section
from tests.conftest import built_phase, phase_config

TAGS_POLICY = "aws-taggable-resource-require-tags"


def test_phase_passes_every_mandatory_security_rule(policy_packs: PackPool, phase: str) -> None:
    run = built_phase(phase)
    [report] = run_packs(
        for_phase(phase, [SECURITY_PACK]), run.resources, StackContext("scaleplan", phase), pool=policy_packs
    )
    assert [(d.policy, d.urn, d.detail) for d in report.mandatory] == []
    assert [d.message for d in report.advisory] == []


def test_the_pack_sees_the_phase_resources(policy_packs: PackPool) -> None:
    # Guards the test above against passing because nothing reached the pack.
    run = built_phase("foundation")
    [entry] = for_phase("foundation", [SECURITY_PACK])
    pack = policy_packs.get(SECURITY_PACK)
    stricter = {**entry.config, **parse_config({TAGS_POLICY: {"requiredTags": ["an-absent-tag"]}})}
    pack.configure(StackContext("scaleplan", "foundation"), stricter)
    flagged = {d.urn for d in pack.run(run.resources).mandatory if d.policy == TAGS_POLICY}
    expected = {
        r.urn for r in run.resources if r.type in ("aws:ec2/vpc:Vpc", "aws:kms/key:Key", "aws:ec2/subnet:Subnet")
    }
    assert len(expected) >= 5
    assert expected <= flagged


def test_policy_section_lists_security_and_cost_verdicts_for_a_phase(policy_packs: PackPool) -> None:
    section = policy_section(phase_config("foundation"), built_phase("foundation"))
    assert section.title == "Policy verdicts"
    assert not section.failed
    assert section.rows == []
    assert section.data["mandatory"] == 0
    packs = section.data["packs"]
    assert isinstance(packs, dict)
    assert "scaleplan-security" in packs


def test_policy_section_fails_on_a_mandatory_violation(policy_packs: PackPool) -> None:
    public = resource(
        "aws:rds/instance:Instance",
        "db",
        {"publiclyAccessible": True, "storageEncrypted": True},
        protect=True,
        stack="foundation",
    )
    section = policy_section(phase_config("foundation"), ProgramRun(resources=(public,), stack_outputs={}))
    assert section.failed
    assert [
        "scaleplan-security",
        "mandatory",
        "aws-rds-instance-disallow-public-access",
        "db",
        "RDS instance 'db' has publiclyAccessible=true; set publicly_accessible=False "
        "so it is reachable only from inside the VPC.",
    ] in section.rows
    assert section.data["mandatory"] == len([row for row in section.rows if row[1] == "mandatory"])


def test_policy_section_fails_on_a_pack_that_cannot_run_and_still_reports_the_others(
    policy_packs: PackPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (broken / "__main__.py").write_text("raise SystemExit('broken pack')\n")
    monkeypatch.setattr(section_module, "discover_packs", lambda: [broken, SECURITY_PACK])
    section = policy_section(phase_config("foundation"), built_phase("foundation"))
    assert section.failed
    [error] = section.rows
    assert error[:2] == ["broken", "error"]
    assert "did not print its port" in str(error[4])
    assert section.data["errors"] == 1
    packs = section.data["packs"]
    assert isinstance(packs, dict)
    assert list(packs) == ["scaleplan-security"]
