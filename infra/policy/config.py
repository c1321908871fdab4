"""Policy-pack configuration, reconciled the way the Pulumi CLI does it before ``Configure``.

The pack never sees ``--policy-pack-config`` itself: the CLI merges, in this order,

1. each policy's declared enforcement level and its config schema's ``default`` values,
2. the pack's ``initial_config`` (reported by ``GetAnalyzerInfo``),
3. the given JSON (``{"all": "mandatory", "<policy>": "advisory" | {"enforcementLevel": ..., "<prop>": ...}}``),

validates each policy's properties against its ``configSchema`` and sends one ``Configure``
listing **every** policy with an explicit level. A policy left out, or sent without a level,
arrives as ADVISORY (the protobuf zero value) and would silently stop blocking.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema


class PolicyConfigError(ValueError):
    """The policy-pack config is malformed or does not match a policy's schema."""


class EnforcementLevel(enum.StrEnum):
    """The levels ``--policy-pack-config`` accepts, spelled as the CLI spells them."""

    ADVISORY = "advisory"
    MANDATORY = "mandatory"
    REMEDIATE = "remediate"
    DISABLED = "disabled"


ALL = "all"
"""The config key that sets the enforcement level of every policy in the pack."""


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as the pack describes it in ``GetAnalyzerInfo``."""

    name: str
    description: str
    enforcement: EnforcementLevel
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    """``{"properties": {...}, "required": [...]}`` or empty."""
    kind: str = "resource"
    """``resource`` or ``stack``."""


@dataclass(frozen=True)
class PolicySetting:
    """The effective configuration of one policy: what ``Configure`` sends."""

    enforcement: EnforcementLevel
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigEntry:
    """One entry of a config source; ``enforcement`` is None when the entry does not set it."""

    enforcement: EnforcementLevel | None
    properties: Mapping[str, Any] = field(default_factory=dict)


def _level(value: object, where: str) -> EnforcementLevel:
    allowed = ", ".join(level.value for level in EnforcementLevel)
    if not isinstance(value, str):
        raise PolicyConfigError(f"{where}: enforcement level must be one of {allowed} (got {value!r})")
    try:
        return EnforcementLevel(value)
    except ValueError:
        raise PolicyConfigError(f"{where}: enforcement level must be one of {allowed} (got {value!r})") from None


def parse_config(raw: Mapping[str, Any], *, source: str = "policy-pack config") -> dict[str, ConfigEntry]:
    """Parse the ``--policy-pack-config`` JSON shape into entries."""
    entries: dict[str, ConfigEntry] = {}
    for name, value in raw.items():
        where = f"{source}: {name}"
        if isinstance(value, str):
            entries[name] = ConfigEntry(_level(value, where))
        elif isinstance(value, Mapping):
            level = value.get("enforcementLevel")
            properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
            if name == ALL and properties:
                raise PolicyConfigError(f"{where}: only enforcementLevel may be set for all policies")
            entries[name] = ConfigEntry(None if level is None else _level(level, where), properties)
        else:
            raise PolicyConfigError(f"{where}: expected an enforcement level or an object (got {value!r})")
    return entries


def load_config_file(path: Path) -> dict[str, ConfigEntry]:
    """Read a ``--policy-pack-config`` JSON file."""
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(raw, dict):
        raise PolicyConfigError(f"{path}: expected a JSON object of policy names")
    return parse_config(raw, source=str(path))


def _apply(result: dict[str, PolicySetting], entries: Mapping[str, ConfigEntry]) -> None:
    everything = entries.get(ALL)
    if everything is not None and everything.enforcement is not None:
        for name, setting in result.items():
            result[name] = PolicySetting(everything.enforcement, setting.properties)
    for name, entry in entries.items():
        if name == ALL:
            continue
        current = result[name]
        result[name] = PolicySetting(
            entry.enforcement if entry.enforcement is not None else current.enforcement,
            {**current.properties, **entry.properties},
        )


def _schema_defaults(policy: PolicyInfo) -> dict[str, Any]:
    properties = policy.config_schema.get("properties", {})
    return {key: spec["default"] for key, spec in properties.items() if isinstance(spec, Mapping) and "default" in spec}


def _validate(policy: PolicyInfo, properties: Mapping[str, Any]) -> list[str]:
    if not policy.config_schema:
        return []
    schema: dict[str, Any] = {"type": "object"}
    if policy.config_schema.get("properties"):
        schema["properties"] = policy.config_schema["properties"]
    if policy.config_schema.get("required"):
        schema["required"] = list(policy.config_schema["required"])
    validator = jsonschema.Draft7Validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(dict(properties)), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path)
        errors.append(f"{policy.name}{'.' + path if path else ''}: {error.message}")
    return errors


def reconcile(
    policies: Sequence[PolicyInfo],
    initial: Mapping[str, ConfigEntry],
    given: Mapping[str, ConfigEntry],
) -> dict[str, PolicySetting]:
    """The effective setting of every policy: defaults, then ``initial``, then ``given``.

    Unlike the CLI, a name in ``given`` that is not a policy of the pack is an error: a
    misspelt policy name would otherwise leave the intended policy unconfigured.
    """
    result = {p.name: PolicySetting(p.enforcement, _schema_defaults(p)) for p in policies}
    for source, entries in (("initial config", initial), ("policy-pack config", given)):
        unknown = sorted(set(entries) - set(result) - {ALL})
        if unknown:
            raise PolicyConfigError(
                f"{source}: unknown policies {', '.join(unknown)}; the pack has {', '.join(sorted(result))}"
            )
        _apply(result, entries)
    errors = [message for p in policies for message in _validate(p, result[p.name].properties)]
    if errors:
        raise PolicyConfigError("invalid policy config:\n  " + "\n  ".join(errors))
    return result
