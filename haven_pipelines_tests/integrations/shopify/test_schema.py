"""Every document the client sends validates against Shopify's 2026-10 schema, with real variables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from haven_pipelines.integrations.shopify import documents, load_schema, validate_document
from haven_pipelines.integrations.shopify.errors import ShopifyValidationError
from haven_pipelines.integrations.shopify.schema import operation_info
from haven_pipelines_tests.integrations.shopify.realistic import product_set_variables

GID = "gid://shopify/Product/1234567890"


def realistic_variables() -> dict[str, dict]:
    """What the client sends for each document, for a 21-variant, 6-image product."""
    product_input, identifier = product_set_variables(7)
    return {
        "PRODUCT_SET": {"input": product_input, "identifier": identifier, "synchronous": True, "withMedia": False},
        "PRODUCT_ARCHIVE": {"id": GID},
        "PRODUCT_GET": {"id": GID},
        "PRODUCT_BY_IDENTIFIER": {"identifier": {"handle": identifier["handle"]}},
        "PRODUCT_VARIANTS_PAGE": {"id": GID, "after": "eyJsYXN0X2lkIjoxfQ=="},
        "PRODUCTS_PAGE": {"first": 10, "after": None, "query": "vendor:'Haven & Hold'"},
        "STAGED_UPLOADS_CREATE": {
            "input": [{"filename": "design.png", "mimeType": "image/png", "resource": "IMAGE", "httpMethod": "POST", "fileSize": "52311"}]
        },
        "SHOP": {},
    }


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_every_document_validates(name):
    assert validate_document(documents.ALL_DOCUMENTS[name]) == []


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_the_variables_the_client_sends_coerce(name):
    variables = realistic_variables()[name]
    assert validate_document(documents.ALL_DOCUMENTS[name], variables) == []


def test_every_document_constant_is_listed():
    constants = {k: v for k, v in vars(documents).items() if k.isupper() and isinstance(v, str)}
    assert constants == documents.ALL_DOCUMENTS


def test_the_realistic_product_is_the_size_haven_publishes():
    product_input, identifier = product_set_variables(7)
    assert len(product_input["variants"]) == 21 and len(product_input["files"]) == 6
    assert set(identifier) == {"handle"}


def test_product_set_with_a_stored_gid_validates():
    product_input, identifier = product_set_variables(7, gid=GID)
    assert identifier == {"id": GID}
    assert validate_document(documents.PRODUCT_SET, {"input": product_input, "identifier": identifier, "synchronous": True}) == []


def test_an_unknown_field_is_caught():
    problems = validate_document("query Broken { shop { name planName } }")
    assert any("planName" in p for p in problems)


def test_a_syntax_error_is_caught():
    assert validate_document("query Broken { shop { name }")[0].startswith("syntax:")


def test_deprecated_fields_and_arguments_are_refused():
    by_handle = 'query Old($h: String!) { productByHandle(handle: $h) { id } }'
    assert any("deprecated" in p for p in validate_document(by_handle))
    old_update = 'mutation Old($i: ProductInput!) { productUpdate(input: $i) { product { id } } }'
    assert any("deprecated" in p for p in validate_document(old_update))
    assert validate_document(by_handle, allow_deprecated=True) == []


def test_deprecated_input_fields_in_variables_are_refused():
    product_input, identifier = product_set_variables(7)
    product_input["id"] = GID  # ProductSetInput.id: deprecated in favour of `identifier`
    problems = validate_document(documents.PRODUCT_SET, {"input": product_input, "synchronous": True})
    assert problems == ["$input.id: ProductSetInput.id is deprecated. Use `identifier` instead to get the product's ID"]


def test_an_operation_must_be_named_and_alone():
    assert validate_document("{ shop { name } }") == ["a document must hold exactly one named operation"]
    with pytest.raises(ShopifyValidationError):
        operation_info("query A { shop { name } } query B { shop { id } }")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda v: v["input"]["variants"][0].update(price=24.99), "decimal string"),
        (lambda v: v["input"]["variants"][0]["inventoryItem"].update(cost="8,00"), "decimal string"),
        (lambda v: v["input"]["variants"][0].update(inventoryPolicy="SOMETIMES"), "SOMETIMES"),
        (lambda v: v["input"]["variants"][0].pop("optionValues"), "optionValues"),
        (lambda v: v["input"].update(status="LIVE"), "LIVE"),
        (lambda v: v["input"]["files"][0].update(url="https://x"), "url"),
        (lambda v: v.update(extra=1), "$extra is not declared"),
        (lambda v: v["input"]["variants"][0].update(price=Decimal("24.99")), "not JSON"),
    ],
)
def test_bad_variables_are_caught(mutate, expected):
    product_input, identifier = product_set_variables(7)
    variables = {"input": product_input, "identifier": identifier, "synchronous": True}
    mutate(variables)
    problems = validate_document(documents.PRODUCT_SET, variables)
    assert problems, "the bad variables passed validation"
    assert any(expected in p for p in problems), problems


def test_missing_required_variables_are_caught():
    problems = validate_document(documents.PRODUCT_ARCHIVE, {})
    assert any("$id" in p and "required" in p for p in problems)


def test_the_schema_is_built_once_per_process():
    assert load_schema() is load_schema()
