"""ProductStore: create with variants and images, validation, rebuild, status, Shopify link, listing."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.domain.errors import NotFound, ValidationError


@pytest.fixture
def ctx(engine) -> dict:
    with engine.begin() as conn:
        user_id = get_or_create_user(conn, "ada@example.com")["id"]
        asset = DesignStore(conn, user_id).create_asset("file:///d.png", "designs/d.png", "png", 1, 1, None, "approved")
    return {"user_id": user_id, "asset_id": asset["id"]}


VARIANTS = [
    {"size": "8x10", "price": Decimal("24.99")},
    {"size": "8x10", "frame_style": "black", "price": "49.99", "compare_at_price": "59.99"},
    {"size": "8x10", "is_digital": True, "price": Decimal("9.99")},
]


def _create(store: ProductStore, title="Roots Before Branches", **kw):
    args = {"description": "<p>Print</p>", "collection": "grounding", "tags": ["calm", "Calm", "print"],
            "handle": None, "asset_id": None, "quote_id": None, "variants": VARIANTS,
            "images": [{"src": "file:///d.png", "alt": "the design"}]}
    args.update(kw)
    return store.create(title, **args)


def test_create_and_get(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store, asset_id=ctx["asset_id"], images=[{"src": "file:///d.png", "asset_id": ctx["asset_id"]}])
        again = store.get(product.id)
        found = store.find_by_asset(ctx["asset_id"])
    prefix = product.id[:8].upper()
    assert [v["sku"] for v in again.variants] == [f"HH-{prefix}-8X10-UNF", f"HH-{prefix}-8X10-BLA", f"HH-{prefix}-8X10-DIG"]
    assert [v["title"] for v in again.variants] == ["8x10", "8x10 / Black Frame", "8x10 / Digital Download"]
    assert again.variants[1]["price"] == Decimal("49.99") and again.variants[1]["compare_at_price"] == Decimal("59.99")
    assert again["tags"] == ["calm", "print"] and again["vendor"] == "Haven & Hold" and again["status"] == "draft"
    assert again["handle"] == f"roots-before-branches-{product.id[:8]}"
    assert again.images[0]["source"] == "asset" and again.images[0]["position"] == 1
    assert found is not None and found.id == product.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"variants": []}, "variants"),
        ({"variants": [{"size": "8x10", "price": "0"}]}, "variants[0].price"),
        ({"variants": [{"size": "8x10", "price": -1}]}, "variants[0].price"),
        ({"variants": [{"size": "8x10", "price": 1.5}]}, "variants[0].price"),
        ({"variants": [{"size": "8x10", "price": "1.999"}]}, "variants[0].price"),
        ({"variants": [{"size": "8x10", "price": "5", "colour": "red"}]}, "variants[0].colour"),
        ({"variants": [{"size": "8x10", "price": "5", "sku": "A"}, {"size": "A4", "price": "5", "sku": "A"}]}, "variants[1].sku"),
        ({"collection": "joy"}, "collection"),
        ({"handle": "Not A Handle"}, "handle"),
        ({"status": "retired"}, "status"),
        ({"tags": "calm"}, "tags"),
        ({"images": [{"alt": "no src"}]}, "images[0].src"),
    ],
)
def test_create_validation_names_the_field_and_writes_nothing(engine, ctx, kwargs, field):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        kwargs = dict(kwargs)  # the parameter dict is shared by both backends' runs
        title = kwargs.pop("title", "A title")
        with pytest.raises(ValidationError) as err:
            _create(store, title=title, **kwargs)
        assert store.list().total == 0
    assert err.value.field == field


def test_sku_taken_by_another_product_is_a_clear_error(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        _create(store, variants=[{"size": "8x10", "price": "5", "sku": "HH-SAME"}])
        with pytest.raises(ValidationError, match="HH-SAME is already taken"):
            _create(store, title="Other", variants=[{"size": "8x10", "price": "5", "sku": "HH-SAME"}])


def test_one_product_per_design_and_unique_handle(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        first = _create(store, asset_id=ctx["asset_id"], handle="roots")
        with pytest.raises(ValidationError) as by_asset:
            _create(store, asset_id=ctx["asset_id"])
        with pytest.raises(ValidationError) as by_handle:
            _create(store, handle="roots")
    assert by_asset.value.field == "asset_id" and first.id in str(by_asset.value)
    assert by_handle.value.field == "handle"


def test_rebuild_replaces_children_and_keeps_shopify_variant_ids(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store)
        skus = [v["sku"] for v in product.variants]
        store.set_shopify(product.id, "1001", "gid://shopify/Product/1001", "roots", {skus[0]: "gid://shopify/ProductVariant/1"})
    time.sleep(0.01)
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        rebuilt = store.replace_variants_and_images(
            product.id, [VARIANTS[0], {"size": "11x14", "price": "34.99"}], [], title="Roots, Rebuilt")
    assert [v["size"] for v in rebuilt.variants] == ["8x10", "11x14"]
    assert rebuilt.variants[0]["shopify_variant_id"] == "gid://shopify/ProductVariant/1"
    assert rebuilt.variants[1]["shopify_variant_id"] is None
    assert rebuilt.images == () and rebuilt["title"] == "Roots, Rebuilt"
    assert rebuilt["updated_at"] > product["updated_at"]


def test_status_life_cycle(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store)
        active = store.set_status(product.id, "active")
        with pytest.raises(ValidationError) as no_reason:
            store.set_status(product.id, "retired")
        with pytest.raises(ValidationError):
            store.set_status(product.id, "active", retire_reason="manual")
        retired = store.set_status(product.id, "retired", "seasonal")
        relisted = store.set_status(product.id, "active")
    assert active["published_at"] is not None
    assert no_reason.value.field == "retire_reason"
    assert retired["retire_reason"] == "seasonal" and retired["retired_at"] is not None
    assert relisted["retire_reason"] is None and relisted["published_at"] == active["published_at"]


def test_shopify_link_and_sync_error(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store, status="active")
        failed = store.set_sync_error(product.id, "throttled")
        with pytest.raises(ValidationError):
            store.set_shopify(product.id, "1", "gid://shopify/Product/1", None, {"HH-NOPE": "x"})
        synced = store.set_shopify(product.id, "1", "gid://shopify/Product/1", "roots",
                                   {v["sku"]: f"gid://v/{i}" for i, v in enumerate(product.variants)})
    # A failed sync says so in the status (Haven Hub's "pending" meant awaiting approval).
    assert failed["status"] == "sync_error" and failed["sync_error"] == "throttled"
    assert synced["sync_error"] is None and synced["shopify_product_gid"] == "gid://shopify/Product/1"
    assert synced["last_synced_at"] is not None
    assert [v["shopify_variant_id"] for v in synced.variants] == ["gid://v/0", "gid://v/1", "gid://v/2"]


def test_list_filters_search_and_pages(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        _create(store, title="Roots 100%")
        time.sleep(0.002)
        _create(store, title="Open Sky", collection="growth")
        time.sleep(0.002)
        _create(store, title="Rooted", collection="growth", status="active")
        newest = store.list(limit=2)
        growth = store.list(collection="growth")
        roots = store.list(search="ROOT")
        percent = store.list(search="100%")
        active = store.list(status="active")
        with pytest.raises(ValidationError):
            store.list(limit=101)
    assert newest.total == 3 and [p["title"] for p in newest.rows] == ["Rooted", "Open Sky"]
    assert len(newest.rows[0].variants) == 3
    assert growth.total == 2 and roots.total == 2 and percent.total == 1 and active.total == 1


def test_delete_removes_variants_and_images(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store)
        store.delete(product.id)
        with pytest.raises(NotFound):
            store.get(product.id)
        # The SKUs are free again once the product is gone.
        _create(store, variants=[{"size": "8x10", "price": "5", "sku": product.variants[0]["sku"]}])


def test_find_by_assets_reads_a_batch_and_only_the_users_own(engine, ctx):
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        other_asset = DesignStore(conn, ctx["user_id"]).create_asset("file:///e.png", "designs/e.png", "png", 1, 1, None, "approved")
        first = _create(store, asset_id=ctx["asset_id"])
        second = _create(store, title="Second", asset_id=other_asset["id"])
        stranger = get_or_create_user(conn, "eve@example.com")["id"]
        found = store.find_by_assets([ctx["asset_id"], other_asset["id"], "no-such-design"])
        theirs = ProductStore(conn, stranger).find_by_assets([ctx["asset_id"]])
    assert {a: d.id for a, d in found.items()} == {ctx["asset_id"]: first.id, other_asset["id"]: second.id}
    assert [len(d.variants) for d in found.values()] == [3, 3] and theirs == {}


def test_a_rebuild_keeps_each_images_shopify_media_when_its_bytes_are_the_same(engine, ctx):
    images = [{"src": "file:///d.png", "file_key": "designs/d-aaaa.png"}, {"src": "file:///m.png", "file_key": "mockups/m-bbbb.png"}]
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store, images=images)
        store.set_published(product.id, "d" * 64, mode="live",
                            media={product.images[0]["id"]: ("gid://shopify/MediaImage/1", "1" * 64),
                                   product.images[1]["id"]: ("gid://shopify/MediaImage/2", "2" * 64)})
        changed = [images[0], {"src": "file:///m2.png", "file_key": "mockups/m-cccc.png"}]
        rebuilt = store.replace_variants_and_images(product.id, VARIANTS, changed)
    assert [(i["shopify_media_id"], i["shopify_media_digest"]) for i in rebuilt.images] == [
        ("gid://shopify/MediaImage/1", "1" * 64), (None, None)]
    assert rebuilt["published_mode"] == "live" and rebuilt["published_digest"] == "d" * 64


def test_a_rebuild_with_the_stored_content_writes_nothing(engine, ctx):
    # A nightly rebuilds every product: one whose rows would come out the same keeps its rows
    # (ids, Shopify ids, updated_at), so nothing is rewritten; any difference still rewrites.
    images = [{"src": "file:///d.png", "file_key": "designs/d-aaaa.png", "alt": "the design"}]
    fields = {"title": "Roots Before Branches", "description": "<p>Print</p>", "collection": "grounding",
              "tags": ["calm", "print"]}
    with engine.begin() as conn:
        store = ProductStore(conn, ctx["user_id"])
        product = _create(store, images=images)
        skus = [v["sku"] for v in product.variants]
        store.set_shopify(product.id, "1001", "gid://shopify/Product/1001", "roots", {skus[0]: "gid://shopify/ProductVariant/1"})
        linked = store.get(product.id)
    time.sleep(0.01)
    with engine.begin() as conn:
        same = ProductStore(conn, ctx["user_id"]).replace_variants_and_images(product.id, VARIANTS, images, **fields)
    assert [v["id"] for v in same.variants] == [v["id"] for v in linked.variants]
    assert [i["id"] for i in same.images] == [i["id"] for i in linked.images]
    assert same["updated_at"] == linked["updated_at"]
    assert same.variants[0]["shopify_variant_id"] == "gid://shopify/ProductVariant/1"

    with engine.begin() as conn:
        repriced = ProductStore(conn, ctx["user_id"]).replace_variants_and_images(
            product.id, [{**VARIANTS[0], "price": Decimal("25.99")}, *VARIANTS[1:]], images, **fields)
    assert repriced.variants[0]["price"] == Decimal("25.99") and repriced["updated_at"] > linked["updated_at"]
    assert repriced.variants[0]["id"] != linked.variants[0]["id"]
    assert repriced.variants[0]["shopify_variant_id"] == "gid://shopify/ProductVariant/1"
    with engine.begin() as conn:
        retitled = ProductStore(conn, ctx["user_id"]).replace_variants_and_images(
            product.id, [{**VARIANTS[0], "price": Decimal("25.99")}, *VARIANTS[1:]], images, **{**fields, "title": "Roots"})
    assert retitled["title"] == "Roots"
