"""Composition: the one module that knows every component and wires a phase together."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.capacity import demand
from infra.config import PhaseConfig
from infra.database.component import Postgres, PostgresArgs
from infra.keys import KeyPurpose, PlatformKeys, PlatformKeysArgs
from infra.network.component import Network, NetworkArgs
from infra.providers import aws_provider
from infra.tagging import standard_tags


@dataclass(frozen=True)
class Phase:
    """The top-level components of a built phase, for exports and tests."""

    keys: PlatformKeys
    network: Network
    database: Postgres


def build_phase(config: PhaseConfig) -> Phase:
    """Declare every resource of the phase that ``config`` describes."""
    env = config.environment
    tags = standard_tags(env)
    aws_default = aws_provider(config, tags)
    on_aws = pulumi.ResourceOptions(providers=[aws_default])
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_default)).account_id

    keys = PlatformKeys(
        "keys",
        PlatformKeysArgs(
            environment=env.name,
            region=env.region,
            account_id=account_id,
            purposes=[
                KeyPurpose(
                    name="logs",
                    description="CloudWatch Logs groups",
                    service_principals=[f"logs.{env.region}.amazonaws.com"],
                ),
                KeyPurpose(
                    name="database",
                    description="RDS PostgreSQL storage, master password, Performance Insights, backup vault",
                ),
            ],
            tags=tags,
        ),
        opts=on_aws,
    )
    network = Network(
        "network",
        NetworkArgs(
            config=config.network,
            environment=env.name,
            region=env.region,
            tags=tags,
            logs_kms_key_arn=keys.keys["logs"].arn,
        ),
        opts=on_aws,
    )

    # Security groups allowed into the data tier, by stable name. Connect the application
    # ("app") and PgBouncer ("pgbouncer") groups here when their components land; until then
    # nothing can reach the database, which is the safe failure.
    data_clients: dict[str, pulumi.Input[str]] = {}
    database = Postgres(
        "database",
        PostgresArgs(
            config=config.database,
            environment=env.name,
            availability_zones=config.network.availability_zones,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=data_clients,
            kms_key_arn=keys.keys["database"].arn,
            logs_kms_key_arn=keys.keys["logs"].arn,
            tags=tags,
        ),
        opts=on_aws,
    )

    load = demand(config.capacity)
    pulumi.export("phase", env.phase.value)
    pulumi.export("environment", env.name)
    pulumi.export("vpc_id", network.vpc_id)
    pulumi.export("private_subnet_ids", network.private_subnet_ids)
    pulumi.export("database_address", database.address)
    pulumi.export("database_port", database.port)
    pulumi.export("database_replica_addresses", database.replica_addresses)
    pulumi.export("peak_requests_per_second", round(load.peak_requests_per_second, 1))
    pulumi.export("required_vcpus", load.required_vcpus)
    return Phase(keys=keys, network=network, database=database)
