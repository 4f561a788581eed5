"""The approved-designs sensor issues the same small number of SQL statements per tick, whatever the
number of designs, users and mockups (issue 12), on SQLite and on PostgreSQL.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event on the application
database only (the Dagster instance has its own storage). The designs are bulk-inserted as the load
test does; a tick needs no artwork, only the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine, make_url

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import mockups, new_id
from haven_pipelines.definitions import build_resources
from haven_pipelines.defs.sensors import DESIGNS_PER_TICK, approved_designs_sensor
from haven_pipelines.domain.scenes import scenes_for_collection
from haven_pipelines_tests.defs.conftest import AppDb, paid_haven
from haven_pipelines_tests.reliability.test_load_sensor import bulk_insert_designs, load_design_key

# Queries a tick may issue: the page, its designs' collections and mockups (one connection), the
# owners' budgets (a second). SQLite adds one BEGIN per connection (the engine begins every
# transaction IMMEDIATE); PostgreSQL's driver begins implicitly, and each of the two connections
# switches its transaction to the cross-tenant pipeline role once (row-level security).
QUERIES = 4
SETUP = 2
STATEMENTS = QUERIES + SETUP


def _is_setup(statement: str) -> bool:
    """A BEGIN (SQLite) or the role switch of a cross-tenant read (PostgreSQL): per connection, not per design."""
    text = statement.lstrip()
    return text.upper().startswith("BEGIN") or text.startswith("SELECT set_config('role'")


@contextmanager
def counted(url: str) -> Iterator[list[str]]:
    """Collect the SQL text of every statement sent to the database at ``url`` while inside."""
    database = make_url(url).database
    seen: list[str] = []

    def _count(conn, _cursor, statement, *_args) -> None:
        if conn.engine.url.database == database:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", _count)


def _tick(instance, resources, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return approved_designs_sensor.evaluate_tick(context)


def _counted_tick(url, instance, resources, cursor=None):
    with counted(url) as statements:
        result = _tick(instance, resources, cursor)
    queries = [s for s in statements if not _is_setup(s)]
    assert len(queries) <= QUERIES, queries
    assert len(statements) - len(queries) <= SETUP, statements
    return result, len(statements)


def _complete_mockups(engine: Engine, user_ids: list[str], design_ids: list[str], every: int) -> int:
    """Mark every ``every``-th design's mockups completed (design i belongs to user i % users, as
    :func:`bulk_insert_designs` makes them, in collection i % 3); returns the mockups written."""
    from haven_pipelines.domain.scenes import COLLECTIONS

    rows = []
    for i in range(0, len(design_ids), every):
        for scene in scenes_for_collection(COLLECTIONS[i % 3]):
            rows.append({"id": new_id(), "user_id": user_ids[i % len(user_ids)], "asset_id": design_ids[i],
                         "scene": scene, "status": "completed", "scene_config": {}})
    with engine.begin() as conn:
        conn.execute(insert(mockups), rows)
    return len(rows)


def test_a_tick_issues_the_same_few_statements_for_100_and_1000_designs(db_url, instance, tmp_path):
    """100 designs of 10 users, then 1,000 of 40 users with mockups already made: the same count."""
    engine = create_engine(db_url)
    try:
        users_small, designs_small = bulk_insert_designs(engine, 100, 10)
        resources = build_resources(AppDb(db_url, str(tmp_path / "data")).haven())
        small, small_count = _counted_tick(db_url, instance, resources)
        keys_small = [load_design_key(i, a) for i, a in enumerate(designs_small)]
        assert len(small.run_requests) == 10 and small.dynamic_partitions_requests[0].partition_keys == keys_small
        assert keys_small[0] == f"quote-0-{designs_small[0].replace('-', '')[:8]}"

        users_big, designs_big = bulk_insert_designs(engine, 900, 30, email_prefix="more")
        _complete_mockups(engine, users_big, designs_big, every=3)
    finally:
        engine.dispose()
    instance.add_dynamic_partitions("designs", keys_small)
    big_first, big_first_count = _counted_tick(db_url, instance, resources)
    big_later, big_later_count = _counted_tick(db_url, instance, resources, cursor=small.cursor)

    # The page is one of 100 designs each time, of more and more owners: the count does not move.
    assert len(big_later.dynamic_partitions_requests[0].partition_keys) == DESIGNS_PER_TICK
    assert len({r.tags["haven/user"] for r in big_later.run_requests}) > 10
    assert small_count == big_first_count == big_later_count
    assert small_count <= STATEMENTS


def test_the_statement_count_does_not_grow_with_users_over_budget(db_url, instance, tmp_path):
    """Budget gating reads every owner's budget at once: users refused and users granted alike."""
    db = AppDb(db_url, str(tmp_path / "data"))
    engine = create_engine(db_url)
    try:
        user_ids, _ = bulk_insert_designs(engine, 1000, 50)
        from sqlalchemy import update

        from haven_pipelines.db.tables import user_settings

        # Half the users cannot pay for their first design's three renders.
        with engine.begin() as conn:
            conn.execute(update(user_settings).where(user_settings.c.user_id.in_(user_ids[::2]))
                         .values(annual_mockup_budget=2))
    finally:
        engine.dispose()
    result, count = _counted_tick(db_url, instance, build_resources(paid_haven(db)))
    granted = {r.tags["haven/user"] for r in result.run_requests}
    assert granted == set(user_ids[1::2])
    assert result.skip_message is None or "not requested" in result.skip_message
    assert count <= STATEMENTS
