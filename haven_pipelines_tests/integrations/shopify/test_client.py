"""The live client against ``httpx.MockTransport``: endpoint, pacing, retries, typed errors, no token leaks."""

from __future__ import annotations

import json
import logging
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.shopify import (
    ShopifyAuthError,
    ShopifyClient,
    ShopifyNetworkError,
    ShopifyResponseError,
    ShopifyServerError,
    ShopifyThrottled,
    ShopifyUserErrors,
    ShopifyValidationError,
    documents,
)
from haven_pipelines.integrations.shopify.client import _retry_after
from haven_pipelines_tests.integrations.shopify.conftest import TOKEN, Script, cost, ok, throttled

SHOP_DATA = {"shop": {"id": "gid://shopify/Shop/1", "name": "Haven", "myshopifyDomain": "haven-test.myshopify.com", "currencyCode": "USD"}}


def product_set_data(variants: int = 2, has_next: bool = False) -> dict:
    return {
        "productSet": {
            "product": {
                "id": "gid://shopify/Product/42",
                "handle": "be-still",
                "title": "Be still",
                "status": "ACTIVE",
                "variants": {
                    "nodes": [{"id": f"gid://shopify/ProductVariant/{i}", "sku": f"HH-1-8X10-{i}"} for i in range(variants)],
                    "pageInfo": {"hasNextPage": has_next, "endCursor": "c1" if has_next else None},
                },
                "media": {"nodes": [{"id": "gid://shopify/MediaImage/7", "alt": "design", "status": "PROCESSING", "mediaContentType": "IMAGE"}]},
            },
            "userErrors": [],
        }
    }


def test_posts_to_the_pinned_endpoint_with_the_token_header(make_client):
    script = Script(ok(SHOP_DATA))
    shop = make_client(script).shop()
    assert shop.domain == "haven-test.myshopify.com" and shop.currency == "USD"
    request = script.requests[0]
    assert str(request.url) == "https://haven-test.myshopify.com/admin/api/2026-10/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    body = json.loads(request.content)
    assert body == {"query": documents.SHOP, "variables": {}, "operationName": "Shop"}


def test_base_url_override_keeps_the_admin_path(make_client):
    script = Script(ok(SHOP_DATA))
    make_client(script, base_url="http://127.0.0.1:8123/proxy/").shop()
    assert str(script.requests[0].url) == "http://127.0.0.1:8123/proxy/admin/api/2026-10/graphql.json"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shop_domain": "https://evil.example/x"}, "shop_domain"),
        ({"access_token": "  "}, "access_token"),
        ({"api_version": "2026-13"}, "api_version"),
        ({"base_url": "ftp://x"}, "base_url"),
    ],
)
def test_bad_settings_name_the_field(kwargs, field):
    args = {"shop_domain": "haven", "access_token": TOKEN, **kwargs}
    with pytest.raises(ValidationError) as info:
        ShopifyClient(**args)
    assert info.value.field == field


def test_pacing_waits_until_the_requested_cost_fits(make_client, clock):
    # Each ProductGet asks for 150 points; after the first, Shopify reports 100 of 2000 left at 50/s.
    script = Script(
        ok({"product": None}, cost(150, 40, available=100, rate=50)),
        ok({"product": None}, cost(150, 40, available=70, rate=50)),
    )
    client = make_client(script)
    assert client.get_product("gid://shopify/Product/1") is None
    assert clock.sleeps == []  # the first call cannot know the bucket
    client.get_product("gid://shopify/Product/1")
    # (150 + 0.5 margin - 100) / 50 points per second
    assert clock.sleeps == [pytest.approx(1.01)]
    assert client.stats().paced_seconds == pytest.approx(1.01)


def test_no_wait_when_the_bucket_holds_the_cost(make_client, clock):
    script = Script(ok(SHOP_DATA, cost(2, 2, available=1998)), ok(SHOP_DATA, cost(2, 2, available=1996)))
    client = make_client(script)
    client.shop()
    client.shop()
    assert clock.sleeps == []


