"""Load: the approved-designs sensor over 10,000 approved designs in PostgreSQL.

The designs (ten users, 1,000 each, approvals interleaved across users, collections in turn) are
bulk-inserted with SQLAlchemy Core. The sensor then ticks through ``dg.build_sensor_context`` on a
Dagster instance stored in PostgreSQL, each tick resuming from the previous cursor, and the test
applies each tick's ``AddDynamicPartitionsRequest`` to the instance as the daemon would, until a
tick reports nothing new. Per tick it measures wall time and peak traced memory (tracemalloc); the
figures are printed and recorded, and only counts and a generous memory bound are asserted.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from haven_pipelines.db.tables import assets, new_id, quotes, user_settings, users
from haven_pipelines.definitions import build_resources
from haven_pipelines.defs.partitions import DESIGNS_PARTITION
from haven_pipelines.defs.sensors import DESIGNS_PER_TICK, approved_designs_sensor
from haven_pipelines.domain.labels import design_partition_key
from haven_pipelines.domain.scenes import COLLECTIONS
from haven_pipelines.services.render import MAX_ASSETS_PER_REQUEST
from haven_pipelines_tests.reliability.test_load_backfills import _haven, dagster_home  # noqa: F401 - fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"),
]

DESIGNS = 10_000
USERS = 10
MEMORY_BOUND_MIB = 500
INSERT_CHUNK = 2_000


def load_design_key(i: int, asset_id: str) -> str:
    """The partition key of :func:`bulk_insert_designs`' design ``i`` (its quote is ``Quote i``)."""
    return design_partition_key(f"Quote {i}", asset_id)


def bulk_insert_designs(engine: Engine, n_designs: int, n_users: int, email_prefix: str = "load") -> tuple[list[str], list[str]]:
    """Insert ``n_users`` users (default settings, emails ``<email_prefix><k>@example.com``) and
    ``n_designs`` approved designs with quotes.

    Design ``i`` belongs to user ``i % n_users``, is approved one millisecond after design ``i-1``
    and has a quote in collection ``COLLECTIONS[i % 3]`` (three scenes each), and its partition key
    (:func:`load_design_key`), as the store would set it.

    Returns:
        (user ids, design ids in approval order).
    """
    user_ids = [new_id() for _ in range(n_users)]
    base = datetime.now(UTC) - timedelta(days=1)
    quote_rows, asset_rows = [], []
    for i in range(n_designs):
        user_id, quote_id, asset_id = user_ids[i % n_users], new_id(), new_id()
        quote_rows.append({"id": quote_id, "user_id": user_id, "text": f"Quote {i}", "collection": COLLECTIONS[i % 3]})
        asset_rows.append({
            "id": asset_id, "user_id": user_id, "quote_id": quote_id, "file_url": f"file:///load/{asset_id}.png",
            "file_key": f"designs/{user_id}/{asset_id}.png", "format": "png", "width": 80, "height": 100,
            "approval_status": "approved", "approved_at": base + timedelta(milliseconds=i),
            "partition_key": load_design_key(i, asset_id),
        })
    with engine.begin() as conn:
        conn.execute(insert(users), [{"id": u, "email": f"{email_prefix}{k}@example.com"} for k, u in enumerate(user_ids)])
        conn.execute(insert(user_settings), [{"user_id": u, "module_overrides": {}} for u in user_ids])
        for start in range(0, n_designs, INSERT_CHUNK):
            conn.execute(insert(quotes), quote_rows[start : start + INSERT_CHUNK])
            conn.execute(insert(assets), asset_rows[start : start + INSERT_CHUNK])
    return user_ids, [r["id"] for r in asset_rows]


def tick(instance: dg.DagsterInstance, resources: dict, cursor: str | None):
    """One evaluation of the sensor from ``cursor``."""
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return approved_designs_sensor.evaluate_tick(context)


