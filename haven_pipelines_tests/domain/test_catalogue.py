"""The catalogue profile (loading and validation), the product spec builder, and handles."""

from __future__ import annotations

import copy
import html
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven_pipelines.domain.catalogue import (
    CompareAtRule,
    DesignInfo,
    MockupImage,
    VariantOption,
    build_product_spec,
    default_profile_path,
    load_catalogue_profile,
    normalise_tags,
    profile_from_mapping,
    render_text,
)
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.handles import is_valid_handle, product_handle, slugify
from haven_pipelines.domain.pricing import SYSTEM_BY_SIZE, SizePrice

PRODUCT_ID = "3f2a9c1e-5b7d-4c21-9a0e-6d1f2b3c4d5e"


def raw_profile() -> dict[str, Any]:
    """The shipped profile as plain data."""
    return json.loads(default_profile_path().read_text(encoding="utf-8"))


def design(**kw: Any) -> DesignInfo:
    base = dict(
        asset_id="a9d3e2f1-0000-4000-8000-000000000001",
        file_url="https://cdn.example.com/designs/a.png",
        file_key="designs/u1/a.png",
        quote_id="q-1",
        text="Breathe in courage, breathe out fear",
        attribution="Haven & Hold",
        collection="grounding",
        mood="calm",
    )
    base.update(kw)
    return DesignInfo(**base)


def mockup(scene: str, status: str = "approved", url: str | None = "auto", ident: str | None = None) -> MockupImage:
    return MockupImage(
        mockup_id=ident or f"m-{scene}",
        scene=scene,
        status=status,
        file_url=f"https://cdn.example.com/mockups/{scene}.png" if url == "auto" else url,
        file_key=f"mockups/u1/a/{scene}.png",
    )


ALL_SCENES = ["bedroom", "therapy_office", "living_room", "reading_nook", "home_office"]


# --- the default profile ------------------------------------------------------------------------


def test_default_profile_gives_21_variants():
    profile = load_catalogue_profile()
    assert profile.vendor == "Haven & Hold" and profile.product_type == "Print"
    assert profile.inventory_policy == "continue" and profile.track_inventory is False
    assert profile.compare_at is None
    assert len(profile.variants) == 21
    sizes = ["8x10", "11x14", "16x20", "18x24", "24x36"]
    expected = [VariantOption(s, f) for s in sizes for f in (None, "black", "white", "natural")]
    assert list(profile.variants[:20]) == expected
    assert profile.variants[20] == VariantOption("24x36", None, True)
    assert profile.images.max_images == 6 and profile.images.include_design is True
    assert profile.images.mockup_statuses == ("approved",)


# --- profile validation -------------------------------------------------------------------------


def _set(path: str, value: Any):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        (_set("vendor", ""), "catalogue.vendor", "non-empty"),
        (_set("vendor", _DELETE), "catalogue.vendor", "required"),
        (_set("colour", "red"), "catalogue.colour", "not a known field"),
        (_set("variants.sizes", []), "catalogue.variants.sizes", "empty"),
        (_set("variants.sizes", ["8x10", 7]), "catalogue.variants.sizes[1]", "non-empty string"),
        (_set("variants.sizes", ["8x10", "8x10"]), "catalogue.variants.sizes[1]", "twice"),
        (_set("variants.sizes", ["8x10", "8 x 10"]), "catalogue.variants", "share the SKU"),
        (_set("variants.frames", ["unframed", "gold"]), "catalogue.variants.frames[1]", "must be one of"),
        (_set("variants.digital_sizes", "24x36"), "catalogue.variants.digital_sizes", "list"),
        (_set("variants.extra", 1), "catalogue.variants.extra", "not a known field"),
        (_set("variants.sizes", [f"{i}x{i}" for i in range(1, 27)]), "catalogue.variants", "exceed"),
        (_set("compare_at", {"markup_percent": "0"}), "catalogue.compare_at.markup_percent", "above 0"),
        (_set("compare_at", {"markup_percent": "lots"}), "catalogue.compare_at.markup_percent", "not a number"),
        (_set("compare_at", {"markup": "10"}), "catalogue.compare_at.markup_percent", "required"),
        (_set("compare_at", 25), "catalogue.compare_at", "object"),
        (_set("tags.static", ["a,b"]), "catalogue.tags.static[0]", "comma"),
        (_set("tags.include_mood", "yes"), "catalogue.tags.include_mood", "true or false"),
        (_set("title_template", "{title}"), "catalogue.title_template", "unknown placeholder"),
        (_set("title_template", "{text.upper}"), "catalogue.title_template", "unknown placeholder"),
        (_set("title_template", "{text!r}"), "catalogue.title_template", "conversion"),
        (_set("title_template", "Always the same"), "catalogue.title_template", "at least one placeholder"),
        (_set("title_template", "{text"), "catalogue.title_template", "not a valid template"),
        (_set("description_paragraphs", ["<p>{scene_name}</p>"]), "catalogue.description_paragraphs[0]", "unknown placeholder"),
        (_set("images.mockup_alt", "{scene_name} {nope}"), "catalogue.images.mockup_alt", "unknown placeholder"),
        (_set("images.max_images", 0), "catalogue.images.max_images", "whole number"),
        (_set("images.max_images", True), "catalogue.images.max_images", "whole number"),
        (_set("images.mockup_statuses", ["shiny"]), "catalogue.images.mockup_statuses[0]", "must be one of"),
        (_set("initial_status", "live"), "catalogue.initial_status", "must be one of"),
        (_set("inventory_policy", "CONTINUE"), "catalogue.inventory_policy", "must be one of"),
    ],
)
def test_profile_errors_name_the_field(change, field, reason_part):
    data = raw_profile()
    change(data)
    with pytest.raises(ValidationError) as err:
        profile_from_mapping(data)
    assert err.value.field == field
    assert reason_part in err.value.reason


