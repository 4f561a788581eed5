"""The product service: build from the catalogue, publish in dry run, retire, manual create."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.tables import approval_items, product_variants, products, shopify_outbox
from haven_pipelines.domain.errors import Conflict, ValidationError
from haven_pipelines.integrations.shopify.documents import PRODUCT_SET
from haven_pipelines.integrations.shopify.schema import validate_document
from haven_pipelines.services.products import ProductService
from haven_pipelines.services.render import RenderService, RenderTask


def _rendered_design(world, user):
    design = world.design(user)
    RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "living_room")],
                                          skip_approval=True)
    return design


def test_build_twice_updates_the_same_product(world):
    user = world.user("p1@example.com", global_mode="autopilot")
    design = _rendered_design(world, user)
    service = ProductService(world.ctx)
    first = service.build_for_design(user, design)
    second = service.build_for_design(user, design)
    assert first.created and not second.created and first.product_id == second.product_id
    assert first.variant_count == 21 and first.image_count == 3  # design + two approved mockups
    with world.ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(products)).scalar_one() == 1
        skus = conn.execute(select(product_variants.c.sku)).scalars().all()
    assert len(skus) == len(set(skus)) == 21
    assert all(s.startswith(f"HH-{first.product_id[:8].upper()}-") for s in skus)


def test_a_build_with_nothing_changed_writes_nothing_and_says_so(world):
    # The nightly builds every approved design's product: one whose content is as stored is left
    # untouched (same variant rows), and a new approved mockup changes it again.
    user = world.user("p1b@example.com", global_mode="autopilot")
    design = _rendered_design(world, user)
    service = ProductService(world.ctx)
    first = service.build_for_design(user, design)
    with world.ctx.engine.connect() as conn:
        ids = set(conn.execute(select(product_variants.c.id)).scalars())
    again = service.build_for_design(user, design)
    with world.ctx.engine.connect() as conn:
        assert set(conn.execute(select(product_variants.c.id)).scalars()) == ids
    assert first.changed and not again.changed and again.status == first.status
    RenderService(world.ctx).render_batch(user, [RenderTask(design, "reading_nook")], skip_approval=True)
    grown = service.build_for_design(user, design)
    assert grown.changed and grown.image_count == 4


def test_dry_run_publish_records_a_schema_valid_product_set(world):
    user = world.user("p2@example.com", global_mode="autopilot")
    design = _rendered_design(world, user)
    service = ProductService(world.ctx)
    built = service.build_for_design(user, design)
    result = service.publish(user, built.product_id)
    assert result.dry_run and result.variant_count == 21 and result.shopify_gid is None and result.outbox_ids
    with world.ctx.engine.connect() as conn:
        rows = conn.execute(select(shopify_outbox).where(shopify_outbox.c.product_id == built.product_id)).mappings().all()
        product = conn.execute(select(products).where(products.c.id == built.product_id)).mappings().one()
    ops = [r["operation"] for r in rows]
    assert "ProductSet" in ops
    product_set = next(r for r in rows if r["operation"] == "ProductSet")
    assert validate_document(PRODUCT_SET, product_set["variables"]) == []
    assert product_set["variables"]["identifier"] == {"handle": product["handle"]}
    assert len(product_set["variables"]["input"]["variants"]) == 21
    # A dry run stores no synthetic Shopify id: a later live publish must upsert by handle. Nothing
    # went live, so the product stays "approved" (autopilot), not "active".
    assert product["status"] == "approved" and product["shopify_product_gid"] is None


def test_supervised_product_waits_for_approval(world):
    user = world.user("p3@example.com")
    design = _rendered_design(world, user)
    service = ProductService(world.ctx)
    built = service.build_for_design(user, design)
    assert built.approval_item_id
    with pytest.raises(Conflict, match="waiting for approval"):
        service.publish(user, built.product_id)
    from haven_pipelines.services.approvals import decide

    facts = decide(world.ctx.engine, user, built.approval_item_id, "approved")
    assert facts["asset_id"] == design and facts["type"] == "product"
    assert service.publish(user, built.product_id).dry_run
    with world.ctx.engine.connect() as conn:
        assert conn.execute(select(approval_items.c.status).where(approval_items.c.id == built.approval_item_id)).scalar_one() == "approved"


def test_retire_archives_and_blocks_publishing(world):
    user = world.user("p4@example.com", global_mode="autopilot")
    design = _rendered_design(world, user)
    service = ProductService(world.ctx)
    built = service.build_for_design(user, design)
    service.publish(user, built.product_id)
    with pytest.raises(ValidationError, match="reason"):
        service.retire(user, built.product_id, "bored")
    retired = service.retire(user, built.product_id, "seasonal")
    assert retired.status == "retired"
    with world.ctx.engine.connect() as conn:
        row = conn.execute(select(products).where(products.c.id == built.product_id)).mappings().one()
    assert row["status"] == "retired" and row["retire_reason"] == "seasonal" and row["retired_at"] is not None
    with pytest.raises(Conflict, match="retired"):
        service.publish(user, built.product_id)


def test_manual_create_takes_only_own_images(world):
    owner = world.user("p5@example.com", global_mode="autopilot")
    other = world.user("p6@example.com")
    design = world.design(owner)
    service = ProductService(world.ctx)
    created = service.create(owner, {"title": "Calm print", "variants": [{"size": "8x10"}, {"size": "11x14", "frame_style": "black"}],
                                     "images": [{"asset_id": design}]})
    detail = service.product_for_design(owner, design)
    assert detail is None  # a manual product is not the design's catalogue product
    with world.ctx.engine.connect() as conn:
        prices = sorted(conn.execute(select(product_variants.c.price).where(product_variants.c.product_id == created.product_id)).scalars())
    assert [str(p) for p in prices] == ["24.99", "69.99"]
    with pytest.raises(ValidationError) as err:
        service.create(other, {"title": "Theft", "variants": [{"size": "8x10"}], "images": [{"asset_id": design}]})
    assert err.value.field == "images[0]"
