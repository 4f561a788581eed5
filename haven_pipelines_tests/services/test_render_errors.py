"""Errors in the right place: the outside world's failures are refunded and retried, bugs fail the run.

Every case checks the credits: a failure, of either kind, holds no credit afterwards (no open
reservation, nothing used) and the ledger chain stays whole.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.tables import activity_log, credit_reservations, mockups, retry_queue
from haven_pipelines.domain.errors import Conflict
from haven_pipelines.integrations.blobstore import BlobStoreError, LocalBlobStore
from haven_pipelines.integrations.dynamic_mockups.errors import ServerError
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines.services.retries import run_due_retries


class ScriptedRenderer:
    """A one-credit renderer over the local one; ``raises`` is thrown by ``render_many`` instead."""

    name = "scripted"
    credits_per_render = 1
    needs_public_artwork_url = False
    max_workers = 1  # one chunk at a time: the order of the batch is the order of the calls
    batch_size = 1

    def __init__(self, inner, raises: Exception | None = None, results: int | None = None):
        self.inner = inner
        self.raises = raises
        self.results = results  # hand back this many results instead of one per job (a broken renderer)
        self.calls = 0

    def render_many(self, jobs):
        self.calls += 1
        if self.raises is not None:
            raise self.raises
        out = self.inner.render_many(jobs)
        return out if self.results is None else (out * (self.results + 1))[: self.results]


class PutRaises(LocalBlobStore):
    """The local store, except that storing a mockup raises ``error`` (reading designs still works)."""

    def __init__(self, root, error: Exception):
        super().__init__(root)
        self.error = error

    def put(self, key, data, content_type):
        if key.startswith("mockups/"):
            raise self.error
        return super().put(key, data, content_type)


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _assert_nothing_held(world, user) -> None:
    """No credit used or held, and the ledger chain whole."""
    ledger = world.ctx.ledger
    usage = ledger.usage(user)
    assert usage.used_this_year == 0
    assert _count(world.ctx.engine, credit_reservations, credit_reservations.c.status == "open") == 0
    assert ledger.check_chain(user, usage.year) == []


def _mockup(world, scene):
    with world.ctx.engine.connect() as conn:
        return conn.execute(select(mockups).where(mockups.c.scene == scene)).mappings().one_or_none()


def _fail_renderer(world, error):
    world.ctx.renderer = ScriptedRenderer(world.ctx.renderer, raises=error)


def _fail_store(world, error):
    world.ctx.renderer = ScriptedRenderer(world.ctx.renderer)
    world.ctx.blob_store = PutRaises(world.ctx.blob_store.root, error)


@pytest.mark.parametrize(
    ("inject", "error", "message"),
    [
        (_fail_renderer, ServerError("POST /renders/batch answered 503 after 4 attempts", status=503), "503"),
        (_fail_renderer, ConnectionResetError(104, "Connection reset by peer"), "ConnectionResetError"),
        (_fail_store, OSError(28, "No space left on device"), "No space left"),
        (_fail_store, BlobStoreError("S3 put of 'mockups/x' failed (connection refused)"), "S3 put"),
    ],
    ids=["renderer-server-error", "renderer-oserror", "store-disk-full", "store-s3-error"],
)
def test_outside_world_error_is_a_refunded_failure_queued_for_retry(world, inject, error, message):
    user = world.user("outside@example.com", global_mode="autopilot")
    design = world.design(user)
    inject(world, error)
    result = RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom")])
    assert [o.status for o in result.outcomes] == ["failed"]
    assert message in result.outcomes[0].error
    row = _mockup(world, "bedroom")
    assert row["status"] == "failed" and message in row["error_message"] and row["credits_used"] == 0
    assert _count(world.ctx.engine, retry_queue, retry_queue.c.entity_id == row["id"]) == 1
    _assert_nothing_held(world, user)


@pytest.mark.parametrize(
    ("inject", "error"),
    [
        (_fail_renderer, TypeError("render_many() got an unexpected keyword argument 'size'")),
        (_fail_renderer, AttributeError("'NoneType' object has no attribute 'width'")),
        (_fail_store, AttributeError("'StoredBlob' object has no attribute 'uri'")),
    ],
    ids=["renderer-typeerror", "renderer-attributeerror", "after-render-attributeerror"],
)
def test_a_bug_fails_the_run_refunded_and_not_queued(world, inject, error):
    user = world.user("bug@example.com", global_mode="autopilot")
    design = world.design(user)
    inject(world, error)
    renderer = world.ctx.renderer
    with pytest.raises(type(error)) as raised:
        RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "living_room")])
    assert raised.value is error  # the bug itself, not a wrapped or converted error
    # The interrupted render is refunded and marked failed, not queued: a bug would only fail again.
    row = _mockup(world, "bedroom")
    assert row["status"] == "failed" and row["error_message"].startswith(f"internal error: {type(error).__name__}")
    assert _count(world.ctx.engine, retry_queue) == 0
    # The batch stopped: the second render was never started, reserved or recorded.
    assert renderer.calls == 1 and _mockup(world, "living_room") is None
    assert _count(world.ctx.engine, credit_reservations) == 1
    _assert_nothing_held(world, user)
    with world.ctx.engine.connect() as conn:
        logged = conn.execute(select(activity_log.c.details).where(activity_log.c.action == "mockup.failed")).scalars().all()
    assert [d["retry"] for d in logged] == [False]


def test_a_renderer_breaking_its_contract_is_a_bug(world):
    """One result for two jobs: refunded and raised, never guessed at."""
    user = world.user("contract@example.com", global_mode="autopilot")
    design = world.design(user)
    world.ctx.renderer = ScriptedRenderer(world.ctx.renderer, results=1)
    world.ctx.renderer.batch_size = 2
    with pytest.raises(RuntimeError, match="returned 1 results for 2 jobs"):
        RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "living_room")])
    assert _count(world.ctx.engine, mockups, mockups.c.status == "failed") == 2
    assert _count(world.ctx.engine, retry_queue) == 0
    _assert_nothing_held(world, user)


@pytest.mark.parametrize("error", [Conflict("mockup is being rendered by another run"), TypeError("start() missing 1 argument")],
                         ids=["outside-world", "bug"])
def test_a_start_that_raises_after_the_reservation_is_refunded_at_once(world, monkeypatch, error):
    user = world.user("start@example.com", global_mode="autopilot")
    design = world.design(user)
    world.ctx.renderer = ScriptedRenderer(world.ctx.renderer)

    def start(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(MockupStore, "start", start)
    service = RenderService(world.ctx)
    tasks = [RenderTask(design, "bedroom")]
    if isinstance(error, TypeError):
        with pytest.raises(TypeError):
            service.render_batch(user, tasks)
    else:
        result = service.render_batch(user, tasks)
        assert [o.status for o in result.outcomes] == ["failed"] and "another run" in result.outcomes[0].error
    # Refunded now, not when the sweeper runs; the refund says why.
    with world.ctx.engine.connect() as conn:
        reservation = conn.execute(select(credit_reservations)).mappings().one()
    assert reservation["status"] == "refunded" and reservation["close_reason"].startswith("render not started")
    assert world.ctx.renderer.calls == 0 and _count(world.ctx.engine, mockups) == 0
    _assert_nothing_held(world, user)


def test_retry_pass_lets_a_bug_through_and_records_a_bad_payload(world):
    user = world.user("retry@example.com", global_mode="autopilot")
    design = world.design(user)
    world.ctx.renderer = ScriptedRenderer(world.ctx.renderer, raises=ServerError("503", status=503))
    failed = RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom")]).outcomes[0]
    later = datetime.now(UTC) + timedelta(hours=1)
    # A KeyError from inside the render service is a bug, not a failed retry: the pass fails.
    world.ctx.renderer.raises = KeyError("scene_config")
    with pytest.raises(KeyError, match="scene_config"):
        run_due_retries(world.ctx, now=later)
    _assert_nothing_held(world, user)
    # A payload without its scene is a bad entry: recorded as a failed attempt, naming what is missing.
    with world.ctx.engine.begin() as conn:
        RetryStore(conn, user).enqueue("render_mockup", design, {"asset_id": design}, "lost its scene")
    world.ctx.renderer.raises = None
    summary = run_due_retries(world.ctx, now=later)
    assert (summary.retried, summary.succeeded, summary.failed) == (2, 1, 1)
    with world.ctx.engine.connect() as conn:
        bad = conn.execute(select(retry_queue).where(retry_queue.c.entity_id == design)).mappings().one()
    assert bad["last_error"] == "retry payload lacks scene"
    row = _mockup(world, "bedroom")
    assert row["id"] == failed.mockup_id and row["status"] == "approved"
