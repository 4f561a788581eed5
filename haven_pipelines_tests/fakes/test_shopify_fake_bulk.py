"""The fake Shopify's bulk operations, through plain httpx over a real socket (no project client code)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from haven_pipelines_tests.fakes.shopify_server import FakeShopify
from haven_pipelines_tests.fakes.test_shopify_fake import gql, product_input

STAGE = """
mutation($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) { stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } }
}
"""
RUN = """
mutation($mutation: String!, $path: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $path) {
    bulkOperation { id status } userErrors { field message code }
  }
}
"""
RUN_QUERY = """
mutation($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) { bulkOperation { id status } userErrors { field message code } }
}
"""
FIELDS = "id status errorCode objectCount rootObjectCount fileSize url partialDataUrl type completedAt"
BY_ID = f"query($id: ID!) {{ bulkOperation(id: $id) {{ {FIELDS} }} node(id: $id) {{ ... on BulkOperation {{ {FIELDS} }} }} }}"
CURRENT = f"query($type: BulkOperationType) {{ currentBulkOperation(type: $type) {{ {FIELDS} }} }}"
LINE_MUTATION = """
mutation line($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input) { product { id handle } userErrors { field message code } }
}
"""


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify() as fake:
        yield fake


@pytest.fixture
def client(shop: FakeShopify) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.token}, timeout=5.0) as c:
        yield c


def stage(client: httpx.Client, shop: FakeShopify, lines: list[Any], raw: bytes | None = None) -> str:
    """Stage a JSONL file as Shopify's guide says; returns the stagedUploadPath (the ``key`` parameter)."""
    body = gql(client, shop, STAGE, {"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "vars.jsonl",
                                                "mimeType": "text/jsonl", "httpMethod": "POST"}]})
    [target] = body["data"]["stagedUploadsCreate"]["stagedTargets"]
    params = {p["name"]: p["value"] for p in target["parameters"]}
    data = raw if raw is not None else "".join(json.dumps(line) + "\n" for line in lines).encode()
    with httpx.Client(timeout=5.0) as storage:  # the storage host never sees the token
        assert storage.post(target["url"], data=params, files={"file": ("vars.jsonl", data, "text/jsonl")}).status_code == 201
    return params["key"]


def run(client: httpx.Client, shop: FakeShopify, path: str, mutation: str = LINE_MUTATION) -> dict[str, Any]:
    return gql(client, shop, RUN, {"mutation": mutation, "path": path})["data"]["bulkOperationRunMutation"]


def poll(client: httpx.Client, shop: FakeShopify, gid: str, until: tuple[str, ...] = ("COMPLETED", "FAILED", "CANCELED")) -> dict:
    deadline = time.monotonic() + 10
    while True:
        data = gql(client, shop, BY_ID, {"id": gid})["data"]
        assert data["bulkOperation"] == data["node"]
        if data["bulkOperation"]["status"] in until or time.monotonic() > deadline:
            return data["bulkOperation"]
        time.sleep(0.01)


def result_lines(url: str) -> list[dict]:
    with httpx.Client(timeout=5.0) as storage:
        response = storage.get(url)
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


def test_a_bulk_mutation_runs_asynchronously_and_reports_each_line(shop: FakeShopify, client: httpx.Client):
    good = product_input("still-water", "Still Water")
    refused = product_input("quiet-hour", "Quiet Hour")
    shop.reject_sku(refused["variants"][0]["inventoryItem"]["sku"], "SKU refused for this test")
    lines = [{"input": good, "identifier": {"handle": "still-water"}}, {"input": refused}, {"input": {"title": 5}}]
    shop.hold_bulk()
    started = run(client, shop, stage(client, shop, lines))
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    gid = started["bulkOperation"]["id"]
    running = poll(client, shop, gid, until=("RUNNING",))
    assert (running["status"], running["objectCount"], running["url"]) == ("RUNNING", "0", None)
    current = gql(client, shop, CURRENT, {"type": "MUTATION"})["data"]["currentBulkOperation"]
    assert current["id"] == gid and current["type"] == "MUTATION"
    charged_before = shop.stats.points_charged
    shop.release_bulk()

    done = poll(client, shop, gid)
    assert (done["status"], done["objectCount"], done["errorCode"]) == ("COMPLETED", "3", None)
    assert done["completedAt"] and int(done["fileSize"]) > 0
    first, second, third = result_lines(done["url"])
    assert [first["__lineNumber"], second["__lineNumber"], third["__lineNumber"]] == [0, 1, 2]
    assert first["data"]["productSet"]["product"]["handle"] == "still-water" and first["data"]["productSet"]["userErrors"] == []
    assert second["data"]["productSet"]["product"] is None
    assert second["data"]["productSet"]["userErrors"][0]["message"] == "SKU refused for this test"
    assert "errors" in third and "data" not in third, "variables that do not fit the mutation fail the line"
    assert [p.handle for p in shop.products.values()] == ["still-water"]
    # The lines ran outside the request throttle: only the polls above were charged since.
    assert shop.stats.points_charged - charged_before < 10 and shop.bulk.lines_run == 3


