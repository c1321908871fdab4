"""Helpers shared by the rule modules: building policies and reading engine-shaped values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

Check = Callable[[ResourceValidationArgs, ReportViolation], None]


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str],
    check: Check,
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationPolicy:
    """A resource policy that runs ``check`` only on resources of ``types``."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in wanted:
            check(args, report)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
    )


def is_true(value: object) -> bool:
    """True for ``True`` and for the provider's string booleans (``"true"``)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def number(value: object) -> str:
    """A number as a person writes it: Struct numbers are doubles, so 7.0 reads as 7."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def items(value: object) -> Sequence[Any]:
    """A list property, or () when it is unset."""
    return value if isinstance(value, Sequence) and not isinstance(value, str) else ()


def mapping(value: object) -> Mapping[str, Any]:
    """An object property, or {} when it is unset."""
    return value if isinstance(value, Mapping) else {}


def listing(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
