"""The render service: charges, idempotency, routing, refusals and failures, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.tables import approval_items, mockup_credit_usage, mockups, retry_queue
from haven_pipelines.domain.errors import BudgetExceeded, NotFound, ValidationError
from haven_pipelines.services.approvals import decide
from haven_pipelines.services.render import RenderService, RenderTask, check_budget, validate_request
from haven_pipelines.services.renderers import RenderFailure


class CountingRenderer:
    """A one-credit renderer that wraps the local one and can be told to fail."""

    name = "counting"
    credits_per_render = 1
    needs_public_artwork_url = False
    max_workers = 2
    batch_size = 1

    def __init__(self, inner, fail_scenes=()):
        self.inner = inner
        self.fail_scenes = set(fail_scenes)
        self.calls = 0

    def render_many(self, jobs):
        self.calls += len(jobs)
        ok = [j for j in jobs if j.scene_key not in self.fail_scenes]
        done = iter(self.inner.render_many(ok))
        return [RenderFailure("boom: remote 500") if j.scene_key in self.fail_scenes else next(done) for j in jobs]


def _count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_autopilot_renders_approves_and_is_idempotent(world):
    user = world.user("a@example.com", global_mode="autopilot")
    design = world.design(user)
    service = RenderService(world.ctx)
    first = service.render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "living_room")])
    assert [o.status for o in first.outcomes] == ["approved", "approved"]
    assert first.rendered == 2 and first.credits_charged == 0  # the local renderer is free
    for outcome in first.outcomes:
        key = outcome.url.split("/images/", 1)[1]
        assert world.ctx.blob_store.exists(key)
    # Recorded in the ledger all the same, with the renderer named.
    assert _count(world.ctx.engine, mockup_credit_usage, mockup_credit_usage.c.renderer == "local") == 2
    again = service.render_batch(user, [RenderTask(design, "bedroom")])
    assert again.outcomes[0].status == "skipped" and again.rendered == 0
    assert _count(world.ctx.engine, mockup_credit_usage) == 2


def test_supervised_mode_queues_for_approval_with_source_payload(world):
    user = world.user("b@example.com")
    design = world.design(user, collection="growth")
    result = RenderService(world.ctx).render_batch(user, [RenderTask(design, "home_office")])
    outcome = result.outcomes[0]
    assert outcome.status == "completed" and outcome.approval_item_id
    with world.ctx.engine.connect() as conn:
        item = conn.execute(select(approval_items).where(approval_items.c.id == outcome.approval_item_id)).mappings().one()
    assert item["type"] == "mockup" and item["collection"] == "growth"
    assert item["payload"]["scene"] == "home_office" and item["payload"]["quoteText"] == "Rest is a form of courage"
    assert item["payload"]["mockupUrl"] == outcome.url


def test_charged_renders_commit_and_regeneration_is_charged(world):
    user = world.user("c@example.com", global_mode="autopilot")
    design = world.design(user)
    world.ctx.renderer = CountingRenderer(world.ctx.renderer)
    service = RenderService(world.ctx)
    service.render_batch(user, [RenderTask(design, "bedroom")])
    service.render_batch(user, [RenderTask(design, "bedroom")], regenerate=True)
    usage = world.ctx.ledger.usage(user)
    assert usage.used_this_year == 2
    with world.ctx.engine.connect() as conn:
        ops = conn.execute(select(mockup_credit_usage.c.operation).order_by(mockup_credit_usage.c.seq)).scalars().all()
        credits_used = conn.execute(select(mockups.c.credits_used)).scalar_one()
    assert ops == ["generation", "regeneration"] and credits_used == 2
    assert world.ctx.ledger.check_chain(user, usage.year) == []


def test_a_rejected_mockup_is_not_rendered_again_unless_regeneration_is_asked(world):
    user = world.user("r@example.com")
    design = world.design(user)
    world.ctx.renderer = CountingRenderer(world.ctx.renderer)
    service = RenderService(world.ctx)
    first = service.render_batch(user, [RenderTask(design, "bedroom")])
    decide(world.ctx.engine, user, first.outcomes[0].approval_item_id, "rejected", "too dark")
    again = service.render_batch(user, [RenderTask(design, "bedroom")])
    assert again.outcomes[0].status == "skipped" and again.rendered == 0
    assert world.ctx.renderer.calls == 1 and world.ctx.ledger.usage(user).used_this_year == 1
    regenerated = service.render_batch(user, [RenderTask(design, "bedroom")], regenerate=True)
    assert regenerated.rendered == 1 and world.ctx.renderer.calls == 2
    assert world.ctx.ledger.usage(user).used_this_year == 2


def test_failed_render_is_refunded_marked_and_queued(world):
    user = world.user("d@example.com", global_mode="autopilot")
    design = world.design(user)
    world.ctx.renderer = CountingRenderer(world.ctx.renderer, fail_scenes={"reading_nook"})
    result = RenderService(world.ctx).render_batch(user, [RenderTask(design, "reading_nook"), RenderTask(design, "bedroom")])
    assert [o.status for o in result.outcomes] == ["failed", "approved"]
    assert "boom" in result.outcomes[0].error
    assert world.ctx.ledger.usage(user).used_this_year == 1  # the failure gave its credit back
    with world.ctx.engine.connect() as conn:
        failed = conn.execute(select(mockups).where(mockups.c.scene == "reading_nook")).mappings().one()
    assert failed["status"] == "failed" and "boom" in failed["error_message"] and failed["credits_used"] == 0
    assert _count(world.ctx.engine, retry_queue, retry_queue.c.entity_id == failed["id"]) == 1


def test_budget_refuses_without_charging(world):
    user = world.user("e@example.com", global_mode="autopilot", annual_mockup_budget=1)
    design = world.design(user)
    world.ctx.renderer = CountingRenderer(world.ctx.renderer)
    result = RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "living_room")])
    statuses = sorted(o.status for o in result.outcomes)
    assert statuses == ["approved", "refused"]
    refused = next(o for o in result.outcomes if o.status == "refused")
    assert "0 of 1 remaining" in refused.error
    assert world.ctx.ledger.usage(user).used_this_year == 1
    with pytest.raises(BudgetExceeded, match="requested 3 credit"):
        check_budget(world.ctx.ledger, user, 3, 1)


def test_bad_input_is_refused_before_anything_is_written(world):
    owner = world.user("f@example.com")
    other = world.user("g@example.com")
    design = world.design(owner)
    pending = world.design(owner, approved=False)
    service = RenderService(world.ctx)
    with pytest.raises(NotFound):
        service.render_batch(other, [RenderTask(design, "bedroom")])
    with pytest.raises(ValidationError, match="not approved"):
        service.render_batch(owner, [RenderTask(pending, "bedroom")])
    with pytest.raises(ValidationError, match="unknown scene 'attic'"):
        service.render_batch(owner, [RenderTask(design, "bedroom"), RenderTask(design, "attic")])
    assert _count(world.ctx.engine, mockups) == 0
    assert _count(world.ctx.engine, mockup_credit_usage) == 0


@pytest.mark.parametrize("assets,scenes,field", [([], ["bedroom"], "asset_ids"), (["a"] * 1, [], "scenes"),
                                                 ([f"a{i}" for i in range(21)], ["bedroom"], "asset_ids"),
                                                 (["a"], ["s1", "s2", "s3", "s4", "s5", "s6"], "scenes")])
def test_request_limits(assets, scenes, field):
    with pytest.raises(ValidationError) as err:
        validate_request(assets, scenes)
    assert err.value.field == field


def test_render_count_counts_each_paid_render_once(world):
    user = world.user("h@example.com", global_mode="autopilot")
    design = world.design(user)
    service = RenderService(world.ctx)
    service.render_batch(user, [RenderTask(design, "bedroom")])
    service.render_batch(user, [RenderTask(design, "bedroom")], regenerate=True)
    with world.ctx.engine.connect() as conn:
        assert conn.execute(select(mockups.c.render_count)).scalar_one() == 2


def test_each_design_is_fetched_and_decoded_once_per_batch(world, monkeypatch):
    user = world.user("once@example.com", global_mode="autopilot")
    designs = [world.design(user), world.design(user, collection="growth")]
    renderer = world.ctx.renderer._renderer  # the LocalRenderer behind the adapter
    loads, fetches = [], []
    real_load, real_get = renderer.load, world.ctx.blob_store.get

    def counting_load(data, scenes, **kw):
        loads.append(sorted(s.key for s in scenes))
        return real_load(data, scenes, **kw)

    def counting_get(key):
        fetches.append(key)
        return real_get(key)

    monkeypatch.setattr(renderer, "load", counting_load)
    monkeypatch.setattr(world.ctx.blob_store, "get", counting_get)
    scenes = ["bedroom", "living_room", "home_office"]
    result = RenderService(world.ctx).render_batch(user, [RenderTask(d, s) for d in designs for s in scenes])
    assert result.rendered == 6
    assert len(fetches) == 2 and len(set(fetches)) == 2
    # One decode per design, sized for every scene the batch renders it into.
    assert loads == [sorted(scenes)] * 2
    assert set(result.timings) >= {"fetch", "decode", "colour", "composite", "encode", "thumbnail", "store", "database", "ledger"}


def test_a_design_that_does_not_decode_fails_each_of_its_renders(world):
    user = world.user("bad-art@example.com", global_mode="autopilot")
    design = world.design(user, data=b"\x89PNG\r\n\x1a\n not really")
    result = RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "reading_nook")])
    assert [o.status for o in result.outcomes] == ["failed", "failed"]
    assert all("artwork" in (o.error or "") for o in result.outcomes)
    assert _count(world.ctx.engine, retry_queue) == 2
