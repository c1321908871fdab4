"""Reading IAM-style policy documents (IAM, KMS key, S3 bucket and SNS topic policies)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._common import mapping


def document(value: object) -> Mapping[str, Any]:
    """A policy document from its JSON string (or an already decoded object); {} when unreadable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return mapping(value)


def as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def statements(value: object) -> list[Mapping[str, Any]]:
    return [mapping(s) for s in as_list(document(value).get("Statement"))]


def label(statement: Mapping[str, Any], index: int) -> str:
    return repr(statement["Sid"]) if statement.get("Sid") else f"#{index}"


def allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def public_principal(statement: Mapping[str, Any]) -> bool:
    """True when the statement names everyone: ``"*"`` or ``{"AWS": "*"}``."""
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return "*" in as_list(mapping(principal).get("AWS"))


def public_allows(value: object) -> list[str]:
    """Labels of Allow statements granted to everyone with no condition to narrow them."""
    return [
        label(s, i)
        for i, s in enumerate(statements(value))
        if allows(s) and public_principal(s) and not mapping(s.get("Condition"))
    ]


def denies_insecure_transport(value: object, service: str) -> bool:
    """True when a Deny to everyone of ``<service>:*`` (or ``*``) applies when aws:SecureTransport is false."""
    for statement in statements(value):
        if statement.get("Effect") != "Deny" or not public_principal(statement):
            continue
        actions = as_list(statement.get("Action"))
        if not ({"*", f"{service}:*"} & set(actions)):
            continue
        secure = mapping(mapping(statement.get("Condition")).get("Bool")).get("aws:SecureTransport")
        if secure is False or str(secure).lower() == "false":
            return True
    return False
