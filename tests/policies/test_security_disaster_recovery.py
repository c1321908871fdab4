"""The security pack on the DR build (a synthetic foundation config with the DR copy on)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy.launch import SECURITY_PACK
from infra.policy.packs import for_phase, run_packs
from infra.policy.runner import PackPool, StackContext, resource
from tests.policies.conftest import DELETE, mutate
from tests.test_disaster_recovery import REPLICATION, dr_run


def test_security_pack_passes_the_dr_build(policy_packs: PackPool) -> None:
    run = dr_run()
    assert [r for r in run.resources if r.type == REPLICATION]
    [report] = run_packs(
        for_phase("foundation", [SECURITY_PACK]),
        run.resources,
        StackContext("scaleplan", "foundation"),
        pool=policy_packs,
    )
    assert [(d.policy, d.urn, d.detail) for d in report.mandatory] == []
    assert [d.message for d in report.advisory] == []


RULE = "aws-rds-automated-backups-replication-require-customer-managed-key"


@pytest.mark.parametrize(
    ("kms_key_id", "found"),
    [
        (DELETE, "is encrypted with no key (the AWS-managed key)"),
        ("alias/aws/rds", "is encrypted with the AWS-managed key alias/aws/rds"),
    ],
)
def test_replicated_backups_need_a_customer_key(security_pack: Any, kms_key_id: object, found: str) -> None:
    (replication,) = [r for r in dr_run().resources if r.type == REPLICATION]
    assert security_pack.violations(resource(REPLICATION, replication.name, dict(replication.inputs)), RULE) == []
    flipped = mutate(replication.inputs, "kmsKeyId", kms_key_id)
    assert security_pack.violations(resource(REPLICATION, replication.name, flipped), RULE) == [
        f"Replicated automated backups '{replication.name}' {found}; set kms_key_id to a customer-managed KMS key ARN."
    ]
