"""Approvals of definite content: a supervised shop converges, decisions stick until the content a
customer would see changes, and the shop keeps the approved version meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.tables import approval_items, mockups, products, shopify_outbox
from haven_pipelines.domain.errors import Conflict
from haven_pipelines.services.approvals import apply_design_decisions, decide
from haven_pipelines.services.products import ProductService
from haven_pipelines.services.render import RenderService, RenderTask

SCENES = ("bedroom", "living_room")


def _items(world, type_=None, status=None):
    stmt = select(approval_items)
    if type_:
        stmt = stmt.where(approval_items.c.type == type_)
    if status:
        stmt = stmt.where(approval_items.c.status == status)
    with world.ctx.engine.connect() as conn:
        return conn.execute(stmt.order_by(approval_items.c.created_at)).mappings().all()


def _product_sets(world, product_id):
    with world.ctx.engine.connect() as conn:
        return conn.execute(
            select(shopify_outbox.c.variables).where(shopify_outbox.c.product_id == product_id,
                                                     shopify_outbox.c.operation == "ProductSet")
            .order_by(shopify_outbox.c.id)
        ).scalars().all()


def _variant_price(variables, sku_suffix):
    """The price a productSet sends for the variant whose SKU ends in ``sku_suffix`` (``8X10-UNF``)."""
    [price] = [v["price"] for v in variables["input"]["variants"] if v["sku"].endswith(f"-{sku_suffix}")]
    return price


def _status(world, product_id):
    with world.ctx.engine.connect() as conn:
        return conn.execute(select(products.c.status).where(products.c.id == product_id)).scalar_one()


def _round(world, user, design):
    """What a catalogue run does for one design: apply decisions, build, publish what may go out."""
    service = ProductService(world.ctx)
    apply_design_decisions(world.ctx.engine, user, design)
    built = service.build_for_design(user, design)
    try:
        published = service.publish(user, built.product_id, skip_unchanged=True)
    except Conflict:
        published = None
    return built, published


def test_a_supervised_shop_converges_and_an_approval_covers_definite_content(world):
    user = world.user("sup@example.com")  # supervised is the default
    design = world.design(user)
    RenderService(world.ctx).render_batch(user, [RenderTask(design, s) for s in SCENES])
    mockup_items = _items(world, "mockup", "pending")
    assert len(mockup_items) == 2 and all(len(i["content_digest"]) == 64 for i in mockup_items)

    # Mockups undecided: the product is a draft, not up for review, and nothing is published.
    built, published = _round(world, user, design)
    assert built.status == "draft" and built.approval_item_id is None and published is None
    assert _items(world, "product") == []

    for item in mockup_items:
        decide(world.ctx.engine, user, item["id"], "approved")
    built, published = _round(world, user, design)
    [product_item] = _items(world, "product")
    assert built.status == "awaiting_approval" and built.approval_item_id == product_item["id"]
    assert product_item["status"] == "pending" and product_item["payload"]["changes"] == ["new"]
    assert len(product_item["payload"]["content"]["images"]) == 3  # the design and both approved mockups
    assert product_item["payload"]["contentDigest"] == product_item["content_digest"]
    assert published is None and _product_sets(world, built.product_id) == []

    decide(world.ctx.engine, user, product_item["id"], "approved")
    built, published = _round(world, user, design)
    assert built.status == "approved" and published is not None and not published.unchanged
    [first_set] = _product_sets(world, built.product_id)

    # A second round changes nothing: no new approval, no new outbox entry.
    built, published = _round(world, user, design)
    assert published.unchanged and built.status == "approved"
    assert _product_sets(world, built.product_id) == [first_set]
    [same_item] = _items(world, "product")
    assert same_item["status"] == "approved" and same_item["content_digest"] == product_item["content_digest"]
    assert len(_items(world)) == 3

    # A price override changes what a customer sees: the approval reopens naming the prices, and the
    # shop keeps the approved price until a person approves the new one.
    with world.ctx.engine.begin() as conn:
        PricingStore(conn, user).set_override("8x10", "27.50", "52.00", "11.00", "8.00")
    built, published = _round(world, user, design)
    [reopened] = _items(world, "product")
    assert reopened["id"] == product_item["id"] and reopened["status"] == "pending"
    assert reopened["payload"]["changes"] == ["prices"]
    assert reopened["payload"]["previousDecision"] == "approved"
    assert published is None and _product_sets(world, built.product_id) == [first_set]
    assert _variant_price(first_set, "8X10-UNF") == "24.99"
    with pytest.raises(Conflict, match=r"changes \(prices\) are waiting for approval"):
        ProductService(world.ctx).publish(user, built.product_id)

    decide(world.ctx.engine, user, reopened["id"], "approved")
    built, published = _round(world, user, design)
    sets = _product_sets(world, built.product_id)
    assert published is not None and len(sets) == 2 and _variant_price(sets[-1], "8X10-UNF") == "27.50"


def test_a_mockup_rendered_again_keeps_its_decision_only_for_the_same_picture(world):
    user = world.user("pics@example.com")
    design = world.design(user)
    service = RenderService(world.ctx)
    service.render_batch(user, [RenderTask(design, "bedroom")])
    [item] = _items(world, "mockup")
    decide(world.ctx.engine, user, item["id"], "approved")

    # The local renderer draws the same bytes again: the approval stands and the mockup is approved.
    again = service.render_batch(user, [RenderTask(design, "bedroom")], regenerate=True)
    assert again.outcomes[0].status == "approved"
    [kept] = _items(world, "mockup")
    assert (kept["status"], kept["content_digest"]) == ("approved", item["content_digest"])
    assert kept["decided_at"] is not None

    # A different picture (the design's artwork changed) reopens the item, naming the image.
    with world.ctx.engine.begin() as conn:
        conn.execute(update(approval_items).where(approval_items.c.id == item["id"]).values(content_digest="0" * 64))
    changed = service.render_batch(user, [RenderTask(design, "bedroom")], regenerate=True)
    assert changed.outcomes[0].status == "completed"
    [reopened] = _items(world, "mockup")
    assert reopened["status"] == "pending" and reopened["payload"]["changes"] == ["image"]
    assert reopened["content_digest"] == item["content_digest"]
    with world.ctx.engine.connect() as conn:
        assert conn.execute(select(mockups.c.status)).scalar_one() == "completed"


def test_assisted_mode_approves_mockups_and_reviews_products(world):
    user = world.user("assist@example.com", global_mode="assisted")
    design = world.design(user)
    RenderService(world.ctx).render_batch(user, [RenderTask(design, s) for s in SCENES])
    assert _items(world, "mockup") == []
    built, published = _round(world, user, design)
    assert built.status == "awaiting_approval" and published is None
    decide(world.ctx.engine, user, built.approval_item_id, "approved")
    built, published = _round(world, user, design)
    assert published is not None and not published.unchanged


def test_autopilot_publishes_without_review_and_only_when_content_changes(world):
    user = world.user("auto@example.com", global_mode="autopilot")
    design = world.design(user)
    RenderService(world.ctx).render_batch(user, [RenderTask(design, s) for s in SCENES])
    built, published = _round(world, user, design)
    assert built.status == "approved" and published is not None and not published.unchanged
    _built, again = _round(world, user, design)
    assert again.unchanged
    with world.ctx.engine.begin() as conn:
        PricingStore(conn, user).set_override("8x10", "27.50", "52.00", "11.00", "8.00")
    _built, repriced = _round(world, user, design)
    assert not repriced.unchanged and _items(world) == []
    sets = _product_sets(world, built.product_id)
    assert len(sets) == 2 and _variant_price(sets[-1], "8X10-UNF") == "27.50"


def test_a_decision_on_content_the_reviewer_did_not_see_is_refused(world):
    user = world.user("race@example.com", global_mode="assisted")
    design = world.design(user)
    RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom")])
    built, _ = _round(world, user, design)
    with pytest.raises(Conflict, match="other content"):
        decide(world.ctx.engine, user, built.approval_item_id, "approved", content_digest="f" * 64)
    [item] = _items(world, "product")
    facts = decide(world.ctx.engine, user, item["id"], "approved", content_digest=item["content_digest"])
    assert facts["status"] == "approved" and _status(world, built.product_id) == "approved"


def test_retire_reason_defaults_to_manual(world):
    user = world.user("retire@example.com", global_mode="autopilot")
    design = world.design(user)
    built, _ = _round(world, user, design)
    assert ProductService(world.ctx).retire(user, built.product_id).status == "retired"
    with world.ctx.engine.connect() as conn:
        assert conn.execute(select(products.c.retire_reason)).scalar_one() == "manual"
        assert conn.execute(select(func.count()).select_from(approval_items)).scalar_one() == 0
