"""Composition: the one module that knows every component and wires a phase together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare
import pulumi_kubernetes as k8s

from infra.cache.component import Cache, CacheArgs, auth_token_secret_name
from infra.capacity import demand
from infra.catalog.cloudflared import cloudflared_release
from infra.compute.asg import ApplicationAutoScaling, ApplicationAutoScalingArgs, TunnelConnector
from infra.compute.eks import EksCluster, EksClusterArgs, cluster_physical_name
from infra.compute.eks_addons import ClusterAddons, ClusterAddonsArgs
from infra.compute.load_balancer import (
    KubernetesTargets,
    LoadBalancer,
    LoadBalancerArgs,
    TargetType,
    backend_shares,
    forward_weights,
)
from infra.compute.node_pools import NodePools, NodePoolsArgs
from infra.compute.placement import application_placement
from infra.compute.security_groups import ApplicationSecurityGroups, ApplicationSecurityGroupsArgs
from infra.compute.sizing import desired_sizes
from infra.config import PhaseConfig
from infra.config.cache import ClusterMode
from infra.config.secrets import DEFAULT_REFRESH_SECONDS, credential_key
from infra.database.component import DisasterRecoveryArgs, Postgres, PostgresArgs
from infra.database.identity import ApplicationDatabaseIdentity, ApplicationDatabaseIdentityArgs
from infra.edge.component import Edge, EdgeArgs
from infra.edge.origin import load_balancer_ingress
from infra.edge.tunnel import OriginTunnel, OriginTunnelArgs, tunnel_token_secret_name
from infra.keys import KeyPurpose, PlatformKeys, PlatformKeysArgs
from infra.naming import Service, physical_name
from infra.network.component import Network, NetworkArgs
from infra.observability.alarms import PgBouncerPools, cache_node_ids
from infra.observability.component import Operations, OperationsArgs
from infra.observability.policies import KEY_SERVICE_PRINCIPALS
from infra.observability.recovery import assess_recovery
from infra.pgbouncer.component import PgBouncer, PgBouncerArgs, rds_ca_bundle
from infra.platform.component import Platform, PlatformArgs
from infra.platform.provider import kubernetes_provider
from infra.platform.scaling import ApplicationScaling, ApplicationScalingArgs
from infra.providers import aws_dr_provider, aws_provider
from infra.secrets.component import ApplicationSecrets, ApplicationSecretsArgs
from infra.secrets.kubernetes import ApplicationSecretsSync, ApplicationSecretsSyncArgs
from infra.tagging import kubernetes_labels, standard_tags


@dataclass(frozen=True)
class Kubernetes:
    """The EKS side of a phase; teammates reach the cluster's provider and IRSA helper here."""

    cluster: EksCluster
    node_pools: NodePools
    addons: ClusterAddons
    provider: k8s.Provider
    """Explicit Kubernetes provider of the cluster: pass it in ``opts.providers``."""
    platform: Platform


@dataclass(frozen=True)
class RequestPath:
    """Internet -> zone -> load balancer (or a Cloudflare Tunnel) -> application."""

    security_groups: ApplicationSecurityGroups
    load_balancer: LoadBalancer | None
    """Present when the stack file has ``scaleplan:load_balancer``."""
    auto_scaling: ApplicationAutoScaling | None
    """Present when the stack file has ``scaleplan:compute.auto_scaling_group``."""
    tunnel: OriginTunnel | None = None
    """The Cloudflare Tunnel to the instances, where there is no load balancer."""

    def origin_dns_name(self) -> pulumi.Output[str] | None:
        """What the zone's proxied application records point at: the ALB, or the tunnel."""
        if self.load_balancer is not None:
            return self.load_balancer.dns_name
        return self.tunnel.cname_target if self.tunnel is not None else None


@dataclass(frozen=True)
class Phase:
    """The top-level components of a built phase, for exports and tests."""

    keys: PlatformKeys
    network: Network
    database: Postgres
    cache: Cache | None
    """Present when the stack file has ``scaleplan:cache``."""
    request_path: RequestPath
    kubernetes: Kubernetes | None = None
    """Present when the stack file has ``scaleplan:eks``."""
    pgbouncer: PgBouncer | None = None
    """Present when the stack file has ``scaleplan:pgbouncer`` (which requires ``scaleplan:eks``)."""
    secrets: ApplicationSecrets | None = None
    """Present when the stack file has ``scaleplan:secrets``."""
    secrets_sync: ApplicationSecretsSync | None = None
    """External Secrets copies of the application's secrets, on EKS."""


