"""Validation of the create-product request (Haven Hub's ``POST /products``), and the spec it builds.

:func:`validate_product_request` turns a plain mapping (parsed JSON, CLI options) into a frozen
:class:`ProductRequest`, or raises ``ValidationError(field, reason)`` naming the first wrong field by
its path, for example ``variants[2].price`` or ``images[0]``. Unknown fields are errors too: a typo
such as ``compare_price`` should not silently drop a price.

The request (snake_case; the source's camelCase spelling of each field is accepted as well):

| field | rule |
| --- | --- |
| ``title`` | text, whitespace collapsed, 1 to 200 characters |
| ``description`` | optional plain text (HTML is escaped when the spec is built), up to 20,000 characters |
| ``collection`` | optional: grounding, wholeness or growth (any case) |
| ``tags`` | optional list of text, each 1 to 255 characters without commas; case-insensitive duplicates dropped |
| ``variants`` | 1 to 100 of: ``size`` (1 to 20 characters, with a letter or digit), ``frame_style`` (optional), ``price`` (optional, positive, at most 2 decimals; absent takes the default price), ``compare_at_price`` (optional, above the price), ``is_digital`` (default false) |
| ``images`` | optional list, in order, each ``{"asset_id": id}`` or ``{"mockup_id": id}`` |
| ``publish`` | optional boolean, default false |

Frame style is one of black, white or natural (any case), or absent / ``unframed`` for none. It is
a closed set, unlike the source's free text, because the SKU keeps only its first three letters and
the storefront shows it as a Shopify option value: "blackwood" would collide with "black", and a
typo would become a new option value on the live product. A digital variant has no frame.

Prices given as JSON numbers are read through their decimal text (``24.99`` stays ``24.99``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from haven_pipelines.domain.catalogue import (
    CatalogueProfile,
    ImageSpec,
    PricingRows,
    ProductSpec,
    build_variant_spec,
    check_unique_skus,
    normalise_tags,
    pricing_by_size,
)
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.handles import product_handle
from haven_pipelines.domain.pricing import FRAME_STYLES, SYSTEM_BY_SIZE, make_sku
from haven_pipelines.domain.scenes import COLLECTIONS

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_TAG = 255
MAX_TAGS = 250
MAX_SIZE = 20
MAX_VARIANTS = 100
MAX_IMAGES = 250
MAX_ID = 36
MAX_PRICE = Decimal("99999999.99")  # the price columns are NUMERIC(10, 2)
_CENT = Decimal("0.01")

_TOP_FIELDS = {
    "title": "title", "description": "description", "collection": "collection", "tags": "tags",
    "variants": "variants", "images": "images", "publish": "publish",
}
_VARIANT_FIELDS = {
    "size": "size", "frame_style": "frame_style", "frameStyle": "frame_style", "price": "price",
    "compare_at_price": "compare_at_price", "compareAtPrice": "compare_at_price",
    "is_digital": "is_digital", "isDigital": "is_digital",
}
_IMAGE_FIELDS = {"asset_id": "asset_id", "assetId": "asset_id", "mockup_id": "mockup_id", "mockupId": "mockup_id"}


@dataclass(frozen=True)
class VariantRequest:
    """A requested variant; ``price`` None takes the user's or the system's price for the size."""

    size: str
    frame_style: str | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    is_digital: bool = False


@dataclass(frozen=True)
class ImageRef:
    """A requested image: one of the acting user's design assets (``asset``) or mockups (``mockup``)."""

    kind: str
    id: str


@dataclass(frozen=True)
class ProductRequest:
    """A validated create-product request."""

    title: str
    description: str | None
    collection: str | None
    tags: tuple[str, ...]
    variants: tuple[VariantRequest, ...]
    images: tuple[ImageRef, ...]
    publish: bool


@dataclass(frozen=True)
class ResolvedImage:
    """An image reference the products service has looked up (and found to be the user's own)."""

    ref: ImageRef
    src: str
    key: str | None = None
    alt: str | None = None


def _fields(payload: Any, path: str, names: Mapping[str, str]) -> dict[str, Any]:
    """Canonical field name -> value; rejects non-mappings, unknown keys and a field given twice."""
    if not isinstance(payload, Mapping):
        raise ValidationError(path or "request", f"must be an object, got {type(payload).__name__}")
    out: dict[str, Any] = {}
    prefix = f"{path}." if path else ""
    for key, value in payload.items():
        canonical = names.get(key) if isinstance(key, str) else None
        if canonical is None:
            raise ValidationError(f"{prefix}{key}", "is not a known field")
        if canonical in out:
            raise ValidationError(f"{prefix}{canonical}", "is given twice (snake_case and camelCase)")
        out[canonical] = value
    return out


