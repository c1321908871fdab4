"""Accepted risks: the stack file's gates, the plan's section and the pull-request review.

The pack's side (each relaxation rule waived by its own risk only, the controls that cost
nothing never) is tested through the analyzer protocol in tests/policies/test_security_mutations.py.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import AcceptedRisk, PhaseConfig, PhaseConfigError
from infra.config.loader import parse_phase_config
from infra.config.risks import RISK_GATES
from infra.plan.capture import ProgramRun
from infra.plan.cli import main as plan_main
from infra.plan.risks_section import accepted_risks_section
from infra.policy import section as policy_section_module
from infra.policy.runner import to_struct
from infra.review.diff import Limits, compare
from infra.review.markdown import render
from infra.review.plan_capture import document
from tests.conftest import TEST_SOURCE, built_phase, phase_config, stack_file
from tests.test_review import FakeRules, plan_of

REASON = "day 30 serves 100 users; the team accepts it"

Values = dict[str, Any]


def _single_az(values: Values) -> None:
    values["scaleplan:database"]["multi_az"] = False


def _one_cache_node(values: Values) -> None:
    values["scaleplan:cache"]["replicas_per_shard"] = 0


def _no_nat(values: Values) -> None:
    values["scaleplan:network"]["nat_strategy"] = "none"


RELAXATIONS: dict[AcceptedRisk, Callable[[Values], None]] = {
    AcceptedRisk.SINGLE_AZ_DATABASE: _single_az,
    AcceptedRisk.SINGLE_CACHE_NODE: _one_cache_node,
    AcceptedRisk.NO_NAT_GATEWAY: _no_nat,
}

UNDECLARED = {
    AcceptedRisk.SINGLE_AZ_DATABASE: (
        "scaleplan:database.multi_az: false runs the PostgreSQL primary in one zone (a zone outage stops writes "
        "until a restore), a risk this phase has not accepted; set multi_az: true, or accept it in the open with "
        "the reason under scaleplan:accepted_risks.single_az_database (got false)"
    ),
    AcceptedRisk.SINGLE_CACHE_NODE: (
        "scaleplan:cache.replicas_per_shard: 0 leaves the cache no replica to fail over to (a node failure empties "
        "it), a risk this phase has not accepted; set replicas_per_shard: 1 or more, or accept it in the open with "
        "the reason under scaleplan:accepted_risks.single_cache_node (got 0)"
    ),
    AcceptedRisk.NO_NAT_GATEWAY: (
        "scaleplan:network.nat_strategy: none gives private subnets no way out (instances that must reach the "
        "internet get public addresses), a risk this phase has not accepted; set nat_strategy: single or "
        "one_per_az, or accept it in the open with the reason under scaleplan:accepted_risks.no_nat_gateway "
        "(got none)"
    ),
}

STALE = {
    AcceptedRisk.SINGLE_AZ_DATABASE: "scaleplan:database.multi_az is true",
    AcceptedRisk.SINGLE_CACHE_NODE: "scaleplan:cache.replicas_per_shard is 1",
    AcceptedRisk.NO_NAT_GATEWAY: "scaleplan:network.nat_strategy is single",
}


def foundation_values() -> Values:
    """Foundation's stack values: an Auto Scaling group, which (unlike EKS) can run without NAT."""
    values: Values = copy.deepcopy(yaml.safe_load(stack_file("foundation").read_text())["config"])
    return values


def rejection(mutate: Callable[[Values], None]) -> str:
    values = foundation_values()
    mutate(values)
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, TEST_SOURCE)
    return str(caught.value)


def _declaring(*risks: AcceptedRisk) -> Callable[[Values], None]:
    def change(values: Values) -> None:
        values["scaleplan:accepted_risks"] = {risk.value: REASON for risk in risks}

    return change


# --- the stack file's gates ---------------------------------------------------------------------


def test_every_risk_has_exactly_one_gate() -> None:
    assert sorted(gate.risk for gate in RISK_GATES) == sorted(AcceptedRisk)


@pytest.mark.parametrize("risk", list(AcceptedRisk))
def test_rejects_a_relaxation_the_file_does_not_accept(risk: AcceptedRisk) -> None:
    assert rejection(RELAXATIONS[risk]) == f"{TEST_SOURCE}: {UNDECLARED[risk]}"


@pytest.mark.parametrize("risk", list(AcceptedRisk))
def test_rejects_a_stale_acceptance(risk: AcceptedRisk) -> None:
    assert rejection(_declaring(risk)) == (
        f"{TEST_SOURCE}: scaleplan:accepted_risks.{risk.value}: declared, but this phase does not take the risk "
        f"({STALE[risk]}); remove it: a stale acceptance would hide the change that takes it again"
    )