@dataclass(frozen=True)
class ApplicationAccess:
    """What the application's role (instance profile or IRSA) may read: these secrets, by name,
    decrypted with these keys through Secrets Manager only."""

    secret_names: tuple[str, ...]
    kms_key_arns: tuple[pulumi.Output[str], ...]


def former_volumes_keys() -> list[pulumi.Alias]:
    """Where the volumes key lived before it was the platform's (CHANGELOG.md): under the Auto
    Scaling group's component (foundation) or the EKS cluster's (later phases). A live
    environment's key moves to ``keys-volumes`` instead of being replaced."""
    return [
        pulumi.Alias(name="app-ebs", parent=pulumi.create_urn("app", "scaleplan:compute:ApplicationAutoScaling")),
        pulumi.Alias(name="eks-volumes-key", parent=pulumi.create_urn("eks", "scaleplan:compute:EksCluster")),
    ]


def _build_disaster_recovery(
    config: PhaseConfig, *, account_id: pulumi.Input[str], tags: Mapping[str, str]
) -> DisasterRecoveryArgs | None:
    dr = config.operations.recovery.disaster_recovery
    aws_dr = aws_dr_provider(config, tags)
    if dr is None or aws_dr is None:
        return None
    dr_keys = PlatformKeys(
        "dr-keys",
        PlatformKeysArgs(
            environment=config.environment.name,
            region=dr.region,
            account_id=account_id,
            purposes=[
                KeyPurpose(
                    name="database-dr",
                    description=f"DR copies of the database backups in {dr.region} (vault, replicated backups)",
                )
            ],
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=[aws_dr]),
    )
    return DisasterRecoveryArgs(
        provider=aws_dr,
        region=dr.region,
        kms_key_arn=dr_keys.keys["database-dr"].arn,
        copy_retention_days=dr.copy_retention_days,
    )


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
                    cloudwatch_logs=True,
                ),
                KeyPurpose(
                    name="database",
                    description="RDS PostgreSQL storage, master password, Performance Insights, backup vault",
                ),
                # Also every secret the application reads: one key to grant, each grant scoped to
                # its secrets by encryption context, and no second $1/month key.
                KeyPurpose(
                    name="cache",
                    description="ElastiCache data and snapshots, and the application's secrets",
                ),
                KeyPurpose(
                    name="alerts",
                    description="SNS alerts topic (CloudWatch alarms and AWS Budgets publish to it)",
                    service_principals=list(KEY_SERVICE_PRINCIPALS),
                ),
                KeyPurpose(
                    # One key for every phase's compute, so that moving from the Auto Scaling
                    # group to EKS retires no protected key.
                    name="volumes",
                    description="Root volumes of the application instances and the EKS nodes",
                    via_services=[f"ec2.{env.region}.amazonaws.com"],
                    former_names=former_volumes_keys(),
                ),
            ],
            tags=tags,
        ),
        opts=on_aws,
    )
    app_secrets, access = _build_application_secrets(config, keys, tags=tags, on_aws=on_aws)
    # The DR region, when set: its own explicit provider, a database key there (same policy
    # conventions as the primary keys) for the copy vault and the replicated automated backups.
    disaster_recovery = _build_disaster_recovery(config, account_id=account_id, tags=tags)
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

    security_groups = ApplicationSecurityGroups(
        "app-sg",
        ApplicationSecurityGroupsArgs(
            environment=env.name,
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            app_port=config.application_port(),
            tags=tags,
            # Cloudflare's ranges only while the zone fronts the ALB (scaleplan:edge.origin).
            alb_ingress=load_balancer_ingress(config.edge),
            load_balancer=config.load_balancer is not None,
            tunnel_egress=config.uses_tunnel(),
        ),
        opts=on_aws,
    )
    # One explicit Cloudflare provider for the edge. With no api_token argument it reads
    # CLOUDFLARE_API_TOKEN from the deploying shell: the token is in no stack file and no state.
    cloudflare_default = cloudflare.Provider("cloudflare")
    tunnel = _build_tunnel(config, keys, tags=tags, providers=[aws_default, cloudflare_default])

    # The nodes join the application security group: pods share their node's interface, and
    # that group is the one the load balancer may reach (ip targets) and the data tier admits.
    kubernetes = _build_kubernetes(
        config,
        network,
        account_id=account_id,
        logs_kms_key_arn=keys.keys["logs"].arn,
        volumes_kms_key_arn=keys.keys["volumes"].arn,
        tags=tags,
        aws_default=aws_default,
        node_security_group_ids=[security_groups.app_security_group_id],
        access=access,
    )

    request_path = _build_request_path(
        config,
        network=network,
        security_groups=security_groups,
        kubernetes=kubernetes,
        account_id=account_id,
        logs_kms_key_arn=keys.keys["logs"].arn,
        volumes_kms_key_arn=keys.keys["volumes"].arn,
        tags=tags,
        on_aws=on_aws,
        access=access,
        tunnel=tunnel,
    )

    # Security groups allowed into the data tier (PostgreSQL 5432, cache 6379), by stable name:
    # the application, and the EKS nodes that PgBouncer and application pods run on.
    data_clients: dict[str, pulumi.Input[str]] = {"app": request_path.security_groups.app_security_group_id}
    if kubernetes is not None:
        # EKS nodes carry the cluster security group: PgBouncer and application pods reach the
        # data tier through it.
        data_clients["eks-nodes"] = kubernetes.cluster.cluster_security_group_id
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
            disaster_recovery=disaster_recovery,
        ),
        opts=on_aws,
    )
    cache = _build_cache(config, network, keys, data_clients, tags=tags, on_aws=on_aws)

    edge = Edge(
        "edge",
        EdgeArgs(config=config.edge, environment=env.name, origin_dns_name=request_path.origin_dns_name()),
        opts=pulumi.ResourceOptions(providers=[cloudflare_default]),
    )

    pgbouncer = None
    if config.pgbouncer is not None and kubernetes is not None:
        pgbouncer = PgBouncer(
            "pgbouncer",
            PgBouncerArgs(
                config=config.pgbouncer,
                environment=env.name,
                region=env.region,
                tags=tags,
                provider=kubernetes.provider,
                oidc=kubernetes.cluster.oidc,
                primary_host=database.address,
                replica_hosts=[database.replica_addresses[key] for key in sorted(database.replica_addresses)],
                port=database.port,
                database_name=config.database.database_name,
                master_secret_arn=database.master_user_secret_arn,
                master_secret_kms_key_arn=keys.keys["database"].arn,
                server_ca_bundle_pem=rds_ca_bundle(),
                account_id=account_id,
                application_logins_secret_name=application_logins_secret_name(env.name),
                application_logins_kms_key_arn=keys.keys["cache"].arn,
                cluster_name=cluster_physical_name(env.name),
                logs_kms_key_arn=keys.keys["logs"].arn,
                # Its charts and Services wait for the load balancer controller's webhook.
                after=[kubernetes.platform.load_balancer_controller],
            ),
            # Charts need nodes to run on, and the platform waits for the node pools and add-ons.
            opts=pulumi.ResourceOptions(providers=[aws_default, kubernetes.provider], depends_on=[kubernetes.platform]),
        )
        pulumi.export("pgbouncer_hosts", pgbouncer.service_hosts)
        _build_database_identity(config, pgbouncer, database, keys, kubernetes, tags=tags, aws_default=aws_default)

    secrets_sync = _sync_application_secrets(config, access, kubernetes, pgbouncer, tags=tags)

    # After everything it watches: alarms name the load balancer, groups, database and cache.
    operations = _build_operations(
        config,
        request_path=request_path,
        kubernetes=kubernetes,
        database=database,
        cache=cache,
        pgbouncer=pgbouncer,
        account_id=account_id,
        kms_key_arn=keys.keys["alerts"].arn,
        tags=tags,
        on_aws=on_aws,
    )

    load = demand(config.capacity)
    pulumi.export("phase", env.phase)
    pulumi.export("environment", env.name)
    pulumi.export("vpc_id", network.vpc_id)
    pulumi.export("private_subnet_ids", network.private_subnet_ids)
    pulumi.export("app_security_group_id", request_path.security_groups.app_security_group_id)
    pulumi.export("database_address", database.address)
    pulumi.export("database_port", database.port)
    pulumi.export("database_replica_addresses", database.replica_addresses)
    pulumi.export("alerts_topic_arn", operations.topic_arn)
    pulumi.export("alerts_topic_arns", operations.topic_arns)
    pulumi.export("dashboard_name", operations.dashboard_name)
    recovery = assess_recovery(config.operations.recovery, config.database)
    pulumi.export(
        "recovery_objectives",
        {
            "rpo_minutes": recovery.rpo_minutes,
            "rto_minutes": recovery.rto_minutes,
            "achievable_rpo_minutes": recovery.achievable_rpo_minutes,
            "restore_estimate_minutes": recovery.restore_estimate_minutes,
            "covers_region_loss": recovery.covers_region_loss,
            **({"dr_region": recovery.dr_region} if recovery.dr_region is not None else {}),
            **(
                {"region_loss_rpo_minutes": recovery.region_loss_rpo_minutes}
                if recovery.region_loss_rpo_minutes is not None
                else {}
            ),
        },
    )
    if edge.media_hostname is not None:
        pulumi.export("media_cdn_hostname", edge.media_hostname)
    pulumi.export("app_hostnames", edge.app_hostnames)
    pulumi.export("peak_requests_per_second", round(load.peak_requests_per_second, 1))
    _export_access(config, request_path, kubernetes, app_secrets, cache=cache, edge=edge)
    pulumi.export("required_vcpus", load.required_vcpus)
    return Phase(
        keys=keys,
        network=network,
        database=database,
        cache=cache,
        request_path=request_path,
        kubernetes=kubernetes,
        pgbouncer=pgbouncer,
        secrets=app_secrets,
        secrets_sync=secrets_sync,
    )


