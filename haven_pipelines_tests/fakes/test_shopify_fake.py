"""Tests of the fake Shopify Admin GraphQL server itself, through plain httpx over a real socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from haven_pipelines_tests.fakes.shopify_server import FakeShopify, Fault, load_admin_schema

PRODUCT_SET = """
mutation publish($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input, synchronous: true) {
    product {
      id handle status title
      variants(first: 50) { nodes { id sku price selectedOptions { name value } inventoryItem { requiresShipping unitCost { amount } } } }
      media(first: 10) { nodes { id alt status mediaErrors { code } } }
    }
    userErrors { field message code }
  }
}
"""

PRODUCT_UPDATE = """
mutation archive($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id status } userErrors { field message } }
}
"""

PRODUCTS_PAGE = """
query page($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) {
    edges { cursor node { id handle status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def product_input(
    handle: str = "still-water",
    title: str = "Still Water",
    *,
    sizes=("8x10", "11x14"),
    frames=("Unframed", "Black"),
    price="24.99",
    files=(),
) -> dict[str, Any]:  # noqa: ANN001
    """A realistic ProductSetInput: Size x Frame variants with SKUs, costs and images."""
    return {
        "title": title,
        "handle": handle,
        "vendor": "Haven & Hold",
        "productType": "Print",
        "status": "ACTIVE",
        "tags": ["grounding"],
        "productOptions": [
            {"name": "Size", "values": [{"name": s} for s in sizes]},
            {"name": "Frame", "values": [{"name": f} for f in frames]},
        ],
        "variants": [
            {
                "optionValues": [{"optionName": "Size", "name": s}, {"optionName": "Frame", "name": f}],
                "price": price,
                "inventoryPolicy": "CONTINUE",
                "inventoryItem": {
                    "sku": f"HH-{handle[:4].upper()}-{s.replace('x', '')}-{f[:3].upper()}",
                    "cost": "8.00",
                    "tracked": False,
                },
            }
            for s in sizes
            for f in frames
        ],
        "files": [{"originalSource": src, "alt": f"image {i}", "contentType": "IMAGE"} for i, src in enumerate(files)],
    }


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify() as fake:
        yield fake


@pytest.fixture
def client(shop: FakeShopify) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.token}, timeout=5.0) as c:
        yield c


def gql(client: httpx.Client, shop: FakeShopify, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post(f"/admin/api/{shop.api_version}/graphql.json", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def publish(
    client: httpx.Client, shop: FakeShopify, data: dict[str, Any], identifier: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = gql(client, shop, PRODUCT_SET, {"identifier": identifier or {"handle": data["handle"]}, "input": data})
    assert "errors" not in body, body
    return body["data"]["productSet"]


# -- protocol ---------------------------------------------------------------------------------


def test_schema_is_built_once_per_process():
    assert load_admin_schema() is load_admin_schema()


def test_wrong_or_missing_token_gets_401_and_changes_nothing(shop: FakeShopify):
    with httpx.Client(base_url=shop.base_url, timeout=5.0) as anon:
        for headers in ({"X-Shopify-Access-Token": "shpat_wrong"}, {}):
            r = anon.post(shop.graphql_url, json={"query": PRODUCT_SET, "variables": {"input": product_input()}}, headers=headers)
            assert r.status_code == 401
            assert r.json()["errors"].startswith("[API] Invalid API key or access token")
    assert shop.products == {}
    assert shop.operation_counts == {}


def test_unknown_api_version_and_path_get_404(shop: FakeShopify, client: httpx.Client):
    assert client.post("/admin/api/2019-01/graphql.json", json={"query": "{ shop { name } }"}).status_code == 404
    assert client.post("/admin/api/graphql.json", json={"query": "{ shop { name } }"}).status_code == 404


def test_invalid_document_is_rejected_with_errors_and_not_executed(shop: FakeShopify, client: httpx.Client):
    body = gql(client, shop, "mutation { productSet(input: {title: 1}) { product { id colour } } }")
    assert "data" not in body
    messages = " ".join(e["message"] for e in body["errors"])
    assert "colour" in messages
    assert body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 1000
    syntax = gql(client, shop, "{ shop { name ")
    assert syntax["errors"] and "Syntax Error" in syntax["errors"][0]["message"]
    assert shop.operation_counts == {}
    assert shop.products == {}


def test_variables_are_checked_against_the_schema(shop: FakeShopify, client: httpx.Client):
    bad = product_input()
    bad["status"] = "LIVE"  # not a ProductStatus
    body = gql(client, shop, PRODUCT_SET, {"input": bad})
    assert "LIVE" in body["errors"][0]["message"]
    assert shop.products == {}


def test_unmodelled_fields_answer_empty_values_instead_of_failing(shop: FakeShopify, client: httpx.Client):
    product_id = publish(client, shop, product_input())["product"]["id"]
    body = gql(
        client, shop,
        "query($id: ID!) { product(id: $id) { id onlineStoreUrl seo { title } totalInventory hasOutOfStockVariants"
        " priceRangeV2 { minVariantPrice { amount currencyCode } } featuredMedia { id } } }",
        {"id": product_id},
    )  # fmt: skip
    assert "errors" not in body
    product = body["data"]["product"]
    assert product["id"] == product_id
    assert product["onlineStoreUrl"] is None
    assert product["hasOutOfStockVariants"] is False
    assert product["priceRangeV2"]["minVariantPrice"] == {"amount": "24.99", "currencyCode": "USD"}


# -- productSet -------------------------------------------------------------------------------


def test_product_set_creates_then_upserts_in_place_without_duplicates(shop: FakeShopify, client: httpx.Client):
    first = publish(client, shop, product_input())
    assert first["userErrors"] == []
    product = first["product"]
    assert product["handle"] == "still-water"
    assert len(product["variants"]["nodes"]) == 4
    assert {o["name"]: o["value"] for o in product["variants"]["nodes"][1]["selectedOptions"]} == {
        "Size": "8x10",
        "Frame": "Black",
    }

    changed = product_input(title="Still Water II", price="29.99")
    second = publish(client, shop, changed)["product"]
    assert second["id"] == product["id"]
    assert [v["id"] for v in second["variants"]["nodes"]] == [v["id"] for v in product["variants"]["nodes"]]
    by_id = publish(client, shop, changed, identifier={"id": product["id"]})["product"]
    assert by_id["id"] == product["id"]

    assert len(shop.products) == 1
    stored = shop.products[product["id"]]
    assert stored.title == "Still Water II"
    assert {str(v.price) for v in stored.variants} == {"29.99"}
    assert stored.variant_by_sku("HH-STIL-810-BLA") is not None
    assert shop.operation_counts["productSet"] == 3


def test_product_set_replaces_variant_list_and_keeps_matching_ids(shop: FakeShopify, client: httpx.Client):
    before = publish(client, shop, product_input(sizes=("8x10", "11x14")))["product"]
    after = publish(client, shop, product_input(sizes=("11x14", "16x20")))["product"]
    kept = {v["sku"]: v["id"] for v in before["variants"]["nodes"]}
    now = {v["sku"]: v["id"] for v in after["variants"]["nodes"]}
    assert set(now) == {"HH-STIL-1114-UNF", "HH-STIL-1114-BLA", "HH-STIL-1620-UNF", "HH-STIL-1620-BLA"}
    assert now["HH-STIL-1114-UNF"] == kept["HH-STIL-1114-UNF"]
    assert len(shop.products[after["id"]].variants) == 4


def test_product_set_with_unknown_id_is_a_user_error(shop: FakeShopify, client: httpx.Client):
    result = publish(client, shop, product_input(), identifier={"id": "gid://shopify/Product/42"})
    assert result["product"] is None
    assert result["userErrors"] == [
        {"field": ["identifier", "id"], "message": "Product does not exist", "code": "PRODUCT_DOES_NOT_EXIST"}
    ]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda d: d.update(title="  "), ["input", "title"], "INVALID_PRODUCT"),
        (lambda d: d["variants"][2].update(price="0"), ["input", "variants", "2", "price"], "INVALID_VARIANT"),
        (lambda d: d["variants"][1].update(price="-3.00"), ["input", "variants", "1", "price"], "INVALID_VARIANT"),
        (
            lambda d: d["variants"][3]["inventoryItem"].update(sku=d["variants"][0]["inventoryItem"]["sku"]),
            ["input", "variants", "3", "sku"],
            "DUPLICATED_VALUE",
        ),
        (
            lambda d: d["variants"][0]["optionValues"][0].update(name="99x99"),
            ["input", "variants", "0", "optionValues", "0", "name"],
            "OPTION_VALUE_DOES_NOT_EXIST",
        ),
        (lambda d: d.pop("productOptions"), ["input", "productOptions"], "PRODUCT_OPTIONS_INPUT_MISSING"),
        (
            lambda d: d["variants"].append(dict(d["variants"][0], inventoryItem={"sku": "OTHER"})),
            ["input", "variants", "4", "optionValues"],
            "INVALID_VARIANT",
        ),
    ],
    ids=[
        "blank-title",
        "zero-price",
        "negative-price",
        "duplicate-sku",
        "unknown-option-value",
        "no-options",
        "duplicate-variant",
    ],
)
def test_product_set_user_errors_change_nothing(shop: FakeShopify, client: httpx.Client, change, field, code):  # noqa: ANN001
    data = product_input()
    change(data)
    result = publish(client, shop, data)
    assert result["product"] is None
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in result["userErrors"]]
    assert shop.products == {}


