"""The dry run: validates and records every mutation, sends nothing, answers plausibly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from haven_pipelines.integrations.shopify import (
    BaseShopifyClient,
    DryRunShopifyClient,
    OutboxEntry,
    ShopifyClient,
    ShopifyValidationError,
    documents,
    fake_gid,
)
from haven_pipelines_tests.integrations.shopify.realistic import product_set_variables

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_live_and_dry_run_share_the_base_class():
    assert issubclass(ShopifyClient, BaseShopifyClient) and issubclass(DryRunShopifyClient, BaseShopifyClient)
    assert DryRunShopifyClient.dry_run is True and ShopifyClient.dry_run is False


def test_product_set_is_validated_recorded_and_answered():
    recorded: list[OutboxEntry] = []
    client = DryRunShopifyClient(recorded.append, clock=lambda: NOW)
    product_input, identifier = product_set_variables(3)
    result = client.product_set(product_input, identifier)

    assert len(recorded) == 1
    entry = recorded[0]
    assert entry.operation == "ProductSet" and entry.document == documents.PRODUCT_SET and entry.recorded_at == NOW
    assert entry.variables == {"input": product_input, "identifier": identifier, "synchronous": True, "withMedia": False}

    assert result.handle == identifier["handle"]
    assert result.id == fake_gid("Product", identifier["handle"])
    assert set(result.variant_ids_by_sku()) == {v["sku"] for v in product_input["variants"]}
    assert result.media == ()  # read back only when asked
    assert len(client.product_set(product_input, identifier, with_media=True).media) == 6


def test_fake_gids_are_stable_across_instances():
    product_input, identifier = product_set_variables(4)
    first = DryRunShopifyClient().product_set(product_input, identifier)
    second = DryRunShopifyClient().product_set(product_input, identifier)
    assert first == second
    assert first.id.startswith("gid://shopify/Product/") and first.legacy_id.isdigit()


def test_invalid_variables_raise_and_record_nothing():
    client = DryRunShopifyClient()
    product_input, identifier = product_set_variables(5)
    product_input["variants"][0]["price"] = 24.99  # a float: Shopify wants a decimal string
    with pytest.raises(ShopifyValidationError) as info:
        client.product_set(product_input, identifier)
    assert any("decimal string" in e for e in info.value.errors)
    assert client.entries == []


def test_archive_and_read_back_what_was_published():
    client = DryRunShopifyClient()
    product_input, identifier = product_set_variables(6)
    published = client.product_set(product_input, identifier)
    assert client.archive_product(published.id) == "ARCHIVED"
    product = client.get_product(published.id)
    assert product is not None and product.status == "ARCHIVED" and len(product.variants) == 21
    assert client.find_product_by_handle(identifier["handle"]).id == published.id
    assert [p.id for p in client.iter_products()] == [published.id]
    assert client.get_product("gid://shopify/Product/1") is None
    assert [e.operation for e in client.entries] == ["ProductSet", "ProductArchive"]  # queries are not recorded


def test_republish_by_gid_keeps_the_product():
    client = DryRunShopifyClient()
    product_input, identifier = product_set_variables(8)
    first = client.product_set(product_input, identifier)
    product_input["title"] = "Renamed"
    second = client.product_set(product_input, {"id": first.id})
    assert second.id == first.id and second.title == "Renamed"
    assert len(list(client.iter_products())) == 1


def test_staged_upload_sends_nothing_but_records_the_request():
    client = DryRunShopifyClient(record_queries=True)
    url = client.staged_upload("design.png", "image/png", b"\x89PNG")
    assert url.startswith("https://dry-run.invalid/") and url.endswith("/design.png")
    assert client.shop().name == "Dry run"
    assert [e.operation for e in client.entries] == ["StagedUploadsCreate", "Shop"]