def _build_cache(
    config: PhaseConfig,
    network: Network,
    keys: PlatformKeys,
    clients: Mapping[str, pulumi.Input[str]],
    *,
    tags: dict[str, str],
    on_aws: pulumi.ResourceOptions,
) -> Cache | None:
    """The ElastiCache replication group, when the stack file has ``scaleplan:cache``."""
    if config.cache is None:
        return None
    return Cache(
        "cache",
        CacheArgs(
            config=config.cache,
            environment=config.environment.name,
            availability_zones=config.network.availability_zones,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=clients,
            kms_key_arn=keys.keys["cache"].arn,
            logs_kms_key_arn=keys.keys["logs"].arn,
            tags=tags,
        ),
        opts=on_aws,
    )


def _build_application_secrets(
    config: PhaseConfig, keys: PlatformKeys, *, tags: dict[str, str], on_aws: pulumi.ResourceOptions
) -> tuple[ApplicationSecrets | None, ApplicationAccess]:
    """The configured credentials' secrets, and what the application's role may read: those
    and the cache's AUTH token, nothing else."""
    env = config.environment
    app_secrets = None
    if config.secrets is not None:
        app_secrets = ApplicationSecrets(
            "app-secrets",
            ApplicationSecretsArgs(
                config=config.secrets,
                environment=env.name,
                prefix=config.application_secrets_prefix(),
                kms_key_arn=keys.keys["cache"].arn,
                tags=tags,
            ),
            opts=on_aws,
        )
    access = ApplicationAccess(
        secret_names=(
            *(credential.name for credential in (config.secrets.credentials if config.secrets else [])),
            *([auth_token_secret_name(env.name)] if config.cache is not None else []),
            # The tunnel's token, which the instances fetch at boot to run its connector.
            *([tunnel_token_secret_name(env.name)] if config.uses_tunnel() else []),
            *([application_database_secret_name(config)] if _has_database_identity(config) else []),
        ),
        kms_key_arns=(keys.keys["cache"].arn,),
    )
    return app_secrets, access


