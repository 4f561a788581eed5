"""The bulk client: its documents validate against the 2026-10 schema, and it works against the fake shop."""

from __future__ import annotations

import pytest

from haven_pipelines.integrations.shopify import ShopifyClient, ShopifyUserErrors, validate_document
from haven_pipelines.integrations.shopify import bulk_documents as docs
from haven_pipelines.integrations.shopify.bulk import (
    BulkLineResult,
    BulkOperationTimeout,
    ShopifyBulk,
    product_set_result,
    products_from_bulk_lines,
)
from haven_pipelines.integrations.shopify.errors import ShopifyResponseError
from haven_pipelines_tests.fakes.shopify_server import FakeShopify
from haven_pipelines_tests.integrations.shopify.realistic import product_set_variables

GID = "gid://shopify/BulkOperation/1234567890"


def lines(count: int, start: int = 0) -> list[dict]:
    """One bulk productSet line per realistic product (21 variants, 6 images), as the service writes them."""
    out = []
    for n in range(start, start + count):
        product_input, identifier = product_set_variables(n)
        out.append({"input": product_input, "identifier": identifier})
    return out


SENT = {
    "BULK_STAGED_UPLOAD": {"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "bulk_op_vars.jsonl",
                                      "mimeType": "text/jsonl", "httpMethod": "POST"}]},
    "BULK_RUN_MUTATION": {"mutation": docs.BULK_PRODUCT_SET, "stagedUploadPath": "tmp/1/bulk/abc/bulk_op_vars.jsonl",
                          "clientIdentifier": "0b6f5d5e-3c1a-4b61-9d0a-2f1c8a7e9b10"},
    "BULK_RUN_QUERY": {"query": docs.BULK_PRODUCTS_QUERY},
    "BULK_OPERATION": {"id": GID},
    "BULK_PRODUCT_SET": lines(1)[0],
    "BULK_PRODUCTS_QUERY": {},
}


@pytest.mark.parametrize("name", sorted(docs.ALL_BULK_DOCUMENTS))
def test_every_bulk_document_and_its_variables_validate(name):
    assert validate_document(docs.ALL_BULK_DOCUMENTS[name], SENT[name]) == []


def test_every_bulk_document_constant_is_listed():
    constants = {k: v for k, v in vars(docs).items() if k.isupper() and isinstance(v, str) and not k.startswith("_")}
    assert constants == docs.ALL_BULK_DOCUMENTS


def test_polling_currentBulkOperation_would_be_refused_as_deprecated():  # noqa: N802 - the field's name
    problems = validate_document("query Current { currentBulkOperation(type: MUTATION) { id status } }")
    assert any("deprecated" in p for p in problems)


@pytest.fixture
def fake():
    with FakeShopify() as shop:
        yield shop


@pytest.fixture
def client(fake):
    c = ShopifyClient(fake.shop_domain, fake.token, base_url=fake.base_url, validate=True)
    yield c
    c.close()


def test_stage_run_wait_and_read_every_line_with_its_errors(fake, client):
    batch = lines(4)
    sku = batch[1]["input"]["variants"][3]["sku"]
    fake.reject_sku(sku, "that SKU is taken by another shop product")
    bulk = ShopifyBulk(client, poll_first=0.01, poll_max=0.05)

    path = bulk.stage_jsonl(batch)
    op = bulk.run_mutation(docs.BULK_PRODUCT_SET, path)
    assert op.status == "CREATED" and not op.finished
    done = bulk.wait(op.id)
    results = bulk.mutation_results(done)

    assert done.status == "COMPLETED" and done.object_count == 4
    assert [r.line for r in results] == [0, 1, 2, 3]
    assert [r.ok for r in results] == [True, False, True, True]
    [error] = results[1].errors
    assert (error.message, error.code, error.field) == ("that SKU is taken by another shop product", "INVALID_VARIANT",
                                                        ("input", "variants", "3", "sku"))
    assert {r.payload["product"]["handle"] for r in results if r.ok} == {batch[i]["identifier"]["handle"] for i in (0, 2, 3)}
    assert len(fake.products) == 3
    bulk.close()


