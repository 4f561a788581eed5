"""Sending only what changed: products published to the fake Shopify through the live client.

Each product is a design and its bedroom mockup (two images, 21 variants). The fake counts every
operation it executed and every staged upload it received, so "nothing sent" is measured, not assumed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.tables import assets, product_variants, products, shopify_outbox
from haven_pipelines.domain.keys import design_key
from haven_pipelines.integrations.shopify.documents import PRODUCT_SET
from haven_pipelines.integrations.shopify.schema import validate_document
from haven_pipelines.services.products import DeletedOnShopify, ProductService
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines_tests.fakes.shopify_server import FakeShopify
from haven_pipelines_tests.services.conftest import png_bytes


@dataclass
class Catalogue:
    """A user's built products (design + bedroom mockup each) and the service."""

    world: object
    service: ProductService
    user: str
    designs: list[str]
    product_ids: list[str]

    def run(self) -> tuple[list, object]:
        """A catalogue run's publishing: every product, sending only what changed."""
        results = []
        with self.service.publishing(self.user) as session:
            for product_id in self.product_ids:
                try:
                    results.append(session.publish(product_id, skip_unchanged=True))
                except DeletedOnShopify as exc:
                    results.append(exc)
        return results, session.tally

    def detail(self, product_id: str):
        with self.world.ctx.engine.connect() as conn:
            return ProductStore(conn, self.user).get(product_id)

    def set_price(self, product_id: str, price: str) -> None:
        with self.world.ctx.engine.begin() as conn:
            conn.execute(update(product_variants).where(product_variants.c.product_id == product_id)
                         .values(price=Decimal(price)))


def _catalogue(world, designs: int = 2) -> Catalogue:
    user = world.user("shop@example.com", global_mode="autopilot")
    ids = [world.design(user, data=png_bytes(color=(40 + 50 * i, 90, 120))) for i in range(designs)]
    RenderService(world.ctx).render_batch(user, [RenderTask(d, "bedroom") for d in ids])
    service = ProductService(world.ctx)
    product_ids = [service.build_for_design(user, d).product_id for d in ids]
    return Catalogue(world, service, user, ids, product_ids)


@pytest.fixture
def catalogue(world, monkeypatch):
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    return _catalogue(world)


@pytest.fixture
def shop(catalogue):
    """The fake Shopify, connected for the catalogue's user (live publishing)."""
    with FakeShopify(bucket_size=4000, restore_rate=1000) as fake:
        with catalogue.world.ctx.engine.begin() as conn:
            IntegrationStore(conn, catalogue.user).connect("shopify", fake.shop_domain, fake.token, {"base_url": fake.base_url})
        yield fake


def _sent(fake) -> dict[str, int]:
    counts = fake.operation_counts
    return {"productSet": counts["productSet"], "stagedUploadsCreate": counts["stagedUploadsCreate"], "uploads": fake.stats.uploads}


def _product_set_files(fake) -> list[list[dict]]:
    return [c.variables["input"]["files"] for c in fake.calls if c.root_fields == ("productSet",)]


def test_first_run_stores_media_ids_then_an_unchanged_run_sends_nothing(catalogue, shop):
    results, tally = catalogue.run()
    assert [r.unchanged for r in results] == [False, False]
    # One stagedUploadsCreate per product, carrying both of its images.
    assert _sent(shop) == {"productSet": 2, "stagedUploadsCreate": 2, "uploads": 4}
    staged = [c for c in shop.calls if c.root_fields == ("stagedUploadsCreate",)]
    assert [len(c.variables["input"]) for c in staged] == [2, 2]
    assert (tally.sent, tally.unchanged, tally.images_uploaded, tally.images_reused, tally.staged_upload_calls) == (2, 0, 4, 0, 2)
    assert tally.points_spent > 0 and tally.points_spent == shop.stats.points_charged
    for product_id in catalogue.product_ids:
        detail = catalogue.detail(product_id)
        remote = shop.products[detail["shopify_product_gid"]]
        assert [i["shopify_media_id"] for i in detail.images] == [m.id for m in remote.media]
        assert all(i["shopify_media_id"].startswith("gid://shopify/MediaImage/") for i in detail.images)
        # The digest is of the bytes that were uploaded.
        uploaded = {shop.uploads[m.original_source.split("/staged-uploads/")[1].split("/")[0]].data for m in remote.media}
        assert {i["shopify_media_digest"] for i in detail.images} == {hashlib.sha256(d).hexdigest() for d in uploaded}
        assert detail["published_mode"] == "live" and detail["published_digest"]

    # A rebuild with the same content (what every catalogue run does) keeps the media ids...
    for design in catalogue.designs:
        catalogue.service.build_for_design(catalogue.user, design)
    assert all(i["shopify_media_id"] for p in catalogue.product_ids for i in catalogue.detail(p).images)
    shop.reset_stats()
    results, tally = catalogue.run()
    # ...and the run sends nothing at all.
    assert [r.unchanged for r in results] == [True, True]
    assert _sent(shop) == {"productSet": 0, "stagedUploadsCreate": 0, "uploads": 0} and shop.stats.requests == 0
    assert (tally.sent, tally.unchanged, tally.images_uploaded, tally.points_spent) == (0, 2, 0, 0)