def test_scripted_user_errors_for_a_sku_and_for_the_next_mutation(shop: FakeShopify, client: httpx.Client):
    shop.reject_sku("HH-STIL-1114-BLA", "Variant is blocked by the test")
    rejected = publish(client, shop, product_input())
    assert rejected["userErrors"] == [
        {"field": ["input", "variants", "3", "sku"], "message": "Variant is blocked by the test", "code": "INVALID_VARIANT"}
    ]
    shop.clear_faults()

    shop.user_error_next("Something went wrong on our side", field=["input"], code="GENERIC_ERROR", operation="productSet")
    forced = publish(client, shop, product_input())
    assert forced["userErrors"] == [{"field": ["input"], "message": "Something went wrong on our side", "code": "GENERIC_ERROR"}]
    assert shop.products == {}
    assert publish(client, shop, product_input())["userErrors"] == []
    assert len(shop.products) == 1


def test_concurrent_upserts_of_one_handle_make_one_product(shop: FakeShopify):
    results: list[dict[str, Any]] = []

    def worker() -> None:
        with httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.token}, timeout=5.0) as c:
            results.append(publish(c, shop, product_input()))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    assert len({r["product"]["id"] for r in results}) == 1
    assert len(shop.products) == 1


# -- other mutations ----------------------------------------------------------------------------


