"""Explicit providers, created once per program by the composition module.

Explicit providers mean nothing depends on ambient ``aws:region`` config or environment:
a stack file alone decides where resources go.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from infra.config import PhaseConfig


def aws_provider(config: PhaseConfig, tags: Mapping[str, str]) -> aws.Provider:
    return aws.Provider(
        "aws",
        region=config.environment.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(tags)),
        opts=pulumi.ResourceOptions(),
    )


def aws_dr_provider(config: PhaseConfig, tags: Mapping[str, str]) -> aws.Provider | None:
    """The second AWS provider, in ``operations.recovery.disaster_recovery.region``; None when unset."""
    dr = config.operations.recovery.disaster_recovery
    if dr is None:
        return None
    return aws.Provider(
        "aws-dr",
        region=dr.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(tags)),
        opts=pulumi.ResourceOptions(),
    )
