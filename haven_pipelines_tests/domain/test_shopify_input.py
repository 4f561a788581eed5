"""productSet / productUpdate variables, checked against Shopify's own 2026-10 schema with graphql-core.

The helpers at the top are meant for reuse by the Shopify client's tests::

    from haven_pipelines_tests.domain.test_shopify_input import schema_input_errors, variables_errors

``schema_input_errors("ProductSetInput", value)`` coerces a variable value to a named input type and
returns the error messages; ``variables_errors(document, variables)`` validates a whole operation and
coerces its variables. Shopify's ``Money`` and ``Decimal`` scalars arrive from introspection without
their parsers, so graphql-core would accept a float; :func:`money_errors` adds the string check.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import graphql
import pytest
from graphql.execution.values import get_variable_values
from graphql.utilities import coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st

from haven_pipelines.domain.catalogue import (
    DesignInfo,
    MockupImage,
    build_product_spec,
    default_profile_path,
    load_catalogue_profile,
    profile_from_mapping,
)
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines_tests.fakes.shopify.schema import load_admin_schema
from haven_pipelines.domain.shopify_input import (
    archive_input,
    format_money,
    frame_option_value,
    product_set_identifier,
    product_set_input,
)

# The document the Shopify client is expected to send (the client module owns the real constant);
# here it proves that the variables fit the operation as a whole, not just the input types.
PRODUCT_SET_DOCUMENT = """
mutation ProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input, synchronous: true) {
    product { id handle variants(first: 250) { nodes { id sku } } }
    userErrors { field message code }
  }
}
"""
PRODUCT_ARCHIVE_DOCUMENT = """
mutation ProductArchive($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id status } userErrors { field message } }
}
"""

_MONEY = re.compile(r"^\d+\.\d{2}$")


def load_shopify_schema() -> graphql.GraphQLSchema:
    """Shopify's Admin API 2026-10 schema, as the package ships it (built once per process)."""
    return load_admin_schema("2026-10")


def schema_input_errors(type_name: str, value: Any) -> list[str]:
    """Errors from coercing ``value`` to the schema's input type ``type_name`` (empty when it fits)."""
    schema = load_shopify_schema()
    input_type = schema.get_type(type_name)
    assert input_type is not None, f"no type {type_name} in the schema"
    errors: list[str] = []

    def on_error(path: list, _invalid: Any, error: graphql.GraphQLError) -> None:
        errors.append(f"{'.'.join(map(str, path)) or '<root>'}: {error.message}")

    coerce_input_value(value, input_type, on_error)
    return errors


def variables_errors(document: str, variables: dict[str, Any]) -> list[str]:
    """Errors from validating ``document`` against the schema and coercing ``variables`` to its definitions."""
    schema = load_shopify_schema()
    ast = graphql.parse(document)
    errors = [e.message for e in graphql.validate(schema, ast)]
    if errors:
        return errors
    operation = next(d for d in ast.definitions if isinstance(d, graphql.OperationDefinitionNode))
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
    return [e.message for e in coerced] if isinstance(coerced, list) else []


def money_errors(product_input: dict[str, Any]) -> list[str]:
    """Money and cost fields that are not ``"digits.2digits"`` strings."""
    bad = []
    for i, variant in enumerate(product_input.get("variants", [])):
        for name, value in (("price", variant.get("price")), ("compareAtPrice", variant.get("compareAtPrice")),
                            ("inventoryItem.cost", variant.get("inventoryItem", {}).get("cost"))):
            if value is not None and not (isinstance(value, str) and _MONEY.match(value)):
                bad.append(f"variants.{i}.{name}: {value!r}")
    return bad


def default_profile_data() -> dict[str, Any]:
    """The shipped catalogue profile as plain data, to vary in a test."""
    return json.loads(default_profile_path().read_text(encoding="utf-8"))


PRODUCT_ID = "3f2a9c1e-5b7d-4c21-9a0e-6d1f2b3c4d5e"


def realistic_spec(text: str = "Breathe in courage, breathe out fear", **design_kw: Any):
    """A 21-variant, 6-image product of the default profile (design plus the five system scenes)."""
    design = DesignInfo(
        asset_id="a9d3e2f1-0000-4000-8000-000000000001",
        file_url="https://cdn.example.com/designs/u1/a9d3.png",
        file_key="designs/u1/a9d3.png",
        quote_id="q-1",
        text=text,
        attribution=design_kw.pop("attribution", "Haven & Hold"),
        collection=design_kw.pop("collection", "grounding"),
        mood=design_kw.pop("mood", "calm"),
    )
    mockups = [
        MockupImage(f"m-{scene.key}", scene.key, "approved", f"https://cdn.example.com/mockups/{scene.key}.png")
        for scene in SYSTEM_SCENES
    ]
    return build_product_spec(load_catalogue_profile(), design, mockups, None, None, PRODUCT_ID)


