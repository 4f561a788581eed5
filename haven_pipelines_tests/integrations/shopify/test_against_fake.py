"""The live client against the fake Shopify server on a real local socket (real schema, bucket, faults)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from haven_pipelines.integrations.shopify import (
    ShopifyAuthError,
    ShopifyClient,
    ShopifyNetworkError,
    ShopifyResponseError,
    ShopifyServerError,
    ShopifyUserErrors,
)
from haven_pipelines_tests.fakes.shopify_server import FakeShopify
from haven_pipelines_tests.integrations.shopify.realistic import product_set_variables


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    """A fake shop with a fast-restoring bucket (tests that are about throttling make their own)."""
    with FakeShopify(bucket_size=2000, restore_rate=2000) as fake:
        yield fake


@pytest.fixture
def connect() -> Iterator[Callable[..., ShopifyClient]]:
    """Clients on a fake shop (small backoff so that retries stay quick), closed after the test."""
    made: list[ShopifyClient] = []

    def make(fake: FakeShopify, **kw: Any) -> ShopifyClient:
        kw.setdefault("backoff", 0.01)
        client = ShopifyClient(fake.shop_domain, kw.pop("token", fake.token), base_url=fake.base_url, timeout=5.0, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_publish_creates_one_product_with_every_variant_and_image(shop, connect):
    product_input, identifier = product_set_variables(1)
    result = connect(shop).product_set(product_input, identifier, with_media=True)
    assert len(result.media) == 6
    assert list(shop.products) == [result.id]
    stored = shop.products[result.id]
    assert len(stored.variants) == 21 and len(stored.media) == 6
    assert result.variant_ids_by_sku() == {v.inventory_item.sku: v.id for v in stored.variants}
    digital = [v for v in stored.variants if v.option_values.get("Frame") == "Digital Download"]
    assert len(digital) == 1 and digital[0].inventory_item.requires_shipping is False
    assert all(v.inventory_policy == "CONTINUE" for v in stored.variants)


def test_republishing_by_handle_or_gid_updates_the_same_product(shop, connect):
    client = connect(shop)
    product_input, identifier = product_set_variables(2)
    first = client.product_set(product_input, identifier)
    product_input["variants"][0]["price"] = "27.50"
    again = client.product_set(product_input, identifier)
    by_gid = client.product_set(product_input, {"id": first.id})
    assert first.id == again.id == by_gid.id
    assert len(shop.products) == 1
    assert first.variant_ids_by_sku() == by_gid.variant_ids_by_sku()  # variants updated in place
    remote = client.get_product(first.id)
    assert remote is not None and str(remote.variants[0].price) == "27.50"


def test_a_dropped_connection_after_commit_is_retried_without_a_duplicate(shop, connect):
    shop.drop_next(operation="productSet")
    product_input, identifier = product_set_variables(3)
    result = connect(shop).product_set(product_input, identifier)
    assert shop.stats.dropped == 1
    assert shop.operation_counts["productSet"] == 2  # committed twice, as an upsert
    assert list(shop.products) == [result.id]


def test_5xx_and_429_are_retried(shop, connect):
    shop.fail_next(503)
    shop.fail_next(429, retry_after=0.05)
    client = connect(shop)
    assert client.shop().domain == shop.shop_domain
    assert client.stats().retries == 2 and shop.stats.http_faults == 2


def test_throttled_is_waited_out_not_raised(connect):
    # Empty, the bucket needs 1.5 s to hold a publish's requested 150 points again. Everything the
    # request needs is made before the bucket is emptied, so that a busy machine's delay between
    # emptying and sending (it refills meanwhile) stays far below that.
    product_input, identifier = product_set_variables(4)
    with FakeShopify(bucket_size=1000, restore_rate=100) as fake:
        client = connect(fake)
        fake.set_bucket(0)
        client.product_set(product_input, identifier)
        assert fake.stats.throttled == 1 and client.stats().throttled == 1
        assert len(fake.products) == 1


def test_pacing_keeps_a_small_bucket_from_throttling(connect):
    # A 200-point bucket holds one publish (requested ~150, charged ~49) at a time.
    with FakeShopify(bucket_size=200, restore_rate=1000) as fake:
        client = connect(fake)
        # Built first: the requests then follow each other closely, as a publishing run sends them.
        requests = [product_set_variables(10 + n) for n in range(6)]
        for product_input, identifier in requests:
            client.product_set(product_input, identifier)
        assert len(fake.products) == 6
        assert fake.stats.throttled == 0
        assert client.stats().paced_seconds > 0


def test_archive_then_read_back(shop, connect):
    client = connect(shop)
    product_input, identifier = product_set_variables(5)
    result = client.product_set(product_input, identifier)
    assert client.archive_product(result.id) == "ARCHIVED"
    assert shop.products[result.id].status == "ARCHIVED"
    remote = client.get_product(result.id)
    assert remote is not None and remote.status == "ARCHIVED" and len(remote.variants) == 21


def test_a_product_deleted_on_shopify_reads_as_none(shop, connect):
    client = connect(shop)
    product_input, identifier = product_set_variables(6)
    result = client.product_set(product_input, identifier)
    assert shop.delete_product(result.id)
    assert client.get_product(result.id) is None
    assert client.find_product_by_handle(identifier["handle"]) is None
    with pytest.raises(ShopifyUserErrors):
        client.archive_product(result.id)


def test_user_errors_are_typed_and_change_nothing(shop, connect):
    shop.user_error_next("Price must be greater than zero", field=["input", "variants", "0", "price"], code="INVALID_VARIANT")
    product_input, identifier = product_set_variables(7)
    with pytest.raises(ShopifyUserErrors) as info:
        connect(shop).product_set(product_input, identifier)
    (error,) = info.value.user_errors
    assert error.field == ("input", "variants", "0", "price") and error.code == "INVALID_VARIANT"
    assert shop.products == {}


def test_staged_upload_then_publish_with_the_resource_url(shop, connect):
    client = connect(shop)
    resource_url = client.staged_upload("design.png", "image/png", b"\x89PNG\r\n\x1a\nfake image bytes")
    assert [u.data for u in shop.uploads.values()] == [b"\x89PNG\r\n\x1a\nfake image bytes"]
    product_input, identifier = product_set_variables(8)
    product_input["files"] = [{"originalSource": resource_url, "alt": "the design", "contentType": "IMAGE"}]
    result = client.product_set(product_input, identifier, with_media=True)
    assert [m.alt for m in result.media] == ["the design"]


def test_iter_products_reads_every_page_and_variant(shop, connect):
    client = connect(shop)
    handles = set()
    for n in range(12):
        product_input, identifier = product_set_variables(20 + n)
        handles.add(client.product_set(product_input, identifier).handle)
    products = list(client.iter_products(page_size=5))
    assert {p.handle for p in products} == handles
    assert all(len(p.variants) == 21 for p in products)


def test_find_by_handle(shop, connect):
    client = connect(shop)
    product_input, identifier = product_set_variables(9)
    result = client.product_set(product_input, identifier)
    found = client.find_product_by_handle(identifier["handle"])
    assert found is not None and found.id == result.id


def test_wrong_token_and_wrong_version(shop, connect):
    with pytest.raises(ShopifyAuthError):
        connect(shop, token="shpat_wrong").shop()
    with pytest.raises(ShopifyResponseError) as info:
        connect(shop, api_version="2026-07").shop()
    assert info.value.status == 404


def test_the_token_never_appears_in_logs_or_errors(shop, connect, caplog):
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log requests at DEBUG/INFO
    client = connect(shop, max_retries=1)
    seen: list[str] = [repr(client)]
    shop.fail_next(503, times=2)
    shop.drop_next(operation="productSet", times=2)
    # Each failure must surface as the typed error meant for it: a bug in the client (a TypeError)
    # is not one of these and fails the test instead of passing as a refusal.
    failures = [
        (client.shop, ShopifyServerError),
        (lambda: client.product_set(*product_set_variables(11)), ShopifyNetworkError),
        (connect(shop, token=shop.token + "x").shop, ShopifyAuthError),
    ]
    for call, expected in failures:
        with pytest.raises(expected) as info:
            call()
        assert type(info.value) is expected
        seen += [str(info.value), repr(info.value)]
    seen += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    assert any("retrying" in text for text in seen)
    assert not [text for text in seen if shop.token in text]


def test_media_are_read_back_only_when_asked(shop, connect):
    client = connect(shop)
    plain = client.product_set(*product_set_variables(30))
    plain_cost = shop.calls[-1].actual_cost
    full = client.product_set(*product_set_variables(31), with_media=True)
    full_cost = shop.calls[-1].actual_cost
    assert plain.media == () and len(full.media) == 6
    assert full_cost - plain_cost == 2 + 6  # the media connection and one point per image


def test_staged_uploads_stage_several_files_with_one_call_and_productset_cites_files_by_id(shop, connect):
    from haven_pipelines.integrations.shopify import UploadFile

    client = connect(shop)
    urls = client.staged_uploads([UploadFile("a.png", "image/png", b"first"), UploadFile("b.png", "image/png", b"second")])
    assert shop.operation_counts["stagedUploadsCreate"] == 1 and shop.stats.uploads == 2
    assert sorted(u.data for u in shop.uploads.values()) == [b"first", b"second"]
    product_input, identifier = product_set_variables(2)
    product_input["files"] = [{"originalSource": u, "alt": f"image {i}", "contentType": "IMAGE"} for i, u in enumerate(urls)]
    created = client.product_set(product_input, identifier, with_media=True)
    assert [m.alt for m in created.media] == ["image 0", "image 1"] and created.media_complete
    assert {m.status for m in shop.products[created.id].media} == {"READY"}

    # Cite the second file by id and upload nothing: the same media, in the new order.
    product_input["files"] = [{"id": created.media[1].id, "alt": "kept"}]
    again = client.product_set(product_input, {"id": created.id}, with_media=True)
    assert [m.id for m in again.media] == [created.media[1].id] and again.media[0].alt == "kept"
    assert shop.stats.uploads == 2

    # A file another product holds can be cited too; an id that names no file is refused on its path.
    other_input, other_identifier = product_set_variables(3)
    other_input["files"] = [{"id": created.media[0].id, "alt": "shared"}]
    assert [m.id for m in client.product_set(other_input, other_identifier, with_media=True).media] == [created.media[0].id]
    other_input["files"] = [{"id": "gid://shopify/MediaImage/1", "alt": "gone"}]
    with pytest.raises(ShopifyUserErrors) as refused:
        client.product_set(other_input, other_identifier)
    assert [(e.field, e.code) for e in refused.value.user_errors] == [(("input", "files", "0", "id"), "NOT_FOUND")]


def test_a_file_deleted_in_the_admin_leaves_the_product_and_cannot_be_cited(shop, connect):
    client = connect(shop)
    product_input, identifier = product_set_variables(4)
    created = client.product_set(product_input, identifier, with_media=True)
    assert shop.delete_media(created.media[0].id)
    remote = client.get_product(created.id)
    assert remote.media_ids == tuple(m.id for m in created.media[1:])
    product_input["files"] = [{"id": created.media[0].id, "alt": "x"}]
    with pytest.raises(ShopifyUserErrors):
        client.product_set(product_input, {"id": created.id})


def test_points_spent_add_up_the_actual_cost_shopify_reported(shop, connect):
    client = connect(shop)
    product_input, identifier = product_set_variables(5)
    client.product_set(product_input, identifier)
    client.get_product(next(iter(shop.products)))
    assert client.stats().points_spent == shop.stats.points_charged > 0
