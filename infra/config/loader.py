"""Loading a phase config from a stack file or from the running Pulumi program."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from infra.config import PhaseConfig
from infra.config.errors import NAMESPACE, PhaseConfigError, from_validation_error
from infra.config.placeholders import refuse_placeholders
from infra.yaml_files import load_file


def parse_phase_config(values: Mapping[str, Any], source: str) -> PhaseConfig:
    """Validate the ``scaleplan:*`` entries of a stack config.

    ``values`` maps full config keys (``scaleplan:network``) to decoded values; keys of
    other namespaces (``aws:``, ``pulumi:``) are not ours and are ignored. ``source`` is
    the file the values came from, and leads every error line.
    """
    prefix = f"{NAMESPACE}:"
    ours = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    try:
        # JSON mode with strict=True: enums and networks parse from their text, but a
        # quoted "3" is not silently taken as the number 3.
        return PhaseConfig.model_validate_json(json.dumps(ours), strict=True)
    except ValidationError as exc:
        raise from_validation_error(source, exc, PhaseConfig) from None


def load_stack_file(path: Path | str) -> PhaseConfig:
    path = Path(path)
    source = path.name
    try:
        document = load_file(path)
    except yaml.YAMLError as exc:
        raise PhaseConfigError(source, [f"not valid YAML: {exc}"]) from None
    except OSError as exc:
        raise PhaseConfigError(source, [f"cannot be read: {exc.strerror}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise PhaseConfigError(source, ["must be a mapping with a top-level 'config:' mapping"])
    return parse_phase_config(document["config"], source)


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


def load_from_running_program(stack: str) -> PhaseConfig:
    """The config the Pulumi engine handed to this run of the program."""
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    # With --config-file the engine does not tell the program which file it read, so errors
    # name the stack's default file and say which stack it is.
    source = f"Pulumi.{stack}.yaml (stack {stack!r})"
    config = parse_phase_config(decode_pulumi_config(raw), source)
    # Only here: the offline plan and the tests read the committed files, placeholders and all.
    refuse_placeholders(config, source)
    # A version already out of standard support is refused before AWS upgrades or bills it.
    from infra.catalog.support import refuse_unsupported_versions, run_date  # noqa: PLC0415 - imports this module's package

    refuse_unsupported_versions(config, source, run_date())
    return config