def test_throttled_is_retried_after_the_wait_the_bucket_implies(make_client, clock):
    script = Script(throttled(requested=200, available=50), ok(SHOP_DATA, cost(200, 10, available=10)))
    client = make_client(script)
    assert client.shop().name == "Haven"
    assert len(script.requests) == 2
    assert sum(clock.sleeps) == pytest.approx((200.5 - 50) / 100)
    stats = client.stats()
    assert stats.throttled == 1 and stats.retries == 1 and stats.requests == 2


def test_throttled_surfaces_only_when_retries_are_exhausted(make_client):
    script = Script(*[throttled(requested=200, available=0) for _ in range(3)])
    client = make_client(script, max_throttled_retries=2)
    with pytest.raises(ShopifyThrottled) as info:
        client.shop()
    assert len(script.requests) == 3
    assert "Shop" in str(info.value)


def test_429_honours_retry_after(make_client, clock):
    script = Script(httpx.Response(429, headers={"Retry-After": "3"}, json={"errors": "Throttled"}), ok(SHOP_DATA))
    make_client(script).shop()
    assert clock.sleeps == [3.0]


def test_retry_after_as_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    response = httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    assert 25 <= _retry_after(response) <= 30
    assert _retry_after(httpx.Response(503, headers={"Retry-After": "99999"})) == 120.0
    assert _retry_after(httpx.Response(503)) is None


def test_5xx_is_retried_with_growing_backoff(make_client, clock):
    script = Script(httpx.Response(502), httpx.Response(503), ok(SHOP_DATA))
    make_client(script, backoff=1.0).shop()
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.0 and 1.0 <= clock.sleeps[1] <= 2.0  # doubled, with jitter


def test_5xx_gives_up_after_max_retries(make_client):
    script = Script(*[httpx.Response(500) for _ in range(3)])
    with pytest.raises(ShopifyServerError) as info:
        make_client(script, max_retries=2).shop()
    assert info.value.status == 500 and len(script.requests) == 3


def test_ambiguous_failures_are_not_retried_for_non_idempotent_calls(make_client):
    script = Script(httpx.Response(500))
    with pytest.raises(ShopifyServerError):
        make_client(script).execute(documents.SHOP, idempotent=False)
    script = Script(httpx.ReadTimeout("timed out"))
    with pytest.raises(ShopifyNetworkError):
        make_client(script).execute(documents.SHOP, idempotent=False)
    assert len(script.requests) == 1


def test_product_set_without_identifier_is_never_blindly_retried(make_client):
    script = Script(httpx.ReadTimeout("slow"))
    with pytest.raises(ShopifyNetworkError):
        make_client(script).product_set({"title": "x"})
    assert len(script.requests) == 1  # it may have created the product: a retry could make a second


def test_network_errors_are_retried(make_client):
    script = Script(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), ok(SHOP_DATA))
    assert make_client(script).shop().name == "Haven"
    assert len(script.requests) == 4


def test_network_error_after_retries_is_typed(make_client):
    script = Script(*[httpx.ConnectError("refused") for _ in range(2)])
    with pytest.raises(ShopifyNetworkError) as info:
        make_client(script, max_retries=1).shop()
    assert "haven-test.myshopify.com" in str(info.value)


def test_user_errors_become_a_typed_error_with_every_entry(make_client):
    data = {
        "productSet": {
            "product": None,
            "userErrors": [
                {"field": ["input", "variants", "0", "price"], "message": "Price must be positive", "code": "INVALID"},
                {"field": None, "message": "Handle taken", "code": None},
            ],
        }
    }
    script = Script(ok(data))
    with pytest.raises(ShopifyUserErrors) as info:
        make_client(script).product_set({"title": "x"}, {"handle": "x"})
    first, second = info.value.user_errors
    assert first.field == ("input", "variants", "0", "price") and first.code == "INVALID"
    assert second.field == () and second.message == "Handle taken"
    assert "input.variants.0.price: Price must be positive [INVALID]" in str(info.value)
    assert len(script.requests) == 1  # refused input is not retried


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>bad gateway</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"extensions": {}}),
        httpx.Response(200, json={"data": None, "errors": [{"message": "Field 'x' doesn't exist on type 'Shop'"}]}),
        httpx.Response(404, json={"errors": "Not Found"}),
    ],
)
def test_unusable_answers_are_response_errors(make_client, response):
    script = Script(response)
    with pytest.raises(ShopifyResponseError):
        make_client(script).shop()
    assert len(script.requests) == 1


