"""Our policy packs, their per-phase configuration, and running them over a mocked program run.

Convention (shared by every pack under ``policies/``):

- a pack is a directory ``policies/<pack>/`` with a ``PulumiPolicy.yaml``;
- its configuration for a phase is ``policies/<pack>/config/<phase>.json``, in the
  ``--policy-pack-config`` format (``{"all": ..., "<policy>": {...}}``), the same file a
  deployment passes as ``pulumi preview --policy-pack policies/<pack>
  --policy-pack-config policies/<pack>/config/<phase>.json``. A missing file means the
  pack's own defaults.
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.plan.capture import CapturedResource
from infra.policy.config import ConfigEntry, load_config_file
from infra.policy.runner import PackPool, PackReport, StackContext

POLICIES_ROOT = Path(__file__).resolve().parent.parent.parent / "policies"
SECURITY_PACK = POLICIES_ROOT / "security"


@dataclass(frozen=True)
class PackRun:
    """One pack to run, with the ``--policy-pack-config`` it runs with."""

    pack_dir: Path
    config: Mapping[str, ConfigEntry] = field(default_factory=dict)
    config_file: Path | None = None
    """Where ``config`` came from, for reports."""


def discover_packs(root: Path = POLICIES_ROOT) -> list[Path]:
    """Every pack under ``root``: the security pack first, then the others by name."""
    packs = sorted(path.parent for path in root.glob("*/PulumiPolicy.yaml"))
    return sorted(packs, key=lambda path: (path.name != "security", path.name))


def phase_config_file(pack_dir: Path, phase: str) -> Path | None:
    path = pack_dir / "config" / f"{phase}.json"
    return path if path.is_file() else None


def for_phase(phase: str, pack_dirs: Sequence[Path] | None = None) -> list[PackRun]:
    """Each pack with its configuration file for ``phase``, if it has one."""
    runs = []
    for pack_dir in discover_packs() if pack_dirs is None else pack_dirs:
        path = phase_config_file(pack_dir, phase)
        runs.append(PackRun(pack_dir, load_config_file(path) if path else {}, path))
    return runs


_POOL = PackPool()
atexit.register(_POOL.close)


def shared_pool() -> PackPool:
    """The process-wide pool, so several plans in one process start each pack once."""
    return _POOL


def run_packs(
    runs: Sequence[PackRun],
    resources: Sequence[CapturedResource],
    stack: StackContext,
    pool: PackPool | None = None,
) -> list[PackReport]:
    """Configure and run each pack over ``resources``, as a preview with these packs would."""
    pool = pool or _POOL
    reports = []
    for run in runs:
        pack = pool.get(run.pack_dir)
        pack.configure(stack, run.config)
        reports.append(pack.run(resources))
    return reports
