"""Dynamic Mockups faults: the real DynamicMockupsRenderer and client against the fake API on loopback.

Faults: 20 % of API calls answer 503, hangs past the client's timeout, a burst of 429s, the account's
credits running out half way (403), and exports that are garbage. Recovery is the retry queue
(``run_due_retries`` with the clock moved on). Everything on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.tables import retry_queue
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.integrations.dynamic_mockups import DownloadPolicy, DynamicMockupsClient
from haven_pipelines.integrations.http import RetryPolicy
from haven_pipelines.services.context import build_context
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines.services.renderers import DynamicMockupsRenderer
from haven_pipelines.services.retries import run_due_retries
from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups
from haven_pipelines_tests.reliability import faults_world as fw
from haven_pipelines_tests.reliability.invariants import assert_invariants, done_mockups, nothing_undone

pytestmark = pytest.mark.postgres
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, max_retry_after=0.05, jitter=False)


class PublicLocalStore(LocalBlobStore):
    """A local folder whose objects have an https URL, as a CDN in front of a bucket would give."""

    def public_url(self, key: str) -> str | None:
        """The (never fetched by the fake) CDN URL of ``key``."""
        return f"https://cdn.haven.test/{key}"


def _world(pg_engine, tmp_path, fake, designs: int, *, batch_size: int = 10, workers: int = 2):
    blob = PublicLocalStore(tmp_path / "images")
    # The fake serves exports over http on loopback: a policy only code can give admits them.
    client = DynamicMockupsClient(fake.api_key, base_url=fake.base_url, retry=FAST_RETRY, timeout=0.5,
                                  batch_timeout=0.5, max_requests_per_minute=60000,
                                  download_policy=DownloadPolicy(allow_http=True, allow_private_addresses=True))
    renderer = DynamicMockupsRenderer(client, batch_size=batch_size, workers=workers, image_size=400)
    ctx = build_context(engine=pg_engine, blob=blob, renderer_impl=renderer)
    ctx._closers.append(client.close)
    user = fw.make_user(pg_engine, "dm@example.com")
    _link_scenes(pg_engine, fake)
    ids = fw.make_designs(pg_engine, blob, user, designs)
    return ctx, user, [RenderTask(d, s) for d in ids for s in fw.SCENES]


def _link_scenes(engine, fake) -> None:
    """Give each system scene one of the fake account's templates (what ``haven scenes sync`` records)."""
    from sqlalchemy import update

    from haven_pipelines.db.tables import mockup_scene_templates as scenes

    with engine.begin() as conn:
        for scene, template in zip(fw.SCENES, fake.templates, strict=True):
            conn.execute(update(scenes).where(scenes.c.scene_key == scene, scenes.c.user_id.is_(None)).values(
                dm_mockup_uuid=template.uuid, dm_smart_object_uuid=template.smart_objects[0]["uuid"]))


def _drain_retries(ctx, passes: int = 8):
    """Run the retry pass as the sensor would, a day apart each time, until nothing is due."""
    now = datetime.now(UTC)
    summaries = []
    for i in range(1, passes + 1):
        summary = run_due_retries(ctx, now=now + timedelta(days=i))
        summaries.append(summary)
        if summary.retried == 0:
            break
    return summaries


def _pending(engine, user):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(retry_queue).where(
            retry_queue.c.user_id == user, retry_queue.c.status == "pending")).scalar_one()


def test_flaky_api_5xx_timeouts_and_429_burst(pg_engine, tmp_path, reliability_record):
    with FakeDynamicMockups(rate=None, error_rate=0.2, hang_seconds=0.8, seed=11) as fake:
        # A burst of 429s first, then hangs past the client's 0.5 s timeout among the requests.
        fake.script.extend([429] * 6 + ["hang", "ok", "hang", "ok", "ok", "hang"])
        ctx, user, tasks = _world(pg_engine, tmp_path, fake, 4, workers=1)
        try:
            first = RenderService(ctx).render_batch(user, tasks)
            # One worker keeps the seeded fault sequence in request order: the same renders fail every run.
            assert first.failed >= 1 and first.rendered + first.failed == len(tasks)
            before = done_mockups(pg_engine, user)
            fake.error_rate = 0.0  # the outage passes; the retry queue finishes the work
            summaries = _drain_retries(ctx)
            after = done_mockups(pg_engine, user)
            snap = fake.snapshot()
            assert len(after) == len(tasks) and _pending(pg_engine, user) == 0
            assert nothing_undone(before, after) == []
            invariants = assert_invariants(pg_engine, ctx.blob_store, user)
            assert ctx.ledger.usage(user).used_this_year == len(tasks)
            assert snap["sent_429"] >= 6 and snap["sent_5xx"] > 0
        finally:
            ctx.close()
    reliability_record("faults", "Dynamic Mockups 5xx, timeouts and a 429 burst",
                       "20 % random 503s, 6 x 429 in a burst, 3 hangs past the 0.5 s timeout, over 20 renders",
                       "the client retried what it could; renders that still failed were refunded, marked failed and "
                       "queued; the retry pass rendered them after the outage",
                       invariants + ["nothing_undone"],
                       {"renders_planned": len(tasks), "renders_verified": len(tasks), "credits_charged": len(tasks),
                        "faults_injected": 9, "lost": 0})

def test_credits_run_out_and_garbage_exports(pg_engine, tmp_path, reliability_record):
    with FakeDynamicMockups(rate=None, credits=10, seed=5) as fake:
        ctx, user, tasks = _world(pg_engine, tmp_path, fake, 4, batch_size=5, workers=1)
        try:
            service = RenderService(ctx)
            # Garbage exports: the first design's five renders come back as random bytes.
            fake.export_mode = "garbage"
            garbage = service.render_batch(user, tasks[:5])
            assert garbage.failed == 5 and all("export download failed" in o.error for o in garbage.outcomes)
            assert ctx.ledger.usage(user).used_this_year == 0  # all refunded
            # The account has 10 credits and paid 5 for the garbage: 5 more renders, then 403.
            fake.export_mode = "image"
            rest = service.render_batch(user, tasks[5:])
            statuses = [o.status for o in rest.outcomes]
            assert statuses[:5] == ["approved"] * 5
            assert "approved" not in statuses[5:]
            assert rest.refused >= 5 and all("credit" in (o.error or "").lower() for o in rest.outcomes[5:])
            assert ctx.ledger.usage(user).used_this_year == 5  # refused and failed renders cost nothing
            before = done_mockups(pg_engine, user)
            invariants = assert_invariants(pg_engine, ctx.blob_store, user)
            # The account is topped up; the retry queue re-renders the garbage ones; a re-run the refused ones.
            fake.credits = 100
            _drain_retries(ctx)
            service.render_batch(user, tasks)
            after = done_mockups(pg_engine, user)
            assert len(after) == len(tasks) and nothing_undone(before, after) == []
            invariants = assert_invariants(pg_engine, ctx.blob_store, user)
            assert ctx.ledger.usage(user).used_this_year == len(tasks)
            refused = rest.refused
        finally:
            ctx.close()
    reliability_record("faults", "Dynamic Mockups credits run out; garbage exports",
                       "5 exports of random bytes; the account's 10 credits ran out half way (403)",
                       "garbage exports failed (refunded, queued); after the 403 the rest of the batch was refused, "
                       "not charged; after a top-up the retry pass and a re-run finished all 20",
                       invariants + ["nothing_undone"],
                       {"renders_planned": len(tasks), "garbage_exports": 5, "refused_after_403": refused,
                        "renders_verified": len(tasks), "credits_charged": len(tasks), "faults_injected": 6, "lost": 0})