@pytest.mark.parametrize("risk", list(AcceptedRisk))
def test_accepts_a_relaxation_declared_with_its_reason(risk: AcceptedRisk) -> None:
    values = foundation_values()
    RELAXATIONS[risk](values)
    _declaring(risk)(values)
    config = parse_phase_config(values, TEST_SOURCE)
    assert config.accepted_risks == {risk: REASON}
    assert config.accepts(risk)
    assert [other for other in AcceptedRisk if config.accepts(other)] == [risk]


def test_accepts_every_relaxation_at_once() -> None:
    values = foundation_values()
    for relax in RELAXATIONS.values():
        relax(values)
    _declaring(*AcceptedRisk)(values)
    config = parse_phase_config(values, TEST_SOURCE)
    assert not config.database.multi_az
    assert config.cache.replicas_per_shard == 0
    assert config.network.nat_strategy.value == "none"


def test_rejects_an_unknown_risk_and_a_reason_too_short() -> None:
    def unknown(values: Values) -> None:
        values["scaleplan:accepted_risks"] = {"public_database": REASON}

    assert "must be one of 'single_az_database', 'single_cache_node' or 'no_nat_gateway'" in rejection(unknown)

    def terse(values: Values) -> None:
        _single_az(values)
        values["scaleplan:accepted_risks"] = {"single_az_database": "cheap"}

    assert rejection(terse) == (
        f"{TEST_SOURCE}: scaleplan:accepted_risks.single_az_database: string should have at least 10 characters "
        "(got 'cheap')"
    )


# --- the plan's section ----------------------------------------------------------------------------


@functools.cache
def _single_az_foundation() -> tuple[PhaseConfig, ProgramRun]:
    """Foundation as a single-AZ phase that accepts it: its captured RDS resources (what the section's
    pack run needs to read; the whole phase goes through the pack in the mutation tests), the
    primary flipped to multiAz false."""
    base = phase_config("foundation")
    config = base.model_copy(
        update={
            "database": base.database.model_copy(update={"multi_az": False}),
            "accepted_risks": {AcceptedRisk.SINGLE_AZ_DATABASE: REASON},
        }
    )
    run = built_phase("foundation")

    def flipped(resource: Any) -> Any:
        if resource.type != "aws:rds/instance:Instance" or resource.name != "database-primary":
            return resource
        inputs = {**resource.inputs, "multiAz": False}
        outputs = {**resource.outputs, "multiAz": False}
        return dataclasses.replace(resource, inputs=inputs, outputs=outputs, inputs_struct=to_struct(inputs))

    rds = tuple(flipped(r) for r in run.resources if r.type.startswith(("aws:rds/", "pulumi:providers:aws")))
    return config, ProgramRun(rds, run.stack_outputs)


def test_the_section_lists_each_risk_its_reason_and_what_the_pack_waived() -> None:
    config, run = _single_az_foundation()
    section = accepted_risks_section(config, run)
    assert [list(row) for row in section.rows] == [
        [
            "single_az_database",
            REASON,
            "aws-rds-instance-require-multi-az",
            "aws-rds-instance-require-multi-az on database-primary",
        ]
    ]
    assert not section.failed
    assert section.data["accepted"] == 1
    [[policy, resource, message]] = section.data["risks"]["single_az_database"]["waived"]  # type: ignore[index]
    assert (policy, resource) == ("aws-rds-instance-require-multi-az", "database-primary")
    assert message.endswith("Waived: the stack accepts the risk single_az_database (scaleplan:accepted_risks).")
    # The verdicts section reads the same judgement (the packs run once per config and run), where the
    # waived finding is advisory.
    judged = policy_section_module.policy_run(config, run)
    assert policy_section_module.policy_run(config, run) is judged
    verdicts = policy_section_module.policy_section(config, run)
    [row] = [row for row in verdicts.rows if row[2] == "aws-rds-instance-require-multi-az"]
    assert row[1] == "advisory"


