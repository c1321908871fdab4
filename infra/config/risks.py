"""Risks a phase accepts in the open: the secure defaults a small plan may relax.

Every relaxation of a secure default is one named entry of ``scaleplan:accepted_risks`` with
the reason the team accepts it. The configuration, the security pack's settings, the offline
plan and the pull-request report all read this one mapping, so a relaxation that is not
written here is refused, and one that is written here is listed wherever the phase is shown.
Controls that cost nothing (encryption, TLS, no public database, IMDSv2, least privilege) have
no entry: they cannot be relaxed.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import StringConstraints


class AcceptedRisk(enum.StrEnum):
    """A secure default a phase may relax, named as the risk a reader accepts."""

    SINGLE_AZ_DATABASE = "single_az_database"
    """The PostgreSQL primary runs in one zone: a zone outage stops writes until a restore."""
    SINGLE_CACHE_NODE = "single_cache_node"
    """The cache has no replica to fail over to: a node failure empties it."""
    NO_NAT_GATEWAY = "no_nat_gateway"
    """No NAT gateway: instances that must reach the internet run in public subnets (with
    public addresses, still closed by their security groups)."""


RiskReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500)]
"""Why the team accepts the risk, in a sentence: shown in the plan and the PR report."""

AcceptedRisks = dict[AcceptedRisk, RiskReason]
"""``scaleplan:accepted_risks``: risk name -> reason."""
