"""Transactions per second straight to PostgreSQL and through PgBouncer, same pgbench shape.

Run from the repository root (as root, or as a user that can run PostgreSQL):
``uv run python -m bench.pgbouncer_tps`` (``--phase scale --clients 25 200 --runs 3 --seconds 5``).

PostgreSQL 15 is started with the phase's ``max_connections``; PgBouncer runs the phase's
read-write ``pgbouncer.ini`` on loopback, its server side as in production (SCRAM, TLS
verify-full). Clients reach both paths over plain loopback TCP without a password
(for_loopback's ``trust_clients``; a ``hostnossl ... trust`` line for the direct path), so
that set-up of hundreds of SCRAM+TLS connections does not eat the timed run. Each shape is
run ``--runs`` times per path, interleaved; the table shows the medians and the ratio
PgBouncer / direct: the pooler's extra hop, plus the server-side TLS the direct path does
not pay, plus, when clients outnumber the pool, their queueing for a server connection.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

from bench.local_postgres import (
    LocalPostgres,
    ensure_binaries,
    initialize,
    pgbench,
    running_pgbouncer,
    running_postgres,
)
from infra.config.loader import load_stack_file
from infra.config.pgbouncer import PgBouncerConfig
from infra.pgbouncer.ini import PoolRole, ServerEndpoint, render_ini


@dataclass(frozen=True)
class Shape:
    clients: int
    select_only: bool

    @property
    def label(self) -> str:
        return f"{self.clients} clients, {'select-only' if self.select_only else 'TPC-B'}"


@dataclass(frozen=True)
class Row:
    shape: Shape
    direct: list[float]
    pooled: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.pooled) / statistics.median(self.direct)


def render(rows: list[Row]) -> str:
    lines = [f"{'shape':<28} {'direct tps':>11} {'pgbouncer tps':>14} {'ratio':>6}  runs (direct | pgbouncer)"]
    for row in rows:
        runs = " ".join(f"{t:.0f}" for t in row.direct) + " | " + " ".join(f"{t:.0f}" for t in row.pooled)
        lines.append(
            f"{row.shape.label:<28} {statistics.median(row.direct):>11.0f} {statistics.median(row.pooled):>14.0f} "
            f"{row.ratio:>6.2f}  {runs}"
        )
    return "\n".join(lines)


def measure(
    postgres: LocalPostgres, config: PgBouncerConfig, shapes: list[Shape], *, runs: int, seconds: int
) -> list[Row]:
    ini = render_ini(
        config, PoolRole.READ_WRITE, ServerEndpoint(hosts=("primary",), port=5432, database=postgres.database)
    )
    rows = []
    with running_pgbouncer(postgres, ini, trust_clients=True) as (bouncer, _):
        for shape in shapes:
            direct: list[float] = []
            pooled: list[float] = []
            for _ in range(runs):  # interleaved, so drift on a shared machine hits both paths alike
                for port, sink in ((postgres.port, direct), (bouncer.port, pooled)):
                    result = pgbench(
                        host="127.0.0.1",
                        port=port,
                        postgres=postgres,
                        clients=shape.clients,
                        seconds=seconds,
                        select_only=shape.select_only,
                        tls=False,
                    )
                    if result.failed:
                        raise RuntimeError(f"{result.failed} failed transactions:\n{result.output[-2000:]}")
                    sink.append(result.tps)
            rows.append(Row(shape, direct, pooled))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", default="scale")
    parser.add_argument("--clients", type=int, nargs="+", default=[25, 200])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    config = load_stack_file(f"Pulumi.{args.phase}.yaml")
    if config.pgbouncer is None:
        parser.error(f"Pulumi.{args.phase}.yaml has no scaleplan:pgbouncer")
    budget = config.database.connection_budget()
    if max(args.clients) > budget.available:
        parser.error(f"direct runs need <= {budget.available} clients (max_connections minus the reserve)")
    ensure_binaries()
    shapes = [Shape(clients, select_only) for select_only in (True, False) for clients in args.clients]
    database = config.database
    with running_postgres(
        max_connections=budget.max_connections,
        user=database.master_username,
        database=database.database_name,
        trust_plain_tcp=True,
    ) as postgres:
        initialize(postgres)
        rows = measure(postgres, config.pgbouncer, shapes, runs=args.runs, seconds=args.seconds)
    pooler = config.pgbouncer
    print(
        f"phase {args.phase}: PostgreSQL 15 max_connections {budget.max_connections}, PgBouncer "
        f"{pooler.pool_mode.value} pool {pooler.default_pool_size} + {pooler.reserve_pool_size} reserve, "
        f"clients over plain TCP, median of {args.runs} x {args.seconds} s"
    )
    print(render(rows))


if __name__ == "__main__":
    main()