def _has_database_identity(config: PhaseConfig) -> bool:
    return config.pgbouncer is not None and config.pgbouncer.application_identity is not None


def application_database_secret_name(config: PhaseConfig) -> str:
    """The application's database login, under its own prefix (``ftw-prod-app/database``)."""
    return f"{config.application_secrets_prefix()}database"


def application_logins_secret_name(environment: str) -> str:
    """PgBouncer's copy of every application login's password (``ftw-prod-pgbouncer/app-logins``)."""
    return physical_name(environment, "pgbouncer/app-logins", service=Service.SECRET)


def _build_database_identity(
    config: PhaseConfig,
    pgbouncer: PgBouncer,
    database: Postgres,
    keys: PlatformKeys,
    kubernetes: Kubernetes,
    *,
    tags: dict[str, str],
    aws_default: aws.Provider,
) -> ApplicationDatabaseIdentity | None:
    """The application's own logins, when the phase's PgBouncer config asks for them."""
    identity = config.pgbouncer.application_identity if config.pgbouncer is not None else None
    if identity is None:
        return None
    env = config.environment
    return ApplicationDatabaseIdentity(
        "app-database",
        ApplicationDatabaseIdentityArgs(
            config=identity,
            environment=env.name,
            credential_secret_name=application_database_secret_name(config),
            logins_secret_name=application_logins_secret_name(env.name),
            kms_key_arn=keys.keys["cache"].arn,
            namespace=pgbouncer.namespace,
            secret_store_name=pgbouncer.secret_store_name,
            master_secret_arn=database.master_user_secret_arn,
            primary_host=database.address,
            port=database.port,
            database_name=config.database.database_name,
            pgbouncer_host=pgbouncer.service_hosts["rw"],
            server_ca_bundle_pem=rds_ca_bundle(),
            labels=kubernetes_labels(tags),
            tags=tags,
            depends_on=[pgbouncer.external_secrets_release, pgbouncer.secret_store],
        ),
        opts=pulumi.ResourceOptions(providers=[aws_default, kubernetes.provider]),
    )


