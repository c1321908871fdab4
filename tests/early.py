"""Subprocesses a test module needs, started while pytest collects it.

Pytest runs tests on one core; a command started at collection (a fresh interpreter that
imports the SDKs, a whole offline plan) runs on the other meanwhile, and the test that needs
its result waits only for what is left. Output goes to files, so an unread process never
blocks on a full pipe.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class EarlyProcess:
    """A command started now; :meth:`result` waits for it."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self._stdout = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - read in result()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - read in result()
        self._process = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=dict(env) if env is not None else dict(os.environ),
            stdout=self._stdout,
            stderr=self._stderr,
            text=True,
        )
        self._result: tuple[int, str, str] | None = None

    def result(self, timeout: float = 600) -> tuple[int, str, str]:
        """Exit status, standard output and standard error."""
        if self._result is None:
            status = self._process.wait(timeout)
            self._stdout.seek(0)
            self._stderr.seek(0)
            self._result = (status, self._stdout.read(), self._stderr.read())
            self._stdout.close()
            self._stderr.close()
        return self._result
