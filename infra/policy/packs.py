"""Our policy packs, their settings for a phase, and running them over a mocked program run.

Convention (shared by every pack under ``policies/``):

- a pack is a directory ``policies/<pack>/`` with a ``PulumiPolicy.yaml``;
- its settings for a phase derive from the phase's stack file (:func:`for_config`, through
  :mod:`infra.policy.settings`), in the ``--policy-pack-config`` format
  (``{"all": ..., "<policy>": {...}}``); a pack with no generator runs with its own defaults;
- ``policies/<pack>/config/<stack>.json`` is the same derivation written out for the stack
  files in the project root, the file a deployment passes as ``pulumi preview --policy-pack
  policies/<pack> --policy-pack-config policies/<pack>/config/<stack>.json``
  (:func:`for_phase` reads those).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.config import PhaseConfig
from infra.plan.capture import CapturedResource
from infra.policy.config import ConfigEntry, load_config_file, parse_config
from infra.policy.launch import discover_packs
from infra.policy.runner import PackPool, PackReport, PolicyPackProcess, StackContext


@dataclass(frozen=True)
class PackRun:
    """One pack to run, with the ``--policy-pack-config`` it runs with."""

    pack_dir: Path
    config: Mapping[str, ConfigEntry] = field(default_factory=dict)
    config_file: Path | None = None
    """The file ``config`` was read from, if it was read from one."""
    source: str = ""
    """Where ``config`` came from, for reports (the file, or the stack file it derives from)."""

    @property
    def shown_source(self) -> str:
        if self.source:
            return self.source
        return str(self.config_file) if self.config_file else "pack defaults"


def phase_config_file(pack_dir: Path, phase: str) -> Path | None:
    path = pack_dir / "config" / f"{phase}.json"
    return path if path.is_file() else None


def for_phase(phase: str, pack_dirs: Sequence[Path] | None = None) -> list[PackRun]:
    """Each pack with its committed configuration file for the stack ``phase``, if it has one.

    What ``pulumi preview --policy-pack-config`` is given; the plan and ``python -m
    infra.policy`` use :func:`for_config` instead, which derives the same from the stack file.
    """
    runs = []
    for pack_dir in discover_packs() if pack_dirs is None else pack_dirs:
        path = phase_config_file(pack_dir, phase)
        runs.append(PackRun(pack_dir, load_config_file(path) if path else {}, path))
    return runs


def for_config(config: PhaseConfig, source: str, pack_dirs: Sequence[Path] | None = None) -> list[PackRun]:
    """Each pack with the settings the phase's own stack file derives (``source`` names the file)."""
    # Imported here: the generators import the cost estimator, which a pack-only caller may not need.
    from infra.policy.settings import pack_settings  # noqa: PLC0415

    derived = pack_settings(config)
    runs = []
    for pack_dir in discover_packs() if pack_dirs is None else pack_dirs:
        settings = derived.get(pack_dir.name)
        if settings is None:
            runs.append(PackRun(pack_dir, {}, source="pack defaults"))
            continue
        where = f"settings derived from {source}"
        runs.append(PackRun(pack_dir, parse_config(settings, source=where), source=where))
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


class AnalysisAhead:
    """Analyzes each resource in every pack while the program is still registering the rest.

    The CLI calls ``Analyze`` as each resource is registered; doing the same here lets the
    pack processes work on the other core during the mocked run. Give it to
    :func:`infra.plan.capture.run_program` as an observer, :meth:`finish` it after the run,
    then run the packs as usual (:func:`run_packs` with the same stack and config): each
    ``Analyze`` (and the ``AnalyzeStack`` sent by :meth:`finish`) whose request is identical
    takes the answer already computed. Nothing is reported from here; a pack that cannot
    start or be configured is simply not analyzed ahead, and the later run reports why.
    """

    def __init__(self, runs: Sequence[PackRun], stack: StackContext, pool: PackPool | None = None) -> None:
        self._runs = tuple(runs)
        self._stack = stack
        self._pool = pool or _POOL
        self._lock = threading.Lock()
        self._backlog: list[CapturedResource] = []
        """Resources registered before the packs were ready."""
        self._packs: list[PolicyPackProcess] = []
        self._providers: dict[str, CapturedResource] = {}
        self._ready = False
        self._worker = threading.Thread(target=self._start, name="policy-analysis-ahead", daemon=True)
        self._worker.start()

    def __call__(self, resource: CapturedResource) -> None:
        # Sent from the registering thread itself once the packs are ready: handing each
        # resource to another thread made it wait for the interpreter lock, which the
        # program's thread holds, and the packs fell behind the run.
        with self._lock:
            if self._ready:
                self._send(resource)
            else:
                self._backlog.append(resource)

    def finish(self, resources: Sequence[CapturedResource] | None = None) -> None:
        """Wait until every resource seen so far has been sent (not answered); with the run's
        ``resources``, also send the ``AnalyzeStack`` that follows them."""
        self._worker.join()
        if resources is not None:
            for pack in self._packs:
                pack.prefetch_stack(resources)

    def _ready_packs(self) -> list[PolicyPackProcess]:
        """Each pack started and configured for the phase, as :func:`run_packs` will configure it."""
        packs = []
        for run in self._runs:
            try:
                pack = self._pool.get(run.pack_dir)
                pack.configure(self._stack, run.config)
            except Exception:  # noqa: BLE001 - reported by the run that follows, which tries again
                continue
            packs.append(pack)
        return packs

    def _start(self) -> None:
        packs = self._ready_packs()
        with self._lock:
            self._packs = packs
            for resource in self._backlog:
                self._send(resource)
            self._backlog.clear()
            self._ready = True

    def _send(self, resource: CapturedResource) -> None:
        if resource.is_provider:
            self._providers[resource.urn] = resource
        for pack in self._packs:
            pack.prefetch(resource, self._providers)