def _sync_application_secrets(
    config: PhaseConfig,
    access: ApplicationAccess,
    kubernetes: Kubernetes | None,
    pgbouncer: PgBouncer | None,
    *,
    tags: dict[str, str],
) -> ApplicationSecretsSync | None:
    """On EKS, every secret the application reads, as a Secret in its namespace (External Secrets)."""
    if kubernetes is None or pgbouncer is None:
        return None
    prefix = config.application_secrets_prefix()
    return ApplicationSecretsSync(
        "app-secrets-sync",
        ApplicationSecretsSyncArgs(
            region=config.environment.region,
            namespace=kubernetes.platform.application_namespace,
            service_account=kubernetes.platform.application_service_account,
            # ``openai`` for ``ftw-prod-app/openai``; the cache's ``ftw-prod-cache-auth-token``.
            secrets={
                credential_key(name, prefix if name.startswith(prefix) else ""): name for name in access.secret_names
            },
            refresh_interval_seconds=(
                config.secrets.refresh_interval_seconds if config.secrets else DEFAULT_REFRESH_SECONDS
            ),
            labels=kubernetes_labels(tags),
            # The operator's release installs the external-secrets.io CRDs the store and secrets are.
            depends_on=[pgbouncer.external_secrets_release],
        ),
        opts=pulumi.ResourceOptions(provider=kubernetes.provider),
    )


def _export_access(
    config: PhaseConfig,
    request_path: RequestPath,
    kubernetes: Kubernetes | None,
    app_secrets: ApplicationSecrets | None,
    *,
    cache: Cache | None,
    edge: Edge,
) -> None:
    """What a user needs after `pulumi up` to reach and configure the application."""
    env = config.environment
    if request_path.load_balancer is not None:
        pulumi.export("alb_dns_name", request_path.load_balancer.dns_name)
    if request_path.tunnel is not None:
        pulumi.export("tunnel_id", request_path.tunnel.tunnel_id)
    if kubernetes is not None:
        pulumi.export("application_role_arn", kubernetes.platform.application_role_arn)
        pulumi.export("kubeconfig_command", kubeconfig_command(cluster_physical_name(env.name), env.region))
    elif request_path.auto_scaling is not None:
        pulumi.export("application_role_arn", request_path.auto_scaling.instance_role_arn)
    if app_secrets is not None:
        pulumi.export("application_secret_arns", app_secrets.arns)
    if cache is not None:
        pulumi.export("cache_endpoint", cache.endpoint)
        pulumi.export("cache_port", cache.port)
        pulumi.export("cache_auth_token_secret_arn", cache.auth_token_secret_arn)
    if edge.bucket_names:
        pulumi.export("bucket_names", edge.bucket_names)


def kubeconfig_command(cluster_name: str, region: str) -> str:
    """The command that writes a kubeconfig entry for the cluster (it needs the AWS CLI and EKS
    access for the caller; the token is fetched per call, never stored)."""
    return f"aws eks update-kubeconfig --name {cluster_name} --region {region}"


