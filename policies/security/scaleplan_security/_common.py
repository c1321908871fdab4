"""Helpers shared by the rule modules: building policies and reading engine-shaped values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

Check = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


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


def attached(
    owner: PolicyResource, candidates: Iterable[PolicyResource], prop: str, *owner_keys: str
) -> list[PolicyResource]:
    """The ``candidates`` whose ``prop`` points at ``owner``: through the engine's property
    dependencies, or by value equal to one of the owner's ``owner_keys`` outputs (``id`` by default)."""
    values = {owner.props.get(key) for key in (owner_keys or ("id",))} - {None, ""}
    return [
        c
        for c in candidates
        if owner.urn in {d.urn for d in c.property_dependencies.get(prop, [])} or c.props.get(prop) in values
    ]


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


ACCEPTED_RISK = "acceptedRisk"
"""The config property through which a stack waives a relaxation rule: the risk's name."""

RISK_WAIVERS: dict[str, str] = {}
"""Relaxation rule -> the one accepted risk (``scaleplan:accepted_risks``) that may waive it.
Filled by :func:`waivable_policy`; a rule not listed here has no waiver at all."""


def waivable_policy(
    name: str,
    description: str,
    types: Iterable[str],
    check: Check,
    *,
    risk: str,
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationPolicy:
    """A resource policy that a stack may waive only by naming ``risk``.

    The stack's settings waive it with ``{"enforcementLevel": "advisory", "acceptedRisk":
    "<risk>"}`` (infra/policy/settings.py writes both exactly when the stack file declares the
    risk): the finding is still reported, as advisory, and says which risk waived it. The
    schema allows no other risk name, so a waiver cannot be moved onto another rule.
    """
    RISK_WAIVERS[name] = risk

    def waived_or_not(args: ResourceValidationArgs, report: ReportViolation) -> None:
        accepted = args.get_config().get(ACCEPTED_RISK) == risk

        def relay(message: str, urn: str | None) -> None:
            if accepted:
                report(f"{message} Waived: the stack accepts the risk {risk} (scaleplan:accepted_risks).", urn)
            else:
                report(
                    f"{message} Or, where the phase cannot afford it, accept the risk in the open: "
                    f"scaleplan:accepted_risks.{risk} with the reason.",
                    urn,
                )

        check(args, relay)

    schema = {
        **(config or {}),
        ACCEPTED_RISK: {
            "type": "string",
            "enum": [risk],
            "description": f"Set (with enforcementLevel advisory) only when the stack file accepts {risk}.",
        },
    }
    return resource_policy(name, description, types, waived_or_not, schema)
