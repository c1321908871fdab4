"""The packs' settings follow the stack file being checked, never the committed FairTradeWorker files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from infra.config import AcceptedRisk, PhaseConfig
from infra.config.loader import load_stack_file
from infra.config.transitions import steps
from infra.cost.policy_config import BUDGET, cost_policy_config
from infra.plan import cli
from infra.plan.capture import ProgramRun, ResourceObserver
from infra.plan.cli import main
from infra.policy.launch import POLICIES_ROOT, discover_packs
from infra.policy.packs import for_config, for_phase
from infra.policy.section import policy_section
from infra.policy.settings import (
    CACHE_FAILOVER,
    CACHE_SNAPSHOT_RETENTION,
    LAUNCH_TEMPLATE_PUBLIC_IP,
    NAMESPACE_POD_SECURITY,
    RDS_BACKUP_RETENTION,
    RDS_MULTI_AZ,
    SUBNET_PUBLIC_IP,
    WAIVERS,
    committed_file,
    committed_stack_files,
    expected_files,
    pack_settings,
    render,
    security_policy_config,
)
from infra.policy.settings import main as settings_main
from tests.conftest import PHASES, phase_config, stack_file

SECURE_DEFAULT_KEYS = {"all", RDS_BACKUP_RETENTION, CACHE_SNAPSHOT_RETENTION, NAMESPACE_POD_SECURITY}


def _with(config: PhaseConfig, section: str, **changes: Any) -> PhaseConfig:
    return config.model_copy(update={section: getattr(config, section).model_copy(update=changes)})


@pytest.mark.parametrize("phase", PHASES)
def test_each_committed_config_is_what_its_stack_file_derives(phase: str) -> None:
    derived = pack_settings(phase_config(phase))
    assert sorted(derived) == sorted(pack.name for pack in discover_packs())
    for pack, settings in derived.items():
        path = committed_file(pack, phase)
        assert path.read_text() == render(settings), (
            f"{path} is stale; regenerate with: uv run python -m infra.policy.settings"
        )


def test_no_committed_config_without_its_stack_file() -> None:
    committed = set(POLICIES_ROOT.glob("*/config/*.json"))
    assert committed == set(expected_files(committed_stack_files()))
    # The plan's stack files and the generated files of the moves between phases.
    assert set(committed_stack_files()) == {*PHASES, *(step.path.stem for step in steps())}


def test_the_generator_check_passes_on_the_committed_files() -> None:
    assert settings_main(["--check"]) == 0


def test_a_users_stack_file_derives_its_own_config_files(tmp_path: Path) -> None:
    copy = tmp_path / "Pulumi.day-30.yaml"
    copy.write_text(stack_file("growth").read_text().replace("phase: growth", "phase: day-30"))
    derived = pack_settings(load_stack_file(copy))
    assert expected_files({"day-30": copy}, root=tmp_path) == {
        tmp_path / "policies" / pack / "config" / "day-30.json": render(settings) for pack, settings in derived.items()
    }


def test_security_settings_are_mandatory_and_secure_by_default() -> None:
    # No waiver at all where the file accepts no risk: every rule mandatory, retention minimums its own.
    assert security_policy_config(phase_config("growth")) == {
        "all": "mandatory",
        RDS_BACKUP_RETENTION: {"minimumDays": 7},
        CACHE_SNAPSHOT_RETENTION: {"minimumDays": 7},
        # Container Insights' agent: host access in its own namespace, named, and nowhere else.
        NAMESPACE_POD_SECURITY: {"hostAccessNamespaces": ["amazon-cloudwatch"]},
    }


def test_host_access_namespace_is_named_only_where_container_insights_is_installed() -> None:
    growth = phase_config("growth")
    assert growth.eks is not None
    without = growth.model_copy(
        update={
            "eks": growth.eks.model_copy(
                update={"charts": growth.eks.charts.model_copy(update={"container_insights": None})}
            )
        }
    )
    assert NAMESPACE_POD_SECURITY not in security_policy_config(without)
    assert NAMESPACE_POD_SECURITY not in security_policy_config(phase_config("foundation"))


def _accepting(*risks: AcceptedRisk) -> PhaseConfig:
    # Settings read the declaration only; the gates that pair it with the relaxed value are tested in
    # tests/test_accepted_risks.py.
    return phase_config("growth").model_copy(update={"accepted_risks": {r: "the reason given" for r in risks}})


@pytest.mark.parametrize("risk", list(AcceptedRisk))
def test_a_declared_risk_waives_its_own_rules_and_names_itself(risk: AcceptedRisk) -> None:
    settings = security_policy_config(_accepting(risk))
    waived = {policy: value for policy, value in settings.items() if policy not in SECURE_DEFAULT_KEYS}
    assert waived == {
        policy: {"enforcementLevel": "advisory", "acceptedRisk": risk.value}
        for policy, waiving in WAIVERS.items()
        if waiving is risk
    }
    assert waived, f"{risk} waives no rule"


def test_single_az_database_is_waived_only_where_the_file_declares_it() -> None:
    assert RDS_MULTI_AZ not in security_policy_config(phase_config("growth"))
    assert security_policy_config(_accepting(AcceptedRisk.SINGLE_AZ_DATABASE))[RDS_MULTI_AZ] == {
        "enforcementLevel": "advisory",
        "acceptedRisk": "single_az_database",
    }


def test_no_nat_gateway_waives_the_public_address_rules() -> None:
    settings = security_policy_config(_accepting(AcceptedRisk.NO_NAT_GATEWAY))
    assert settings[LAUNCH_TEMPLATE_PUBLIC_IP] == {"enforcementLevel": "advisory", "acceptedRisk": "no_nat_gateway"}
    assert settings[SUBNET_PUBLIC_IP] == {"enforcementLevel": "advisory", "acceptedRisk": "no_nat_gateway"}


def test_backup_retention_minimum_is_the_files_own() -> None:
    longer = _with(phase_config("growth"), "database", backup_retention_days=14)
    assert security_policy_config(longer)[RDS_BACKUP_RETENTION] == {"minimumDays": 14}


def test_cache_without_failover_is_waived_only_where_the_file_declares_it() -> None:
    assert CACHE_FAILOVER not in security_policy_config(phase_config("growth"))
    assert security_policy_config(_accepting(AcceptedRisk.SINGLE_CACHE_NODE))[CACHE_FAILOVER] == {
        "enforcementLevel": "advisory",
        "acceptedRisk": "single_cache_node",
    }


def test_cache_snapshot_minimum_is_the_files_own() -> None:
    shorter = _with(phase_config("growth"), "cache", snapshot_retention_days=3)
    assert security_policy_config(shorter)[CACHE_SNAPSHOT_RETENTION] == {"minimumDays": 3}


def test_runs_carry_the_derived_settings_not_the_committed_files() -> None:
    config = _with(phase_config("growth"), "budget", monthly_usd=1234.0)
    security, cost = for_config(config, "Pulumi.mine.yaml")
    assert cost.config[BUDGET].properties["budget_monthly_usd"] == 1234.0
    assert cost.shown_source == "settings derived from Pulumi.mine.yaml"
    assert security.config[RDS_BACKUP_RETENTION].properties == {"minimumDays": 7}
    # The committed growth file still says 2,100: the run does not read it.
    [_, committed] = for_phase("growth")
    assert committed.config[BUDGET].properties["budget_monthly_usd"] == 2100.0


@pytest.mark.slow  # builds and plans a whole phase of its own: ~10 s
def test_a_new_phase_name_plans_with_its_own_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of growth renamed ``day-30`` with a budget of its own passes its own policies;
    the same resources judged against a budget below their cost fail on that budget."""
    text = stack_file("growth").read_text()
    assert "phase: growth" in text
    assert "monthly_usd: 2100" in text
    copy = tmp_path / "Pulumi.day-30.yaml"
    copy.write_text(text.replace("phase: growth", "phase: day-30").replace("monthly_usd: 2100", "monthly_usd: 1900"))
    runs: list[ProgramRun] = []
    original = cli.run_phase

    def recording(config: PhaseConfig, stack: str, observers: Sequence[ResourceObserver] = ()) -> ProgramRun:
        runs.append(original(config, stack, observers))
        return runs[-1]

    monkeypatch.setattr(cli, "run_phase", recording)
    assert main(["day-30", "--stack-file", str(copy), "--format", "json"]) == 0
    [phase] = json.loads(capsys.readouterr().out)["phases"]
    assert phase["stack"] == "day-30"
    [verdicts] = [s for s in phase["sections"] if s["title"] == "Policy verdicts"]
    assert verdicts["data"]["mandatory"] == 0
    assert all(note.endswith("settings derived from the day-30 stack file") for note in verdicts["notes"])
    [run] = runs
    tags = {r.inputs["tags"]["phase"] for r in run.resources if isinstance(r.inputs.get("tags"), dict)}
    assert tags == {"day-30"}

    config = load_stack_file(copy)
    assert cost_policy_config(config)[BUDGET]["budget_monthly_usd"] == 1900.0
    tight = _with(config, "budget", monthly_usd=500.0)
    section = policy_section(tight, run)
    assert section.failed
    [finding] = [row for row in section.rows if row[2] == BUDGET]
    assert "above 100% of the $500.00 budget ($500.00)" in str(finding[4])


def test_policy_command_checks_the_given_stack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from infra.policy.__main__ import main as policy_main

    # An invalid phase label in the given file is reported for that file, before any run.
    bad = tmp_path / "Pulumi.mine.yaml"
    bad.write_text(stack_file("growth").read_text().replace("phase: growth", "phase: Day 30"))
    assert policy_main(["mine", "--stack-file", str(bad)]) == 2
    assert "Pulumi.mine.yaml: scaleplan:environment.phase: must match the pattern" in capsys.readouterr().err
