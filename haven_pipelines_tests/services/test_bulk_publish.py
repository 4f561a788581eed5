"""Bulk publishing and bulk reconcile: the product services against the fake Shopify on a real socket.

Each test builds autopilot products (21 variants, the design as the one image) for a user with a
connected fake shop, and uses a small threshold so that a handful of products is "a large set".
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.stores.bulk_operations import BulkOperationStore
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.tables import product_variants
from haven_pipelines.defs.assets.listings import publish_designs
from haven_pipelines.domain.errors import Conflict
from haven_pipelines.domain.shopify_input import product_set_digest
from haven_pipelines.services.bulk_publish import BulkOptions, BulkPublisher
from haven_pipelines.services.products import ProductService, PublishError, PublishResult, spec_from_detail, user_costs
from haven_pipelines_tests.fakes.shopify_server import FakeShopify

FAST = BulkOptions(poll_first=0.02, poll_max=0.2, wait_seconds=60)


class RunKilled(Exception):
    """Stands for the process dying: raised right after the operation's id is stored."""


@pytest.fixture
def shop(world, monkeypatch):
    """An autopilot user with five built products and a connected fake shop."""
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    user = world.user("bulk@example.com", global_mode="autopilot")
    designs = [world.design(user) for _ in range(5)]
    service = ProductService(world.ctx)
    products = [service.build_for_design(user, d).product_id for d in designs]
    with FakeShopify() as fake:
        with world.ctx.engine.begin() as conn:
            IntegrationStore(conn, user).connect("shopify", fake.shop_domain, fake.token, {"base_url": fake.base_url})
        yield SimpleNamespace(ctx=world.ctx, user=user, designs=designs, products=products, fake=fake, service=service)


def _detail(shop, product_id):
    with shop.ctx.engine.connect() as conn:
        return ProductStore(conn, shop.user).get(product_id)


def _input_digest(shop, detail) -> str:
    """The digest of the product's ``productSet`` input, which both publishing paths store."""
    with shop.ctx.engine.connect() as conn:
        costs = user_costs(PricingStore(conn, shop.user))
    return product_set_digest(spec_from_detail(detail, costs))


def _rows(shop):
    with shop.ctx.engine.connect() as conn:
        return BulkOperationStore(conn, shop.user).for_user()


def _set_threshold(ctx, threshold: int) -> None:
    ctx.settings = dataclasses.replace(ctx.settings, shopify_bulk_threshold=threshold)


def test_a_set_above_the_threshold_goes_out_as_exactly_one_bulk_operation(shop):
    _set_threshold(shop.ctx, 3)
    report = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))

    assert [r["product_id"] for r in report["published"]] == shop.products and report["failed"] == []
    counts = shop.fake.operation_counts
    assert counts["bulkOperationRunMutation"] == 1 and counts["productSet"] == 0
    assert len(shop.fake.bulk_operations) == 1 and shop.fake.bulk_operations[0].status == "COMPLETED"
    assert sorted(p.handle for p in shop.fake.products.values()) == sorted(_detail(shop, p)["handle"] for p in shop.products)
    for product_id in shop.products:
        detail = _detail(shop, product_id)
        remote = shop.fake.products[detail["shopify_product_gid"]]
        assert detail["status"] == "active" and detail["published_digest"] == _input_digest(shop, detail)
        assert {v["sku"]: v["shopify_variant_id"] for v in detail.variants} == {v.sku: v.id for v in remote.variants}
    [row] = _rows(shop)
    assert (row["status"], row["operation_gid"], row["line_count"]) == ("collected", shop.fake.bulk_operations[0].id, 5)

    # The next run has nothing to send: no bulk operation, no productSet.
    shop.fake.reset_stats()
    again = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))
    assert len(again["unchanged"]) == 5 and len(shop.fake.bulk_operations) == 1
    assert shop.fake.operation_counts["productSet"] == 0 and shop.fake.operation_counts["bulkOperationRunMutation"] == 0