def test_a_phase_with_no_accepted_risk_runs_no_pack_for_the_section(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("ran the packs")

    monkeypatch.setattr(policy_section_module, "policy_run", refuse)
    section = accepted_risks_section(phase_config("foundation"), built_phase("foundation"))
    assert section.rows == ()
    assert section.data == {"accepted": 0, "risks": {}}
    assert section.notes == ["none: this phase relaxes no secure default (scaleplan:accepted_risks is empty)"]


# --- the pull-request review ------------------------------------------------------------------------


def _with_risks(plan: dict[str, Any], **reasons: str) -> dict[str, Any]:
    plan["accepted_risks"] = {risk: {"reason": reason, "waived": []} for risk, reason in reasons.items()}
    return plan


def test_a_newly_accepted_risk_fails_its_guardrail_unless_allowed() -> None:
    before, after = plan_of(), _with_risks(plan_of(), single_az_database=REASON)
    diff = compare(before, after, title="t", before_label="a", after_label="b", rules=FakeRules())
    [guardrail] = [g for g in diff.guardrails if not g.passed]
    assert guardrail.name == "accepted risks"
    assert guardrail.detail.startswith(f"newly accepted single_az_database: {REASON}")
    allowed = compare(
        before,
        after,
        title="t",
        before_label="a",
        after_label="b",
        rules=FakeRules(),
        limits=Limits(allow_new_accepted_risks=True),
    )
    assert not allowed.failed


def test_a_risk_already_accepted_by_the_base_passes_and_is_listed() -> None:
    before = _with_risks(plan_of(), single_az_database=REASON)
    after = _with_risks(plan_of(), single_az_database=REASON)
    diff = compare(before, after, title="t", before_label="a", after_label="b", rules=FakeRules())
    [guardrail] = [g for g in diff.guardrails if g.name == "accepted risks"]
    assert guardrail.passed
    assert guardrail.detail == "no risk newly accepted (accepted: single_az_database)"
    body = render([diff], heading="review")
    assert "**Accepted risks of b**" in body
    assert f"| `single_az_database` | {REASON} | none |" in body


def test_the_comment_flags_the_risk_the_change_accepts() -> None:
    after = _with_risks(plan_of(), no_nat_gateway=REASON)
    after["accepted_risks"]["no_nat_gateway"]["waived"] = ["aws-ec2-subnet-disallow-public-ip-on-launch on app-a"]
    diff = compare(plan_of(), after, title="t", before_label="a", after_label="b", rules=FakeRules())
    body = render([diff], heading="review")
    assert f"| `no_nat_gateway` ⚠️ new | {REASON} | aws-ec2-subnet-disallow-public-ip-on-launch on app-a |" in body
    assert "❌ **accepted risks**: newly accepted no_nat_gateway" in body


def test_the_captured_side_carries_the_stack_files_risks() -> None:
    config, run = _single_az_foundation()
    captured = document("foundation", "Pulumi.foundation.yaml", config, run, [accepted_risks_section(config, run)])
    assert captured["accepted_risks"] == {
        "single_az_database": {
            "reason": REASON,
            "waived": ["aws-rds-instance-require-multi-az on database-primary"],
        }
    }
    # A revision from before accepted_risks existed has none.
    older = types.SimpleNamespace(budget=config.budget)
    assert document("foundation", "Pulumi.foundation.yaml", older, run, [])["accepted_risks"] == {}


@pytest.mark.slow  # plans a whole phase of its own: ~10 s
def test_a_small_phase_plans_with_its_risks_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Foundation relaxed three ways and renamed: refused without the declarations, and with them it plans
    with exit 0, every waived finding advisory and listed under its risk."""
    text = stack_file("foundation").read_text()
    for secure, relaxed in (
        ("    multi_az: true ", "    multi_az: false "),
        ("    replicas_per_shard: 1 ", "    replicas_per_shard: 0 "),
        ("    nat_strategy: single", "    nat_strategy: none"),
        ("phase: foundation", "phase: day-30"),
    ):
        assert secure in text
        text = text.replace(secure, relaxed)
    small = tmp_path / "Pulumi.day-30.yaml"
    small.write_text(text)
    assert plan_main(["day-30", "--stack-file", str(small)]) == 2
    assert "scaleplan:accepted_risks.single_az_database" in capsys.readouterr().err
    declared = "".join(f"    {risk.value}: {REASON}\n" for risk in AcceptedRisk)
    small.write_text(f"{text.rstrip()}\n  scaleplan:accepted_risks:\n{declared}")
    assert plan_main(["day-30", "--stack-file", str(small), "--format", "json"]) == 0
    [phase] = json.loads(capsys.readouterr().out)["phases"]
    sections = {section["title"]: section for section in phase["sections"]}
    assert sections["Policy verdicts"]["data"]["mandatory"] == 0
    risks = sections["Accepted risks"]["data"]["risks"]
    assert sorted(risks) == sorted(risk.value for risk in AcceptedRisk)
    assert [w[:2] for w in risks["single_az_database"]["waived"]] == [
        ["aws-rds-instance-require-multi-az", "database-primary"]
    ]
    assert [w[:2] for w in risks["single_cache_node"]["waived"]] == [
        ["aws-elasticache-replicationgroup-enable-automatic-failover", "cache-replication-group"]
    ]
