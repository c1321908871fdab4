"""Loading a phase config from a stack file or from the running Pulumi program."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from infra.config import PhaseConfig
from infra.config.errors import NAMESPACE, PhaseConfigError, from_validation_error
from infra.config.placeholders import refuse_placeholders
from infra.yaml_files import Location, YamlFileError, load_strict


def parse_phase_config(values: Mapping[str, Any], source: str) -> PhaseConfig:
    """Validate the ``scaleplan:*`` entries of a stack config.

    ``values`` maps full config keys (``scaleplan:network``) to decoded values; keys of
    other namespaces (``aws:``, ``pulumi:``) are not ours and are ignored. ``source`` is
    the file the values came from, and leads every error line.
    """
    prefix = f"{NAMESPACE}:"
    _refuse_foreign_keys(values, source)
    ours = {key[len(prefix) :]: value for key, value in values.items() if str(key).startswith(prefix)}
    try:
        text = json.dumps(ours, allow_nan=False)
    except (TypeError, ValueError) as exc:  # YAML-only values: !!binary, !!set, .nan, .inf
        raise PhaseConfigError(source, [f"holds a value that is not plain config data: {exc}"]) from None
    try:
        # JSON mode with strict=True: enums and networks parse from their text, but a
        # quoted "3" is not silently taken as the number 3.
        return PhaseConfig.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise from_validation_error(source, exc, PhaseConfig) from None


def _refuse_foreign_keys(values: Mapping[str, Any], source: str) -> None:
    """Keys the engine would refuse or that look like ours misspelt; other namespaces are not ours."""
    problems: list[str] = []
    for key in values:
        namespace, colon, _ = str(key).partition(":")
        if not colon:
            problems.append(
                f"{key}: a config key needs a namespace, `<namespace>:<name>`; this project's is {NAMESPACE}:{key}"
            )
        elif namespace != NAMESPACE and difflib.SequenceMatcher(None, namespace, NAMESPACE).ratio() >= 0.8:
            problems.append(f"{key}: namespace {namespace!r} is not this project's; did you mean {NAMESPACE}:?")
    if not problems and not any(str(key).startswith(f"{NAMESPACE}:") for key in values):
        got = ", ".join(sorted(map(str, values))) or "none"
        problems.append(
            f"config: has no {NAMESPACE}:* keys (got {got}); the project's keys are {NAMESPACE}:environment, "
            f"{NAMESPACE}:network and the rest, as in the committed phase files"
        )
    if problems:
        raise PhaseConfigError(source, problems)


def load_stack_file(path: Path | str, source: str | None = None) -> PhaseConfig:
    """The phase config in a stack file. Every problem with the file itself (unreadable, not
    UTF-8, not YAML, a duplicated key, an alias cycle or bomb, no ``config:`` mapping) is a
    :class:`PhaseConfigError` line naming ``source`` (default: the file's name)."""
    path = Path(path)
    source = source or path.name
    try:
        document = load_strict(path)
    except YamlFileError as exc:
        key = _document_key(exc.location)
        raise PhaseConfigError(source, [f"{key}: {exc.problem}" if key else exc.problem]) from None
    except IsADirectoryError:
        raise PhaseConfigError(source, ["is a directory, not a stack file"]) from None
    except OSError as exc:
        raise PhaseConfigError(source, [f"cannot be read: {exc.strerror or exc}"]) from None
    if document is None:
        raise PhaseConfigError(source, ["is empty; a stack file is a mapping with a top-level 'config:' mapping"])
    if not isinstance(document, dict):
        raise PhaseConfigError(
            source, [f"must be a mapping with a top-level 'config:' mapping (got a {_yaml_kind(document)})"]
        )
    if "config" not in document:
        keys = ", ".join(map(str, document)) or "none"
        raise PhaseConfigError(source, [f"has no top-level 'config:' mapping (top-level keys: {keys})"])
    if not isinstance(document["config"], dict):
        raise PhaseConfigError(
            source, [f"config: must be a mapping of keys to values (got a {_yaml_kind(document['config'])})"]
        )
    return parse_phase_config(document["config"], source)


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return "string" if isinstance(value, str) else "scalar"


def _document_key(location: Location) -> str:
    """``("config", "scaleplan:eks", "addons", 0)`` -> ``scaleplan:eks.addons[0]``: config keys as
    the errors of the config itself spell them; other places from the document's top."""
    parts = list(location[1:]) if location[:1] == ("config",) and len(location) > 1 else list(location)
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def decode_pulumi_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The engine passes structured config values as JSON text; decode them back."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            try:
                decoded[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        decoded[key] = value
    return decoded


PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
"""Where ``Pulumi.yaml`` and the stack files are."""


def load_from_running_program(stack: str, project_root: Path = PROJECT_ROOT) -> PhaseConfig:
    """The config the Pulumi engine handed to this run of the program."""
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = decode_pulumi_config(raw)
    source = engine_config_source(stack, values, project_root)
    config = parse_phase_config(values, source)
    # Only here: the offline plan and the tests read the committed files, placeholders and all.
    refuse_placeholders(config, source)
    # A version already out of standard support is refused before AWS upgrades or bills it.
    from infra.catalog.support import refuse_unsupported_versions, run_date  # noqa: PLC0415 - imports this module's package

    refuse_unsupported_versions(config, source, run_date())
    return config


def engine_config_source(stack: str, values: Mapping[str, Any], project_root: Path = PROJECT_ROOT) -> str:
    """Which file the engine read the config from, for error lines.

    The engine does not tell the program (``pulumi up --config-file Pulumi.scale.yaml`` and a
    plain ``pulumi up`` look alike), so the stack files beside ``Pulumi.yaml`` are compared
    with what it passed: the stack's own file first, then the others (a promotion applies
    another phase's file to the live stack). With no file matching, errors say so instead of
    naming a file that was not read.
    """
    prefix = f"{NAMESPACE}:"
    ours = {key: value for key, value in values.items() if str(key).startswith(prefix)}
    default = project_root / f"Pulumi.{stack}.yaml"
    candidates = [default, *sorted(path for path in project_root.glob("Pulumi.*.yaml") if path != default)]
    for path in candidates:
        try:
            document = load_strict(path)
        except (YamlFileError, OSError):
            continue
        section = document.get("config") if isinstance(document, dict) else None
        if isinstance(section, dict) and {k: v for k, v in section.items() if str(k).startswith(prefix)} == ours:
            return f"{path.name} (stack {stack!r})"
    return (
        f"stack {stack!r} config (not {default.name} as it stands: the file given to --config-file, "
        "or values set since)"
    )
