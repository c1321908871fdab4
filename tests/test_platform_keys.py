"""The platform's keys: policies per purpose, and one volumes key for every phase's compute."""

from __future__ import annotations

import json

from infra.keys import KeyPurpose, key_policy
from tests.conftest import built_phase, phase_config

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KEY = "aws:kms/key:Key"


def statements(policy: str) -> dict[str, dict[str, object]]:
    return {statement["Sid"]: statement for statement in json.loads(policy)["Statement"]}


def test_a_key_used_through_a_service_admits_only_this_accounts_callers_of_it() -> None:
    purpose = KeyPurpose(name="volumes", description="root volumes", via_services=["ec2.us-east-1.amazonaws.com"])
    policy = statements(key_policy("123456789012", "us-east-1", purpose))
    assert set(policy) == {"AccountAdministers", "UseThroughServicesInThisAccount"}
    through = policy["UseThroughServicesInThisAccount"]
    assert through["Principal"] == {"AWS": "*"}
    assert through["Condition"] == {
        "StringEquals": {"kms:ViaService": ["ec2.us-east-1.amazonaws.com"], "kms:CallerAccount": "123456789012"}
    }
    assert "kms:CreateGrant" in through["Action"]  # EC2 hands the volume a grant when it attaches it


def test_a_plain_purpose_has_only_the_account_statement() -> None:
    policy = statements(key_policy("123456789012", "us-east-1", KeyPurpose(name="cache", description="cache")))
    assert set(policy) == {"AccountAdministers"}


def test_every_root_volume_of_a_phase_uses_the_platform_volumes_key(phase: str) -> None:
    run = built_phase(phase)
    volumes_key = run.one(KEY, "keys-volumes")
    region = phase_config(phase).environment.region
    through = statements(volumes_key.inputs["policy"])["UseThroughServicesInThisAccount"]
    assert through["Condition"]["StringEquals"]["kms:ViaService"] == [f"ec2.{region}.amazonaws.com"]  # type: ignore[index]
    templates = run.of_type(LAUNCH_TEMPLATE)
    assert templates
    for template in templates:
        (mapping,) = template.inputs["blockDeviceMappings"]
        assert mapping["ebs"]["kmsKeyId"] == volumes_key.outputs["arn"], template.name
    # The Auto Scaling group and the EKS cluster no longer make keys of their own for volumes.
    assert {key.name for key in run.of_type(KEY)} - {"eks-secrets-key"} == {
        "keys-logs",
        "keys-database",
        "keys-cache",
        "keys-alerts",
        "keys-volumes",
    }


def test_the_volumes_key_takes_over_the_keys_it_replaced_in_live_states(phase: str) -> None:
    """The URNs the key had before it was the platform's (CHANGELOG.md); without these aliases a
    live environment's protected key would block the update instead of moving."""
    key = built_phase(phase).one(KEY, "keys-volumes")
    assert key.aliases == (
        f"urn:pulumi:{phase}::scaleplan::scaleplan:compute:ApplicationAutoScaling$aws:kms/key:Key::app-ebs",
        f"urn:pulumi:{phase}::scaleplan::scaleplan:compute:EksCluster$aws:kms/key:Key::eks-volumes-key",
    )


LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_the_logs_key_admits_cloudwatch_logs_for_this_accounts_log_groups_only() -> None:
    """As AWS documents it: the regional service principal, and the log group's ARN in the
    encryption context, not ``aws:SourceAccount`` (which CloudWatch Logs does not send here)."""
    purpose = KeyPurpose(name="logs", description="log groups", cloudwatch_logs=True)
    policy = statements(key_policy("210987654321", "eu-west-1", purpose))
    assert set(policy) == {"AccountAdministers", "CloudWatchLogsEncrypt"}
    logs = policy["CloudWatchLogsEncrypt"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:210987654321:log-group:*"}
    }
    assert set(logs["Action"]) >= {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"}  # type: ignore[arg-type]


def test_every_log_group_of_a_phase_is_encrypted_with_the_logs_key_its_policy_admits(phase: str) -> None:
    run = built_phase(phase)
    key = run.one(KEY, "keys-logs")
    region = phase_config(phase).environment.region
    logs = statements(key.inputs["policy"])["CloudWatchLogsEncrypt"]
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    pattern = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]  # type: ignore[index]
    assert pattern == f"arn:aws:logs:{region}:123456789012:log-group:*"
    groups = run.of_type(LOG_GROUP)
    # VPC flow logs, RDS exports, the cache's slow log, and the ASG's or the EKS control plane's.
    assert len(groups) >= 4, [group.name for group in groups]
    for group in groups:
        assert group.inputs["kmsKeyId"] == key.outputs["arn"], group.name
    # No other key lets CloudWatch Logs in: a log group on another key would fail to create.
    for other in run.of_type(KEY):
        if other.name != "keys-logs":
            assert "CloudWatchLogsEncrypt" not in statements(other.inputs["policy"]), other.name
