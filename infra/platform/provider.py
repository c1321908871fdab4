"""The Kubernetes provider every in-cluster resource is declared with."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` as the deploying identity.

    No token is stored in the state: the AWS CLI mints a short-lived one on every call.
    """
    user = f"aws-{cluster_name}"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority_data},
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        }
    )


def _kubeconfig_of(values: list[str], *, region: str) -> str:
    cluster_name, endpoint, ca_data = values
    return kubeconfig(cluster_name, endpoint, ca_data, region)


def kubernetes_provider(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    certificate_authority_data: pulumi.Input[str],
    region: str,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.Provider:
    """The explicit provider for one cluster; created once, in the composition module.

    ``opts`` should depend on the node pools when charts are installed with it, so that the
    first deployment does not wait on pods that have nowhere to run.
    """
    config = pulumi.Output.all(cluster_name, endpoint, certificate_authority_data).apply(
        lambda values: _kubeconfig_of(values, region=region)
    )
    return k8s.Provider(
        name,
        kubeconfig=config,
        # Identify the cluster by name, so a rotated CA or changed endpoint updates the
        # provider in place instead of replacing every resource declared with it.
        cluster_identifier=cluster_name,
        enable_server_side_apply=True,
        opts=opts,
    )