def test_product_update_archives_and_unknown_product_is_a_user_error(shop: FakeShopify, client: httpx.Client):
    product_id = publish(client, shop, product_input())["product"]["id"]
    body = gql(client, shop, PRODUCT_UPDATE, {"product": {"id": product_id, "status": "ARCHIVED"}})
    assert body["data"]["productUpdate"] == {"product": {"id": product_id, "status": "ARCHIVED"}, "userErrors": []}
    assert shop.products[product_id].status == "ARCHIVED"
    missing = gql(client, shop, PRODUCT_UPDATE, {"product": {"id": "gid://shopify/Product/1", "status": "ARCHIVED"}})
    assert missing["data"]["productUpdate"]["userErrors"] == [{"field": ["id"], "message": "Product does not exist"}]


def test_create_then_one_call_per_variant_the_sources_way(shop: FakeShopify, client: httpx.Client):
    created = gql(
        client, shop,
        "mutation($p: ProductCreateInput!) { productCreate(product: $p) { product { id variants(first: 5) { nodes { id title } } } userErrors { field message } } }",
        {"p": {"title": "Old Way", "productOptions": [{"name": "Size", "values": [{"name": "8x10"}]}, {"name": "Frame", "values": [{"name": "Unframed"}]}]}},
    )["data"]["productCreate"]  # fmt: skip
    assert created["userErrors"] == []
    assert [v["title"] for v in created["product"]["variants"]["nodes"]] == ["8x10 / Unframed"]
    product_id = created["product"]["id"]
    bulk = """mutation($id: ID!, $v: [ProductVariantsBulkInput!]!) {
      productVariantsBulkCreate(productId: $id, variants: $v, strategy: REMOVE_STANDALONE_VARIANT) {
        productVariants { id sku } userErrors { field message code } } }"""
    for size, frame in [("8x10", "Unframed"), ("8x10", "Black"), ("11x14", "Unframed")]:
        variant = {
            "optionValues": [{"optionName": "Size", "name": size}, {"optionName": "Frame", "name": frame}],
            "price": "24.99",
            "inventoryItem": {"sku": f"SKU-{size}-{frame}"},
        }
        result = gql(client, shop, bulk, {"id": product_id, "v": [variant]})["data"]["productVariantsBulkCreate"]
        assert result["userErrors"] == [], result
    stored = shop.products[product_id]
    assert sorted(v.title for v in stored.variants) == ["11x14 / Unframed", "8x10 / Black", "8x10 / Unframed"]
    assert [o.values for o in stored.options] == [["8x10", "11x14"], ["Unframed", "Black"]]
    again = gql(client, shop, bulk, {"id": product_id, "v": [variant]})["data"]["productVariantsBulkCreate"]
    assert [e["code"] for e in again["userErrors"]] == ["VARIANT_ALREADY_EXISTS", "INVALID"]
    assert shop.operation_counts == {"productCreate": 1, "productVariantsBulkCreate": 4}


