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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import StringConstraints

from infra.config.network import NatStrategy

if TYPE_CHECKING:
    from infra.config import PhaseConfig


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


@dataclass(frozen=True)
class RiskGate:
    """Where a stack file takes a risk: the key whose value relaxes the secure default.

    The phase is refused when the value takes the risk and ``scaleplan:accepted_risks`` does
    not name it, and when it names a risk the value does not take (a stale acceptance would
    hide the day the phase starts taking it again).
    """

    risk: AcceptedRisk
    key: str
    """The stack-file key, relative to ``scaleplan:`` (``database.multi_az``)."""
    taken: Callable[[PhaseConfig], bool]
    value: Callable[[PhaseConfig], str]
    """The key's value as the file writes it."""
    consequence: str
    """What the relaxed value does, completing "<key>: <value> ..."."""
    secure: str
    """The secure value to set instead."""


RISK_GATES: tuple[RiskGate, ...] = (
    RiskGate(
        AcceptedRisk.SINGLE_AZ_DATABASE,
        "database.multi_az",
        taken=lambda config: not config.database.multi_az,
        value=lambda config: str(config.database.multi_az).lower(),
        consequence="runs the PostgreSQL primary in one zone (a zone outage stops writes until a restore)",
        secure="set multi_az: true",
    ),
    RiskGate(
        AcceptedRisk.SINGLE_CACHE_NODE,
        "cache.replicas_per_shard",
        # No cache at all takes no cache risk (a declared single_cache_node is then stale).
        taken=lambda config: config.cache is not None and config.cache.replicas_per_shard == 0,
        value=lambda config: "absent" if config.cache is None else str(config.cache.replicas_per_shard),
        consequence="leaves the cache no replica to fail over to (a node failure empties it)",
        secure="set replicas_per_shard: 1 or more",
    ),
    RiskGate(
        AcceptedRisk.NO_NAT_GATEWAY,
        "network.nat_strategy",
        taken=lambda config: config.network.nat_strategy is NatStrategy.NONE,
        value=lambda config: config.network.nat_strategy.value,
        consequence="gives private subnets no way out (instances that must reach the internet get public addresses)",
        secure="set nat_strategy: single or one_per_az",
    ),
)
"""One gate per :class:`AcceptedRisk`; a test keeps the two in step."""


def risk_problems(config: PhaseConfig) -> list[tuple[str, str]]:
    """(key, message) for each risk the phase takes without naming it, or names without taking it."""
    problems: list[tuple[str, str]] = []
    for gate in RISK_GATES:
        taken, declared = gate.taken(config), config.accepts(gate.risk)
        if taken and not declared:
            problems.append(
                (
                    gate.key,
                    f"{gate.value(config)} {gate.consequence}, a risk this phase has not accepted; "
                    f"{gate.secure}, or accept it in the open with the reason under "
                    f"scaleplan:accepted_risks.{gate.risk.value} (got {gate.value(config)})",
                )
            )
        elif declared and not taken:
            problems.append(
                (
                    f"accepted_risks.{gate.risk.value}",
                    f"declared, but this phase does not take the risk (scaleplan:{gate.key} is "
                    f"{gate.value(config)}); remove it: a stale acceptance would hide the change that takes it again",
                )
            )
    return problems
