"""A render issues a small, fixed number of SQL statements per mockup (issue 14), on SQLite and on
PostgreSQL, and a batch reads its designs, scenes, mockups and settings once, whatever its size.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event. On PostgreSQL the credit
reservation is one call of ``haven_reserve_credits`` sent through the driver (not through
SQLAlchemy, see ``CreditLedger._call_reserve``), so the test counts those calls as statements too.
The counts are pinned: a change that adds a query per mockup fails here and has to say why.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines_tests.services.conftest import png_bytes

SCENES = ["bedroom", "therapy_office", "living_room", "reading_nook", "home_office"]

# Per mockup, on both backends (autopilot, so each finished mockup is approved at once):
#   reserve: the budget, the reservation row, the charge, the ledger row, the month's total
#            (SQLite; PostgreSQL runs all of it in one server function call);
#   start:   the mockup row (INSERT ... RETURNING);
#   finish:  complete the mockup, close the reservation, add its credits to the mockup, name the
#            mockup on the ledger row, approve it, log the activity.
# Each of the three runs in its own transaction: SQLite adds its BEGIN IMMEDIATE to each, PostgreSQL
# the user's row-level-security scope (``set_config('haven.user_id', ...)``) once per transaction
# to the two that are not the server function (which sets its own).
PER_MOCKUP = {"sqlite": 5 + 1 + 6 + 3, "postgresql": 1 + 1 + 6 + 2}
# Per batch, whatever its size: the batch's reads (designs, scenes, mockups, settings) and the usage
# at the end (with their BEGINs or scopes).
PER_BATCH_MAX = 12


@contextmanager
def counted(world) -> Iterator[list[str]]:
    """Collect the SQL text of every statement the world's engine sends while inside."""
    seen: list[str] = []
    engine = world.ctx.engine

    def _count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    ledger = world.ctx.ledger
    call_reserve = getattr(ledger, "_call_reserve", None)

    def counting_reserve(params):
        seen.append("SELECT ... haven_reserve_credits(...)")
        return call_reserve(params)

    event.listen(engine, "before_cursor_execute", _count)
    if call_reserve is not None:
        ledger._call_reserve = counting_reserve
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _count)
        if call_reserve is not None:
            del ledger._call_reserve


def _render(world, user: str, designs: int) -> list[str]:
    ids = [world.design(user, data=png_bytes(color=(40 * i % 255, 90, 120))) for i in range(designs)]
    tasks = [RenderTask(a, s) for a in ids for s in SCENES]
    with counted(world) as statements:
        result = RenderService(world.ctx).render_batch(user, tasks)
    assert result.rendered == len(tasks), [o.error for o in result.outcomes if o.error]
    return statements


def _shape(statements: list[str]) -> Counter:
    return Counter(re.sub(r"\s+", " ", s)[:60] for s in statements)


def test_statements_per_mockup_are_pinned(world):
    """One design more (five mockups) costs exactly five times the per-mockup statements; the
    batch's own reads do not grow with it."""
    backend = world.ctx.engine.dialect.name
    small = _render(world, world.user("small@example.com", global_mode="autopilot"), 1)
    large = _render(world, world.user("large@example.com", global_mode="autopilot"), 3)
    per_mockup = (len(large) - len(small)) / (2 * len(SCENES))
    assert per_mockup == PER_MOCKUP[backend], _shape(large)
    batch = len(small) - len(SCENES) * PER_MOCKUP[backend]
    assert 0 < batch <= PER_BATCH_MAX, _shape(small)


def test_a_batch_reads_its_rows_once(world):
    """No per-mockup read of the design, the scene, the existing mockup or the settings: each table
    is read once for the batch (the mockups' own writes return their rows)."""
    statements = _render(world, world.user("reads@example.com", global_mode="autopilot"), 2)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM" in s.upper()]
    for table in ("assets", "mockup_scene_templates", "mockups", "user_settings"):
        reads = [s for s in selects if re.search(rf"\bFROM {table}\b", s)]
        # user_settings: the batch's settings, each reservation's budget on SQLite, the usage at the end.
        limit = 1 if table != "user_settings" else 1 + (2 * len(SCENES) if world.ctx.engine.dialect.name == "sqlite" else 0) + 1
        assert len(reads) <= limit, (table, reads)


@pytest.mark.parametrize("regenerate", [False, True])
def test_a_rerun_that_renders_nothing_writes_nothing(world, regenerate):
    """A second run of the same batch finds every mockup done and only reads (or, regenerating,
    renders each again at the same per-mockup cost)."""
    user = world.user("again@example.com", global_mode="autopilot")
    first = _render(world, user, 1)
    design = world.design(user)  # a design of its own, rendered twice
    tasks = [RenderTask(design, s) for s in SCENES]
    RenderService(world.ctx).render_batch(user, tasks)
    with counted(world) as statements:
        result = RenderService(world.ctx).render_batch(user, tasks, regenerate=regenerate)
    if regenerate:
        assert result.rendered == len(SCENES)
        # A reset is an UPDATE ... RETURNING where a first render inserted: the same count.
        assert len(statements) == len(first)
    else:
        assert result.skipped == len(SCENES)
        assert not [s for s in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.IGNORECASE)]
        assert len(statements) <= PER_BATCH_MAX


def test_one_digest_names_the_stored_file_and_the_approval(world):
    """The output is hashed once: its storage key carries the first 16 digits of the SHA-256 that the
    approval item records for the picture, and both are the SHA-256 of the bytes stored."""
    import hashlib

    from haven_pipelines.db.stores.approvals import ApprovalStore
    from haven_pipelines.db.stores.mockups import MockupStore

    user = world.user("digest@example.com")  # supervised: the mockup waits for approval
    design = world.design(user)
    outcome = RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom")]).outcomes[0]
    assert outcome.status == "completed"
    with world.ctx.engine.connect() as conn:
        mockup = MockupStore(conn, user).get(outcome.mockup_id)
        item = ApprovalStore(conn, user).find_by_reference("mockup", outcome.mockup_id)
    digest = hashlib.sha256(world.ctx.blob_store.get(mockup["file_key"])).hexdigest()
    assert item["content_digest"] == digest
    assert mockup["file_key"].endswith(f"-{digest[:16]}.jpg")