def test_staged_upload_put_and_post_then_files_reference_the_resource_url(shop: FakeShopify, client: httpx.Client):
    staged = gql(
        client, shop,
        "mutation($i: [StagedUploadInput!]!) { stagedUploadsCreate(input: $i) { stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }",
        {"i": [
            {"filename": "one.png", "mimeType": "image/png", "resource": "IMAGE", "httpMethod": "PUT"},
            {"filename": "two.png", "mimeType": "image/png", "resource": "IMAGE", "httpMethod": "POST"},
            {"filename": "three.png", "mimeType": "image/png", "resource": "IMAGE"},
        ]},
    )["data"]["stagedUploadsCreate"]  # fmt: skip
    assert staged["userErrors"] == []
    put_target, post_target, never_uploaded = staged["stagedTargets"]
    with httpx.Client(timeout=5.0) as raw:  # upload URLs are pre-signed: no token
        assert raw.put(put_target["url"], content=b"\x89PNG one").status_code == 200
        form = {p["name"]: p["value"] for p in post_target["parameters"]}
        assert (
            raw.post(post_target["url"], data=form, files={"file": ("two.png", b"\x89PNG two", "image/png")}).status_code == 201
        )
        assert raw.get(post_target["resourceUrl"]).content == b"\x89PNG two"

    sources = [
        put_target["resourceUrl"],
        post_target["resourceUrl"],
        never_uploaded["resourceUrl"],
        "https://cdn.example.com/a.png",
    ]
    media = publish(client, shop, product_input(files=sources))["product"]["media"]["nodes"]
    assert [m["status"] for m in media] == ["READY", "READY", "FAILED", "READY"]
    assert media[2]["mediaErrors"] == [{"code": "IMAGE_DOWNLOAD_FAILURE"}]
    assert sorted(u.data for u in shop.uploads.values() if u.data) == [b"\x89PNG one", b"\x89PNG two"]
    again = publish(client, shop, product_input(files=sources))["product"]["media"]["nodes"]
    assert [m["id"] for m in again] == [m["id"] for m in media]