def test_a_price_change_sends_only_that_product_and_reuses_its_images(catalogue, shop):
    catalogue.run()
    changed, same = catalogue.product_ids
    media_before = {p: [m.id for m in shop.products[catalogue.detail(p)["shopify_product_gid"]].media] for p in catalogue.product_ids}
    shop.reset_stats()
    catalogue.set_price(changed, "31.00")
    results, tally = catalogue.run()
    assert [r.unchanged for r in results] == [False, True]
    assert _sent(shop) == {"productSet": 1, "stagedUploadsCreate": 0, "uploads": 0}
    [files] = _product_set_files(shop)
    assert files == [{"id": m, "alt": f["alt"]} for m, f in zip(media_before[changed], files, strict=True)]
    assert (tally.sent, tally.unchanged, tally.images_uploaded, tally.images_reused) == (1, 1, 0, 2)
    remote = shop.products[catalogue.detail(changed)["shopify_product_gid"]]
    assert {v.price for v in remote.variants} == {Decimal("31.00")}
    assert [m.id for m in remote.media] == media_before[changed]  # the same files, nothing processed again


def test_a_changed_image_uploads_only_that_image(catalogue, shop, world):
    catalogue.run()
    product_id, design = catalogue.product_ids[0], catalogue.designs[0]
    mockup_media = catalogue.detail(product_id).images[1]["shopify_media_id"]
    # New artwork for the design: the design image changes, the bedroom mockup does not.
    data = png_bytes(color=(1, 2, 3))
    key = design_key(catalogue.user, design, data, "png")
    stored = world.ctx.blob_store.put(key, data, "image/png")
    with world.ctx.engine.begin() as conn:
        conn.execute(update(assets).where(assets.c.id == design).values(file_key=key, file_url=stored.url))
    catalogue.service.build_for_design(catalogue.user, design)
    shop.reset_stats()
    results, tally = catalogue.run()
    assert [r.unchanged for r in results] == [False, True]
    assert _sent(shop) == {"productSet": 1, "stagedUploadsCreate": 1, "uploads": 1}
    [staged] = [c for c in shop.calls if c.root_fields == ("stagedUploadsCreate",)]
    assert len(staged.variables["input"]) == 1
    [files] = _product_set_files(shop)
    assert "originalSource" in files[0] and files[1]["id"] == mockup_media
    assert (tally.images_uploaded, tally.images_reused) == (1, 1)
    detail = catalogue.detail(product_id)
    assert detail.images[0]["shopify_media_digest"] == hashlib.sha256(data).hexdigest()
    assert detail.images[1]["shopify_media_id"] == mockup_media


def test_dry_run_outbox_records_only_what_would_be_sent(world, monkeypatch):
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    catalogue = _catalogue(world)  # no shop connected: the dry run

    def outbox() -> list[tuple[str, str]]:
        with world.ctx.engine.connect() as conn:
            return [(r.product_id, r.operation) for r in conn.execute(select(shopify_outbox).order_by(shopify_outbox.c.id))]

    results, tally = catalogue.run()
    assert all(r.dry_run for r in results) and tally.points_spent == 0
    first = outbox()
    assert sorted(op for _, op in first) == ["ProductSet", "ProductSet", "StagedUploadsCreate", "StagedUploadsCreate"]
    results, tally = catalogue.run()
    assert [r.unchanged for r in results] == [True, True] and outbox() == first  # nothing more recorded
    catalogue.set_price(catalogue.product_ids[1], "27.00")
    catalogue.run()
    added = outbox()[len(first):]
    assert added == [(catalogue.product_ids[1], "ProductSet")]
    with world.ctx.engine.connect() as conn:
        row = conn.execute(select(shopify_outbox).order_by(shopify_outbox.c.id.desc())).mappings().first()
    assert [set(f) for f in row["variables"]["input"]["files"]] == [{"id", "alt"}, {"id", "alt"}]
    assert validate_document(PRODUCT_SET, row["variables"]) == []
    # Dry-run state never counts as live: nothing of it is trusted once a shop is connected.
    with FakeShopify() as fake:
        with world.ctx.engine.begin() as conn:
            IntegrationStore(conn, catalogue.user).connect("shopify", fake.shop_domain, fake.token, {"base_url": fake.base_url})
        results, tally = catalogue.run()
        assert [r.unchanged for r in results] == [False, False] and len(fake.products) == 2
        assert (tally.images_uploaded, tally.images_reused) == (4, 0)