def test_profile_must_be_an_object():
    with pytest.raises(ValidationError) as err:
        profile_from_mapping(["not", "a", "profile"])
    assert err.value.field == "catalogue"


def test_loading_a_file_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "catalogue.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_catalogue_profile(path)
    assert err.value.field == "catalogue" and "catalogue.json" in err.value.reason


def test_loading_a_custom_file(tmp_path):
    data = raw_profile()
    data["variants"] = {"sizes": ["A4"], "frames": ["black"]}
    data["compare_at"] = {"markup_percent": 20}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    profile = load_catalogue_profile(path)
    assert profile.variants == (VariantOption("A4", "black"),)
    assert profile.compare_at == CompareAtRule(Decimal("20"))


# --- building a product spec --------------------------------------------------------------------


def build(profile=None, d=None, mockups=None, user_rows=None, system_rows=None, product_id=PRODUCT_ID):
    return build_product_spec(
        profile or load_catalogue_profile(), d or design(),
        [mockup(s) for s in ALL_SCENES] if mockups is None else mockups,
        user_rows, system_rows, product_id,
    )


@pytest.mark.parametrize(
    ("sku", "title", "price", "cost", "ships"),
    [
        ("HH-3F2A9C1E-8X10-UNF", "8x10", "24.99", "8.00", True),
        ("HH-3F2A9C1E-8X10-BLA", "8x10 / Black Frame", "49.99", "8.00", True),
        ("HH-3F2A9C1E-11X14-WHI", "11x14 / White Frame", "69.99", "12.00", True),
        ("HH-3F2A9C1E-16X20-NAT", "16x20 / Natural Frame", "99.99", "18.00", True),
        ("HH-3F2A9C1E-18X24-UNF", "18x24", "59.99", "22.00", True),
        ("HH-3F2A9C1E-24X36-BLA", "24x36 / Black Frame", "159.99", "30.00", True),
        ("HH-3F2A9C1E-24X36-DIG", "24x36 / Digital Download", "19.99", "0.00", False),
    ],
)
def test_variants_take_system_prices_costs_and_skus(sku, title, price, cost, ships):
    by_sku = {v.sku: v for v in build().variants}
    variant = by_sku[sku]
    assert (variant.title, variant.price, variant.cost, variant.requires_shipping) == (title, Decimal(price), Decimal(cost), ships)
    assert variant.inventory_policy == "continue" and variant.compare_at_price is None


def test_spec_basics():
    spec = build()
    assert spec.title == "Breathe in courage, breathe out fear - Quote Wall Art Print"
    assert spec.handle == "breathe-in-courage-breathe-out-fear-quote-wall-art-print-3f2a9c1e"
    assert spec.tags == ("Haven & Hold", "wall art", "quote print", "grounding", "calm")
    assert (spec.vendor, spec.product_type, spec.status, spec.collection) == ("Haven & Hold", "Print", "draft", "grounding")
    assert (spec.asset_id, spec.quote_id, spec.product_id) == ("a9d3e2f1-0000-4000-8000-000000000001", "q-1", PRODUCT_ID)
    assert len({v.sku for v in spec.variants}) == 21
    assert [v.position for v in spec.variants] == list(range(1, 22))


