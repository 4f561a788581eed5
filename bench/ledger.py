"""Benchmark: credit reservations per second on PostgreSQL, the ledger against the source's way.

Run: ``.venv/bin/python bench/ledger.py [--attempts N]``

It creates its own database on the server named by ``HAVEN_BENCH_POSTGRES_URL`` (an admin URL,
default ``postgresql://postgres@127.0.0.1:5432/postgres``), migrates it, and drops it at the end.
For 1 and 8 worker processes, all reserving 1 credit at a time for the *same* user (the contended
case the ledger exists for), against an annual budget a little below the attempts made, it times:

- ``ledger``: :meth:`CreditLedger.reserve`, the conditional update under the balance row lock;
- ``source``: Haven Hub's way, in one transaction: ``SELECT SUM(credits)`` of the year's ledger,
  compare with the budget, ``INSERT`` a row. Nothing is locked, so concurrent workers overspend;
- ``ledger-spread`` (8 workers only): each worker reserves for its own user, so no row lock is shared;
- ``pgbench`` (when PostgreSQL's ``pgbench`` is installed): the same reservation function called by
  1 and 8 C clients on one user for 5 s, no Python at all: the ceiling this server and machine set
  for the ledger's one call, to read the Python figures against.

It prints workers, method, reservations made, seconds, reservations per second and the overspend
(credits charged beyond the budget), then the ledger/source ratios. The ledger must never overspend;
the script exits 1 if it does.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.domain.credits import DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT
from haven_pipelines.domain.errors import BudgetExceeded

ADMIN_URL = os.environ.get("HAVEN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# The source's ledger table, as Haven Hub had it: no running balance, no sequence, no lock.
SOURCE_TABLE = """
CREATE TABLE source_credit_usage (
    id BIGSERIAL PRIMARY KEY,
    user_id VARCHAR(36) NOT NULL,
    credits INTEGER NOT NULL,
    operation VARCHAR(20) NOT NULL,
    year INTEGER NOT NULL,
    month INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_source_credit_usage_user_year ON source_credit_usage (user_id, year, month);
"""


@dataclass(frozen=True)
class Result:
    """One timed run."""

    workers: int
    method: str
    attempts: int
    reservations: int
    seconds: float
    overspend: int

    @property
    def per_second(self) -> float:
        """Successful reservations per second."""
        return self.reservations / self.seconds if self.seconds else 0.0


def _source_reserve(conn, user_id: str, budget: int, year: int, month: int) -> bool:
    """The source's check-then-insert: a read and a write with nothing held in between."""
    used = conn.execute(
        text("SELECT COALESCE(SUM(credits), 0) FROM source_credit_usage WHERE user_id = :u AND year = :y"),
        {"u": user_id, "y": year},
    ).scalar_one()
    if used + 1 > budget:
        return False
    conn.execute(
        text("INSERT INTO source_credit_usage (user_id, credits, operation, year, month) VALUES (:u, 1, 'generation', :y, :m)"),
        {"u": user_id, "y": year, "m": month},
    )
    return True


def _worker(url: str, method: str, user_id: str, warm_user: str, budget: int, attempts: int, barrier, results) -> None:
    """Make ``attempts`` reservations of 1 credit; report (successes, start, end) on ``results``."""
    engine = create_engine(url, pool_size=2, max_overflow=0)
    ledger = CreditLedger(engine)
    now = time.gmtime()
    tag = uuid.uuid4().hex[:8]
    # Before the clock starts, warm the pooled connection the way the timed loop will use it (on a
    # user of its own): its server backend compiles the plpgsql function and prepares the call
    # once, as it does in a long-lived run. Otherwise a short run measures mostly warm-up.
    for i in range(20):
        if method == "source":
            with engine.begin() as conn:
                _source_reserve(conn, warm_user, 10**9, now.tm_year, now.tm_mon)
        else:
            ledger.reserve(warm_user, 1, idempotency_key=f"warm-{tag}-{i}", renderer="bench")
    ok = 0
    barrier.wait()
    start = time.monotonic()
    for i in range(attempts):
        if method == "source":
            with engine.begin() as conn:
                ok += _source_reserve(conn, user_id, budget, now.tm_year, now.tm_mon)
        else:
            try:
                ledger.reserve(user_id, 1, idempotency_key=f"bench-{tag}-{i}", renderer="bench")
                ok += 1
            except BudgetExceeded:
                pass
    end = time.monotonic()
    engine.dispose()
    results.put((ok, start, end))


def _make_users(url: str, count: int, budget: int) -> list[str]:
    engine = create_engine(url)
    ids = []
    with engine.begin() as conn:
        for _ in range(count):
            user = get_or_create_user(conn, f"bench-{uuid.uuid4().hex[:10]}@haven.local")
            SettingsStore(conn, user["id"]).update(annual_mockup_budget=budget, monthly_mockup_soft_limit=budget)
            ids.append(user["id"])
    engine.dispose()
    return ids


def _charged(url: str, method: str, user_id: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        if method == "source":
            sql = "SELECT COALESCE(SUM(credits), 0) FROM source_credit_usage WHERE user_id = :u"
        else:
            sql = "SELECT COALESCE(SUM(used), 0) FROM credit_balances WHERE user_id = :u"
        value = int(conn.execute(text(sql), {"u": user_id}).scalar_one())
    engine.dispose()
    return value


def run(url: str, workers: int, method: str, attempts_per_worker: int) -> Result:
    """Time ``workers`` processes doing ``method``; the budget is 90 % of all attempts."""
    ctx = mp.get_context("spawn")
    total = workers * attempts_per_worker
    spread = method == "ledger-spread"
    budget = attempts_per_worker * 9 // 10 if spread else total * 9 // 10
    users = _make_users(url, workers if spread else 1, budget)
    warm_user = _make_users(url, 1, 10**9)[0]
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(url, "source" if method == "source" else "ledger", users[i if spread else 0], warm_user, budget,
                  attempts_per_worker, barrier, results),
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    reports = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a {method} worker failed with exit code {proc.exitcode}")
    seconds = max(r[2] for r in reports) - min(r[1] for r in reports)
    overspend = sum(max(_charged(url, method, u) - budget, 0) for u in users)
    if method != "source":
        engine = create_engine(url)
        problems = [p for u in users for p in CreditLedger(engine).check_chain(u, time.gmtime().tm_year)]
        engine.dispose()
        if problems:
            raise RuntimeError(f"ledger chain broken after the {method} run: {problems[:3]}")
    return Result(workers, method, total, sum(r[0] for r in reports), seconds, overspend)


# One reservation as the ledger makes it, for pgbench, each with a new idempotency key.
_PGBENCH_SCRIPT = """\
SELECT * FROM haven_reserve_credits('{user}', 'pgbench-' || gen_random_uuid()::text, gen_random_uuid()::text, 1,
    'generation', 'bench', NULL, NULL, {year}, {month}, now(), {default_budget}, {default_soft});
"""


def pgbench_ceiling(url: str, clients: int, seconds: int = 5) -> Result | None:
    """Reservations per second from ``clients`` pgbench clients on one user, or None without pgbench."""
    binary = shutil.which("pgbench")
    if binary is None:
        return None
    user = _make_users(url, 1, 2_000_000_000)[0]
    now = time.gmtime()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "reserve.sql")
        with open(script, "w") as fh:
            fh.write(_PGBENCH_SCRIPT.format(user=user, year=now.tm_year, month=now.tm_mon,
                                            default_budget=DEFAULT_ANNUAL_BUDGET, default_soft=DEFAULT_MONTHLY_SOFT_LIMIT))
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        out = subprocess.run(
            [binary, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
             "-f", script, conninfo],
            capture_output=True, text=True, check=True,
        ).stdout
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    charged = _charged(url, "ledger", user)
    if charged != done:
        raise RuntimeError(f"pgbench made {done} reservations but {charged} credits were charged")
    return Result(clients, "pgbench", done, done, float(seconds), 0)


def main(argv: list[str] | None = None) -> int:
    """Create the bench database, run every scenario, print the table and ratios, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000, help="attempts per worker (default 1000)")
    args = parser.parse_args(argv)

    name = f"haven_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    results: list[Result] = []
    try:
        upgrade(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(SOURCE_TABLE)
        engine.dispose()
        # Warm up and gather planner statistics, as autovacuum keeps them on a live database.
        run(url, 1, "ledger", 1000)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
        for workers, method in ((1, "ledger"), (1, "source"), (8, "ledger"), (8, "source"), (8, "ledger-spread")):
            results.append(run(url, workers, method, args.attempts))
            print(f"  done: {workers} worker(s), {method}", file=sys.stderr)
        for clients in (1, 8):
            ceiling = pgbench_ceiling(url, clients)
            if ceiling is None:
                print("  pgbench not found: no server ceiling measured", file=sys.stderr)
                break
            results.append(ceiling)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    print(f"PostgreSQL {make_url(ADMIN_URL).render_as_string(hide_password=True)}, {args.attempts} attempts per worker, "
          "1 credit each, budget 90 % of attempts")
    print(f"{'workers':>7}  {'method':<14} {'reservations':>12} {'seconds':>8} {'per second':>11} {'overspend':>9}")
    for r in results:
        print(f"{r.workers:>7}  {r.method:<14} {r.reservations:>12} {r.seconds:>8.2f} {r.per_second:>11.0f} {r.overspend:>9}")
    by = {(r.workers, r.method): r for r in results}
    for workers in (1, 8):
        ledger, source = by[(workers, "ledger")], by[(workers, "source")]
        print(f"ratio ledger/source, {workers} worker(s): {ledger.per_second / source.per_second:.2f}")
        if (workers, "pgbench") in by:
            print(f"ratio ledger/pgbench ceiling, {workers} worker(s): {ledger.per_second / by[(workers, 'pgbench')].per_second:.2f}")
    bad = [r for r in results if r.method != "source" and r.overspend]
    if bad:
        print("FAIL: the ledger overspent", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