def test_a_bulk_product_set_line_reads_back_variant_and_media_ids_as_a_single_product_set_does(fake, client):
    batch = lines(2)
    bulk = ShopifyBulk(client, poll_first=0.01, poll_max=0.05)
    results = bulk.mutation_results(bulk.wait(bulk.run_mutation(docs.BULK_PRODUCT_SET, bulk.stage_jsonl(batch)).id))
    bulk.close()

    for sent, result in zip(batch, results, strict=True):
        parsed = product_set_result(result)
        remote = fake.products[parsed.id]
        assert parsed.handle == sent["identifier"]["handle"] and parsed.title == sent["input"]["title"]
        assert parsed.variant_ids_by_sku() == {v.sku: v.id for v in remote.variants}
        # One media per file sent, in the order of input.files: what lets the service store each image's id.
        assert len(parsed.media) == len(sent["input"]["files"]) == 6 and parsed.media_complete
        assert [m.id for m in parsed.media] == [m.id for m in remote.media]
        assert [m.alt for m in parsed.media] == [f["alt"] for f in sent["input"]["files"]]
    with pytest.raises(ShopifyResponseError):
        product_set_result(BulkLineResult(0, {"product": None, "userErrors": []}, ()))


def test_waiting_backs_off_and_times_out_while_the_operation_runs(fake, client):
    fake.hold_bulk()
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bulk = ShopifyBulk(client, sleep=sleep, clock=lambda: now[0], poll_first=1.0, poll_max=4.0, poll_factor=2.0)
    op = bulk.run_mutation(docs.BULK_PRODUCT_SET, bulk.stage_jsonl(lines(1)))
    with pytest.raises(BulkOperationTimeout) as caught:
        bulk.wait(op.id, timeout=12)
    assert waits == [1.0, 2.0, 4.0, 4.0, 1.0] and caught.value.operation_id == op.id
    assert fake.bulk_operations[0].status in ("CREATED", "RUNNING"), "the operation goes on at Shopify after the wait ends"
    fake.release_bulk()
    bulk.close()


def test_a_second_bulk_mutation_is_refused_while_one_runs_under_the_one_at_a_time_rule():
    with FakeShopify(bulk_mutation_limit=1) as fake:
        client = ShopifyClient(fake.shop_domain, fake.token, base_url=fake.base_url)
        bulk = ShopifyBulk(client, poll_first=0.01)
        fake.hold_bulk()
        first = bulk.run_mutation(docs.BULK_PRODUCT_SET, bulk.stage_jsonl(lines(1)))
        with pytest.raises(ShopifyUserErrors) as caught:
            bulk.run_mutation(docs.BULK_PRODUCT_SET, bulk.stage_jsonl(lines(1, start=1)))
        [error] = caught.value.user_errors
        assert error.code == "OPERATION_IN_PROGRESS" and first.id in error.message
        fake.release_bulk()
        assert bulk.wait(first.id).status == "COMPLETED"
        second = bulk.run_mutation(docs.BULK_PRODUCT_SET, bulk.stage_jsonl(lines(1, start=1)))
        assert bulk.wait(second.id).status == "COMPLETED" and len(fake.products) == 2
        bulk.close()
        client.close()


def test_a_bulk_query_reads_products_with_their_variants(fake, client):
    bulk = ShopifyBulk(client, poll_first=0.01)
    bulk.wait(bulk.run_mutation(docs.BULK_PRODUCT_SET, bulk.stage_jsonl(lines(3))).id)
    op = bulk.wait(bulk.run_query(docs.BULK_PRODUCTS_QUERY).id)
    products = products_from_bulk_lines(bulk.lines(op))
    assert set(products) == set(fake.products)
    for gid, product in products.items():
        remote = fake.products[gid]
        assert product.handle == remote.handle
        assert [(v.sku, v.price) for v in product.variants] == [(v.sku, v.price) for v in remote.variants]
    bulk.close()
