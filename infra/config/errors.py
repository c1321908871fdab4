"""Turning validation failures into errors a DevOps engineer can act on."""

from __future__ import annotations

import enum
import ipaddress
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import pulumi
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

NAMESPACE = "scaleplan"


CROSS_FIELD = "cross_field"


def field_error(path: str, message: str) -> PydanticCustomError:
    """An error for a rule between fields, pinned to the key a user must change.

    ``path`` is relative to the model whose validator raises it (``"max_size"`` or
    ``"pools.web.max_size"``); the message should show the bad value and what is allowed.
    """
    return PydanticCustomError(CROSS_FIELD, "{message}", {"path": path, "message": message})


class PhaseConfigError(pulumi.RunError):
    """A stack file that cannot describe a valid phase.

    A ``pulumi.RunError`` so that ``pulumi up`` prints the message without a traceback.
    Each line reads ``<file>: scaleplan:<key.path>: <what is wrong> (got <value>)``.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))


def config_key(loc: Iterable[str | int]) -> str:
    """``("database", "backup_retention_days")`` -> ``scaleplan:database.backup_retention_days``."""
    parts = [str(part) for part in loc]
    if not parts:
        return f"{NAMESPACE}:"
    head, rest = parts[0], parts[1:]
    key = f"{NAMESPACE}:{head}"
    for part in rest:
        key += f"[{part}]" if part.isdigit() else f".{part}"
    return key


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that owns the field at ``loc`` (the parent of the last element)."""
    current: Any = root
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) in (dict, typing.Mapping, list, tuple, typing.Sequence):
            args = typing.get_args(current)
            current = args[-1] if args else None
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` and ``Annotated[X, ...]`` down to ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _allowed_enum_values(error: ErrorDetails) -> str | None:
    ctx = error.get("ctx") or {}
    expected = ctx.get("expected")
    return str(expected) if expected else None


def show(value: Any) -> str:
    """A value as the stack file spells it: ``null``, ``true``, ``'text'``, ``1.5``, ``[...]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _number(bound: Any) -> str:
    """``1.0`` -> ``1``: bounds read as the user would write them."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


_COMPARISONS = {"less_than_equal": "<=", "less_than": "<", "greater_than_equal": ">=", "greater_than": ">"}

# Wrong-type errors: what the key must be, in the stack file's (YAML) vocabulary.
_EXPECTED_TYPE = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "dict_type": "a mapping of keys to values",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
}


def _wrong_type(kind: str, got: Any) -> str:
    expected = _EXPECTED_TYPE[kind]
    if isinstance(got, str) and expected in ("a whole number", "a number", "true or false"):
        # Strict mode: YAML '3' or "true" is text, and silently converting it hides typos.
        return f"must be {expected}, not quoted text; remove the quotes (got {show(got)})"
    if got is None:
        return f"must be {expected}, not empty (got null)"
    return f"must be {expected} (got {show(got)})"


def _length(error: ErrorDetails, got: Any) -> str:
    ctx = error.get("ctx") or {}
    actual = ctx.get("actual_length", len(got) if hasattr(got, "__len__") else "?")
    if error["type"] == "too_short":
        limit = ctx.get("min_length")
        return f"must list at least {limit} item{'s' if limit != 1 else ''}, not {actual} (got {show(got)})"
    limit = ctx.get("max_length")
    return f"must list at most {limit} item{'s' if limit != 1 else ''}, not {actual} (got {show(got)})"


def _network_hint(cause: object, got: Any) -> str | None:
    """The fix for an address that ``ipaddress`` refused, or None for other value errors."""
    if not isinstance(got, str):
        return None
    if isinstance(cause, ValueError) and str(cause).endswith("has host bits set"):
        network = ipaddress.ip_network(got, strict=False)
        return f"must be a network address, and {got} has host bits set; use {network} (got {show(got)})"
    if isinstance(cause, ipaddress.AddressValueError | ipaddress.NetmaskValueError):
        return f"must be an IPv4 network in CIDR notation such as 10.40.0.0/16: {cause} (got {show(got)})"
    return None


def describe(error: ErrorDetails, root: type[BaseModel]) -> str:  # noqa: PLR0911 - one return per error kind
    """One human line for one pydantic error."""
    loc = [part for part in error["loc"] if not isinstance(part, str) or not part.startswith("function-")]
    key = config_key(loc)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "extra_forbidden":
        owner = _model_at(root, loc)
        allowed = ", ".join(sorted(owner.model_fields)) if owner else "see the README"
        return f"{key}: unknown key; allowed keys here: {allowed}"
    if kind == "missing":
        return f"{key}: required, but missing from the stack file"
    if kind in _COMPARISONS:
        bound = next(iter(ctx.values()))
        return f"{key}: must be {_COMPARISONS[kind]} {_number(bound)} (got {show(got)})"
    if kind in _EXPECTED_TYPE:
        return f"{key}: {_wrong_type(kind, got)}"
    if kind == "enum":
        return f"{key}: must be one of {_allowed_enum_values(error)} (got {show(got)})"
    if kind == "literal_error":
        return f"{key}: must be {ctx.get('expected')} (got {show(got)})"
    if kind in ("too_short", "too_long"):
        return f"{key}: {_length(error, got)}"
    if kind == CROSS_FIELD:
        path = [part for part in str(ctx.get("path", "")).split(".") if part]
        return f"{config_key([*loc, *path])}: {ctx.get('message')}"
    if kind == "value_error":
        message = _network_hint(ctx.get("error"), got) or str(ctx.get("error", error["msg"]))
        return f"{key}: {message}" if loc else message
    if kind == "assertion_error":
        return f"{key}: {error['msg']}"
    if kind == "string_pattern_mismatch":
        return f"{key}: must match the pattern {ctx.get('pattern')} (got {show(got)})"
    return f"{key}: {error['msg'].lower()} (got {show(got)})"


def _consequential(error: ErrorDetails, errors: Sequence[ErrorDetails]) -> bool:
    """A length error on a list only because an item of it already failed (and was dropped)."""
    if error["type"] not in ("too_short", "too_long"):
        return False
    loc = tuple(error["loc"])
    return any(len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc for other in errors)


def from_validation_error(source: str, exc: ValidationError, root: type[BaseModel]) -> PhaseConfigError:
    errors = exc.errors()
    return PhaseConfigError(source, [describe(error, root) for error in errors if not _consequential(error, errors)])


def enum_values(enum_type: type[enum.Enum]) -> str:
    return ", ".join(repr(member.value) for member in enum_type)