def test_unexpected_shape_is_a_response_error(make_client):
    script = Script(ok({"productSet": {"product": {"id": "gid://shopify/Product/1"}, "userErrors": []}}))
    with pytest.raises(ShopifyResponseError, match="unexpected shape"):
        make_client(script).product_set({"title": "x"})


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        httpx.Response(403, json={"errors": "forbidden"}),
        httpx.Response(200, json={"errors": [{"message": "Access denied for products field.", "extensions": {"code": "ACCESS_DENIED"}}]}),
    ],
)
def test_auth_failures_are_not_retried(make_client, response):
    script = Script(response)
    with pytest.raises(ShopifyAuthError):
        make_client(script).shop()
    assert len(script.requests) == 1


def test_the_token_never_appears_in_logs_errors_or_reprs(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    # Each failure with the typed error it must become: a bug in the client (a TypeError, say) would
    # leave the token unchecked in an error nobody meant, so it must not pass as one of these.
    scripts = [
        (Script(httpx.Response(401, json={"errors": "bad token"})), ShopifyAuthError),
        (Script(*[httpx.Response(503) for _ in range(2)]), ShopifyServerError),
        (Script(*[httpx.ConnectError("refused") for _ in range(2)]), ShopifyNetworkError),
        (Script(*[throttled(10, 0) for _ in range(2)]), ShopifyThrottled),
        (Script(httpx.Response(200, text="garbage")), ShopifyResponseError),
    ]
    for script, expected in scripts:
        client = make_client(script, max_retries=1, max_throttled_retries=1)
        seen += [repr(client), str(client.__dict__.get("bucket"))]
        with pytest.raises(expected) as info:
            client.shop()
        assert type(info.value) is expected
        seen += [str(info.value), repr(info.value), repr(info.value.__cause__), repr(info.value.__context__)]
    seen += [r.getMessage() for r in caplog.records]
    assert caplog.records, "retries should have been logged"
    for text in seen:
        assert TOKEN not in text


def test_product_set_sends_identifier_and_reads_every_variant(make_client):
    page_two = {
        "product": {
            "variants": {"nodes": [{"id": "gid://shopify/ProductVariant/99", "sku": "HH-1-24X36-DIG", "price": "19.99", "compareAtPrice": None}], "pageInfo": {"hasNextPage": False, "endCursor": None}}
        }
    }
    script = Script(ok(product_set_data(variants=2, has_next=True)), ok(page_two))
    result = make_client(script).product_set({"title": "Be still"}, {"handle": "be-still"}, with_media=True)
    sent = script.bodies()
    assert sent[0]["operationName"] == "ProductSet"
    assert sent[0]["variables"] == {"input": {"title": "Be still"}, "synchronous": True, "withMedia": True, "identifier": {"handle": "be-still"}}
    assert sent[1]["operationName"] == "ProductVariantsPage" and sent[1]["variables"] == {"id": "gid://shopify/Product/42", "after": "c1"}
    assert result.id == "gid://shopify/Product/42" and result.legacy_id == "42"
    assert result.variant_ids_by_sku() == {
        "HH-1-8X10-0": "gid://shopify/ProductVariant/0",
        "HH-1-8X10-1": "gid://shopify/ProductVariant/1",
        "HH-1-24X36-DIG": "gid://shopify/ProductVariant/99",
    }
    assert result.media[0].status == "PROCESSING"


def test_archive_and_get_product(make_client):
    product = {
        "id": "gid://shopify/Product/42",
        "handle": "be-still",
        "title": "Be still",
        "status": "ARCHIVED",
        "updatedAt": "2026-11-01T00:00:00Z",
        "variants": {"nodes": [{"id": "gid://shopify/ProductVariant/1", "sku": "S", "price": "24.99", "compareAtPrice": "29.99"}], "pageInfo": {"hasNextPage": False, "endCursor": None}},
    }
    script = Script(ok({"productUpdate": {"product": {"id": product["id"], "status": "ARCHIVED"}, "userErrors": []}}), ok({"product": product}))
    client = make_client(script)
    assert client.archive_product("gid://shopify/Product/42") == "ARCHIVED"
    got = client.get_product("gid://shopify/Product/42")
    assert got is not None and got.status == "ARCHIVED"
    assert str(got.variants[0].price) == "24.99" and str(got.variants[0].compare_at_price) == "29.99"
    assert script.bodies()[0]["variables"] == {"id": "gid://shopify/Product/42"}


def test_iter_products_follows_pages(make_client):
    def node(n: int) -> dict:
        return {"id": f"gid://shopify/Product/{n}", "handle": f"p{n}", "title": f"P{n}", "status": "ACTIVE", "updatedAt": None, "variants": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    script = Script(
        ok({"products": {"nodes": [node(1), node(2)], "pageInfo": {"hasNextPage": True, "endCursor": "abc"}}}),
        ok({"products": {"nodes": [node(3)], "pageInfo": {"hasNextPage": False, "endCursor": None}}}),
    )
    handles = [p.handle for p in make_client(script).iter_products(query="vendor:'Haven & Hold'", page_size=2)]
    assert handles == ["p1", "p2", "p3"]
    second = script.bodies()[1]["variables"]
    assert second == {"first": 2, "after": "abc", "query": "vendor:'Haven & Hold'"}


def test_staged_upload_posts_the_bytes_to_the_target_without_the_token(make_client):
    target = {
        "url": "https://storage.example/upload-bucket",
        "resourceUrl": "https://storage.example/upload-bucket/tmp/design.png",
        "parameters": [{"name": "key", "value": "tmp/design.png"}, {"name": "policy", "value": "abc"}],
    }
    script = Script(ok({"stagedUploadsCreate": {"stagedTargets": [target], "userErrors": []}}), httpx.Response(204))
    url = make_client(script).staged_upload("design.png", "image/png", b"\x89PNG-bytes")
    assert url == target["resourceUrl"]
    variables = script.bodies()[0]["variables"]
    assert variables["input"] == [{"filename": "design.png", "mimeType": "image/png", "resource": "IMAGE", "httpMethod": "POST", "fileSize": "10"}]
    upload = script.requests[1]
    assert str(upload.url) == target["url"]
    assert "X-Shopify-Access-Token" not in upload.headers
    content = upload.read()
    assert b'name="key"' in content and b"tmp/design.png" in content and b"\x89PNG-bytes" in content
    assert content.index(b'name="policy"') < content.index(b'name="file"')  # the file goes last


def test_staged_upload_refused_is_typed(make_client):
    target = {"url": "https://storage.example/u?X-Goog-Signature=secret", "resourceUrl": "https://storage.example/r", "parameters": []}
    script = Script(ok({"stagedUploadsCreate": {"stagedTargets": [target], "userErrors": []}}), httpx.Response(403))
    with pytest.raises(ShopifyResponseError) as info:
        make_client(script).staged_upload("a.png", "image/png", b"x")
    assert "secret" not in str(info.value)  # the signed URL is a credential too


def test_validate_mode_refuses_bad_variables_before_sending(make_client):
    script = Script()
    client = make_client(script, validate=True)
    with pytest.raises(ShopifyValidationError) as info:
        client.execute(documents.PRODUCT_ARCHIVE, {"id": None})
    assert info.value.operation == "ProductArchive"
    assert script.requests == []


def test_variables_that_are_not_json_are_refused(make_client):
    from decimal import Decimal

    script = Script()
    with pytest.raises(ShopifyValidationError, match="not JSON"):
        make_client(script).execute(documents.PRODUCT_SET, {"input": {"variants": [{"price": Decimal("1.00")}]}, "synchronous": True})
    assert script.requests == []