def test_limits_one_at_a_time_before_2026_01_and_five_from_it(client: httpx.Client, shop: FakeShopify):
    shop.hold_bulk()
    ids = [run(client, shop, stage(client, shop, [{"input": product_input(f"p-{i}")}]))["bulkOperation"]["id"] for i in range(5)]
    sixth = run(client, shop, stage(client, shop, [{"input": product_input("p-6")}]))
    assert sixth["bulkOperation"] is None
    assert [(e["code"], e["message"]) for e in sixth["userErrors"]] == [("LIMIT_REACHED", "Bulk operations limit reached. Please try again later.")]
    shop.release_bulk()
    assert all(poll(client, shop, gid)["status"] == "COMPLETED" for gid in ids)

    with FakeShopify(bulk_mutation_limit=1) as old, httpx.Client(base_url=old.base_url, headers={"X-Shopify-Access-Token": old.token}) as c:
        old.hold_bulk()
        first = run(c, old, stage(c, old, [{"input": product_input("a")}]))["bulkOperation"]["id"]
        second = run(c, old, stage(c, old, [{"input": product_input("b")}]))
        [error] = second["userErrors"]
        assert error["code"] == "OPERATION_IN_PROGRESS"
        assert error["message"] == f"A bulk mutation operation for this app and shop is already in progress: {first}."
        # A bulk query may run beside the mutation.
        query = gql(c, old, RUN_QUERY, {"query": "{ products { edges { node { id } } } }"})["data"]["bulkOperationRunQuery"]
        assert query["userErrors"] == [] and query["bulkOperation"]["id"]
        old.release_bulk()


def test_a_bad_start_is_refused_with_the_documented_codes(shop: FakeShopify, client: httpx.Client):
    path = stage(client, shop, [{"input": product_input()}])
    assert run(client, shop, "tmp/haven-fake/bulk/ffff/none.jsonl")["userErrors"][0]["code"] == "NO_SUCH_FILE"
    assert run(client, shop, path, "mutation { nope }")["userErrors"][0]["code"] == "INVALID_MUTATION"
    two_fields = "mutation { a: productDelete(input: {id: \"x\"}) { deletedProductId } b: productDelete(input: {id: \"y\"}) { deletedProductId } }"
    assert run(client, shop, path, two_fields)["userErrors"][0]["code"] == "INVALID_MUTATION"
    not_jsonl = stage(client, shop, [], raw=b"[1, 2]\n")
    assert run(client, shop, not_jsonl)["userErrors"][0]["code"] == "INVALID_STAGED_UPLOAD_FILE"
    no_connection = gql(client, shop, RUN_QUERY, {"query": "{ shop { id } }"})["data"]["bulkOperationRunQuery"]
    assert no_connection["userErrors"][0]["code"] == "INVALID"
    assert shop.bulk_operations == []


def test_a_failed_operation_keeps_partial_data_and_a_cancelled_one_stops(shop: FakeShopify, client: httpx.Client):
    shop.fail_next_bulk("INTERNAL_SERVER_ERROR")
    lines = [{"input": product_input(f"f-{i}")} for i in range(4)]
    failed = poll(client, shop, run(client, shop, stage(client, shop, lines))["bulkOperation"]["id"])
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "INTERNAL_SERVER_ERROR", None)
    assert [line["__lineNumber"] for line in result_lines(failed["partialDataUrl"])] == [0, 1]

    shop.hold_bulk()
    gid = run(client, shop, stage(client, shop, lines))["bulkOperation"]["id"]
    cancel = gql(client, shop, "mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } userErrors { message } } }",
                 {"id": gid})["data"]["bulkOperationCancel"]
    assert cancel["bulkOperation"]["status"] == "CANCELING"
    shop.release_bulk()
    assert poll(client, shop, gid)["status"] == "CANCELED"
    assert len(shop.products) == 2, "only the failed operation's first half ran"


def test_a_bulk_query_writes_a_line_per_node_with_parent_ids(shop: FakeShopify, client: httpx.Client):
    path = stage(client, shop, [{"input": product_input("one")}, {"input": product_input("two")}])
    poll(client, shop, run(client, shop, path)["bulkOperation"]["id"])
    query = "{ products { edges { node { id handle variants { edges { node { id sku } } } } } } }"
    started = gql(client, shop, RUN_QUERY, {"query": query})["data"]["bulkOperationRunQuery"]
    done = poll(client, shop, started["bulkOperation"]["id"])
    lines = result_lines(done["url"])
    products = [line for line in lines if "__parentId" not in line]
    assert sorted(p["handle"] for p in products) == ["one", "two"] and all("variants" not in p for p in products)
    assert (done["objectCount"], done["rootObjectCount"]) == (str(len(lines)), "2")
    for product in products:
        remote = shop.products[product["id"]]
        children = [line for line in lines if line.get("__parentId") == product["id"]]
        assert [c["sku"] for c in children] == [v.sku for v in remote.variants]