def test_at_or_below_the_threshold_each_product_gets_its_own_product_set(shop):
    _set_threshold(shop.ctx, 5)
    report = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))
    assert len(report["published"]) == 5
    assert shop.fake.operation_counts["productSet"] == 5 and shop.fake.bulk_operations == []
    assert _rows(shop) == []


def test_a_dry_run_records_each_product_set_in_the_outbox_and_never_goes_bulk(world):
    from sqlalchemy import func, select

    from haven_pipelines.db.tables import shopify_outbox

    user = world.user("dry@example.com", global_mode="autopilot")
    designs = [world.design(user) for _ in range(4)]
    for design in designs:
        ProductService(world.ctx).build_for_design(user, design)
    _set_threshold(world.ctx, 2)
    report = publish_designs(SimpleNamespace(ctx=world.ctx), designs, logging.getLogger("test"))
    assert len(report["published"]) == 4 and all(r["dry_run"] for r in report["published"])
    with world.ctx.engine.connect() as conn:
        recorded = conn.execute(select(shopify_outbox.c.operation, func.count()).where(shopify_outbox.c.user_id == user)
                                .group_by(shopify_outbox.c.operation)).all()
        assert BulkOperationStore(conn, user).for_user() == []
    assert dict(recorded)["ProductSet"] == 4 and not any(op.startswith("Bulk") for op, _ in recorded)


def test_failed_lines_become_sync_error_with_shopifys_message(shop):
    bad = _detail(shop, shop.products[2])
    sku = bad.variants[0]["sku"]
    shop.fake.reject_sku(sku, f"SKU '{sku}' is blocked by the shop")

    outcomes = BulkPublisher(shop.ctx, threshold=3, options=FAST).publish_large_set(shop.user, shop.products)

    assert isinstance(outcomes[bad.id], PublishError)
    failed = _detail(shop, bad.id)
    assert failed["status"] == "sync_error" and failed["shopify_product_gid"] is None
    assert f"SKU '{sku}' is blocked by the shop" in failed["sync_error"] and "INVALID_VARIANT" in failed["sync_error"]
    others = [p for p in shop.products if p != bad.id]
    assert all(isinstance(outcomes[p], PublishResult) and _detail(shop, p)["status"] == "active" for p in others)
    assert len(shop.fake.products) == 4 and len(shop.fake.bulk_operations) == 1

    # Once the shop accepts the SKU, the failed product is sent again (below the threshold: on its own).
    shop.fake.clear_faults()
    _set_threshold(shop.ctx, 3)
    report = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))
    assert [r["product_id"] for r in report["published"]] == [bad.id] and len(report["unchanged"]) == 4
    assert _detail(shop, bad.id)["status"] == "active" and len(shop.fake.products) == 5


def test_a_run_killed_while_the_operation_runs_is_collected_next_run_without_sending_twice(shop):
    shop.fake.hold_bulk()  # the operation stays RUNNING while the first run dies

    def die(operation_id: str) -> None:
        raise RunKilled(operation_id)

    with pytest.raises(RunKilled):
        BulkPublisher(shop.ctx, threshold=3, options=FAST, after_start=die).publish_large_set(shop.user, shop.products)
    [row] = _rows(shop)
    [op] = shop.fake.bulk_operations
    assert (row["status"], row["operation_gid"]) == ("running", op.id) and op.status in ("CREATED", "RUNNING")
    assert all(_detail(shop, p)["shopify_product_gid"] is None for p in shop.products)

    shop.fake.release_bulk()
    shop.fake.reset_stats()
    outcomes = BulkPublisher(shop.ctx, threshold=3, options=FAST).publish_large_set(shop.user, shop.products)

    assert len(shop.fake.bulk_operations) == 1, "no second bulk operation"
    assert shop.fake.operation_counts["bulkOperationRunMutation"] == 0 and shop.fake.operation_counts["productSet"] == 0
    assert shop.fake.operation_counts["stagedUploadsCreate"] == 0, "nothing staged again"
    assert len(shop.fake.products) == 5, "no duplicate products"
    assert all(isinstance(outcomes[p], PublishResult) for p in shop.products)
    assert all(_detail(shop, p)["status"] == "active" for p in shop.products)
    assert _rows(shop)[0]["status"] == "collected"