def test_realistic_product_coerces_to_product_set_input_without_errors():
    spec = realistic_spec()
    assert len(spec.variants) == 21 and len(spec.images) == 6
    value = product_set_input(spec, image_urls=[i.src for i in spec.images])
    assert schema_input_errors("ProductSetInput", value) == []
    assert money_errors(value) == []
    assert len(value["variants"]) == 21 and len(value["files"]) == 6


def test_realistic_variables_fit_the_product_set_operation():
    spec = realistic_spec()
    for identifier in (product_set_identifier(None, spec.handle), product_set_identifier("gid://shopify/Product/42", spec.handle)):
        variables = {"identifier": identifier, "input": product_set_input(spec, image_urls=[i.src for i in spec.images])}
        assert variables_errors(PRODUCT_SET_DOCUMENT, variables) == []
        assert schema_input_errors("ProductSetIdentifiers", identifier) == []


def test_archive_variables_fit_product_update():
    value = archive_input("gid://shopify/Product/42")
    assert value == {"id": "gid://shopify/Product/42", "status": "ARCHIVED"}
    assert schema_input_errors("ProductUpdateInput", value) == []
    assert variables_errors(PRODUCT_ARCHIVE_DOCUMENT, {"product": value}) == []


def test_the_schema_helpers_do_report_bad_variables():
    # Guard against a helper that passes everything: these must fail.
    spec = realistic_spec()
    value = product_set_input(spec, image_urls=[i.src for i in spec.images])
    broken = {**value, "variants": [{k: v for k, v in value["variants"][0].items() if k != "optionValues"}]}
    assert any("optionValues" in e for e in schema_input_errors("ProductSetInput", broken))
    assert schema_input_errors("ProductSetInput", {**value, "status": "LIVE"})
    assert schema_input_errors("ProductSetInput", {**value, "colour": "red"})
    assert variables_errors(PRODUCT_SET_DOCUMENT, {}) != []
    assert money_errors({"variants": [{"price": 24.99}]}) == ["variants.0.price: 24.99"]


def test_options_list_every_value_the_variants_use():
    spec = realistic_spec()
    value = product_set_input(spec, image_urls=[None] * len(spec.images))
    options = {o["name"]: [v["name"] for v in o["values"]] for o in value["productOptions"]}
    assert options == {
        "Size": ["8x10", "11x14", "16x20", "18x24", "24x36"],
        "Frame": ["Unframed", "Black Frame", "White Frame", "Natural Frame", "Digital Download"],
    }
    combos = {tuple((ov["optionName"], ov["name"]) for ov in v["optionValues"]) for v in value["variants"]}
    assert len(combos) == 21  # every variant is a distinct option combination
    for variant in value["variants"]:
        for ov in variant["optionValues"]:
            assert ov["name"] in options[ov["optionName"]]


def test_variant_fields_money_shipping_and_inventory():
    spec = realistic_spec()
    value = product_set_input(spec, image_urls=[i.src for i in spec.images])
    by_sku = {v["sku"]: v for v in value["variants"]}
    unframed = by_sku["HH-3F2A9C1E-8X10-UNF"]
    assert unframed["price"] == "24.99" and unframed["compareAtPrice"] is None
    assert unframed["inventoryPolicy"] == "CONTINUE"
    assert unframed["inventoryItem"] == {"sku": "HH-3F2A9C1E-8X10-UNF", "cost": "8.00", "requiresShipping": True, "tracked": False}
    digital = by_sku["HH-3F2A9C1E-24X36-DIG"]
    assert digital["price"] == "19.99"
    assert digital["inventoryItem"]["requiresShipping"] is False
    assert [ov["name"] for ov in digital["optionValues"]] == ["24x36", "Digital Download"]
    assert by_sku["HH-3F2A9C1E-24X36-BLA"]["price"] == "159.99"
    assert [v["position"] for v in value["variants"]] == list(range(1, 22))


def test_product_fields_and_files():
    spec = realistic_spec()
    urls = [f"https://cdn.example.com/img/{i}.png" for i in range(6)]
    value = product_set_input(spec, image_urls=urls, status="DRAFT")
    assert value["status"] == "DRAFT"
    assert value["vendor"] == "Haven & Hold" and value["productType"] == "Print"
    assert value["handle"] == spec.handle and value["title"] == spec.title
    assert value["tags"] == list(spec.tags)
    assert value["files"][0] == {"originalSource": urls[0], "alt": spec.images[0].alt, "contentType": "IMAGE"}
    assert [f["originalSource"] for f in value["files"]] == urls


