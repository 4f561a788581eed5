"""Validation of the create-product request, and the spec a valid request builds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven_pipelines.domain.catalogue import load_catalogue_profile
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.handles import is_valid_handle
from haven_pipelines.domain.pricing import SizePrice
from haven_pipelines.domain.product_request import (
    ImageRef,
    ProductRequest,
    ResolvedImage,
    VariantRequest,
    build_request_spec,
    description_html,
    parse_money,
    validate_product_request,
)

PRODUCT_ID = "c0ffee12-0000-4000-8000-000000000000"


def valid(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "title": "Rooted and Rising",
        "description": "A quiet reminder.",
        "collection": "growth",
        "tags": ["calm", "botanical"],
        "variants": [
            {"size": "8x10", "price": "24.99"},
            {"size": "8x10", "frame_style": "black", "price": "49.99", "compare_at_price": "59.99"},
            {"size": "11x14", "is_digital": True},
        ],
        "images": [{"asset_id": "a-1"}, {"mockup_id": "m-1"}],
        "publish": True,
    }
    payload.update(changes)
    return payload


def test_a_full_request():
    request = validate_product_request(valid())
    assert request == ProductRequest(
        title="Rooted and Rising",
        description="A quiet reminder.",
        collection="growth",
        tags=("calm", "botanical"),
        variants=(
            VariantRequest("8x10", None, Decimal("24.99"), None, False),
            VariantRequest("8x10", "black", Decimal("49.99"), Decimal("59.99"), False),
            VariantRequest("11x14", None, None, None, True),
        ),
        images=(ImageRef("asset", "a-1"), ImageRef("mockup", "m-1")),
        publish=True,
    )


def test_a_minimal_request_takes_defaults():
    request = validate_product_request({"title": " Hi ", "variants": [{"size": "A4"}]})
    assert request == ProductRequest("Hi", None, None, (), (VariantRequest("A4"),), (), False)


def test_the_sources_camel_case_spelling_is_accepted():
    request = validate_product_request({
        "title": "T",
        "variants": [{"size": "8x10", "frameStyle": "White", "compareAtPrice": 99, "isDigital": False}],
        "images": [{"assetId": "a-1"}, {"mockupId": "m-2"}],
    })
    assert request.variants == (VariantRequest("8x10", "white", None, Decimal("99.00"), False),)
    assert request.images == (ImageRef("asset", "a-1"), ImageRef("mockup", "m-2"))


@pytest.mark.parametrize(
    ("title", "expected"),
    [("  Spaced   out\ttitle \n", "Spaced out title"), ("x" * 200, "x" * 200), ("é", "é")],
)
def test_titles_are_trimmed(title, expected):
    assert validate_product_request(valid(title=title)).title == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("unframed", None), ("", None), ("NONE", None), (" Natural ", "natural"), ("BLACK", "black")],
)
def test_frame_styles(value, expected):
    request = validate_product_request(valid(variants=[{"size": "8x10", "frame_style": value}]))
    assert request.variants[0].frame_style == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("24.99", "24.99"), (24.99, "24.99"), (5, "5.00"), (Decimal("7.5"), "7.50"), ("1e1", "10.00"), (" 3.10 ", "3.10"),
     ("24.990", "24.99")],
)
def test_parse_money_accepts(value, expected):
    assert parse_money(value, "price") == Decimal(expected)


def _without(key: str) -> dict[str, Any]:
    payload = valid()
    del payload[key]
    return payload


BAD = [
    # (payload, field, a word of the reason)
    (["not", "a", "mapping"], "request", "object"),
    (_without("title"), "title", "required"),
    (valid(title=""), "title", "empty"),
    (valid(title="   "), "title", "empty"),
    (valid(title="x" * 201), "title", "200"),
    (valid(title=12), "title", "text"),
    (valid(description=5), "description", "text"),
    (valid(description="x" * 20_001), "description", "20000"),
    (valid(collection="serenity"), "collection", "grounding"),
    (valid(collection=3), "collection", "grounding"),
    (valid(tags="calm"), "tags", "list"),
    (valid(tags=["ok", ""]), "tags[1]", "empty"),
    (valid(tags=["ok", 3]), "tags[1]", "text"),
    (valid(tags=["a,b"]), "tags[0]", "comma"),
    (valid(tags=["x" * 256]), "tags[0]", "255"),
    (valid(tags=["t"] * 251), "tags", "250"),
    (_without("variants"), "variants", "at least one"),
    (valid(variants=[]), "variants", "at least one"),
    (valid(variants={"size": "8x10"}), "variants", "list"),
    (valid(variants=[{"size": "8x10"}] + [{"size": f"{i}x{i}"} for i in range(100)]), "variants", "100"),
    (valid(variants=["8x10"]), "variants[0]", "object"),
    (valid(variants=[{"price": 5}]), "variants[0].size", "required"),
    (valid(variants=[{"size": "8x10"}, {"size": ""}]), "variants[1].size", "empty"),
    (valid(variants=[{"size": "--"}]), "variants[0].size", "letter or digit"),
    (valid(variants=[{"size": "x" * 21}]), "variants[0].size", "20"),
    (valid(variants=[{"size": "8x10", "frame_style": "gold"}]), "variants[0].frame_style", "black"),
    (valid(variants=[{"size": "8x10", "frame_style": 1}]), "variants[0].frame_style", "text"),
    (valid(variants=[{"size": "8x10", "is_digital": True, "frame_style": "black"}]), "variants[0].frame_style", "digital"),
    (valid(variants=[{"size": "8x10", "is_digital": "yes"}]), "variants[0].is_digital", "true or false"),
    (valid(variants=[{"size": "8x10"}, {"size": "8x10", "price": 0}]), "variants[1].price", "positive"),
    (valid(variants=[{"size": "8x10"}, {"size": "A4"}, {"size": "A3", "price": "-1"}]), "variants[2].price", "positive"),
    (valid(variants=[{"size": "8x10", "price": "abc"}]), "variants[0].price", "not a number"),
    (valid(variants=[{"size": "8x10", "price": "NaN"}]), "variants[0].price", "finite"),
    (valid(variants=[{"size": "8x10", "price": "Infinity"}]), "variants[0].price", "finite"),
    (valid(variants=[{"size": "8x10", "price": True}]), "variants[0].price", "number"),
    (valid(variants=[{"size": "8x10", "price": [1]}]), "variants[0].price", "number"),
    (valid(variants=[{"size": "8x10", "price": "9.999"}]), "variants[0].price", "2 decimal"),
    (valid(variants=[{"size": "8x10", "price": "100000000"}]), "variants[0].price", "at most"),
    (valid(variants=[{"size": "8x10", "price": "20", "compare_at_price": "20"}]), "variants[0].compare_at_price", "above"),
    (valid(variants=[{"size": "8x10", "compare_at_price": "-3"}]), "variants[0].compare_at_price", "positive"),
    (valid(variants=[{"size": "8x10", "compare_price": "30"}]), "variants[0].compare_price", "not a known field"),
    (valid(variants=[{"size": "8x10", "frame_style": "black", "frameStyle": "white"}]), "variants[0].frame_style", "twice"),
    (valid(variants=[{"size": "8x10"}, {"size": "8 X 10", "frame_style": "unframed"}]), "variants[1]", "repeats variants[0]"),
    (valid(images={"asset_id": "a"}), "images", "list"),
    (valid(images=[{"asset_id": "a"}, "m-1"]), "images[1]", "object"),
    (valid(images=[{}]), "images[0]", "exactly one"),
    (valid(images=[{"asset_id": "a", "mockup_id": "m"}]), "images[0]", "exactly one"),
    (valid(images=[{"url": "https://x"}]), "images[0].url", "not a known field"),
    (valid(images=[{"asset_id": ""}]), "images[0].asset_id", "empty"),
    (valid(images=[{"mockup_id": "m" * 37}]), "images[0].mockup_id", "36"),
    (valid(images=[{"asset_id": "a"}, {"assetId": "a"}]), "images[1]", "repeats images[0]"),
    (valid(images=[{"asset_id": "a"}] * 251), "images", "250"),
    (valid(publish="yes"), "publish", "true or false"),
    (valid(user_id="someone-else"), "user_id", "not a known field"),
]


@pytest.mark.parametrize(("payload", "field", "reason_part"), BAD)
def test_bad_requests_name_the_field(payload, field, reason_part):
    with pytest.raises(ValidationError) as err:
        validate_product_request(payload)
    assert err.value.field == field
    assert reason_part in err.value.reason


def test_duplicate_tags_are_dropped_case_insensitively():
    assert validate_product_request(valid(tags=["Calm", "calm", " CALM", "Grow"])).tags == ("Calm", "Grow")


# --- properties ---------------------------------------------------------------------------------

_sizes = st.text(alphabet="0123456789xAB", min_size=1, max_size=8).filter(lambda s: any(c.isalnum() for c in s))
_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)


@st.composite
def variant_payloads(draw):
    digital = draw(st.booleans())
    variant: dict[str, Any] = {"size": draw(_sizes)}
    if digital:
        variant["is_digital"] = True
    else:
        variant["frame_style"] = draw(st.sampled_from([None, "black", "white", "natural"]))
    if draw(st.booleans()):
        price = draw(_prices)
        variant["price"] = draw(st.sampled_from([str(price), price]))
    return variant


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(min_size=1, max_size=200).filter(lambda t: t.strip()),
    variants=st.lists(variant_payloads(), min_size=1, max_size=12),
    tags=st.lists(st.text(alphabet=st.characters(blacklist_characters=","), min_size=1, max_size=30).filter(str.strip), max_size=8),
    publish=st.booleans(),
)
def test_valid_requests_round_trip(title, variants, tags, publish):
    payload = {"title": title, "variants": variants, "tags": tags, "publish": publish}
    keys = [(v["size"].upper(), v.get("frame_style"), v.get("is_digital", False)) for v in variants]
    if len(set(keys)) != len(keys):
        with pytest.raises(ValidationError) as err:
            validate_product_request(payload)
        assert err.value.field.startswith("variants[")
        return
    request = validate_product_request(payload)
    assert request.title == " ".join(title.split())
    assert len(request.variants) == len(variants)
    assert request.publish is publish
    assert len({t.casefold() for t in request.tags}) == len(request.tags)
    for given_variant, parsed in zip(variants, request.variants, strict=True):
        if "price" in given_variant:
            assert parsed.price == Decimal(str(given_variant["price"]))
        else:
            assert parsed.price is None
    spec = build_request_spec(load_catalogue_profile(), request, product_id=PRODUCT_ID, images=[],
                              pricing_user_rows=None, pricing_system_rows=None)
    assert len({v.sku for v in spec.variants}) == len(spec.variants)
    assert is_valid_handle(spec.handle)


@settings(max_examples=100, deadline=None)
@given(index=st.integers(min_value=0, max_value=5), bad=st.sampled_from(["0", "-1.00", "1.001", "x", "", None, False]))
def test_a_bad_price_anywhere_is_named_by_index(index, bad):
    variants = [{"size": f"{i + 1}x{i + 1}", "price": "10"} for i in range(6)]
    variants[index]["price"] = bad
    if bad is None:  # null price means "take the default"
        assert validate_product_request({"title": "T", "variants": variants}).variants[index].price is None
        return
    with pytest.raises(ValidationError) as err:
        validate_product_request({"title": "T", "variants": variants})
    assert err.value.field == f"variants[{index}].price"


# --- the spec of a request ----------------------------------------------------------------------


def test_spec_of_a_request():
    request = validate_product_request(valid())
    images = [ResolvedImage(ImageRef("asset", "a-1"), "https://x/a.png", "designs/a.png"),
              ResolvedImage(ImageRef("mockup", "m-1"), "https://x/m.png", None, alt="In a bedroom")]
    override = SizePrice("11x14", Decimal("40"), Decimal("80"), Decimal("15.00"), Decimal("13"))
    spec = build_request_spec(load_catalogue_profile(), request, product_id=PRODUCT_ID, images=images,
                              pricing_user_rows={"11x14": override}, pricing_system_rows=None)
    assert spec.title == "Rooted and Rising" and spec.handle == "rooted-and-rising-c0ffee12"
    assert spec.asset_id is None and spec.collection == "growth"
    assert spec.tags == ("calm", "botanical", "growth")
    assert spec.description_html == "<p>A quiet reminder.</p>"
    assert [(v.sku, v.price, v.compare_at_price) for v in spec.variants] == [
        ("HH-C0FFEE12-8X10-UNF", Decimal("24.99"), None),
        ("HH-C0FFEE12-8X10-BLA", Decimal("49.99"), Decimal("59.99")),
        ("HH-C0FFEE12-11X14-DIG", Decimal("15.00"), None),
    ]
    assert [(i.source, i.ref_id, i.position, i.alt) for i in spec.images] == [
        ("asset", "a-1", 1, "Rooted and Rising"), ("mockup", "m-1", 2, "In a bedroom"),
    ]


def test_compare_at_below_the_default_price_is_caught_when_building():
    # No price given: the compare-at price is checked against the price the variant resolves to.
    request = validate_product_request(valid(variants=[{"size": "A4"}, {"size": "8x10", "frame_style": "black", "compare_at_price": "30"}]))
    with pytest.raises(ValidationError) as err:
        build_request_spec(load_catalogue_profile(), request, product_id=PRODUCT_ID,
                           images=[ResolvedImage(r, "https://x") for r in request.images],
                           pricing_user_rows=None, pricing_system_rows=None)
    assert err.value.field == "variants[1].compare_at_price"
    assert "49.99" in err.value.reason


def test_images_must_match_the_request():
    request = validate_product_request(valid())
    with pytest.raises(ValidationError) as err:
        build_request_spec(load_catalogue_profile(), request, product_id=PRODUCT_ID,
                           images=[ResolvedImage(ImageRef("mockup", "m-1"), "https://x")],
                           pricing_user_rows=None, pricing_system_rows=None)
    assert err.value.field == "images"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ""),
        ("One", "<p>One</p>"),
        ("Line one\nline two\n\nNext <para>", "<p>Line one<br>line two</p>\n<p>Next &lt;para&gt;</p>"),
        ("a\r\n\r\nb", "<p>a</p>\n<p>b</p>"),
    ],
)
def test_description_html(text, expected):
    assert description_html(text) == expected