def test_a_second_bulk_publish_waits_while_ours_is_still_running(shop):
    shop.fake.hold_bulk()
    with pytest.raises(RunKilled):
        BulkPublisher(shop.ctx, threshold=3, options=FAST, after_start=lambda gid: (_ for _ in ()).throw(RunKilled(gid))
                      ).publish_large_set(shop.user, shop.products[:4])
    short = BulkOptions(poll_first=0.02, poll_max=0.05, wait_seconds=0.2)
    outcomes = BulkPublisher(shop.ctx, threshold=0, options=short).publish_large_set(shop.user, shop.products)
    assert all(isinstance(o, Conflict) for o in outcomes.values()) and set(outcomes) == set(shop.products)
    assert len(shop.fake.bulk_operations) == 1, "one bulk mutation at a time per shop"
    shop.fake.release_bulk()


def test_a_start_never_confirmed_is_sent_again_without_duplicates(shop):
    BulkPublisher(shop.ctx, threshold=3, options=FAST).publish_large_set(shop.user, shop.products)
    with shop.ctx.engine.begin() as conn:  # a row written, then the run died before Shopify answered
        BulkOperationStore(conn, shop.user).create(shop.fake.shop_domain, [{"product_id": shop.products[0], "digest": "0" * 64}])
        ProductStore(conn, shop.user).set_sync_error(shop.products[0], "interrupted")
    BulkPublisher(shop.ctx, threshold=3, options=FAST).publish_large_set(shop.user, shop.products)
    assert [r["status"] for r in _rows(shop)] == ["collected", "abandoned"]
    ProductService(shop.ctx).publish(shop.user, shop.products[0], skip_unchanged=True)
    assert len(shop.fake.products) == 5 and _detail(shop, shop.products[0])["status"] == "active"


def test_reconcile_of_a_large_catalogue_reads_the_shop_with_one_bulk_query(shop):
    BulkPublisher(shop.ctx, threshold=3, options=FAST).publish_large_set(shop.user, shop.products)
    drifted, deleted = (_detail(shop, p) for p in shop.products[:2])
    remote = shop.fake.products[drifted["shopify_product_gid"]]
    remote.variants[0].price = Decimal("1.00")
    shop.fake.delete_product(deleted["shopify_product_gid"])
    _set_threshold(shop.ctx, 3)
    shop.fake.reset_stats()

    report = shop.service.reconcile(shop.user)

    counts = shop.fake.operation_counts
    assert counts["bulkOperationRunQuery"] == 1 and counts["product"] == 0, counts
    assert report.checked == 5
    assert [d["product_id"] for d in report.drifted] == [drifted.id]
    assert f"variant {remote.variants[0].sku} price" in report.drifted[0]["differences"][0]
    assert [m["product_id"] for m in report.missing_on_shopify] == [deleted.id]

    # At or below the threshold, one query per product as before, with the same findings.
    _set_threshold(shop.ctx, 5)
    shop.fake.reset_stats()
    small = shop.service.reconcile(shop.user)
    assert shop.fake.operation_counts["product"] == 5 and shop.fake.operation_counts["bulkOperationRunQuery"] == 0
    assert [d["product_id"] for d in small.drifted] == [drifted.id]


def _image_staging_calls(fake) -> list[int]:
    """How many images each ``stagedUploadsCreate`` for images asked targets for (the JSONL's is left out)."""
    calls = [c for c in fake.calls if c.root_fields == ("stagedUploadsCreate",)]
    return [len(c.variables["input"]) for c in calls if all(i["resource"] == "IMAGE" for i in c.variables["input"])]


