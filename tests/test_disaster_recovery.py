"""The DR copy (scaleplan:operations.recovery.disaster_recovery) on a synthetic config: the
foundation stack file with the block set, built under mocks."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from infra.config import PhaseConfig
from infra.config.errors import PhaseConfigError
from infra.config.loader import parse_phase_config
from infra.cost.catalog import UnknownPriceError, price_catalog
from infra.cost.estimate import PricedResource, estimate, from_captured
from infra.observability.recovery import DR_COPY_INTERVAL_MINUTES, assess_recovery
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.provider_schemas.replacement import is_stateful, replacement_paths
from infra.stack import build_phase
from infra.yaml_files import load_file
from tests.conftest import built_phase, phase_config, stack_file
from tests.test_provider_schemas import resource_problems

DR_REGION = "us-west-1"
VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
KEY = "aws:kms/key:Key"
DR_KEY = "dr-keys-database-dr"
REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"


def _values(**recovery: Any) -> dict[str, Any]:
    values = copy.deepcopy(load_file(stack_file("foundation"))["config"])
    values["scaleplan:operations"]["recovery"].update(recovery)
    return dict(values)


def _config(**recovery: Any) -> PhaseConfig:
    return parse_phase_config(_values(**recovery), "Pulumi.foundation.yaml")


DR_BLOCK = {"region": DR_REGION, "copy_retention_days": 35}


@functools.cache
def dr_run() -> ProgramRun:
    config = _config(disaster_recovery=DR_BLOCK)
    return run_program(lambda: build_phase(config), project="scaleplan", stack="foundation-dr")


def _one(run: ProgramRun, type_: str, name: str) -> CapturedResource:
    found = [r for r in run.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {len(found)}"
    return found[0]


def _provider_region(run: ProgramRun, resource: CapturedResource) -> str:
    provider_id = resource.provider.rsplit("::", 1)[-1]
    (provider,) = [
        r for r in run.resources if r.type == "pulumi:providers:aws" and f"{r.name}-provider-id" == provider_id
    ]
    return str(provider.inputs["region"])


def test_dr_resources_use_the_second_provider_in_the_dr_region() -> None:
    run = dr_run()
    providers = {r.name: r.inputs.get("region") for r in run.resources if r.type == "pulumi:providers:aws"}
    assert providers == {"aws": "us-east-1", "aws-dr": DR_REGION}
    dr_side = ((VAULT, "database-dr-backup-vault"), (REPLICATION, "database-dr-automated-backups"), (KEY, DR_KEY))
    for type_, name in dr_side:
        assert _provider_region(run, _one(run, type_, name)) == DR_REGION, name
    # The primary's vault and key stay on the primary provider.
    assert _provider_region(run, _one(run, VAULT, "database-backup-vault")) == "us-east-1"
    assert _provider_region(run, _one(run, KEY, "keys-database")) == "us-east-1"


def test_dr_key_and_vault_are_protected_and_the_vault_uses_the_dr_key() -> None:
    run = dr_run()
    key = _one(run, KEY, "dr-keys-database-dr")
    vault = _one(run, VAULT, "database-dr-backup-vault")
    assert key.protect
    assert vault.protect
    assert key.inputs["enableKeyRotation"] is True
    assert vault.inputs["kmsKeyArn"] == key.outputs["arn"]
    assert f":{DR_REGION}:" in str(key.outputs["arn"])
    statements = json.loads(key.inputs["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["AccountAdministers"]


def test_daily_rule_copies_to_the_dr_vault_with_its_own_retention() -> None:
    run = dr_run()
    (rule,) = _one(run, PLAN, "database-backup-plan").inputs["rules"]
    dr_vault = _one(run, VAULT, "database-dr-backup-vault")
    (action,) = rule["copyActions"]
    assert action["destinationVaultArn"] == dr_vault.outputs["arn"]
    assert f":{DR_REGION}:" in action["destinationVaultArn"]
    assert action["lifecycle"]["deleteAfter"] == 35
    assert rule["lifecycle"]["deleteAfter"] == 30  # the primary vault's retention is unchanged


def test_automated_backups_replicate_with_the_dr_key_and_retention() -> None:
    run = dr_run()
    replication = _one(run, REPLICATION, "database-dr-automated-backups")
    primary = _one(run, "aws:rds/instance:Instance", "database-primary")
    assert replication.inputs["sourceDbInstanceArn"] == primary.outputs["arn"]
    assert replication.inputs["kmsKeyId"] == _one(run, KEY, "dr-keys-database-dr").outputs["arn"]
    assert replication.inputs["retentionPeriod"] == primary.inputs["backupRetentionPeriod"]
    assert replication.inputs["region"] == DR_REGION


def test_without_the_block_nothing_leaves_the_region() -> None:
    run = built_phase("foundation")
    assert [r.name for r in run.resources if r.type == "pulumi:providers:aws"] == ["aws"]
    assert not [r for r in run.resources if r.type == REPLICATION]
    (rule,) = _one(run, PLAN, "database-backup-plan").inputs["rules"]
    assert not rule.get("copyActions")


def test_region_loss_objective_accepted_only_with_the_copy_and_a_daily_rpo() -> None:
    config = _config(disaster_recovery=DR_BLOCK, survives_region_loss=True, rpo_minutes=DR_COPY_INTERVAL_MINUTES)
    recovery = assess_recovery(config.operations.recovery, config.database)
    assert recovery.covers_region_loss
    assert recovery.region_loss_rpo_minutes == DR_COPY_INTERVAL_MINUTES
    assert "daily copy to us-west-1" in recovery.summary()


@pytest.mark.parametrize(
    ("recovery", "expected"),
    [
        (
            {"survives_region_loss": True},
            "operations.recovery.survives_region_loss: must be false: no backup leaves the region",
        ),
        (
            {"survives_region_loss": True, "disaster_recovery": DR_BLOCK},
            "operations.recovery.rpo_minutes: must be at least 1440 when survives_region_loss is true",
        ),
        (
            {"disaster_recovery": {"region": "us-east-1"}},
            "operations.recovery.disaster_recovery.region: must differ from environment.region us-east-1",
        ),
        (
            {"disaster_recovery": {"region": "us-moon-1"}},
            "operations.recovery.disaster_recovery.region: must be an AWS commercial region",
        ),
        (
            {"disaster_recovery": {"region": DR_REGION, "copy_retention_days": 1}},
            "operations.recovery.disaster_recovery.copy_retention_days",
        ),
        (
            {"disaster_recovery": {"region": DR_REGION, "copy_days": 30}},
            "operations.recovery.disaster_recovery.copy_days",
        ),
    ],
)
def test_bad_dr_config_is_refused_with_the_key(recovery: dict[str, Any], expected: str) -> None:
    with pytest.raises(PhaseConfigError) as raised:
        _config(**recovery)
    assert expected in str(raised.value)
    assert "Pulumi.foundation.yaml" in str(raised.value)


def test_outputs_state_the_dr_region_and_region_loss_rpo() -> None:
    exported = dr_run().stack_outputs["recovery_objectives"]
    assert exported["dr_region"] == DR_REGION
    assert exported["region_loss_rpo_minutes"] == DR_COPY_INTERVAL_MINUTES
    assert "dr_region" not in built_phase("foundation").stack_outputs["recovery_objectives"]


# --- cost --------------------------------------------------------------------------------------


def _dr_estimate_inputs() -> tuple[list[PricedResource], PhaseConfig]:
    return from_captured(dr_run().resources), _config(disaster_recovery=DR_BLOCK)


def test_dr_estimate_refuses_what_has_no_sourced_price() -> None:
    resources, config = _dr_estimate_inputs()
    with pytest.raises(UnknownPriceError) as raised:
        estimate(resources, config.usage)
    # RDS backup storage in us-west-1 has no sourced figure: refused, never priced at $0.
    assert "'us-west-1' in 'dr_rds_backup_storage_gb_month'" in str(raised.value)
    assert "database-dr-automated-backups" in str(raised.value)


def test_dr_copy_is_priced_per_gb_in_the_dr_region() -> None:
    resources, config = _dr_estimate_inputs()
    catalog = price_catalog()
    # Stand-in rate for the one unsourced figure, only to check the arithmetic of the rest.
    stand_in = catalog.rate("dr_rds_backup_storage_gb_month", "us-east-1").model_copy(update={"value": 0.5})
    sections = {**catalog.sections}
    sections["dr_rds_backup_storage_gb_month"] = {**sections["dr_rds_backup_storage_gb_month"], DR_REGION: stand_in}
    lines = estimate(resources, config.usage, catalog.model_copy(update={"sections": sections})).lines
    gb = config.usage.aws_backup_storage_gb
    assert gb > 0
    by_name: dict[str, list[tuple[float, float]]] = {}
    for line in lines:
        by_name.setdefault(line.name, []).append((line.quantity, line.unit_price_usd))
    # The primary vault keeps its whole usage (not shared with the DR vault).
    assert by_name["database-backup-vault"] == [(gb, 0.095)]
    assert by_name["database-dr-backup-vault"] == [(gb, 0.095)]
    assert by_name["database-dr-automated-backups"] == [(gb, 0.5), (2 * gb, 0.02)]


def test_transfer_to_us_east_2_uses_its_own_rate() -> None:
    replication = PricedResource(
        type=REPLICATION,
        name="r",
        urn="urn:r",
        inputs={"region": "us-east-1", "sourceDbInstanceArn": "arn:aws:rds:us-east-2:123456789012:db:x"},
    )
    # us-east-2 -> anywhere has no sourced transfer price: refused.
    with pytest.raises(UnknownPriceError, match="'us-east-2->other' in 'inter_region_transfer_gb'"):
        estimate([replication], phase_config("foundation").usage)


# --- provider definitions ----------------------------------------------------------------------


def test_dr_inputs_are_accepted_by_the_providers_schema() -> None:
    assert resource_problems(dr_run()) == []


def test_replication_replacement_inputs_are_known() -> None:
    # Changing backup_retention_days while DR is on replaces the replication (docs/operations.md).
    assert {"retentionPeriod", "kmsKeyId", "sourceDbInstanceArn"} <= replacement_paths(REPLICATION)
    assert is_stateful(VAULT)
    assert is_stateful(KEY)
