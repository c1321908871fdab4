"""The policy runner speaks the analyzer protocol as the Pulumi CLI does.

Everything runs against one real pack process (``tests/policies/packs/probe``) started once
for this module; its policies exist only to make the runner's behaviour observable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.policy.config import (
    ConfigEntry,
    EnforcementLevel,
    PolicyConfigError,
    PolicyInfo,
    PolicySetting,
    load_config_file,
    parse_config,
    reconcile,
)
from infra.policy.launch import PolicyPackError
from infra.policy.runner import (
    PolicyPackProcess,
    PolicyRaisedError,
    StackContext,
    resource,
)

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "policies" / "packs" / "probe"
STACK = StackContext(project="scaleplan", stack="test")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a value not known during preview."""


@pytest.fixture(scope="module")
def probe() -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess.start(PROBE) as pack:
        yield pack


def levels(pack: PolicyPackProcess, config: dict[str, object] | None = None) -> dict[str, EnforcementLevel]:
    pack.configure(STACK, parse_config(config or {}))
    report = pack.analyze(resource("probe:index:Thing", "thing", {"bad": True}))
    return {d.policy: d.enforcement for d in report.diagnostics if d.policy != "probe-configured"}


def test_describes_every_policy_with_its_declared_level(probe: PolicyPackProcess) -> None:
    assert probe.name == "probe"
    assert {p.name: (p.enforcement, p.kind) for p in probe.policies} == {
        "probe-declared-mandatory": (EnforcementLevel.MANDATORY, "resource"),
        "probe-pack-default": (EnforcementLevel.MANDATORY, "resource"),
        "probe-declared-advisory": (EnforcementLevel.ADVISORY, "resource"),
        "probe-configured": (EnforcementLevel.MANDATORY, "resource"),
        "probe-raises": (EnforcementLevel.MANDATORY, "resource"),
        "probe-computed": (EnforcementLevel.MANDATORY, "resource"),
        "probe-sees-provider": (EnforcementLevel.ADVISORY, "resource"),
        "probe-sees-links": (EnforcementLevel.ADVISORY, "stack"),
        "probe-stack-protect": (EnforcementLevel.MANDATORY, "stack"),
    }


def test_levels_arrive_as_declared_when_config_is_empty(probe: PolicyPackProcess) -> None:
    assert levels(probe) == {
        "probe-declared-mandatory": EnforcementLevel.MANDATORY,
        "probe-pack-default": EnforcementLevel.MANDATORY,
        "probe-declared-advisory": EnforcementLevel.ADVISORY,
    }


