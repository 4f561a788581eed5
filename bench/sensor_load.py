"""Benchmark: the approved-designs sensor draining 10,000 approved designs on PostgreSQL.

Run: ``.venv/bin/python bench/sensor_load.py [--designs N] [--users U]``

It creates two databases on the server named by ``HAVEN_BENCH_POSTGRES_URL`` (an admin URL, default
``postgresql://postgres@127.0.0.1:5432/postgres``): the application database (migrated, then filled
with SQLAlchemy Core bulk inserts) and the Dagster instance's storage; both are dropped at the end.
The sensor then ticks from an empty cursor until it reports nothing new, applying each tick's
partition request as the daemon would. Unlike the reliability test, nothing traces memory here, so
the times are the sensor's own.

It prints per-tick seconds (first, mean, max, last), SQL statements per tick on the application
database, and the baseline: one keyset page read of the same size alone (what any sensor must pay),
with the ratio tick / page.
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
from haven_pipelines_tests.reliability.test_load_sensor import bulk_insert_designs, tick

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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code (1 when the sensor did not see every design once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args(argv)

    app_url, dagster_url = _create_db("haven_bench_sensor"), _create_db("haven_bench_dagster")
    app_db = make_url(app_url).database
    statements = {"n": 0}

    # Count statements sent to the application database only (Dagster's storage uses SQLAlchemy too).
    def _count(conn, *_args) -> None:
        if conn.engine.url.database == app_db:
            statements["n"] += 1

    event.listen(Engine, "before_cursor_execute", _count)
    try:
        upgrade(app_url)
        engine = create_engine(app_url)
        started = time.perf_counter()
        _, design_ids = bulk_insert_designs(engine, args.designs, args.users)
        print(f"bulk insert: {args.designs} designs of {args.users} users in {time.perf_counter() - started:.2f} s")

        with tempfile.TemporaryDirectory() as home:
            _write_instance_yaml(Path(home), dagster_url)
            instance = dg.DagsterInstance.from_config(home)
            from haven_pipelines.definitions import build_resources

            resources = build_resources(_haven(app_url, str(Path(home) / "data")))
            cursor, seen, seconds, per_tick_sql, pages = None, [], [], [], []
            try:
                while True:
                    statements["n"] = 0
                    started = time.perf_counter()
                    result = tick(instance, resources, cursor)
                    elapsed = time.perf_counter() - started
                    if not result.dynamic_partitions_requests and not result.run_requests:
                        break
                    seconds.append(elapsed)
                    per_tick_sql.append(statements["n"])
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

    mean, page = statistics.mean(seconds), statistics.mean(pages)
    print(f"ticks: {len(seconds)} (a page of {DESIGNS_PER_TICK} designs each), partitions added: {len(seen)}")
    print(f"tick seconds: first {seconds[0]:.3f}, mean {mean:.3f}, median {statistics.median(seconds):.3f}, "
          f"max {max(seconds):.3f}, last {seconds[-1]:.3f}")
    print(f"SQL statements per tick on the app database: mean {statistics.mean(per_tick_sql):.0f}, max {max(per_tick_sql)}")
    print(f"baseline (one keyset page read alone): mean {page * 1000:.1f} ms; ratio tick/page {mean / page:.1f}x")
    if seen != design_ids:
        print("FAIL: the sensor did not add every design exactly once in approval order")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
