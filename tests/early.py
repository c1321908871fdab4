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
        self._argv = list(argv)
        self._env = dict(env) if env is not None else dict(os.environ)
        self._process: subprocess.Popen[str] | None = None
        self._result: tuple[int, str, str] | None = None
        # Under pytest-xdist every worker collects every module but runs only its share: a
        # command started at collection would run once per worker. There it starts when its
        # result is first asked for, in the worker that runs the test (the other core is busy
        # with the other worker anyway).
        if not os.environ.get("PYTEST_XDIST_WORKER"):
            self._start()

    def _start(self) -> None:
        self._stdout = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - read in result()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - read in result()
        self._process = subprocess.Popen(
            self._argv, cwd=ROOT, env=self._env, stdout=self._stdout, stderr=self._stderr, text=True
        )

    def result(self, timeout: float = 600) -> tuple[int, str, str]:
        """Exit status, standard output and standard error."""
        if self._result is None:
            if self._process is None:
                self._start()
            assert self._process is not None
            status = self._process.wait(timeout)
            self._stdout.seek(0)
            self._stderr.seek(0)
            self._result = (status, self._stdout.read(), self._stderr.read())
            self._stdout.close()
            self._stderr.close()
        return self._result
