"""Benchmark: the approved-designs sensor draining 100 and 10,000 approved designs on PostgreSQL.

Run: ``.venv/bin/python bench/sensor_load.py [--designs 100,10000] [--users U]``

For each catalogue size it creates two databases on the server named by ``HAVEN_BENCH_POSTGRES_URL``
(an admin URL, default ``postgresql://postgres@127.0.0.1:5432/postgres``): the application database
(migrated, then filled with SQLAlchemy Core bulk inserts) and the Dagster instance's storage; both
are dropped at the end. The sensor then ticks from an empty cursor until it reports nothing new,
applying each tick's partition request as the daemon would. Unlike the reliability test, nothing
traces memory here, so the times are the sensor's own.

It prints, per size: per-tick seconds (first, mean, max, last), SQL statements per tick on the
application database and on the Dagster instance's storage, and the baseline: one keyset page read
of the same size alone (what any sensor must pay), with the ratio tick / page. Last, the statements
per tick of the largest size against the smallest (goal: the same small number, ratio 1.0). Before
issue 12 a tick of 100 designs issued about 431 statements on the application database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dagster as dg
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade
from haven_pipelines.defs.sensors import DESIGNS_PER_TICK
from haven_pipelines.services.designs import approved_designs_page
from haven_pipelines_tests.reliability.test_load_backfills import _haven, _write_instance_yaml
from haven_pipelines_tests.reliability.test_load_sensor import bulk_insert_designs, load_design_key, tick

ADMIN_URL = os.environ.get("HAVEN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _create_db(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_db(url: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def drain(n_designs: int, n_users: int) -> dict:
    """Tick the sensor over ``n_designs`` fresh designs until it reports nothing new; returns the figures."""
    app_url, dagster_url = _create_db("haven_bench_sensor"), _create_db("haven_bench_dagster")
    databases = {"app": make_url(app_url).database, "dagster": make_url(dagster_url).database}
    statements = {"app": 0, "dagster": 0}

    # Count statements per database (Dagster's storage uses SQLAlchemy too).
    def _count(conn, *_args) -> None:
        for name, database in databases.items():
            if conn.engine.url.database == database:
                statements[name] += 1

    event.listen(Engine, "before_cursor_execute", _count)
    try:
        upgrade(app_url)
        engine = create_engine(app_url)
        started = time.perf_counter()
        _, design_ids = bulk_insert_designs(engine, n_designs, n_users)
        insert_s = time.perf_counter() - started

        with tempfile.TemporaryDirectory() as home:
            _write_instance_yaml(Path(home), dagster_url)
            instance = dg.DagsterInstance.from_config(home)
            from haven_pipelines.definitions import build_resources

            resources = build_resources(_haven(app_url, str(Path(home) / "data")))
            cursor, seen, seconds, app_sql, dagster_sql, pages = None, [], [], [], [], []
            try:
                while True:
                    statements.update(app=0, dagster=0)
                    started = time.perf_counter()
                    result = tick(instance, resources, cursor)
                    elapsed = time.perf_counter() - started
                    if not result.dynamic_partitions_requests and not result.run_requests:
                        break
                    seconds.append(elapsed)
                    app_sql.append(statements["app"])
                    dagster_sql.append(statements["dagster"])
                    keys = [k for r in result.dynamic_partitions_requests for k in r.partition_keys]
                    instance.add_dynamic_partitions("designs", keys)
                    seen.extend(keys)
                    # Baseline: the same page read alone.
                    started = time.perf_counter()
                    approved_designs_page(engine, cursor, DESIGNS_PER_TICK)
                    pages.append(time.perf_counter() - started)
                    cursor = result.cursor
            finally:
                instance.dispose()
        engine.dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", _count)
        _drop_db(app_url)
        _drop_db(dagster_url)
    return {"designs": n_designs, "users": n_users, "insert_s": insert_s, "seconds": seconds, "app_sql": app_sql,
            "dagster_sql": dagster_sql, "pages": pages,
            "complete": seen == [load_design_key(i, a) for i, a in enumerate(design_ids)]}


def report(figures: dict) -> None:
    """Print one size's figures."""
    seconds, app_sql, dagster_sql = figures["seconds"], figures["app_sql"], figures["dagster_sql"]
    mean, page = statistics.mean(seconds), statistics.mean(figures["pages"])
    print(f"\n{figures['designs']} designs of {figures['users']} users (bulk insert {figures['insert_s']:.2f} s)")
    print(f"  ticks: {len(seconds)} (a page of {DESIGNS_PER_TICK} designs each), "
          f"partitions added: {figures['designs'] if figures['complete'] else 'WRONG'}")
    print(f"  tick seconds: first {seconds[0]:.3f}, mean {mean:.3f}, median {statistics.median(seconds):.3f}, "
          f"max {max(seconds):.3f}, last {seconds[-1]:.3f}")
    print(f"  SQL statements per tick on the app database: min {min(app_sql)}, mean {statistics.mean(app_sql):.1f}, "
          f"max {max(app_sql)}")
    print(f"  SQL statements per tick on the Dagster storage: min {min(dagster_sql)}, "
          f"mean {statistics.mean(dagster_sql):.1f}, max {max(dagster_sql)}")
    print(f"  baseline (one keyset page read alone): mean {page * 1000:.1f} ms; ratio tick/page {mean / page:.1f}x")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code (1 when the sensor did not see every design once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default="100,10000", help="catalogue sizes, comma-separated")
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.designs.split(",")]

    runs = [drain(n, args.users) for n in sizes]
    for figures in runs:
        report(figures)
    small, large = runs[0], runs[-1]
    ratio = max(large["app_sql"]) / max(small["app_sql"])
    print(f"\nstatements per tick on the app database: {small['designs']} designs -> max {max(small['app_sql'])}, "
          f"{large['designs']} designs -> max {max(large['app_sql'])} (ratio {ratio:.2f}; goal 1.00, the same small number)")
    print(f"mean tick seconds: {small['designs']} designs -> {statistics.mean(small['seconds']):.3f}, "
          f"{large['designs']} designs -> {statistics.mean(large['seconds']):.3f}")
    if not all(figures["complete"] for figures in runs):
        print("FAIL: the sensor did not add every design exactly once in approval order")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