def _build_kubernetes(
    config: PhaseConfig,
    network: Network,
    *,
    account_id: pulumi.Output[str],
    logs_kms_key_arn: pulumi.Output[str],
    volumes_kms_key_arn: pulumi.Output[str],
    tags: dict[str, str],
    aws_default: aws.Provider,
    node_security_group_ids: Sequence[pulumi.Input[str]] = (),
    access: ApplicationAccess | None = None,
) -> Kubernetes | None:
    """The EKS cluster, its node pools, add-ons and in-cluster platform, when the phase has one.

    ``node_security_group_ids`` join the cluster security group on every node (and so on
    every pod, which shares its node's interface): pass the application group that the load
    balancer may reach and the data tier admits.
    """
    if config.eks is None:
        return None
    env = config.environment
    on_aws = pulumi.ResourceOptions(providers=[aws_default])
    cluster = EksCluster(
        "eks",
        EksClusterArgs(
            config=config.eks,
            environment=env.name,
            region=env.region,
            account_id=account_id,
            private_subnet_ids=network.private_subnet_ids,
            logs_kms_key_arn=logs_kms_key_arn,
            tags=tags,
        ),
        opts=on_aws,
    )
    node_pools = NodePools(
        "node-pools",
        NodePoolsArgs(
            pools=config.compute.node_pools,
            desired_sizes=desired_sizes(config.compute, config.capacity),
            environment=env.name,
            cluster_name=cluster.cluster_name,
            kubernetes_version=cluster.kubernetes_version,
            private_subnet_ids=network.private_subnet_ids,
            security_group_ids=[cluster.cluster_security_group_id, *node_security_group_ids],
            volumes_kms_key_arn=volumes_kms_key_arn,
            tags=tags,
        ),
        # Nodes cannot become Ready before the CNI and kube-proxy are installed.
        opts=pulumi.ResourceOptions(providers=[aws_default], depends_on=cluster.before_compute),
    )
    addons = ClusterAddons(
        "eks-addons",
        ClusterAddonsArgs(
            cluster_name=cluster.cluster_name,
            oidc=cluster.oidc,
            versions=config.eks.addons,
            environment=env.name,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=[aws_default], depends_on=[node_pools]),
    )
    provider = kubernetes_provider(
        "k8s",
        cluster_name=cluster.cluster_name,
        endpoint=cluster.endpoint,
        certificate_authority_data=cluster.certificate_authority_data,
        region=env.region,
    )
    platform = Platform(
        "platform",
        PlatformArgs(
            config=config.eks,
            environment=env.name,
            region=env.region,
            account_id=account_id,
            cluster_name=cluster_physical_name(env.name),
            vpc_id=network.vpc_id,
            oidc=cluster.oidc,
            readable_secret_names=access.secret_names if access else (),
            secrets_kms_key_arns=access.kms_key_arns if access else (),
            tags=tags,
            after=[node_pools, addons],
        ),
        opts=pulumi.ResourceOptions(providers=[aws_default, provider], depends_on=[node_pools, addons]),
    )
    pulumi.export("cluster_name", cluster.cluster_name)
    pulumi.export("cluster_endpoint", cluster.endpoint)
    return Kubernetes(cluster=cluster, node_pools=node_pools, addons=addons, provider=provider, platform=platform)


def _build_application_scaling(
    config: PhaseConfig, *, kubernetes: Kubernetes, request_path: RequestPath
) -> ApplicationScaling | None:
    """KEDA ScaledObjects on the application's Deployments when it scales on latency too."""
    eks = config.eks
    scaling = eks.application.autoscaling if eks is not None else None
    trigger_authentication = kubernetes.platform.trigger_authentication
    if scaling is None or scaling.response_time_p95_seconds is None or trigger_authentication is None:
        return None
    load_balancer = request_path.load_balancer
    if load_balancer is None or config.load_balancer is None:
        return None  # unreachable: the config refuses EKS without scaleplan:load_balancer
    weights = forward_weights(
        config.load_balancer.weights,
        backend_shares(
            auto_scaling_group=config.compute.auto_scaling_group is not None,
            node_pools=bool(config.compute.node_pools),
            weights=config.load_balancer.backend_weights,
        ),
    )
    return ApplicationScaling(
        "app-scaling",
        ApplicationScalingArgs(
            autoscaling=scaling,
            namespace=kubernetes.platform.application_namespace,
            region=config.environment.region,
            load_balancer_arn_suffix=load_balancer.arn_suffix,
            target_group_arn_suffixes=load_balancer.target_group_arn_suffixes[TargetType.IP],
            live_slots=[
                slot for (target_type, slot), weight in weights.items() if target_type is TargetType.IP and weight > 0
            ],
            trigger_authentication=trigger_authentication,
            after=kubernetes.platform.scaling_dependencies,
        ),
        opts=pulumi.ResourceOptions(providers=[kubernetes.provider]),
    )