def test_user_override_beats_system_row():
    override = SizePrice("8x10", Decimal("30.00"), Decimal("55.00"), Decimal("11.00"), Decimal("9.50"))
    by_sku = {v.sku: v for v in build(user_rows=[override]).variants}
    assert by_sku["HH-3F2A9C1E-8X10-UNF"].price == Decimal("30.00")
    assert by_sku["HH-3F2A9C1E-8X10-BLA"].price == Decimal("55.00")
    assert by_sku["HH-3F2A9C1E-8X10-UNF"].cost == Decimal("9.50")
    assert by_sku["HH-3F2A9C1E-11X14-UNF"].price == Decimal("34.99")  # other sizes untouched


def test_size_without_any_pricing_row_takes_the_fallback_price_and_no_cost():
    data = raw_profile()
    data["variants"] = {"sizes": ["5x7"], "frames": ["unframed"]}
    spec = build(profile=profile_from_mapping(data), system_rows=[SYSTEM_BY_SIZE["8x10"]])
    assert spec.variants[0].price == Decimal("24.99") and spec.variants[0].cost is None


def test_compare_at_rule_rounds_to_the_cent():
    data = raw_profile()
    data["compare_at"] = {"markup_percent": "25"}
    by_sku = {v.sku: v for v in build(profile=profile_from_mapping(data)).variants}
    assert by_sku["HH-3F2A9C1E-8X10-UNF"].compare_at_price == Decimal("31.24")  # 31.2375
    assert by_sku["HH-3F2A9C1E-24X36-BLA"].compare_at_price == Decimal("199.99")  # 199.9875
    assert all(v.compare_at_price > v.price for v in by_sku.values())


def test_building_twice_gives_the_same_spec_whatever_the_mockup_order():
    mockups = [mockup(s) for s in ALL_SCENES]
    first = build(mockups=mockups)
    shuffled = mockups[:]
    random.Random(7).shuffle(shuffled)
    assert build(mockups=shuffled) == first
    assert build(mockups=mockups) == first


def test_a_different_product_id_changes_skus_and_handle_only():
    a, b = build(), build(product_id="99999999-0000-0000-0000-000000000000")
    assert a.title == b.title and a.handle != b.handle
    assert {v.sku for v in a.variants}.isdisjoint({v.sku for v in b.variants})


def test_images_design_first_then_profile_scene_order():
    spec = build()
    assert [(i.source, i.ref_id, i.position) for i in spec.images] == [
        ("asset", "a9d3e2f1-0000-4000-8000-000000000001", 1),
        ("mockup", "m-living_room", 2),
        ("mockup", "m-bedroom", 3),
        ("mockup", "m-reading_nook", 4),
        ("mockup", "m-therapy_office", 5),
        ("mockup", "m-home_office", 6),
    ]
    assert spec.images[0].src == "https://cdn.example.com/designs/a.png" and spec.images[0].key == "designs/u1/a.png"
    assert spec.images[1].alt == "Breathe in courage, breathe out fear - framed print in a living room setting"


def test_only_approved_mockups_with_a_file_become_images_up_to_the_maximum():
    mockups = [
        mockup("bedroom", status="completed"),
        mockup("therapy_office", status="rejected"),
        mockup("living_room", url=None),
        mockup("reading_nook"),
        mockup("zen_garden"),  # a user's own scene, not in the profile's order: after the listed ones
        mockup("attic"),
    ]
    spec = build(mockups=mockups)
    assert [i.ref_id for i in spec.images[1:]] == ["m-reading_nook", "m-attic", "m-zen_garden"]
    assert spec.images[2].alt.endswith("in a attic setting")

    data = raw_profile()
    data["images"]["max_images"] = 2
    data["images"]["include_design"] = False
    spec = build(profile=profile_from_mapping(data))
    assert [i.ref_id for i in spec.images] == ["m-living_room", "m-bedroom"]
    assert [i.position for i in spec.images] == [1, 2]


def test_description_escapes_quote_values_and_drops_paragraphs_with_missing_values():
    spec = build(d=design(text='Be <b>bold</b> & "brave"', attribution=None, mood=None))
    body = spec.description_html
    assert "<b>bold</b>" not in body
    assert "Be &lt;b&gt;bold&lt;/b&gt; &amp; &quot;brave&quot;" in body
    assert "&mdash;" not in body and "Mood" not in body
    assert "<p>From the Grounding collection.</p>" in body
    full = build().description_html
    assert "<p>&mdash; Haven &amp; Hold</p>" in full and "<p>Mood: calm.</p>" in full