def _text(value: Any, field: str, *, max_length: int, collapse: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    clean = " ".join(value.split()) if collapse else value.strip()
    if not clean:
        raise ValidationError(field, "must not be empty")
    if len(clean) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters, got {len(clean)}")
    return clean


def parse_money(value: Any, field: str) -> Decimal:
    """A positive amount with at most two decimals, from a Decimal, int, numeric string or JSON number.

    Raises:
        ValidationError: naming ``field``, for a bool, non-number, non-finite, zero or negative
            amount, more than two decimals, or more than 99,999,999.99.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValidationError(field, f"must be a number, got {type(value).__name__}")
    try:
        # str() first: a float's shortest repr is the number the sender wrote (24.99, not 24.989999...).
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValidationError(field, f"is not a number: {value!r}") from exc
    if not amount.is_finite():
        raise ValidationError(field, "must be a finite number")
    if amount <= 0:
        raise ValidationError(field, f"must be positive, got {amount}")
    if amount != amount.quantize(_CENT):
        raise ValidationError(field, f"must have at most 2 decimal places, got {amount}")
    if amount > MAX_PRICE:
        raise ValidationError(field, f"must be at most {MAX_PRICE}")
    return amount.quantize(_CENT)


def _frame(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text or null, got {type(value).__name__}")
    frame = value.strip().lower()
    if frame in ("", "unframed", "none"):
        return None
    if frame not in FRAME_STYLES:
        raise ValidationError(field, f"must be one of {', '.join(FRAME_STYLES)} or unframed, got {value!r}")
    return frame


def _flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false")
    return value


def _variant(payload: Any, field: str) -> VariantRequest:
    data = _fields(payload, field, _VARIANT_FIELDS)
    if "size" not in data:
        raise ValidationError(f"{field}.size", "is required")
    size = _text(data["size"], f"{field}.size", max_length=MAX_SIZE)
    if not any(ch.isascii() and ch.isalnum() for ch in size):
        raise ValidationError(f"{field}.size", f"must contain a letter or digit, got {size!r}")
    is_digital = _flag(data.get("is_digital"), f"{field}.is_digital")
    frame = _frame(data.get("frame_style"), f"{field}.frame_style")
    if is_digital and frame is not None:
        raise ValidationError(f"{field}.frame_style", "a digital download has no frame")
    price = None if data.get("price") is None else parse_money(data["price"], f"{field}.price")
    compare_at = None
    if data.get("compare_at_price") is not None:
        compare_at = parse_money(data["compare_at_price"], f"{field}.compare_at_price")
        if price is not None and compare_at <= price:
            raise ValidationError(f"{field}.compare_at_price", f"must be above the price {price}, got {compare_at}")
    return VariantRequest(size, frame, price, compare_at, is_digital)


def _variants(value: Any) -> tuple[VariantRequest, ...]:
    if not isinstance(value, list | tuple):
        raise ValidationError("variants", "must be a list of variants")
    if not value:
        raise ValidationError("variants", "must have at least one variant")
    if len(value) > MAX_VARIANTS:
        raise ValidationError("variants", f"must have at most {MAX_VARIANTS} variants, got {len(value)}")
    variants: list[VariantRequest] = []
    first_by_sku: dict[str, int] = {}
    for i, item in enumerate(value):
        variant = _variant(item, f"variants[{i}]")
        # Same SKU means the same variant twice ("8x10" and "8 x 10" both become 8X10).
        sku = make_sku("", variant.size, variant.frame_style, is_digital=variant.is_digital)
        if sku in first_by_sku:
            raise ValidationError(f"variants[{i}]", f"repeats variants[{first_by_sku[sku]}] (same size, frame and digital flag)")
        first_by_sku[sku] = i
        variants.append(variant)
    return tuple(variants)


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationError("tags", "must be a list of text")
    if len(value) > MAX_TAGS:
        raise ValidationError("tags", f"must have at most {MAX_TAGS} tags, got {len(value)}")
    for i, tag in enumerate(value):
        clean = _text(tag, f"tags[{i}]", max_length=MAX_TAG)
        if "," in clean:
            raise ValidationError(f"tags[{i}]", "must not contain a comma (Shopify splits tags on commas)")
    return normalise_tags(value)


def _images(value: Any) -> tuple[ImageRef, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationError("images", "must be a list of {asset_id} or {mockup_id} objects")
    if len(value) > MAX_IMAGES:
        raise ValidationError("images", f"must have at most {MAX_IMAGES} images, got {len(value)}")
    refs: list[ImageRef] = []
    for i, item in enumerate(value):
        data = _fields(item, f"images[{i}]", _IMAGE_FIELDS)
        if len(data) != 1:
            raise ValidationError(f"images[{i}]", "must name exactly one of asset_id or mockup_id")
        key, ident = next(iter(data.items()))
        ref = ImageRef(key.removesuffix("_id"), _text(ident, f"images[{i}].{key}", max_length=MAX_ID))
        if ref in refs:
            raise ValidationError(f"images[{i}]", f"repeats images[{refs.index(ref)}]")
        refs.append(ref)
    return tuple(refs)


def validate_product_request(payload: Mapping[str, Any]) -> ProductRequest:
    """Validate a create-product request (see the module docstring for the rules).

    Raises:
        ValidationError: naming the first wrong field by its path.
    """
    data = _fields(payload, "", _TOP_FIELDS)
    if "title" not in data:
        raise ValidationError("title", "is required")
    title = _text(data["title"], "title", max_length=MAX_TITLE)
    description = None
    if data.get("description") is not None:
        if not isinstance(data["description"], str):
            raise ValidationError("description", f"must be text, got {type(data['description']).__name__}")
        description = data["description"].strip() or None
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise ValidationError("description", f"must be at most {MAX_DESCRIPTION} characters")
    collection = None
    if data.get("collection") is not None:
        raw = data["collection"]
        collection = raw.strip().lower() if isinstance(raw, str) else raw
        if collection not in COLLECTIONS:
            raise ValidationError("collection", f"must be one of {', '.join(COLLECTIONS)}, got {raw!r}")
    if "variants" not in data:
        raise ValidationError("variants", "must have at least one variant")
    return ProductRequest(
        title=title,
        description=description,
        collection=collection,
        tags=_tags(data.get("tags")),
        variants=_variants(data["variants"]),
        images=_images(data.get("images")),
        publish=_flag(data.get("publish"), "publish"),
    )


def description_html(description: str | None) -> str:
    """Plain text as HTML: escaped, a ``<p>`` per blank-line-separated paragraph, ``<br>`` for single breaks."""
    if not description:
        return ""
    paragraphs = [p.strip() for p in description.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "\n".join("<p>" + "<br>".join(html.escape(line.strip()) for line in p.split("\n")) + "</p>" for p in paragraphs)


def build_request_spec(
    profile: CatalogueProfile,
    request: ProductRequest,
    *,
    product_id: str,
    images: Sequence[ResolvedImage],
    pricing_user_rows: PricingRows,
    pricing_system_rows: PricingRows,
) -> ProductSpec:
    """The product spec of a validated create request.

    Vendor, product type, status, inventory policy and tracking come from the profile; the request
    supplies the rest. Tags are the request's, plus the collection when the profile tags collections.

    Args:
        images: the request's images, resolved by the service in the request's order.
        pricing_system_rows: ``None`` means the built-in system prices.

    Raises:
        ValidationError: ``variants[i].compare_at_price`` when a compare-at price is not above the
            price the variant resolves to; ``images`` when ``images`` does not match the request's.
    """
    if [img.ref for img in images] != list(request.images):
        raise ValidationError("images", "the resolved images must be the request's images, in the request's order")
    user_rows = pricing_by_size(pricing_user_rows)
    system_rows = SYSTEM_BY_SIZE if pricing_system_rows is None else pricing_by_size(pricing_system_rows)
    variants = tuple(
        build_variant_spec(
            product_id=product_id, size=v.size, frame_style=v.frame_style, is_digital=v.is_digital,
            position=i + 1, inventory_policy=profile.inventory_policy, user_rows=user_rows,
            system_rows=system_rows, explicit_price=v.price, explicit_compare_at=v.compare_at_price,
            field=f"variants[{i}]",
        )
        for i, v in enumerate(request.variants)
    )
    check_unique_skus(variants)
    tags = list(request.tags)
    if profile.tag_collection and request.collection:
        tags.append(request.collection)
    return ProductSpec(
        product_id=product_id,
        asset_id=None,
        quote_id=None,
        title=request.title,
        description_html=description_html(request.description),
        handle=product_handle(request.title, product_id),
        collection=request.collection,
        tags=normalise_tags(tags),
        vendor=profile.vendor,
        product_type=profile.product_type,
        status=profile.initial_status,
        track_inventory=profile.track_inventory,
        variants=variants,
        images=tuple(
            ImageSpec(src=img.src, key=img.key, alt=img.alt or request.title, source=img.ref.kind,
                      ref_id=img.ref.id, position=i)
            for i, img in enumerate(images, start=1)
        ),
    )
