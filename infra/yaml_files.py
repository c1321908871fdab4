"""Reading the project's YAML files (stack files, catalogs, prices) with libyaml when present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# PyYAML's pure-Python loader took about a tenth of an offline plan for five small files;
# the wheels ship libyaml's C loader, which parses the same YAML 1.1 with the same safe types.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data only), through libyaml if PyYAML was built with it."""
    return yaml.load(text, Loader=_SAFE_LOADER)


def load_file(path: Path) -> Any:
    return safe_load(path.read_text())