def test_policy_configured_with_properties_only_keeps_its_mandatory_level(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": {"threshold": 3}}))
    [diagnostic] = probe.analyze(resource("probe:index:Thing", "thing", {})).diagnostics
    assert diagnostic.policy == "probe-configured"
    assert diagnostic.enforcement == EnforcementLevel.MANDATORY


def test_all_sets_every_level_and_a_named_policy_overrides_it(probe: PolicyPackProcess) -> None:
    assert levels(probe, {"all": "advisory", "probe-pack-default": "mandatory"}) == {
        "probe-declared-mandatory": EnforcementLevel.ADVISORY,
        "probe-pack-default": EnforcementLevel.MANDATORY,
        "probe-declared-advisory": EnforcementLevel.ADVISORY,
    }


def test_disabled_policy_does_not_run(probe: PolicyPackProcess) -> None:
    assert levels(probe, {"probe-declared-mandatory": {"enforcementLevel": "disabled"}}) == {
        "probe-pack-default": EnforcementLevel.MANDATORY,
        "probe-declared-advisory": EnforcementLevel.ADVISORY,
    }


def configured_message(pack: PolicyPackProcess, config: dict[str, object]) -> str:
    pack.configure(STACK, parse_config(config))
    report = pack.analyze(resource("probe:index:Thing", "thing", {}))
    [diagnostic] = [d for d in report.diagnostics if d.policy == "probe-configured"]
    return diagnostic.detail


def test_config_reconciles_schema_default_then_initial_config(probe: PolicyPackProcess) -> None:
    # threshold: schema default 7 (numbers travel as doubles); label: the pack's initial_config.
    assert configured_message(probe, {}) == "threshold=7.0 label='from-initial-config'"


def test_given_config_overrides_defaults_and_initial_config(probe: PolicyPackProcess) -> None:
    assert configured_message(probe, {"probe-configured": {"threshold": 2, "label": "given"}}) == (
        "threshold=2.0 label='given'"
    )


def test_rejects_config_that_violates_the_schema(probe: PolicyPackProcess) -> None:
    with pytest.raises(PolicyConfigError, match=r"probe-configured\.threshold: 0 is less than the minimum of 1"):
        probe.configure(STACK, parse_config({"probe-configured": {"threshold": 0}}))


def test_rejects_config_for_an_unknown_policy(probe: PolicyPackProcess) -> None:
    with pytest.raises(PolicyConfigError, match="unknown policies probe-misspelt"):
        probe.configure(STACK, parse_config({"probe-misspelt": "mandatory"}))


def test_rejects_an_unknown_enforcement_level() -> None:
    with pytest.raises(PolicyConfigError, match=r"all: enforcement level must be one of .* \(got 'strict'\)"):
        parse_config({"all": "strict"})


def test_a_policy_that_raises_is_an_error_not_a_pass(probe: PolicyPackProcess) -> None:
    probe.configure(STACK)
    exploding = resource("probe:index:Thing", "boom", {"explode": True})
    with pytest.raises(PolicyRaisedError) as raised:
        probe.analyze(exploding)
    assert raised.value.target == exploding.urn
    assert "probe exploded" in raised.value.details


def test_a_pack_printing_to_stdout_does_not_block(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": "disabled"}))
    for index in range(3):
        assert probe.analyze(resource("probe:index:Thing", f"chatty-{index}", {"chatty": True})).diagnostics == ()
    assert probe.stdout_tail


def test_unknown_value_yields_an_advisory_preview_note(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": "disabled"}))
    [diagnostic] = probe.analyze(resource("probe:index:Thing", "later", {"computed": UNKNOWN})).diagnostics
    assert diagnostic.policy == "probe-computed"
    assert diagnostic.enforcement == EnforcementLevel.ADVISORY
    assert diagnostic.skipped_in_preview


def test_resource_diagnostics_are_keyed_on_the_request_urn(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": "disabled"}))
    thing = resource("probe:index:Thing", "keyed", {"bad": True})
    report = probe.analyze(thing)
    assert {d.urn for d in report.diagnostics} == {thing.urn}


def test_stack_policy_sees_protect_and_reports_urns(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": "disabled"}))
    kept = resource("probe:index:Thing", "kept", {}, protect=True)
    loose = resource("probe:index:Thing", "loose", {})
    report = probe.run([kept, loose])
    assert [(d.policy, d.urn, d.detail) for d in report.mandatory] == [
        ("probe-stack-protect", loose.urn, "loose is not protected"),
    ]


def test_analyze_sends_the_provider_resource(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": "disabled"}))
    aws = resource("pulumi:providers:aws", "aws", {"region": "us-east-1"})
    provided = resource("probe:index:Provided", "thing", {}, provider=f"{aws.urn}::aws-provider-id")
    report = probe.run([aws, provided])
    assert [d.detail for d in report.advisory if d.policy == "probe-sees-provider"] == [
        "provider=pulumi:providers:aws:aws:us-east-1"
    ]


def test_analyze_stack_sends_outputs_parent_and_dependencies(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({"probe-configured": "disabled"}))
    parent = resource("probe:index:Component", "parent", {}, custom=False, protect=True)
    source = resource("probe:index:Source", "source", {}, protect=True)
    linked = resource(
        "probe:index:Linked",
        "linked",
        {"value": "input"},
        outputs={"value": "output"},
        parent=parent.urn,
        property_dependencies={"value": [source.urn]},
    )
    report = probe.analyze_stack([parent, source, linked])
    assert [(d.urn, d.detail) for d in report.advisory] == [
        (linked.urn, "parent=parent deps=['source'] props={'value': ['source']} value=output")
    ]


def test_analyze_takes_the_answer_sent_ahead_for_the_same_request(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({}))
    thing = resource("probe:index:Thing", "ahead", {"bad": True})
    expected = probe.analyze(thing)
    probe.prefetch(thing)
    probe.prefetch(thing)  # the same request is sent once
    assert probe.answers_waiting == 1
    assert probe.analyze(thing) == expected
    assert probe.answers_waiting == 0


def test_configuring_differently_drops_the_answers_sent_ahead(probe: PolicyPackProcess) -> None:
    probe.configure(STACK, parse_config({}))
    thing = resource("probe:index:Thing", "ahead-then-reconfigured", {"bad": True})
    probe.prefetch(thing)
    probe.configure(STACK, parse_config({}))  # the same settings: nothing is sent, the answer stays valid
    assert probe.answers_waiting == 1
    probe.configure(STACK, parse_config({"probe-declared-mandatory": "disabled"}))
    assert probe.answers_waiting == 0
    assert "probe-declared-mandatory" not in {d.policy for d in probe.analyze(thing).diagnostics}


def test_a_launched_pack_nobody_connects_to_is_stopped_when_the_command_exits() -> None:
    script = f"import pathlib, infra.policy.launch as l; print(l.launch(pathlib.Path({str(PROBE)!r})).process.pid)"
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    with pytest.raises(ProcessLookupError):
        os.kill(int(completed.stdout), 0)


def test_a_fresh_pack_refuses_analysis_before_configure_and_close_stops_it() -> None:
    pack = PolicyPackProcess.start(PROBE)
    process = pack._process
    with pytest.raises(PolicyPackError, match="call configure"):
        pack.analyze(resource("probe:index:Thing", "early", {}))
    pack.close()
    assert process.poll() is not None


def test_rejects_a_directory_without_pulumipolicy_yaml(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackError, match=r"has no PulumiPolicy\.yaml"):
        PolicyPackProcess.start(tmp_path)


def test_reports_a_pack_that_fails_to_start(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('pack is broken')\n")
    with pytest.raises(PolicyPackError, match="did not print its port"):
        PolicyPackProcess.start(tmp_path, startup_timeout=30)


def test_reconcile_without_a_process() -> None:
    policies = [
        PolicyInfo("a", "", EnforcementLevel.MANDATORY, {"properties": {"n": {"type": "number", "default": 1}}}),
        PolicyInfo("b", "", EnforcementLevel.ADVISORY),
    ]
    assert reconcile(policies, {"a": ConfigEntry(None, {"n": 2})}, {"all": ConfigEntry(EnforcementLevel.DISABLED)}) == {
        "a": PolicySetting(EnforcementLevel.DISABLED, {"n": 2}),
        "b": PolicySetting(EnforcementLevel.DISABLED, {}),
    }


def test_loads_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"all": "mandatory", "a": {"n": 3}}))
    assert load_config_file(path) == {
        "all": ConfigEntry(EnforcementLevel.MANDATORY),
        "a": ConfigEntry(None, {"n": 3}),
    }


def test_cli_wants_one_config_per_pack(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.policy.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["foundation", "--policy-pack", str(PROBE), "--policy-pack-config", "a.json", "--policy-pack-config", "b"])
    assert exited.value.code == 2
    assert "one --policy-pack-config per --policy-pack" in capsys.readouterr().err
