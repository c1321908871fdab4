"""Starting policy-pack processes, kept free of heavy imports so a command can start them first.

A pack process takes about a second to import the SDK and its policies. The offline plan
launches its packs before it imports anything else, so that they load on the other core
while the plan loads the program; :class:`infra.policy.runner.PolicyPackProcess` then
connects to them. This module uses the standard library only, for that reason.
"""

from __future__ import annotations

import atexit
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

POLICIES_ROOT = Path(__file__).resolve().parent.parent.parent / "policies"
SECURITY_PACK = POLICIES_ROOT / "security"

PLACEHOLDER_ENGINE_ADDRESS = "127.0.0.1:0"
"""What we pass as ``<engine-address>``. ``python -m pulumi.policy`` parses the argument but
never connects to it (its ``pulumi.runtime.Settings`` gets no engine), so ``pulumi.log`` in a
pack falls back to stderr, which the runner keeps for error reports. No engine server needed."""


class PolicyPackError(RuntimeError):
    """The pack could not be started or answered a call with an error."""


def discover_packs(root: Path = POLICIES_ROOT) -> list[Path]:
    """Every pack under ``root``: the security pack first, then the others by name."""
    packs = sorted(path.parent for path in root.glob("*/PulumiPolicy.yaml"))
    return sorted(packs, key=lambda path: (path.name != "security", path.name))


@dataclass(eq=False)
class LaunchedPack:
    """A pack process started as the CLI starts it, not yet connected to."""

    pack_dir: Path
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]
    """A temporary file holding what the pack writes to stderr."""

    def stop(self) -> None:
        """Terminate the process and close its pipes (idempotent)."""
        stop_process(self.process, self.stderr)


def stop_process(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
    """Terminate a pack process (killed if it does not exit within 5 s) and close its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    stderr.close()


_UNADOPTED: list[LaunchedPack] = []
"""Launched processes no :class:`~infra.policy.runner.PolicyPackProcess` owns yet."""


def adopt(launched: LaunchedPack) -> None:
    """Hand the process over to its new owner, who stops it from now on."""
    if launched in _UNADOPTED:
        _UNADOPTED.remove(launched)


@atexit.register
def _stop_unadopted() -> None:
    # A pack reads nothing from us, so it would outlive a command that exits before using it.
    for launched in _UNADOPTED:
        launched.stop()


def launch(pack_dir: Path, *, python: str | None = None) -> LaunchedPack:
    """Start ``python -m pulumi.policy <engine> <pack dir>`` in the pack's directory, as the CLI does.

    The CLI would run the pack's own virtualenv python (``runtime.options.virtualenv`` in
    ``PulumiPolicy.yaml``); our packs depend only on what the project's locked venv already
    holds, so that interpreter stands in for it.
    """
    pack_dir = pack_dir.resolve()
    if not (pack_dir / "PulumiPolicy.yaml").is_file():
        raise PolicyPackError(f"{pack_dir} is not a policy pack: it has no PulumiPolicy.yaml")
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop() or by the adopting process
    process = subprocess.Popen(
        [python or sys.executable, "-u", "-m", "pulumi.policy", PLACEHOLDER_ENGINE_ADDRESS, str(pack_dir)],
        cwd=pack_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    launched = LaunchedPack(pack_dir, process, stderr)
    _UNADOPTED.append(launched)
    return launched
