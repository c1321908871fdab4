"""Placeholders a stack file must lose before a real deployment.

The committed phase files are complete enough to plan offline, so the values only an
environment knows stand in as placeholders: domains under the reserved ``.example`` top-level
domain (RFC 2606, never registrable), ARNs in AWS's documentation account
``123456789012``, and networks in the documentation address ranges (RFC 5737: the runner
CIDR ``203.0.113.0/24`` that the EKS API endpoint admits). Deployed as they are, they fail
late and deep: a Cloudflare API error about a zone that does not exist, an ACM certificate
ARN that AWS cannot find, alarm e-mails to a domain that receives none, a cluster whose API
the runner cannot reach. The running program refuses them first, naming each key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

from infra.config import PhaseConfig
from infra.config.errors import PhaseConfigError, config_key
from infra.config.network import DOCUMENTATION_NETWORKS

RESERVED_DOMAIN = re.compile(r"(?<![\w-])(?:[a-z0-9-]+\.)*[a-z0-9-]+\.(?:example|invalid|test)(?![\w-])", re.IGNORECASE)
"""A host name under a top-level domain reserved for documentation and tests (RFC 2606)."""

DOCUMENTATION_ACCOUNT_ARN = re.compile(r"^arn:aws[\w-]*:[\w-]+:[\w-]*:123456789012:")
"""An ARN in the account ID AWS's documentation uses for its examples."""


@dataclass(frozen=True)
class Placeholder:
    key: str
    """Full config key, ``scaleplan:edge.zone_name``."""
    value: str
    reason: str
    """What gives it away: ``reserved domain fairtradeworker.example``."""


def placeholders(config: PhaseConfig) -> list[Placeholder]:
    """Every config value that is still a placeholder, in key order."""
    found: list[Placeholder] = []
    for loc, value in _strings(config.model_dump(mode="json"), ()):
        if DOCUMENTATION_ACCOUNT_ARN.match(value):
            reason = "AWS's documentation account 123456789012"
        elif (domain := RESERVED_DOMAIN.search(value)) is not None:
            reason = f"reserved domain {domain.group(0)}"
        elif (network := _documentation_network(value)) is not None:
            reason = f"documentation address range {network} (RFC 5737), never a real network"
        else:
            continue
        found.append(Placeholder(key=config_key(loc), value=value, reason=reason))
    return found


def placeholder_problems(config: PhaseConfig) -> list[str]:
    """One error line per placeholder."""
    return [
        f"{found.key}: still a placeholder ({found.reason}); put this environment's own here (got {found.value!r})"
        for found in placeholders(config)
    ]


def refuse_placeholders(config: PhaseConfig, source: str) -> None:
    """Raise a :class:`PhaseConfigError` listing every placeholder left in ``config``."""
    problems = placeholder_problems(config)
    if problems:
        raise PhaseConfigError(
            source,
            [
                *problems,
                "the committed phase files hold placeholders for what only an environment knows (the Cloudflare "
                "account and zone IDs too); `python -m infra.plan` plans them without deploying",
            ],
        )


def _documentation_network(value: str) -> IPv4Network | None:
    """The RFC 5737 range ``value`` lies in, if it is a network or address inside one."""
    try:
        network = IPv4Network(value)
    except ValueError:
        return None
    return next((documented for documented in DOCUMENTATION_NETWORKS if network.subnet_of(documented)), None)


def _strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in a dumped config, with its location."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))
