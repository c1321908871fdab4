"""A real PostgreSQL 15 and a real PgBouncer on loopback, for the slow test and the benchmark.

Both refuse to run as root, so when this runs as root every server command goes through
``runuser -u postgres`` in a temporary directory that user owns. TLS is real on both hops
(a throwaway CA issues a ``localhost`` certificate), and authentication is SCRAM with a
plaintext ``auth_file`` -- the shape the EKS pods get from External Secrets.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from infra.pgbouncer.ini import Files, PgBouncerIni, for_loopback

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PGBOUNCER = Path("/usr/sbin/pgbouncer")
PGBENCH = PG_BIN / "pgbench"
PSQL = Path("/usr/bin/psql")
RUN_USER = "postgres"
DEBIAN_PACKAGES = ("postgresql-15", "postgresql-client-15", "pgbouncer")


class BinariesUnavailableError(RuntimeError):
    """The binaries are missing and cannot be installed on this machine."""


def ensure_binaries() -> None:
    """Install PostgreSQL 15 and PgBouncer from Debian when they are missing (root only)."""
    missing = [path for path in (PG_BIN / "initdb", PG_BIN / "pg_ctl", PGBENCH, PGBOUNCER) if not path.exists()]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BinariesUnavailableError(
            f"missing {', '.join(map(str, missing))} and not root on a Debian system to apt-get them"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *DEBIAN_PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=900)
        if result.returncode != 0:
            raise BinariesUnavailableError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")


def _as_server_user(command: Sequence[str]) -> list[str]:
    return ["runuser", "-u", RUN_USER, "--", *command] if os.geteuid() == 0 else list(command)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run as the server user; on failure raise with the command's own error output."""
    result = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, check=False, env=env, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}: {(result.stderr or result.stdout)[-3000:]}"
        )
    return result.stdout


@dataclass
class Workdir:
    """A temporary directory owned by the server user, removed on close."""

    path: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="scaleplan-pg-")))

    def __post_init__(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_USER)
            os.chown(self.path, user.pw_uid, user.pw_gid)
        self.path.chmod(0o700)

    def write(self, name: str, text: str, mode: int = 0o600) -> Path:
        target = self.path / name
        target.write_text(text)
        target.chmod(mode)
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_USER)
            os.chown(target, user.pw_uid, user.pw_gid)
        return target

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def make_tls(workdir: Workdir) -> tuple[Path, Path, Path]:
    """A throwaway CA and an ECDSA ``localhost`` certificate: (ca.pem, server.crt, server.key)."""
    d = workdir.path
    openssl = ["openssl"]

    def run(*args: str) -> None:
        subprocess.run([*openssl, *args], capture_output=True, check=True, cwd=d)

    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=scaleplan test CA", "-days", "2", "-out", "ca.pem")
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key")
    run("req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
    )  # fmt: skip
    for name in ("ca.pem", "server.crt", "server.key"):
        workdir.write(name, (d / name).read_text(), 0o600)
    return d / "ca.pem", d / "server.crt", d / "server.key"


@dataclass
class LocalPostgres:
    """PostgreSQL 15 on 127.0.0.1 with TLS required and SCRAM passwords for TCP clients."""

    workdir: Workdir
    max_connections: int
    user: str
    database: str
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)
    trust_plain_tcp: bool = False
    """Let clients in over plain loopback TCP without a password (the benchmark's direct path);
    TLS connections, such as PgBouncer's, still need SCRAM."""

    @property
    def data(self) -> Path:
        return self.workdir.path / "data"

    def start(self) -> None:
        _, cert, key = make_tls(self.workdir)
        _run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "--no-sync"])
        hba = (
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
            + ("hostnossl all all 127.0.0.1/32 trust\n" if self.trust_plain_tcp else "")
            + "host all all all reject\n"
        )
        self.workdir.write("data/pg_hba.conf", hba)
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.workdir.path}",
                "-c listen_addresses=localhost",
                f"-c max_connections={self.max_connections}",
                "-c ssl=on",
                f"-c ssl_cert_file={cert}",
                f"-c ssl_key_file={key}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.workdir.path / "pg.log"),
                "-w",
                "start",
            ]
        )
        self.sql(f"ALTER ROLE {self.user} PASSWORD '{self.password}'", database="postgres")
        self.sql(f"CREATE DATABASE {self.database}", database="postgres")

    def sql(self, statement: str, database: str | None = None) -> str:
        """Run one statement over the Unix socket (trust) and return the unaligned result."""
        output = _run(
            [
                str(PSQL), "-X", "-q", "-A", "-t", "-h", str(self.workdir.path), "-p", str(self.port),
                "-U", self.user, "-d", database or self.database, "-c", statement,
            ]
        )  # fmt: skip
        return output.strip()

    def script(self, text: str, variables: Mapping[str, str]) -> str:
        """Run a psql script as the master user (stdin, ``ON_ERROR_STOP``) with ``-v`` variables."""
        settings = [f"--set={name}={value}" for name, value in variables.items()]
        command = [
            str(PSQL), "-X", "-q", "-v", "ON_ERROR_STOP=1", *settings, "-h", str(self.workdir.path),
            "-p", str(self.port), "-U", self.user, "-d", self.database, "-f", "-",
        ]  # fmt: skip
        result = subprocess.run(
            _as_server_user(command), input=text, capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql script failed: {result.stderr[-2000:]}")
        return result.stdout

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                check=False,
            )