def test_a_bulk_publish_stores_media_ids_and_stages_the_batchs_images_with_one_call(shop):
    _set_threshold(shop.ctx, 3)
    report = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))

    assert len(report["published"]) == 5 and shop.fake.operation_counts["bulkOperationRunMutation"] == 1
    # Every new image of the whole batch in one staged upload call.
    assert _image_staging_calls(shop.fake) == [5]
    for product_id in shop.products:
        detail = _detail(shop, product_id)
        remote = shop.fake.products[detail["shopify_product_gid"]]
        assert [i["shopify_media_id"] for i in detail.images] == [m.id for m in remote.media]
        assert all(i["shopify_media_id"].startswith("gid://shopify/MediaImage/") for i in detail.images)
        # The stored digest is of the bytes the shop was given.
        uploaded = [shop.fake.uploads[m.original_source.split("/staged-uploads/")[1].split("/")[0]].data for m in remote.media]
        assert [i["shopify_media_digest"] for i in detail.images] == [hashlib.sha256(d).hexdigest() for d in uploaded]
    # The run's tally counts what went in bulk, as the per-product path counts its own.
    [tally] = report["tally"]
    assert (tally["sent"], tally["unchanged"], tally["images_uploaded"], tally["images_reused"], tally["staged_upload_calls"]) == (5, 0, 5, 0, 1)
    assert tally["points_spent"] > 0 and tally["points_spent"] == round(shop.fake.stats.points_charged, 1)
    [row] = _rows(shop)
    assert all(len(line["images"]) == 1 and line["uploaded"] == 1 for line in row["lines"])


def test_a_run_after_a_bulk_publish_sends_nothing_at_all(shop):
    _set_threshold(shop.ctx, 3)
    publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))
    for design in shop.designs:  # what every catalogue run does first: rebuild with the same content
        shop.service.build_for_design(shop.user, design)
    shop.fake.reset_stats()

    report = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))

    assert report["published"] == [] and len(report["unchanged"]) == 5 and report["failed"] == []
    assert shop.fake.stats.requests == 0 and shop.fake.stats.uploads == 0
    assert len(shop.fake.bulk_operations) == 1
    [tally] = report["tally"]
    assert (tally["sent"], tally["unchanged"], tally["images_uploaded"], tally["points_spent"]) == (0, 5, 0, 0)


def test_a_price_change_above_the_threshold_is_one_bulk_operation_citing_images_by_file_id(shop):
    _set_threshold(shop.ctx, 3)
    publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))
    media_before = {p: [i["shopify_media_id"] for i in _detail(shop, p).images] for p in shop.products}
    with shop.ctx.engine.begin() as conn:
        conn.execute(update(product_variants).where(product_variants.c.product_id.in_(shop.products))
                     .values(price=Decimal("31.00")))
    shop.fake.reset_stats()

    report = publish_designs(SimpleNamespace(ctx=shop.ctx), shop.designs, logging.getLogger("test"))

    assert [r["product_id"] for r in report["published"]] == shop.products and report["failed"] == []
    counts = shop.fake.operation_counts
    assert counts["bulkOperationRunMutation"] == 1 and counts["productSet"] == 0
    assert len(shop.fake.bulk_operations) == 2
    # Only the JSONL file was staged: no image went again.
    assert counts["stagedUploadsCreate"] == 1 and _image_staging_calls(shop.fake) == [] and shop.fake.stats.uploads == 1
    lines = shop.fake.bulk_operations[1].lines
    by_gid = {_detail(shop, p)["shopify_product_gid"]: p for p in shop.products}
    assert sorted(by_gid[line["identifier"]["id"]] for line in lines) == sorted(shop.products)
    for line in lines:
        files = line["input"]["files"]
        assert files == [{"id": m, "alt": f["alt"]} for m, f in zip(media_before[by_gid[line["identifier"]["id"]]], files, strict=True)]
    [tally] = report["tally"]
    assert (tally["sent"], tally["images_uploaded"], tally["images_reused"], tally["staged_upload_calls"]) == (5, 0, 5, 0)
    for product_id in shop.products:
        detail = _detail(shop, product_id)
        remote = shop.fake.products[detail["shopify_product_gid"]]
        assert {v.price for v in remote.variants} == {Decimal("31.00")}
        assert [m.id for m in remote.media] == media_before[product_id]  # the same files, nothing processed again
        assert [i["shopify_media_id"] for i in detail.images] == media_before[product_id]
        assert detail["published_digest"] == _input_digest(shop, detail)
