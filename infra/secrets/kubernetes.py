"""The application's secrets in its namespace on EKS, copied by External Secrets.

A ``SecretStore`` in the application's namespace authenticates as the application's own
service account (its IRSA role), so the operator can read exactly what the application may
read and nothing more; one ``ExternalSecret`` per Secrets Manager secret keeps a Kubernetes
Secret of the same JSON properties, refreshed on the configured interval so a rotated value
reaches the namespace without a deploy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

STORE_NAME = "secrets-manager"
"""The application namespace's ``SecretStore``."""


@dataclass(frozen=True, kw_only=True)
class ApplicationSecretsSyncArgs:
    region: str
    namespace: pulumi.Input[str]
    """The application's namespace."""
    service_account: pulumi.Input[str]
    """The application's service account, annotated with its IRSA role."""
    secrets: Mapping[str, str]
    """Kubernetes Secret name -> Secrets Manager secret name (``openai`` -> ``ftw-prod-app/openai``)."""
    refresh_interval_seconds: int
    labels: Mapping[str, str]
    depends_on: Sequence[pulumi.Resource]
    """The External Secrets Helm release, which installs the ``external-secrets.io`` CRDs. Children
    do not inherit a component's ``depends_on``, so the store waits for it explicitly."""


class ApplicationSecretsSync(pulumi.ComponentResource):
    """A ``SecretStore`` on the application's IRSA role and an ``ExternalSecret`` per secret.

    Declare it with the cluster's provider; ``args.depends_on`` names the External Secrets Helm
    release. Each Kubernetes Secret holds the JSON
    properties of its Secrets Manager value (``dataFrom.extract``), owned by its ExternalSecret.
    """

    secret_names: dict[str, str]
    """Kubernetes Secret name by Secrets Manager secret name."""

    def __init__(self, name: str, args: ApplicationSecretsSyncArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:secrets:ApplicationSecretsSync", name, None, opts)
        labels = {"app.kubernetes.io/managed-by": "pulumi", **args.labels}
        store = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=STORE_NAME, namespace=args.namespace, labels=labels),
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": args.region,
                        "auth": {"jwt": {"serviceAccountRef": {"name": args.service_account}}},
                    }
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.secret_names = {}
        for secret_name, remote_name in sorted(args.secrets.items()):
            k8s.apiextensions.CustomResource(
                f"{name}-{secret_name}",
                api_version="external-secrets.io/v1",
                kind="ExternalSecret",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=args.namespace, labels=labels),
                spec={
                    "refreshInterval": f"{args.refresh_interval_seconds}s",
                    "secretStoreRef": {"name": STORE_NAME, "kind": "SecretStore"},
                    "target": {"name": secret_name, "creationPolicy": "Owner"},
                    "dataFrom": [{"extract": {"key": remote_name}}],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[store]),
            )
            self.secret_names[remote_name] = secret_name
        self.register_outputs({"secret_names": self.secret_names})