def _build_request_path(
    config: PhaseConfig,
    *,
    network: Network,
    security_groups: ApplicationSecurityGroups,
    kubernetes: Kubernetes | None,
    account_id: pulumi.Output[str],
    logs_kms_key_arn: pulumi.Output[str],
    volumes_kms_key_arn: pulumi.Output[str],
    tags: dict[str, str],
    on_aws: pulumi.ResourceOptions,
    access: ApplicationAccess | None = None,
    tunnel: OriginTunnel | None = None,
) -> RequestPath:
    """The ALB when the stack file has one, the Auto Scaling group when it has one (behind the
    ALB, or running the tunnel's connector). On EKS the ip target groups are bound to the
    application's Services (TargetGroupBinding)."""
    env = config.environment
    group_config = config.compute.auto_scaling_group
    load_balancer = _build_load_balancer(
        config,
        network=network,
        security_groups=security_groups,
        kubernetes=kubernetes,
        account_id=account_id,
        tags=tags,
        on_aws=on_aws,
    )
    auto_scaling = None
    if group_config is not None:
        placement = application_placement(config.network)
        instance_targets = load_balancer.target_group_arns[TargetType.INSTANCE] if load_balancer else {}
        auto_scaling = ApplicationAutoScaling(
            "app",
            ApplicationAutoScalingArgs(
                config=group_config,
                environment=env.name,
                region=env.region,
                account_id=account_id,
                subnet_ids=list(network.subnet_ids(placement.tier).values()),
                public_ipv4=placement.public_ipv4,
                security_group_id=security_groups.app_security_group_id,
                target_group_arns=instance_targets,
                load_balancer_arn_suffix=load_balancer.arn_suffix if load_balancer else None,
                target_group_arn_suffixes=(
                    load_balancer.target_group_arn_suffixes[TargetType.INSTANCE] if load_balancer else {}
                ),
                logs_kms_key_arn=logs_kms_key_arn,
                volumes_kms_key_arn=volumes_kms_key_arn,
                secret_name_prefix=physical_name(env.name, "app", service=Service.SECRET),
                readable_secret_names=access.secret_names if access else (),
                secrets_kms_key_arns=access.kms_key_arns if access else (),
                tunnel=(
                    TunnelConnector(image=cloudflared_release().reference, token_secret_name=tunnel.token_secret_name)
                    if tunnel is not None
                    else None
                ),
                depends_on=[tunnel.token_secret_version] if tunnel is not None else (),
                tags=tags,
            ),
            opts=on_aws,
        )
    request_path = RequestPath(
        security_groups=security_groups, load_balancer=load_balancer, auto_scaling=auto_scaling, tunnel=tunnel
    )
    if kubernetes is not None:
        # Latency triggers name the slots' target groups: after the load balancer.
        _build_application_scaling(config, kubernetes=kubernetes, request_path=request_path)
    return request_path


def _build_tunnel(
    config: PhaseConfig, keys: PlatformKeys, *, tags: dict[str, str], providers: Sequence[pulumi.ProviderResource]
) -> OriginTunnel | None:
    """The Cloudflare Tunnel to the instances, where the zone fronts a phase with no ALB."""
    origin = config.edge.origin
    if not config.uses_tunnel() or origin is None:
        return None
    return OriginTunnel(
        "tunnel",
        OriginTunnelArgs(
            account_id=config.edge.account_id,
            environment=config.environment.name,
            hostnames=origin.hostnames,
            port=config.application_port(),
            kms_key_arn=keys.keys["cache"].arn,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=list(providers)),
    )


def _build_load_balancer(
    config: PhaseConfig,
    *,
    network: Network,
    security_groups: ApplicationSecurityGroups,
    kubernetes: Kubernetes | None,
    account_id: pulumi.Output[str],
    tags: dict[str, str],
    on_aws: pulumi.ResourceOptions,
) -> LoadBalancer | None:
    """The ALB, when the stack file has ``scaleplan:load_balancer``."""
    if config.load_balancer is None or security_groups.alb_security_group_id is None:
        return None
    env = config.environment
    group_config = config.compute.auto_scaling_group
    targets = None
    if kubernetes is not None and config.eks is not None:
        application = config.eks.application
        targets = KubernetesTargets(
            provider=kubernetes.provider,
            namespace=application.namespace,
            services=application.load_balancer_services,
            service_port=application.service_port,
            # The platform installs the AWS Load Balancer Controller and its CRDs, and the
            # application namespace the bindings live in; the controller's release first, by
            # name (its webhook admits the bindings).
            depends_on=[kubernetes.platform.load_balancer_controller, kubernetes.platform],
        )
    return LoadBalancer(
        "alb",
        LoadBalancerArgs(
            config=config.load_balancer,
            environment=env.name,
            region=env.region,
            account_id=account_id,
            vpc_id=network.vpc_id,
            public_subnet_ids=list(network.public_subnet_ids.values()),
            security_group_id=security_groups.alb_security_group_id,
            # Both backends only while the application moves to EKS (docs/request-path.md).
            backends=backend_shares(
                auto_scaling_group=group_config is not None,
                node_pools=bool(config.compute.node_pools),
                weights=config.load_balancer.backend_weights,
            ),
            tags=tags,
            kubernetes=targets,
        ),
        opts=on_aws,
    )