def test_reconcile_clears_what_drifted_and_the_next_run_repairs_it(catalogue, shop):
    catalogue.run()
    priced, pictured = catalogue.product_ids
    priced_gid = catalogue.detail(priced)["shopify_product_gid"]
    pictured_detail = catalogue.detail(pictured)
    sku = catalogue.detail(priced).variants[0]["sku"]
    shop.edit_price(priced_gid, sku, "1.00")
    shop.set_status(priced_gid, "ARCHIVED")
    deleted_media = pictured_detail.images[1]["shopify_media_id"]
    assert shop.delete_media(deleted_media)

    report = catalogue.service.reconcile(catalogue.user)
    drift = {d["product_id"]: d["differences"] for d in report.drifted}
    assert set(drift) == {priced, pictured}
    assert any("price" in d for d in drift[priced]) and any("status" in d for d in drift[priced])
    assert drift[pictured] == ["image 2: deleted on Shopify"]
    assert catalogue.detail(priced)["published_digest"] is None
    after = catalogue.detail(pictured)
    assert after["published_digest"] is None
    assert [i["shopify_media_id"] for i in after.images] == [pictured_detail.images[0]["shopify_media_id"], None]

    shop.reset_stats()
    results, tally = catalogue.run()
    assert [r.unchanged for r in results] == [False, False]
    # The priced product reuses both images; the other uploads only the deleted one.
    assert _sent(shop) == {"productSet": 2, "stagedUploadsCreate": 1, "uploads": 1}
    assert (tally.images_uploaded, tally.images_reused) == (1, 3)
    remote = shop.products[priced_gid]
    assert remote.status == "ACTIVE" and remote.variant_by_sku(sku).price == Decimal(catalogue.detail(priced).variants[0]["price"])
    assert len(shop.products[pictured_detail["shopify_product_gid"]].media) == 2
    assert catalogue.service.reconcile(catalogue.user).drifted == []


def test_a_product_deleted_on_shopify_is_reported_and_never_recreated_by_a_run(catalogue, shop):
    catalogue.run()
    gone, kept = catalogue.product_ids
    gid = catalogue.detail(gone)["shopify_product_gid"]
    assert shop.delete_product(gid)
    report = catalogue.service.reconcile(catalogue.user)
    assert [m["product_id"] for m in report.missing_on_shopify] == [gone]
    catalogue.set_price(gone, "33.00")  # even a change does not bring it back by itself
    shop.reset_stats()
    results, tally = catalogue.run()
    assert isinstance(results[0], DeletedOnShopify) and results[1].unchanged
    assert tally.deleted_on_shopify == 1 and _sent(shop)["productSet"] == 0 and len(shop.products) == 1
    row = catalogue.detail(gone)
    assert row["status"] == "sync_error" and "deleted on Shopify" in row["sync_error"]
    # An operator's explicit publish recreates it (a new product, every image uploaded again).
    result = catalogue.service.publish(catalogue.user, gone)
    assert result.shopify_gid != gid and len(shop.products) == 2 and result.images_uploaded == 2
    assert catalogue.detail(gone)["shopify_deleted_at"] is None
    _, tally = catalogue.run()
    assert tally.unchanged == 2


def test_a_product_deleted_on_shopify_unnoticed_is_marked_when_shopify_says_so(catalogue, shop):
    catalogue.run()
    gone = catalogue.product_ids[0]
    assert shop.delete_product(catalogue.detail(gone)["shopify_product_gid"])
    catalogue.set_price(gone, "29.00")
    results, tally = catalogue.run()
    assert isinstance(results[0], DeletedOnShopify) and tally.deleted_on_shopify == 1
    assert len(shop.products) == 1 and catalogue.detail(gone)["shopify_deleted_at"] is not None
    shop.reset_stats()
    _, tally = catalogue.run()  # the next run does not try again
    assert tally.deleted_on_shopify == 1 and shop.stats.requests == 0


def test_rows_of_published_products_say_where_they_are(catalogue, shop):
    catalogue.run()
    with catalogue.world.ctx.engine.connect() as conn:
        rows = conn.execute(select(products.c.status, products.c.published_mode)).all()
    assert sorted(rows) == [("active", "live"), ("active", "live")]
