"""Reading resource properties as the analyzer protocol delivers them (numbers as doubles)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number(value: Any, default: float = 0.0) -> float:
    if value is None or isinstance(value, bool):
        return default
    return float(value)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """A list property; the policy SDK hands lists over wrapped in proxies, so not ``list`` itself."""
    if value is None or isinstance(value, str | bytes | Mapping):
        return []
    return list(value)


def tag_values(props: Mapping[str, Any]) -> dict[str, str]:
    """Tags as a mapping, whether given as a map (most resources) or a list (Auto Scaling groups)."""
    tags = props.get("tags")
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.get("key")): str(t.get("value")) for t in items(tags) if isinstance(t, Mapping)}