@dataclass
class LocalPgBouncer:
    """A real PgBouncer running the given ini, moved onto loopback by :func:`for_loopback`."""

    workdir: Workdir
    ini: PgBouncerIni
    postgres: LocalPostgres
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    extra_users: Mapping[str, str] = field(default_factory=dict)
    """Further ``user: password`` lines of the auth_file (the application's role)."""

    def start(self, *, trust_clients: bool) -> PgBouncerIni:
        d = self.workdir.path
        users = {self.postgres.user: self.postgres.password, **self.extra_users}
        userlist = "".join(f'"{user}" "{password}"\n' for user, password in users.items())
        files = Files(
            auth_file=str(self.workdir.write("userlist.txt", userlist)),
            server_ca_file=str(d / "ca.pem"),
            client_cert_file=str(d / "server.crt"),
            client_key_file=str(d / "server.key"),
        )
        local = for_loopback(
            self.ini, server_port=self.postgres.port, listen_port=self.port, files=files, trust_clients=trust_clients
        )
        config = self.workdir.write("pgbouncer.ini", local.text())
        log = open(d / "pgbouncer.log", "w")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            _as_server_user(["bash", "-c", f'ulimit -n 8192 && exec {PGBOUNCER} "$0"', str(config)]),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {(d / 'pgbouncer.log').read_text()[-3000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return local
            time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not listen: {(d / 'pgbouncer.log').read_text()[-3000:]}")

    def log(self) -> str:
        return (self.workdir.path / "pgbouncer.log").read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    processed: int
    failed: int
    tps: float
    output: str


def _field(output: str, prefix: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith(prefix):
            return line.split(":", 1)[1].strip()
    raise ValueError(f"pgbench printed no {prefix!r}:\n{output[-3000:]}")


def pgbench(
    *,
    host: str,
    port: int,
    postgres: LocalPostgres,
    clients: int,
    seconds: int,
    select_only: bool,
    tls: bool = True,
    threads: int = 2,
) -> PgbenchResult:
    """Run pgbench over TCP (TLS required unless ``tls`` is false) and parse processed/failed/tps."""
    command = [
        str(PGBENCH), "-h", host, "-p", str(port), "-U", postgres.user, "-n",
        "-c", str(clients), "-j", str(threads), "-T", str(seconds), *(["-S"] if select_only else []), postgres.database,
    ]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": postgres.password, "PGSSLMODE": "require" if tls else "disable"}
    result = subprocess.run(
        _as_server_user(["bash", "-c", 'ulimit -n 8192 && exec "$@"', "pgbench", *command]),
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=seconds + 180,
    )
    output = result.stderr + result.stdout
    if result.returncode not in (0, 2):
        raise RuntimeError(f"pgbench failed ({result.returncode}):\n{output[-3000:]}")
    processed = int(_field(output, "number of transactions actually processed").split("/")[0])
    failed_text = _field(output, "number of failed transactions").split()[0]
    tps_match = re.search(r"^tps = ([0-9.]+)", output, re.MULTILINE)
    if tps_match is None:
        raise ValueError(f"pgbench printed no tps:\n{output[-3000:]}")
    tps = float(tps_match.group(1))
    return PgbenchResult(clients=clients, processed=processed, failed=int(failed_text), tps=tps, output=output)


def initialize(postgres: LocalPostgres, scale: int = 10) -> None:
    """``pgbench -i`` straight against PostgreSQL, over TLS."""
    env = {**os.environ, "PGPASSWORD": postgres.password, "PGSSLMODE": "require"}
    command = [
        str(PGBENCH), "-i", "-q", "-s", str(scale), "-h", "127.0.0.1", "-p", str(postgres.port),
        "-U", postgres.user, postgres.database,
    ]  # fmt: skip
    _run(command, env=env)


class ConnectionSampler:
    """Samples the server connections of the application user in pg_stat_activity while it runs."""

    def __init__(self, postgres: LocalPostgres, interval_seconds: float = 0.25) -> None:
        self.postgres = postgres
        self.interval = interval_seconds
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            f"AND datname = '{self.postgres.database}' AND client_addr IS NOT NULL"
        )
        while not self._stop.is_set():
            self.samples.append(int(self.postgres.sql(query)))
            self._stop.wait(self.interval)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


@contextmanager
def running_postgres(
    *, max_connections: int, user: str, database: str, trust_plain_tcp: bool = False
) -> Iterator[LocalPostgres]:
    workdir = Workdir()
    postgres = LocalPostgres(
        workdir=workdir, max_connections=max_connections, user=user, database=database, trust_plain_tcp=trust_plain_tcp
    )
    try:
        postgres.start()
        yield postgres
    finally:
        postgres.stop()
        workdir.close()


@contextmanager
def running_pgbouncer(
    postgres: LocalPostgres, ini: PgBouncerIni, *, trust_clients: bool, extra_users: Mapping[str, str] | None = None
) -> Iterator[tuple[LocalPgBouncer, PgBouncerIni]]:
    bouncer = LocalPgBouncer(workdir=postgres.workdir, ini=ini, postgres=postgres, extra_users=dict(extra_users or {}))
    try:
        local = bouncer.start(trust_clients=trust_clients)
        yield bouncer, local
    finally:
        bouncer.stop()