def _live_target_groups(config: PhaseConfig) -> list[str]:
    """Target groups (``instance-blue``) the listener sends requests to; none without an ALB."""
    if config.load_balancer is None:
        return []
    return [
        f"{target_type.value}-{slot.value}"
        for (target_type, slot), weight in forward_weights(
            config.load_balancer.weights,
            backend_shares(
                auto_scaling_group=config.compute.auto_scaling_group is not None,
                node_pools=bool(config.compute.node_pools),
                weights=config.load_balancer.backend_weights,
            ),
        ).items()
        if weight > 0
    ]


def _container_insights_cluster(config: PhaseConfig) -> str | None:
    """The cluster whose Container Insights metrics the alarms watch, when the phase installs it."""
    eks = config.eks
    if eks is None or eks.charts.container_insights is None:
        return None
    return cluster_physical_name(config.environment.name)


def _watched_pod_namespaces(config: PhaseConfig) -> list[str]:
    """The namespaces whose pods get Container Insights alarms: the application's and PgBouncer's."""
    eks = config.eks
    if eks is None or eks.charts.container_insights is None:
        return []
    return [eks.application.namespace] + ([config.pgbouncer.namespace] if config.pgbouncer is not None else [])


def _build_operations(
    config: PhaseConfig,
    *,
    request_path: RequestPath,
    kubernetes: Kubernetes | None,
    database: Postgres,
    cache: Cache | None,
    pgbouncer: PgBouncer | None,
    account_id: pulumi.Output[str],
    kms_key_arn: pulumi.Output[str],
    tags: dict[str, str],
    on_aws: pulumi.ResourceOptions,
) -> Operations:
    """The alerts topic, the alarms over what this phase runs, and the monthly budget."""
    env = config.environment
    auto_scaling = request_path.auto_scaling
    load_balancer = request_path.load_balancer
    return Operations(
        "operations",
        OperationsArgs(
            config=config.operations,
            budget=config.budget,
            environment=env.name,
            region=env.region,
            account_id=account_id,
            owner_email=env.owner_email,
            kms_key_arn=kms_key_arn,
            tags=tags,
            load_balancer_arn_suffix=load_balancer.arn_suffix if load_balancer is not None else None,
            auto_scaling_group_names=(
                {slot.value: group for slot, group in auto_scaling.group_names.items()} if auto_scaling else {}
            ),
            node_group_autoscaling_group_names=(
                dict(kubernetes.node_pools.autoscaling_group_names) if kubernetes is not None else {}
            ),
            database_identifier=database.identifier,
            # Postgres names its replicas physical_name(env, "postgres", <key>); the observability
            # tests check these against the identifiers the instances are created with.
            database_replica_identifiers={
                key: physical_name(env.name, "postgres", key, service=Service.RDS_IDENTIFIER)
                for key in database.replica_addresses
            },
            database_max_connections=config.database.connection_budget().max_connections,
            database_allocated_storage_gib=config.database.allocated_storage_gib,
            database_memory_gib=config.database.instance.memory_gib,
            # Target groups by "<target type>-<slot>" (ip-blue); live where the listener forwards to them.
            target_group_arn_suffixes=(
                {
                    f"{target_type.value}-{slot.value}": suffix
                    for target_type, by_slot in load_balancer.target_group_arn_suffixes.items()
                    for slot, suffix in by_slot.items()
                }
                if load_balancer is not None
                else {}
            ),
            live_target_groups=_live_target_groups(config),
            container_insights_cluster=_container_insights_cluster(config),
            pod_namespaces=_watched_pod_namespaces(config),
            pgbouncer=_pgbouncer_pools(config, pgbouncer, env.name),
            cache_node_ids=(
                cache_node_ids(
                    cache.replication_group_id,
                    cluster_mode=config.cache.cluster_mode is ClusterMode.ENABLED,
                    shards=config.cache.shards,
                    replicas_per_shard=config.cache.replicas_per_shard,
                )
                if cache is not None and config.cache is not None
                else {}
            ),
        ),
        opts=on_aws,
    )


def _pgbouncer_pools(config: PhaseConfig, pgbouncer: PgBouncer | None, environment: str) -> PgBouncerPools | None:
    """What PgBouncer's pool alarms watch, when its pods publish pool metrics."""
    if pgbouncer is None or config.pgbouncer is None or config.pgbouncer.metrics is None:
        return None
    return PgBouncerPools(
        cluster=cluster_physical_name(environment),
        database=config.database.database_name,
        pool_sizes=dict(pgbouncer.pool_sizes),
    )