def test_product_deleted_in_the_admin_is_gone(shop: FakeShopify, client: httpx.Client):
    product_id = publish(client, shop, product_input())["product"]["id"]
    assert shop.delete_product(product_id) is True
    assert gql(client, shop, "query($id: ID!) { product(id: $id) { id } }", {"id": product_id})["data"]["product"] is None
    by_id = publish(client, shop, product_input(), identifier={"id": product_id})
    assert by_id["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"
    assert shop.products == {}


# -- cost and throttling --------------------------------------------------------------------------


def test_cost_extensions_follow_the_documented_rules():
    with (
        FakeShopify(clock=FakeClock()) as shop,
        httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.token}, timeout=5.0) as client,
    ):
        for i in range(3):
            publish(client, shop, product_input(handle=f"p-{i}", sizes=("8x10",), frames=("Unframed",)))
        before = shop.bucket.status()["currentlyAvailable"]
        body = gql(client, shop, "{ products(first: 10) { edges { node { id title } } pageInfo { hasNextPage } } }")
        cost = body["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 2 + 10 * 1
        assert cost["actualQueryCost"] == 2 + 3 * 1
        assert cost["throttleStatus"]["currentlyAvailable"] == before - 5  # 12 charged, 7 refunded
        first_id = body["data"]["products"]["edges"][0]["node"]["id"]
        simple = gql(client, shop, PRODUCT_UPDATE, {"product": {"id": first_id, "title": "T"}})
        assert simple["extensions"]["cost"]["requestedQueryCost"] == 10

        sizes = ("8x10", "11x14", "16x20", "18x24", "24x36", "A4", "A3")
        big = product_input(
            sizes=sizes, frames=("Unframed", "Black", "White"), files=[f"https://cdn.example.com/{i}.png" for i in range(6)]
        )
        minimal = "mutation($input: ProductSetInput!) { productSet(input: $input) { product { id } userErrors { message } } }"
        priced = gql(client, shop, minimal, {"input": big})["extensions"]["cost"]
        assert priced["requestedQueryCost"] == 26  # 10 + 21 x 0.2 + 6 x 1.9 = 25.6, rounded up
        assert priced["actualQueryCost"] == 26
        assert shop.stats.points_charged == sum(c.actual_cost or 0 for c in shop.calls)
        assert shop.bucket.status()["currentlyAvailable"] == 1000 - shop.stats.points_charged


def test_query_over_the_single_query_limit_is_refused(shop: FakeShopify, client: httpx.Client):
    body = gql(client, shop, "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert shop.bucket.status()["currentlyAvailable"] == 1000


def test_throttled_when_the_bucket_is_drained_and_recovers_after_restore():
    clock = FakeClock()
    with FakeShopify(bucket_size=100, restore_rate=10.0, clock=clock) as shop:
        with httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.token}, timeout=5.0) as c:
            query = "{ products(first: 30) { nodes { id } } }"  # requests 2 + 30 = 32 points, pays 2 on an empty shop
            shop.set_bucket(20)
            body = gql(c, shop, query)
            assert "data" not in body
            assert body["errors"][0]["message"] == "Throttled"
            assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
            assert body["extensions"]["cost"] == {
                "requestedQueryCost": 32,
                "actualQueryCost": None,
                "throttleStatus": {"maximumAvailable": 100.0, "currentlyAvailable": 20.0, "restoreRate": 10.0},
            }
            clock.now += 1.2  # 12 points restored: 32 available
            ok = gql(c, shop, query)
            assert ok["data"] == {"products": {"nodes": []}}
            assert ok["extensions"]["cost"]["actualQueryCost"] == 2
            assert ok["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 30.0
            clock.now += 60
            assert gql(c, shop, "{ shop { name } }")["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 99.0
    assert shop.stats.throttled == 1
    assert shop.operation_counts == {"products": 1, "shop": 1}


def test_defaults_match_the_standard_plan_and_the_floor_follows_the_bucket():
    with FakeShopify() as shop:
        assert shop.bucket.status() == {"maximumAvailable": 1000.0, "currentlyAvailable": 1000.0, "restoreRate": 100.0}
        assert shop.throttle_floor_seconds(800) == 0.0
    with FakeShopify(bucket_size=2000, restore_rate=100.0) as bench:
        assert bench.throttle_floor_seconds(7000) == 50.0


# -- faults ----------------------------------------------------------------------------------------


def test_dropped_connection_after_commit_then_retry_makes_no_duplicate(shop: FakeShopify, client: httpx.Client):
    shop.drop_next(operation="productSet")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(
            shop.graphql_url,
            json={"query": PRODUCT_SET, "variables": {"identifier": {"handle": "still-water"}, "input": product_input()}},
        )
    assert len(shop.products) == 1  # committed although the client saw no answer
    retried = publish(client, shop, product_input())
    assert retried["product"]["id"] == next(iter(shop.products))
    assert len(shop.products) == 1
    assert shop.stats.dropped == 1
    assert [c.outcome for c in shop.calls] == ["dropped", "ok"]


def test_http_errors_and_retry_after_are_answered_without_executing(shop: FakeShopify, client: httpx.Client):
    shop.fail_next(503)
    shop.fail_next(429, retry_after=2.5)
    first = client.post(shop.graphql_url, json={"query": PRODUCT_SET, "variables": {"input": product_input()}})
    second = client.post(shop.graphql_url, json={"query": PRODUCT_SET, "variables": {"input": product_input()}})
    assert (first.status_code, second.status_code) == (503, 429)
    assert second.headers["Retry-After"] == "2.5"
    assert shop.products == {}
    assert shop.stats.http_faults == 2
    assert publish(client, shop, product_input())["userErrors"] == []


def test_a_script_applies_faults_to_the_calls_in_order(shop: FakeShopify, client: httpx.Client):
    shop.inject(Fault.ok(), Fault.http(502), Fault.drop(operation=None))
    assert client.post(shop.graphql_url, json={"query": "{ shop { name } }"}).status_code == 200
    assert client.post(shop.graphql_url, json={"query": "{ shop { name } }"}).status_code == 502
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(shop.graphql_url, json={"query": "{ shop { name } }"})
    assert client.post(shop.graphql_url, json={"query": "{ shop { name } }"}).status_code == 200
    assert [c.outcome for c in shop.calls] == ["ok", "http_502", "dropped", "ok"]


def test_a_fault_for_one_operation_waits_for_that_operation(shop: FakeShopify, client: httpx.Client):
    shop.fail_next(500, operation="productUpdate")
    assert client.post(shop.graphql_url, json={"query": PRODUCT_SET, "variables": {"input": product_input()}}).status_code == 200
    product_id = next(iter(shop.products))
    assert (
        client.post(shop.graphql_url, json={"query": PRODUCT_UPDATE, "variables": {"product": {"id": product_id}}}).status_code
        == 500
    )
    assert len(shop.faults) == 0


def test_slow_answer_times_the_client_out(shop: FakeShopify):
    shop.slow_next(3.0, operation="shop")
    with httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.token}, timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.post(shop.graphql_url, json={"query": "{ shop { name } }"})
    # Closing the fake (fixture teardown) ends the held-back answer at once.


def test_the_token_never_reaches_output_or_the_call_log(shop: FakeShopify, client: httpx.Client, capfd):
    publish(client, shop, product_input())
    shop.fail_next(500)
    client.post(shop.graphql_url, json={"query": "{ shop { name } }"})
    with httpx.Client(base_url=shop.base_url, timeout=5.0) as anon:
        anon.post(shop.graphql_url, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": "shpat_wrong"})
    out, err = capfd.readouterr()
    assert shop.token not in out + err
    assert "POST" not in err  # request logging is off
    assert shop.token not in repr(shop.calls) + repr(shop.stats)


# -- paging --------------------------------------------------------------------------------------


def test_products_page_with_cursors_and_filter(shop: FakeShopify, client: httpx.Client):
    ids = [
        publish(client, shop, product_input(handle=f"print-{i}", sizes=("8x10",), frames=("Unframed",)))["product"]["id"]
        for i in range(5)
    ]
    gql(client, shop, PRODUCT_UPDATE, {"product": {"id": ids[3], "status": "ARCHIVED"}})
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = gql(client, shop, PRODUCTS_PAGE, {"first": 2, "after": after})["data"]["products"]
        seen += [e["node"]["id"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids
    assert pages == 3
    archived = gql(client, shop, PRODUCTS_PAGE, {"first": 10, "query": "status:archived"})["data"]["products"]["edges"]
    assert [e["node"]["id"] for e in archived] == [ids[3]]
    by_sku = gql(client, shop, PRODUCTS_PAGE, {"first": 10, "query": "sku:HH-PRIN-810-UNF"})["data"]["products"]["edges"]
    assert len(by_sku) == 5
    handle = gql(client, shop, "query($h: String!) { productByIdentifier(identifier: {handle: $h}) { id } }", {"h": "print-2"})
    assert handle["data"]["productByIdentifier"] == {"id": ids[2]}
    no_size = gql(client, shop, "{ products { nodes { id } } }")
    assert "first or last" in no_size["errors"][0]["message"]
