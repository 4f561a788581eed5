"""Shopify faults: ProductService against the fake Shopify with a connected shop, on PostgreSQL.

Each scenario publishes real products (built from rendered mockups) through the live client, injects
a fault in the fake (a connection dropped after the productSet committed, THROTTLED storms, 5xx, a
product deleted in the admin, userErrors on one variant), lets the system recover as it would (the
client's retries, a later re-publish, the reconcile job) and checks: no product exists twice on
Shopify, every failure is visible in ``sync_error`` (status ``pending``), nothing published is undone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.tables import products
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.context import build_context
from haven_pipelines.services.products import ProductService, PublishError
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines_tests.fakes.shopify_server import FakeShopify, Fault
from haven_pipelines_tests.reliability import faults_world as fw
from haven_pipelines_tests.reliability.invariants import assert_invariants, shopify_unique

pytestmark = pytest.mark.postgres


@dataclass
class Shop:
    """A user with built products and a connected fake shop."""

    ctx: object
    service: ProductService
    user: str
    product_ids: list[str]
    fake: FakeShopify


def _shop(pg_engine, tmp_path, monkeypatch, designs: int, **fake_kwargs) -> Iterator[Shop]:
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    blob = LocalBlobStore(tmp_path / "images")
    ctx = build_context(engine=pg_engine, blob=blob, renderer_impl=fw.small_local_renderer(), shopify_mode="live")
    user = fw.make_user(pg_engine, "shop@example.com")
    ids = fw.make_designs(pg_engine, blob, user, designs)
    RenderService(ctx).render_batch(user, [RenderTask(d, "bedroom") for d in ids])
    service = ProductService(ctx)
    product_ids = [service.build_for_design(user, d).product_id for d in ids]
    with FakeShopify(**fake_kwargs) as fake:
        with pg_engine.begin() as conn:
            IntegrationStore(conn, user).connect("shopify", fake.shop_domain, fake.token, {"base_url": fake.base_url})
        try:
            yield Shop(ctx, service, user, product_ids, fake)
        finally:
            ctx.close()


def _product(engine, product_id):
    with engine.connect() as conn:
        return conn.execute(select(products).where(products.c.id == product_id)).mappings().one()


def _check(shop: Shop) -> list[str]:
    problems = shopify_unique(p.handle for p in shop.fake.products.values())
    assert problems == [], problems
    return ["shopify_unique", *assert_invariants(shop.ctx.engine, shop.ctx.blob_store, shop.user, credits_per_render=0)]


@pytest.fixture
def shop(pg_engine, tmp_path, monkeypatch):
    """One design, rendered and built, and a connected fake shop."""
    yield from _shop(pg_engine, tmp_path, monkeypatch, 1)


def test_connection_dropped_after_product_set_committed(shop, reliability_record):
    product_id = shop.product_ids[0]
    shop.fake.drop_next(times=1)
    result = shop.service.publish(shop.user, product_id)  # the client retries the upsert by handle
    assert len(shop.fake.products) == 1 and shop.fake.operation_counts["productSet"] == 2
    again = shop.service.publish(shop.user, product_id)  # and a later re-publish is an update too
    assert again.shopify_gid == result.shopify_gid and len(shop.fake.products) == 1
    row = _product(shop.ctx.engine, product_id)
    assert row["status"] == "active" and row["shopify_product_gid"] == result.shopify_gid and not row["sync_error"]
    invariants = _check(shop)
    reliability_record("faults", "Shopify connection dropped after productSet committed",
                       "the fake executed and committed productSet, then closed the connection unanswered",
                       "the client retried the upsert by handle; a re-publish updated the same product",
                       invariants, {"publishes": 2, "product_set_calls": 3, "products_on_shopify": 1,
                                    "publishes_verified": 1, "faults_injected": 1, "lost": 0})


def test_5xx_then_recovery_by_republish(shop, reliability_record):
    product_id = shop.product_ids[0]
    shop.fake.fail_next(502, times=2, operation="productSet")
    shop.service.publish(shop.user, product_id)  # two 502s are retried within the call
    assert len(shop.fake.products) == 1
    # An outage longer than the client's retries: the publish fails visibly...
    shop.fake.fail_next(503, times=5, operation="productSet")
    with pytest.raises(PublishError, match="503"):
        shop.service.publish(shop.user, product_id)
    row = _product(shop.ctx.engine, product_id)
    assert row["status"] == "sync_error" and "503" in row["sync_error"]
    assert next(iter(shop.fake.products.values())).status == "ACTIVE"  # what was published stays published
    # ...and the next publish after recovery clears it, still one product.
    shop.service.publish(shop.user, product_id)
    row = _product(shop.ctx.engine, product_id)
    assert row["status"] == "active" and not row["sync_error"] and len(shop.fake.products) == 1
    invariants = _check(shop)
    reliability_record("faults", "Shopify 5xx during publish",
                       "2 x 502 (within the retries), then 5 x 503 (longer than the retries)",
                       "short outage absorbed by retries; long outage: PublishError, sync_error and status sync_error; "
                       "re-publish after recovery cleared it",
                       invariants, {"http_faults": 7, "publishes": 3, "products_on_shopify": 1,
                                    "publishes_verified": 1, "faults_injected": 7, "lost": 0})


def test_product_deleted_in_admin_between_syncs(shop, reliability_record):
    product_id = shop.product_ids[0]
    gid = shop.service.publish(shop.user, product_id).shopify_gid
    assert shop.fake.delete_product(gid)
    report = shop.service.reconcile(shop.user, fix=True)
    assert report.checked == 1 and [m["product_id"] for m in report.missing_on_shopify] == [product_id]
    assert shop.fake.products == {}  # reported, never silently recreated (not even with fix)
    row = _product(shop.ctx.engine, product_id)
    assert "deleted on Shopify" in row["sync_error"]
    invariants = _check(shop)
    reliability_record("faults", "Shopify product deleted in the admin between syncs",
                       "the product was deleted in the Shopify admin after it was published",
                       "reconcile (even with fix) reported it missing and set sync_error; nothing was recreated",
                       invariants, {"products_checked": report.checked, "missing_reported": len(report.missing_on_shopify),
                                    "products_recreated": 0, "faults_injected": 1, "lost": 0})


def test_user_errors_for_one_variant(shop, reliability_record):
    product_id = shop.product_ids[0]
    shop.fake.inject(Fault.user_error("Price must be greater than or equal to 0", field=["input", "variants", "3", "price"],
                                      operation="productSet"))
    with pytest.raises(PublishError, match="Price must be greater"):
        shop.service.publish(shop.user, product_id)
    row = _product(shop.ctx.engine, product_id)
    assert row["status"] == "sync_error" and "Price must be greater" in row["sync_error"]
    assert shop.fake.products == {}
    shop.service.publish(shop.user, product_id)  # fixed upstream: the next publish goes through once
    assert len(shop.fake.products) == 1 and _product(shop.ctx.engine, product_id)["status"] == "active"
    invariants = _check(shop)
    reliability_record("faults", "Shopify userErrors for one variant",
                       "productSet answered a userError on variants[3].price",
                       "PublishError naming the field's message; sync_error set, status pending, nothing created; "
                       "the next publish created exactly one product",
                       invariants, {"publishes": 2, "products_on_shopify": 1, "publishes_verified": 1,
                                    "faults_injected": 1, "lost": 0})


def test_throttled_storm(pg_engine, tmp_path, monkeypatch, reliability_record):
    # A bucket just big enough for one productSet, emptied before each publish. It refills in 2.5 s:
    # long enough that the publish's own preparation (reads, input building) cannot refill it first,
    # even on a busy machine (at 300 points/s a loaded machine refilled it before the call arrived).
    gen = _shop(pg_engine, tmp_path, monkeypatch, 4, bucket_size=150, restore_rate=60.0)
    shop = next(gen)
    try:
        gids = set()
        for product_id in shop.product_ids:
            shop.fake.set_bucket(0)
            gids.add(shop.service.publish(shop.user, product_id).shopify_gid)
        throttled = shop.fake.stats.throttled
        assert throttled >= len(shop.product_ids)
        assert len(gids) == 4 and len(shop.fake.products) == 4
        assert all(_product(pg_engine, p)["status"] == "active" for p in shop.product_ids)
        invariants = _check(shop)
    finally:
        gen.close()
    reliability_record("faults", "Shopify THROTTLED storm",
                       "a 150-point bucket emptied before each of 4 publishes",
                       "the client waited as the throttle status said and retried; all 4 published once",
                       invariants, {"publishes_verified": 4, "products_on_shopify": 4, "throttled_at_least": 4,
                                    "faults_injected": 4, "lost": 0})
