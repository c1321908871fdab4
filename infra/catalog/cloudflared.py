"""The pinned cloudflared release (infra/catalog/cloudflared.yaml), with its source and date."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from pathlib import Path

from infra.yaml_files import load_file

CLOUDFLARED_FILE = Path(__file__).parent / "cloudflared.yaml"


@dataclass(frozen=True)
class CloudflaredRelease:
    image: str
    version: str
    released: datetime.date
    as_of: datetime.date

    @property
    def reference(self) -> str:
        """``docker.io/cloudflare/cloudflared:2026.8.2``."""
        return f"{self.image}:{self.version}"


@functools.cache
def cloudflared_release() -> CloudflaredRelease:
    data = load_file(CLOUDFLARED_FILE)
    return CloudflaredRelease(
        image=str(data["image"]),
        version=str(data["version"]),
        released=_date(data["released"]),
        as_of=_date(data["as_of"]),
    )


def _date(value: object) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))