def measured_tick(instance: dg.DagsterInstance, resources: dict, cursor: str | None):
    """A tick with its wall seconds and peak traced MiB (tracemalloc runs only around the tick)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = tick(instance, resources, cursor)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, seconds, peak / 2**20


def run_keys(result) -> list[str]:
    """The run keys a tick requested, in order."""
    return [r.run_key for r in result.run_requests]


@pytest.mark.slow
def test_approved_designs_sensor_over_ten_thousand_designs(pg_url, pg_engine, dagster_home, tmp_path, reliability_record):  # noqa: F811
    """Ticks drain 10,000 designs in batches, add each partition once, and replay identically."""
    inserted_at = time.perf_counter()
    user_ids, design_ids = bulk_insert_designs(pg_engine, DESIGNS, USERS)
    insert_seconds = time.perf_counter() - inserted_at
    resources = build_resources(_haven(pg_url, str(tmp_path / "data")))
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        cursors: list[str | None] = [None]
        keys_by_tick: list[list[str]] = []
        added: list[str] = []
        seconds: list[float] = []
        peaks: list[float] = []
        while True:
            result, secs, peak = measured_tick(instance, resources, cursors[-1])
            if not result.run_requests and not result.dynamic_partitions_requests:
                assert result.skip_message == "no newly approved designs"
                break
            seconds.append(secs)
            peaks.append(peak)
            # Batched: one partitions request per tick, at most a page of new designs in it.
            [request] = result.dynamic_partitions_requests
            assert request.partitions_def_name == DESIGNS_PARTITION
            assert 0 < len(request.partition_keys) <= DESIGNS_PER_TICK
            # The daemon applies the tick's partition requests; do the same.
            instance.add_dynamic_partitions(DESIGNS_PARTITION, list(request.partition_keys))
            added.extend(request.partition_keys)
            assert all(len(r.run_config["ops"]["generate_mockups"]["config"]["asset_ids"]) <= MAX_ASSETS_PER_REQUEST
                       for r in result.run_requests)
            keys_by_tick.append(run_keys(result))
            assert result.cursor and result.cursor != cursors[-1]
            cursors.append(result.cursor)
            assert len(cursors) <= DESIGNS // DESIGNS_PER_TICK + 2, "the sensor is not advancing"

        # Every design seen once, in approval order; partitions added exactly once each.
        design_keys = [load_design_key(i, a) for i, a in enumerate(design_ids)]
        assert added == design_keys
        assert sorted(instance.get_dynamic_partitions(DESIGNS_PARTITION)) == sorted(design_keys)
        assert len(seconds) == DESIGNS // DESIGNS_PER_TICK
        all_keys = [k for keys in keys_by_tick for k in keys]
        assert len(all_keys) == len(set(all_keys))
        # Ten users' designs interleave, so each tick asks one run per user.
        assert all(len(keys) == USERS for keys in keys_by_tick)

        # Idempotent: replaying a tick from the same cursor asks for the same runs and, its designs
        # being known partitions now, adds nothing; a tick past the end adds nothing either.
        for index in (0, len(keys_by_tick) // 2, len(keys_by_tick) - 1):
            replay = tick(instance, resources, cursors[index])
            assert run_keys(replay) == keys_by_tick[index]
            assert replay.dynamic_partitions_requests == []
        after_end = tick(instance, resources, cursors[-1])
        assert after_end.run_requests == [] and after_end.dynamic_partitions_requests == []
        assert after_end.skip_message == "no newly approved designs"
        partitions_after = len(instance.get_dynamic_partitions(DESIGNS_PARTITION))
    finally:
        instance.dispose()

    peak_mib = max(peaks)
    assert peak_mib < MEMORY_BOUND_MIB
    figures = {
        "designs": DESIGNS,
        "users": USERS,
        "ticks": len(seconds),
        "partitions_added": len(added),
        "partitions_per_tick": DESIGNS_PER_TICK,
        "run_requests": len(all_keys),
        "max_tick_s": round(max(seconds), 3),
        "peak_tick_mib": round(peak_mib, 2),
    }
    # Timings vary from run to run: printed in full for the note; the report shows their order of magnitude.
    print(f"\n[load] sensor over {DESIGNS} designs: bulk insert {insert_seconds:.1f} s; first tick {seconds[0]:.3f} s, "
          f"mean {sum(seconds) / len(seconds):.3f} s, last {seconds[-1]:.3f} s (under tracemalloc); {figures}")
    assert partitions_after == DESIGNS
    reliability_record(
        section="Load",
        scenario="approved-designs sensor over 10,000 approved designs",
        injected="10,000 approved designs of 10 users bulk-inserted into PostgreSQL; the sensor ticked from an "
                 "empty cursor on a Dagster instance stored in PostgreSQL until it reported nothing new",
        behaviour=f"each tick read one page of {DESIGNS_PER_TICK} designs after the cursor, added their partitions "
                  "in one request and asked one run per user (at most 20 designs each) under a stable run key",
        invariants=[
            "every design added as a partition exactly once, in approval order",
            "a replayed tick (same cursor) gives the same run keys and adds no partition",
            "a tick after the end adds nothing and requests nothing",
            f"peak traced memory per tick < {MEMORY_BOUND_MIB} MiB",
        ],
        figures=figures,
    )