def test_long_quotes_are_shortened_so_the_title_fits_and_keeps_its_ending():
    spec = build(d=design(text="word " * 100))
    assert len(spec.title) <= 200
    assert spec.title.endswith("\u2026 - Quote Wall Art Print")
    assert is_valid_handle(spec.handle)


def test_design_without_quote_text_takes_the_fallback_title():
    spec = build(d=design(text=None, mood=None, collection=None, attribution=None))
    assert spec.title == "Haven & Hold Art Print"
    assert spec.tags == ("Haven & Hold", "wall art", "quote print")


def test_unknown_collection_is_rejected():
    with pytest.raises(ValidationError) as err:
        build(d=design(collection="serenity"))
    assert err.value.field == "collection"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["Calm", "calm", " CALM "], ("Calm",)),
        (["a,b", "  spaced   out "], ("a b", "spaced out")),
        (["", "   "], ()),
        (["x" * 300], ("x" * 255,)),
    ],
)
def test_normalise_tags(tags, expected):
    assert normalise_tags(tags) == expected


def test_render_text_without_text_placeholder_cuts_at_the_end():
    assert render_text("{collection_title} " + "x" * 300, {"collection_title": "Growth", "text": "t"}, 20) == "Growth " + "x" * 12 + "\u2026"


# --- handles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Breathe In, Let Go", "breathe-in-let-go"),
        ("Café au lait", "cafe-au-lait"),
        ("  --Hello__World--  ", "hello-world"),
        ("“Quotes” & ‘marks’!", "quotes-marks"),
        ("🌿🌿", ""),
        ("100% Growth", "100-growth"),
    ],
)
def test_slugify(text, slug):
    assert slugify(text) == slug


def test_slugify_cuts_at_a_word_boundary():
    assert slugify("alpha beta gamma", 12) == "alpha-beta"
    assert slugify("alpha beta gamma", 10) == "alpha-beta"
    assert slugify("abcdefghijklmnop", 5) == "abcde"


def test_handle_of_a_title_without_letters():
    assert product_handle("🌿", "ABCDEF12-3456") == "print-abcdef12"


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=600), ident=st.uuids().map(str))
def test_handles_are_valid_stable_and_carry_the_id(title, ident):
    handle = product_handle(title, ident)
    assert is_valid_handle(handle) and len(handle) <= 255
    assert handle.endswith("-" + ident.replace("-", "")[:8])
    assert product_handle(title, ident) == handle


# --- properties of the builder ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    text=st.one_of(st.none(), st.text(max_size=500)),
    attribution=st.one_of(st.none(), st.text(max_size=80)),
    mood=st.one_of(st.none(), st.text(max_size=40)),
    collection=st.sampled_from([None, "grounding", "wholeness", "growth"]),
    scenes=st.lists(st.sampled_from(ALL_SCENES + ["custom_a", "custom_b"]), unique=True),
    statuses=st.lists(st.sampled_from(["approved", "completed", "rejected"]), min_size=7, max_size=7),
)
def test_any_design_builds_a_sound_spec(text, attribution, mood, collection, scenes, statuses):
    d = design(text=text, attribution=attribution, mood=mood, collection=collection)
    mockups = [mockup(s, status=statuses[i]) for i, s in enumerate(scenes)]
    spec = build(d=d, mockups=mockups)
    assert 1 <= len(spec.title) <= 200
    assert is_valid_handle(spec.handle)
    assert len({v.sku for v in spec.variants}) == len(spec.variants) == 21
    assert all(v.price > 0 for v in spec.variants)
    assert len(spec.images) <= 6 and spec.images[0].source == "asset"
    assert [i.position for i in spec.images] == list(range(1, len(spec.images) + 1))
    assert all(i.ref_id != f"m-{s}" or statuses[n] == "approved" for n, s in enumerate(scenes) for i in spec.images)
    assert all(len(i.alt) <= 512 for i in spec.images)
    assert all(0 < len(t) <= 255 and "," not in t for t in spec.tags)
    # Escaping: stripping our own tags from the description leaves no raw "<" from the quote.
    if text and "<" in text:
        assert html.escape(" ".join(text.split())) in spec.description_html or not text.strip()
    assert build(d=d, mockups=list(reversed(mockups))) == spec


def test_profile_data_is_not_mutated_by_loading():
    data = raw_profile()
    before = copy.deepcopy(data)
    profile_from_mapping(data)
    assert data == before
