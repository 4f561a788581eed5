"""Price resolution, variant titles and SKUs, table-driven from the numbers in DESIGN.md."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven_pipelines.domain.pricing import (
    FALLBACK_PRICE,
    SYSTEM_BY_SIZE,
    SYSTEM_PRICING,
    SizePrice,
    make_sku,
    resolve_price,
    variant_title,
)

# Written out from DESIGN.md (size: base, framed, digital, cost), not copied from the module under test.
DESIGN_PRICING = [
    ("8x10", "24.99", "49.99", "9.99", "8.00"),
    ("11x14", "34.99", "69.99", "12.99", "12.00"),
    ("16x20", "49.99", "99.99", "14.99", "18.00"),
    ("12x16", "39.99", "79.99", "12.99", "14.00"),
    ("18x24", "59.99", "119.99", "16.99", "22.00"),
    ("12x18", "44.99", "89.99", "14.99", "16.00"),
    ("16x24", "54.99", "109.99", "16.99", "20.00"),
    ("24x36", "79.99", "159.99", "19.99", "30.00"),
    ("A4", "29.99", "59.99", "9.99", "10.00"),
    ("A3", "44.99", "89.99", "12.99", "15.00"),
]
SIZES = [row[0] for row in DESIGN_PRICING]


def test_system_rows_are_exactly_the_design_table():
    assert [(r.size, str(r.base_price), str(r.framed_price), str(r.digital_price), str(r.cost)) for r in SYSTEM_PRICING] == DESIGN_PRICING
    assert all(isinstance(r.base_price, Decimal) for r in SYSTEM_PRICING)


@pytest.mark.parametrize(("size", "base", "framed", "digital", "cost"), DESIGN_PRICING)
def test_system_price_per_size(size, base, framed, digital, cost):
    assert resolve_price(size) == Decimal(base)
    assert resolve_price(size, frame_style="black") == Decimal(framed)
    assert resolve_price(size, is_digital=True) == Decimal(digital)
    # Digital wins over a frame: a download has no frame.
    assert resolve_price(size, frame_style="white", is_digital=True) == Decimal(digital)


def _override(size: str) -> SizePrice:
    return SizePrice(size, Decimal("1.11"), Decimal("2.22"), Decimal("3.33"), Decimal("0.50"))


@pytest.mark.parametrize("size", SIZES)
def test_user_override_beats_system(size):
    user_rows = {size: _override(size)}
    assert resolve_price(size, user_rows=user_rows) == Decimal("1.11")
    assert resolve_price(size, frame_style="natural", user_rows=user_rows) == Decimal("2.22")
    assert resolve_price(size, is_digital=True, user_rows=user_rows) == Decimal("3.33")
    # An override for another size changes nothing here.
    other = "A4" if size != "A4" else "A3"
    assert resolve_price(size, user_rows={other: _override(other)}) == SYSTEM_BY_SIZE[size].base_price


@pytest.mark.parametrize("size", [*SIZES, "5x7"])
def test_explicit_price_beats_everything(size):
    assert resolve_price(size, explicit=Decimal("12.50"), user_rows={size: _override(size)}) == Decimal("12.50")


@pytest.mark.parametrize(("size", "frame", "digital"), [("5x7", None, False), ("5x7", "black", False), ("30x40", None, True), ("", None, False)])
def test_unknown_size_falls_back_to_24_99(size, frame, digital):
    assert resolve_price(size, frame_style=frame, is_digital=digital) == Decimal("24.99") == FALLBACK_PRICE


def test_user_row_for_an_unknown_size_is_used():
    assert resolve_price("5x7", user_rows={"5x7": _override("5x7")}) == Decimal("1.11")


@pytest.mark.parametrize("bad", [Decimal("0"), Decimal("-0.01"), Decimal("-10")])
def test_non_positive_explicit_price_is_refused(bad):
    with pytest.raises(ValueError, match="positive"):
        resolve_price("8x10", explicit=bad)


@pytest.mark.parametrize(
    ("size", "frame", "digital", "title"),
    [
        ("8x10", None, False, "8x10"),
        ("8x10", "black", False, "8x10 / Black Frame"),
        ("11x14", "natural", False, "11x14 / Natural Frame"),
        ("A4", " white ", False, "A4 / White Frame"),
        ("16x20", None, True, "16x20 / Digital Download"),
    ],
)
def test_variant_titles(size, frame, digital, title):
    assert variant_title(size, frame, is_digital=digital) == title


PRODUCT_ID = "3f2a9c1e-77aa-4b0e-9d1c-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("size", "frame", "digital", "sku"),
    [
        ("8x10", None, False, "HH-3F2A9C1E-8X10-UNF"),
        ("8x10", "black", False, "HH-3F2A9C1E-8X10-BLA"),
        ("11x14", "white", False, "HH-3F2A9C1E-11X14-WHI"),
        ("24x36", "natural", False, "HH-3F2A9C1E-24X36-NAT"),
        ("A4", None, False, "HH-3F2A9C1E-A4-UNF"),
        ("12x16", None, True, "HH-3F2A9C1E-12X16-DIG"),
        ("8.5x11", "oak-wood", False, "HH-3F2A9C1E-85X11-OAK"),
    ],
)
def test_sku_format(size, frame, digital, sku):
    assert make_sku(PRODUCT_ID, size, frame, is_digital=digital) == sku


def test_digital_and_unframed_skus_of_one_size_differ():
    assert make_sku(PRODUCT_ID, "8x10") != make_sku(PRODUCT_ID, "8x10", is_digital=True)


# -- properties ---------------------------------------------------------------------------------

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
sizes = st.one_of(st.sampled_from(SIZES), st.text(min_size=0, max_size=12))
frames = st.one_of(st.none(), st.sampled_from(["black", "white", "natural"]), st.text(min_size=1, max_size=15))


@given(size=sizes, frame=frames, digital=st.booleans(), explicit=money)
def test_explicit_positive_price_always_wins(size, frame, digital, explicit):
    assert resolve_price(size, frame_style=frame, is_digital=digital, explicit=explicit, user_rows={size: _override(size)}) == explicit


@given(size=sizes, frame=frames, digital=st.booleans())
def test_resolved_price_is_positive_and_from_the_table_or_fallback(size, frame, digital):
    price = resolve_price(size, frame_style=frame, is_digital=digital)
    assert price > 0
    row = SYSTEM_BY_SIZE.get(size)
    allowed = {row.base_price, row.framed_price, row.digital_price} if row else {Decimal("24.99")}
    assert price in allowed


@given(size=st.sampled_from(SIZES), frame=frames)
def test_a_frame_never_costs_less_than_the_bare_print_in_the_system_table(size, frame):
    assert resolve_price(size, frame_style=frame) >= resolve_price(size) > resolve_price(size, is_digital=True)


@given(product_id=st.uuids().map(str), size=sizes, frame=frames, digital=st.booleans())
def test_sku_shape(product_id, size, frame, digital):
    sku = make_sku(product_id, size, frame, is_digital=digital)
    assert sku.startswith(f"HH-{product_id[:8].upper()}-")
    assert re.sub(r"[^0-9A-Za-z]", "", size).upper() == sku.split("-")[2]
    tail = sku.rsplit("-", 1)[1]
    if digital:
        assert tail == "DIG"
    else:
        # No frame, or one without letters or digits, is unframed.
        assert tail == (re.sub(r"[^0-9A-Za-z]", "", frame or "")[:3].upper() or "UNF")


@given(product_id=st.uuids().map(str), size=st.sampled_from(SIZES))
def test_skus_of_distinct_variants_of_a_size_differ(product_id, size):
    variants = [(None, False), ("black", False), ("white", False), ("natural", False), (None, True)]
    skus = {make_sku(product_id, size, frame, is_digital=digital) for frame, digital in variants}
    assert len(skus) == len(variants)


def test_sku_frame_without_letters_is_unframed():
    from haven_pipelines.domain.pricing import make_sku

    assert make_sku("abcdef12-0000", "8x10", "!!") == "HH-ABCDEF12-8X10-UNF"
