"""Default prices per print size, price resolution, variant titles and SKUs (ported from Haven Hub).

All money is ``Decimal``; nothing here touches a database. Callers pass in the system rows and the
user's overrides they loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

FALLBACK_PRICE = Decimal("24.99")


@dataclass(frozen=True)
class SizePrice:
    """One pricing row: the prices of a print size (system default or a user's override)."""

    size: str
    base_price: Decimal
    framed_price: Decimal
    digital_price: Decimal
    cost: Decimal


def _row(size: str, base: str, framed: str, digital: str, cost: str) -> SizePrice:
    return SizePrice(size, Decimal(base), Decimal(framed), Decimal(digital), Decimal(cost))


# Haven Hub's seeded system pricing, size: base / framed / digital / cost.
SYSTEM_PRICING: tuple[SizePrice, ...] = (
    _row("8x10", "24.99", "49.99", "9.99", "8.00"),
    _row("11x14", "34.99", "69.99", "12.99", "12.00"),
    _row("16x20", "49.99", "99.99", "14.99", "18.00"),
    _row("12x16", "39.99", "79.99", "12.99", "14.00"),
    _row("18x24", "59.99", "119.99", "16.99", "22.00"),
    _row("12x18", "44.99", "89.99", "14.99", "16.00"),
    _row("16x24", "54.99", "109.99", "16.99", "20.00"),
    _row("24x36", "79.99", "159.99", "19.99", "30.00"),
    _row("A4", "29.99", "59.99", "9.99", "10.00"),
    _row("A3", "44.99", "89.99", "12.99", "15.00"),
)

FRAME_STYLES: tuple[str, ...] = ("black", "white", "natural")


def row_price(row: SizePrice, *, frame_style: str | None, is_digital: bool) -> Decimal:
    """The price a pricing row gives a variant: digital, framed when a frame is chosen, else base."""
    if is_digital:
        return row.digital_price
    if frame_style:
        return row.framed_price
    return row.base_price


def resolve_price(
    size: str,
    *,
    frame_style: str | None = None,
    is_digital: bool = False,
    explicit: Decimal | None = None,
    user_rows: dict[str, SizePrice] | None = None,
    system_rows: dict[str, SizePrice] | None = None,
) -> Decimal:
    """Resolve a variant's price the way Haven Hub did.

    Order: the explicit price; else the user's override row for the size; else the system row;
    else 24.99. A row gives its digital price for a digital variant, its framed price when a frame
    is chosen, and its base price otherwise.
    """
    if explicit is not None:
        if explicit <= 0:
            raise ValueError(f"price must be positive, got {explicit}")
        return explicit
    for rows in (user_rows or {}, system_rows if system_rows is not None else SYSTEM_BY_SIZE):
        row = rows.get(size)
        if row is not None:
            return row_price(row, frame_style=frame_style, is_digital=is_digital)
    return FALLBACK_PRICE


SYSTEM_BY_SIZE: dict[str, SizePrice] = {r.size: r for r in SYSTEM_PRICING}


def variant_title(size: str, frame_style: str | None = None, *, is_digital: bool = False) -> str:
    """``8x10``, ``8x10 / Black Frame``, or ``8x10 / Digital Download`` for a digital variant."""
    if is_digital:
        return f"{size} / Digital Download"
    if frame_style:
        return f"{size} / {frame_style.strip().title()} Frame"
    return size


_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def make_sku(product_id: str, size: str, frame_style: str | None = None, *, is_digital: bool = False) -> str:
    """``HH-<first 8 of product id, upper>-<size without punctuation>-<frame 3 letters or UNF>``.

    Haven Hub's format. A digital variant would collide with the unframed print of the same size,
    so (unlike the source) it gets ``DIG`` in the frame slot; SKUs must be unique per shop.
    """
    prefix = product_id[:8].upper()
    size_part = _NOT_ALNUM.sub("", size).upper()
    if is_digital:
        frame_part = "DIG"
    else:
        # A frame with no letters (None, "", "!!") is unframed: the SKU never ends in an empty part.
        frame_part = _NOT_ALNUM.sub("", frame_style or "")[:3].upper() or "UNF"
    return f"HH-{prefix}-{size_part}-{frame_part}"