def test_images_without_url_are_left_out_and_known_files_are_referenced_by_id():
    spec = realistic_spec()
    urls = ["https://cdn.example.com/0.png", None, "https://cdn.example.com/2.png", None, None, None]
    ids = [None, None, None, "gid://shopify/MediaImage/7", None, None]
    value = product_set_input(spec, image_urls=urls, file_ids=ids)
    assert value["files"] == [
        {"originalSource": urls[0], "alt": spec.images[0].alt, "contentType": "IMAGE"},
        {"originalSource": urls[2], "alt": spec.images[2].alt, "contentType": "IMAGE"},
        {"id": "gid://shopify/MediaImage/7", "alt": spec.images[3].alt},
    ]
    assert schema_input_errors("ProductSetInput", value) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image_urls": ["https://x/1.png"]}, "image_urls"),
        ({"image_urls": [None] * 6, "status": "LIVE"}, "status"),
        ({"image_urls": [None] * 6, "status": "active"}, "status"),
        ({"image_urls": ["file:///tmp/a.png"] + [None] * 5}, "image_urls[0]"),
        ({"image_urls": [None] * 6, "file_ids": [None]}, "file_ids"),
        ({"image_urls": [None] * 6, "file_ids": ["123"] + [None] * 5}, "file_ids[0]"),
    ],
)
def test_product_set_input_rejects_bad_arguments(kwargs, field):
    with pytest.raises(ValidationError) as err:
        product_set_input(realistic_spec(), **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("gid", "handle", "expected"),
    [
        ("gid://shopify/Product/123", "ignored-handle", {"id": "gid://shopify/Product/123"}),
        (None, "breathe-3f2a9c1e", {"handle": "breathe-3f2a9c1e"}),
    ],
)
def test_identifier_prefers_the_gid(gid, handle, expected):
    assert product_set_identifier(gid, handle) == expected


@pytest.mark.parametrize(
    ("gid", "handle", "field"),
    [
        ("123", "h", "shopify_gid"),
        ("gid://shopify/ProductVariant/1", "h", "shopify_gid"),
        (None, "Not A Handle", "handle"),
        (None, "", "handle"),
    ],
)
def test_identifier_rejects_bad_values(gid, handle, field):
    with pytest.raises(ValidationError) as err:
        product_set_identifier(gid, handle)
    assert err.value.field == field


def test_archive_rejects_a_non_product_gid():
    with pytest.raises(ValidationError) as err:
        archive_input("gid://shopify/Collection/1")
    assert err.value.field == "shopify_gid"


@pytest.mark.parametrize(
    ("amount", "text"),
    [("24.99", "24.99"), ("24.9", "24.90"), ("5", "5.00"), ("1E+2", "100.00"), ("0.005", "0.01"), ("19.994", "19.99")],
)
def test_format_money(amount, text):
    assert format_money(Decimal(amount)) == text


def test_compare_at_prices_are_sent_as_money_strings():
    raw = default_profile_data()
    raw["compare_at"] = {"markup_percent": "25"}
    profile = profile_from_mapping(raw)
    design = DesignInfo("a-1", "https://x/d.png", text="Stay", collection="growth")
    spec = build_product_spec(profile, design, [], None, None, PRODUCT_ID)
    value = product_set_input(spec, image_urls=[None])
    assert value["variants"][0]["compareAtPrice"] == "31.24"  # 24.99 * 1.25 = 31.2375
    assert money_errors(value) == []
    assert schema_input_errors("ProductSetInput", value) == []


_SIZES = ["8x10", "11x14", "16x20", "12x16", "18x24", "A4", "A3", "24x36"]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.sampled_from(_SIZES), min_size=1, max_size=5, unique=True),
    frames=st.lists(st.sampled_from(["unframed", "black", "white", "natural"]), min_size=1, max_size=4, unique=True),
    digital=st.lists(st.sampled_from(_SIZES), max_size=2, unique=True),
    text=st.text(min_size=0, max_size=400),
    mood=st.one_of(st.none(), st.text(max_size=60)),
)
def test_any_profile_and_quote_gives_schema_valid_input(sizes, frames, digital, text, mood):
    raw = default_profile_data()
    raw["variants"] = {"sizes": sizes, "frames": frames, "digital_sizes": digital}
    profile = profile_from_mapping(raw)
    design = DesignInfo("a-1", "https://x/d.png", text=text, collection="wholeness", mood=mood)
    spec = build_product_spec(profile, design, [], None, None, PRODUCT_ID)
    value = product_set_input(spec, image_urls=[i.src for i in spec.images])
    assert len(value["variants"]) == len(sizes) * len(frames) + len(digital)
    assert len({v["sku"] for v in value["variants"]}) == len(value["variants"])
    assert schema_input_errors("ProductSetInput", value) == []
    assert money_errors(value) == []
    assert frame_option_value(spec.variants[0]) in [v["name"] for v in value["productOptions"][1]["values"]]
