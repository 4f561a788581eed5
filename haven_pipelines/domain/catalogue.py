"""The catalogue profile, and the product spec it builds from a design, its quote and its mockups.

The profile (``haven_pipelines/config/catalogue.json`` by default) says what an automatically built
product looks like: its variants (by default five sizes, each unframed and in black, white and
natural frames, plus one digital download: 21 variants), an optional compare-at rule, its tags,
title and description templates fed from the quote, and which mockups become images.

:func:`build_product_spec` is a pure function of its arguments: the same design, mockups, prices
and product id give the same spec, field for field. That is what makes a rebuild an update: the
handle and the SKUs it produces are the keys the stores and Shopify upsert by.

Templates take these placeholders, and nothing else (no attribute or index access):
``{text}``, ``{attribution}``, ``{collection}``, ``{collection_title}``, ``{mood}``, and in the
mockup alt text also ``{scene}`` and ``{scene_name}``. Description paragraphs are trusted HTML from
the profile; the values put into them are HTML-escaped. A paragraph that names a value the quote
does not have (no attribution, no mood) is left out rather than printed half empty.
"""

from __future__ import annotations

import html
import json
import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.handles import product_handle
from haven_pipelines.domain.pricing import (
    FRAME_STYLES,
    SYSTEM_BY_SIZE,
    SizePrice,
    make_sku,
    resolve_price,
    variant_title,
)
from haven_pipelines.domain.scenes import COLLECTIONS, SCENES_BY_KEY

UNFRAMED = "unframed"
MAX_TITLE_LENGTH = 200
MAX_TAG_LENGTH = 255
MAX_ALT_LENGTH = 512
MAX_VARIANTS = 100  # Shopify's default limit per product
CENT = Decimal("0.01")
ELLIPSIS = "\u2026"

TEXT_FIELDS = frozenset({"text", "attribution", "collection", "collection_title", "mood"})
ALT_FIELDS = TEXT_FIELDS | {"scene", "scene_name"}
PRODUCT_STATUSES = ("draft", "pending", "active")
INVENTORY_POLICIES = ("continue", "deny")
IMAGE_STATUSES = ("pending", "generating", "completed", "failed", "approved", "rejected")


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignInfo:
    """A design asset and the quote it shows, as the products service loads them."""

    asset_id: str
    file_url: str
    file_key: str | None = None
    quote_id: str | None = None
    text: str | None = None
    attribution: str | None = None
    collection: str | None = None
    mood: str | None = None


@dataclass(frozen=True)
class MockupImage:
    """A rendered mockup of the design; only those whose status the profile names become images."""

    mockup_id: str
    scene: str
    status: str
    file_url: str | None
    file_key: str | None = None
    scene_name: str | None = None


# --- the profile --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantOption:
    """One variant the profile gives every product: a size, a frame (None is unframed), or digital."""

    size: str
    frame_style: str | None = None
    is_digital: bool = False


@dataclass(frozen=True)
class CompareAtRule:
    """Compare-at price = price raised by ``markup_percent`` %, rounded to the cent."""

    markup_percent: Decimal

    def apply(self, price: Decimal) -> Decimal:
        """The compare-at price for ``price``."""
        return (price * (1 + self.markup_percent / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ImageRules:
    """Which images a product gets, in what order, and their alt-text templates."""

    include_design: bool
    mockup_statuses: tuple[str, ...]
    scene_order: tuple[str, ...]
    max_images: int
    design_alt: str
    mockup_alt: str


@dataclass(frozen=True)
class CatalogueProfile:
    """What an automatically built product gets. Load it with :func:`load_catalogue_profile`."""

    vendor: str
    product_type: str
    initial_status: str
    inventory_policy: str
    track_inventory: bool
    variants: tuple[VariantOption, ...]
    compare_at: CompareAtRule | None
    static_tags: tuple[str, ...]
    tag_collection: bool
    tag_mood: bool
    fallback_title: str
    title_template: str
    description_paragraphs: tuple[str, ...]
    images: ImageRules


# --- the spec -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSpec:
    """One variant of a product spec; ``sku`` is unique within the product."""

    size: str
    frame_style: str | None
    is_digital: bool
    title: str
    price: Decimal
    compare_at_price: Decimal | None
    sku: str
    cost: Decimal | None
    inventory_policy: str
    requires_shipping: bool
    position: int


@dataclass(frozen=True)
class ImageSpec:
    """One image of a product spec: a design asset or a mockup, by storage key and url."""

    src: str
    key: str | None
    alt: str
    source: str  # "asset" or "mockup"
    ref_id: str
    position: int


@dataclass(frozen=True)
class ProductSpec:
    """Everything a product is, built deterministically; the products service stores it, the publisher sends it."""

    product_id: str
    asset_id: str | None
    quote_id: str | None
    title: str
    description_html: str
    handle: str
    collection: str | None
    tags: tuple[str, ...]
    vendor: str
    product_type: str
    status: str
    track_inventory: bool
    variants: tuple[VariantSpec, ...]
    images: tuple[ImageSpec, ...]


# --- loading ------------------------------------------------------------------------------------


def default_profile_path() -> Path:
    """The profile shipped with the package, ``haven_pipelines/config/catalogue.json``."""
    return Path(str(resources.files("haven_pipelines").joinpath("config", "catalogue.json")))


def load_catalogue_profile(path: str | Path | None = None) -> CatalogueProfile:
    """Read and validate a catalogue profile from a JSON file (the shipped default when ``path`` is None).

    Raises:
        ValidationError: the file is not JSON (field ``catalogue``), or a field is wrong
            (field ``catalogue.<path>``, for example ``catalogue.variants.sizes[2]``).
    """
    source = Path(path) if path is not None else default_profile_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError("catalogue", f"{source.name} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    return profile_from_mapping(data)


def profile_from_mapping(data: Any) -> CatalogueProfile:
    """Validate a profile given as plain data (the parsed JSON) and build it.

    Raises:
        ValidationError: naming the first wrong field as ``catalogue.<path>``.
    """
    top = _Obj(data, "catalogue")
    variants_obj = top.obj("variants")
    sizes = variants_obj.str_list("sizes", max_length=20)
    frames = variants_obj.str_list("frames", allowed=(UNFRAMED, *FRAME_STYLES))
    digital_sizes = variants_obj.str_list("digital_sizes", required=False, max_length=20, allow_empty=True)
    variants_obj.done()
    options = tuple(
        VariantOption(size, None if frame == UNFRAMED else frame) for size in sizes for frame in frames
    ) + tuple(VariantOption(size, None, True) for size in digital_sizes)
    _check_variant_options(options)

    compare_at = None
    raw_compare = top.raw("compare_at", required=False)
    if raw_compare is not None:
        rule = _Obj(raw_compare, "catalogue.compare_at")
        percent = rule.decimal("markup_percent")
        if percent <= 0:
            raise ValidationError("catalogue.compare_at.markup_percent", "must be above 0 so the compare-at price exceeds the price")
        rule.done()
        compare_at = CompareAtRule(percent)

    tags = top.obj("tags")
    static_tags = tags.str_list("static", allow_empty=True, max_length=MAX_TAG_LENGTH)
    for i, tag in enumerate(static_tags):
        if "," in tag:
            raise ValidationError(f"catalogue.tags.static[{i}]", "a tag may not contain a comma (Shopify splits tags on commas)")
    tag_collection = tags.boolean("include_collection")
    tag_mood = tags.boolean("include_mood")
    tags.done()

    title_template = top.string("title_template")
    _check_template(title_template, TEXT_FIELDS, "catalogue.title_template", need_field=True)
    paragraphs = top.str_list("description_paragraphs", allow_empty=True)
    for i, paragraph in enumerate(paragraphs):
        _check_template(paragraph, TEXT_FIELDS, f"catalogue.description_paragraphs[{i}]")

    images = top.obj("images")
    include_design = images.boolean("include_design")
    statuses = images.str_list("mockup_statuses", allowed=IMAGE_STATUSES)
    scene_order = images.str_list("scene_order", allow_empty=True)
    max_images = images.integer("max_images", minimum=1, maximum=250)
    design_alt = images.string("design_alt")
    _check_template(design_alt, TEXT_FIELDS, "catalogue.images.design_alt")
    mockup_alt = images.string("mockup_alt")
    _check_template(mockup_alt, ALT_FIELDS, "catalogue.images.mockup_alt")
    images.done()

    profile = CatalogueProfile(
        vendor=top.string("vendor", max_length=100),
        product_type=top.string("product_type", max_length=100),
        initial_status=top.choice("initial_status", PRODUCT_STATUSES),
        inventory_policy=top.choice("inventory_policy", INVENTORY_POLICIES),
        track_inventory=top.boolean("track_inventory"),
        variants=options,
        compare_at=compare_at,
        static_tags=static_tags,
        tag_collection=tag_collection,
        tag_mood=tag_mood,
        fallback_title=top.string("fallback_title", max_length=MAX_TITLE_LENGTH),
        title_template=title_template,
        description_paragraphs=paragraphs,
        images=ImageRules(include_design, statuses, scene_order, max_images, design_alt, mockup_alt),
    )
    top.done()
    return profile


def _check_variant_options(options: tuple[VariantOption, ...]) -> None:
    if not options:
        raise ValidationError("catalogue.variants", "the profile gives no variants")
    if len(options) > MAX_VARIANTS:
        raise ValidationError("catalogue.variants", f"{len(options)} variants exceed Shopify's {MAX_VARIANTS} per product")
    seen: dict[str, VariantOption] = {}
    for option in options:
        # Two sizes that differ only in punctuation ("8x10", "8 x 10") would share a SKU.
        sku = make_sku("PROFILE0", option.size, option.frame_style, is_digital=option.is_digital)
        if sku in seen:
            raise ValidationError("catalogue.variants", f"{option} and {seen[sku]} would share the SKU {sku}")
        seen[sku] = option


_FORMATTER = string.Formatter()


def template_fields(template: str) -> list[str]:
    """The placeholder names a template uses, in order (``"{text} by {attribution}"`` -> ``["text", "attribution"]``)."""
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]


def _check_template(template: str, allowed: frozenset[str], field: str, *, need_field: bool = False) -> None:
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid template: {exc}") from exc
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            raise ValidationError(field, f"unknown placeholder {{{name}}}; allowed: {', '.join(sorted(allowed))}")
        if spec or conversion:
            raise ValidationError(field, f"placeholder {{{name}}} may not have a format spec or conversion")
        names.append(name)
    if need_field and not names:
        raise ValidationError(field, "must use at least one placeholder, or every product gets the same title")


class _Obj:
    """Reads one JSON object of the profile, naming the field path in every error; rejects unknown keys."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, Mapping):
            raise ValidationError(path, f"must be an object, got {type(data).__name__}")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}"

    def raw(self, key: str, *, required: bool = True) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if required:
                raise ValidationError(self.field(key), "is required")
            return None
        return self.data[key]

    def obj(self, key: str) -> _Obj:
        return _Obj(self.raw(key), self.field(key))

    def string(self, key: str, *, max_length: int = 10_000) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(self.field(key), "must be a non-empty string")
        if len(value) > max_length:
            raise ValidationError(self.field(key), f"must be at most {max_length} characters")
        return value.strip()

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(key)
        if value not in allowed:
            raise ValidationError(self.field(key), f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise ValidationError(self.field(key), "must be true or false")
        return value

    def integer(self, key: str, *, minimum: int, maximum: int) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ValidationError(self.field(key), f"must be a whole number from {minimum} to {maximum}")
        return value

    def decimal(self, key: str) -> Decimal:
        value = self.raw(key)
        # A string keeps the exact digits; a JSON float is accepted through its shortest repr.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError(self.field(key), "must be a number or a numeric string")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValidationError(self.field(key), f"is not a number: {value!r}") from exc
        if not number.is_finite():
            raise ValidationError(self.field(key), "must be finite")
        return number

    def str_list(
        self,
        key: str,
        *,
        required: bool = True,
        allow_empty: bool = False,
        allowed: tuple[str, ...] | None = None,
        max_length: int = 10_000,
    ) -> tuple[str, ...]:
        value = self.raw(key, required=required)
        if value is None and not required:
            return ()
        if not isinstance(value, list):
            raise ValidationError(self.field(key), "must be a list of strings")
        if not value and not allow_empty:
            raise ValidationError(self.field(key), "must not be empty")
        items: list[str] = []
        for i, item in enumerate(value):
            where = f"{self.field(key)}[{i}]"
            if not isinstance(item, str) or not item.strip():
                raise ValidationError(where, "must be a non-empty string")
            item = item.strip()
            if len(item) > max_length:
                raise ValidationError(where, f"must be at most {max_length} characters")
            if allowed is not None and item not in allowed:
                raise ValidationError(where, f"must be one of {', '.join(allowed)}, got {item!r}")
            if item in items:
                raise ValidationError(where, f"{item!r} is listed twice")
            items.append(item)
        return tuple(items)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ValidationError(self.field(unknown[0]), "is not a known field (a typo?)")


# --- building -----------------------------------------------------------------------------------

PricingRows = Mapping[str, SizePrice] | Iterable[SizePrice] | None


def pricing_by_size(rows: PricingRows) -> dict[str, SizePrice]:
    """Pricing rows keyed by size, from a mapping or any iterable of :class:`SizePrice`."""
    if rows is None:
        return {}
    if isinstance(rows, Mapping):
        return dict(rows)
    return {row.size: row for row in rows}


def build_variant_spec(
    *,
    product_id: str,
    size: str,
    frame_style: str | None,
    is_digital: bool,
    position: int,
    inventory_policy: str,
    user_rows: Mapping[str, SizePrice],
    system_rows: Mapping[str, SizePrice],
    explicit_price: Decimal | None = None,
    explicit_compare_at: Decimal | None = None,
    compare_at_rule: CompareAtRule | None = None,
    field: str = "variants",
) -> VariantSpec:
    """Build one variant: resolved price, compare-at price, SKU, unit cost and shipping flag.

    The unit cost is the pricing row's cost for the size (the user's row, else the system's); one
    cost serves unframed and framed prints alike because the pricing table has one per size. A
    digital download costs nothing to fulfil, so its cost is 0.00.

    Raises:
        ValidationError: ``<field>.compare_at_price`` when an explicit compare-at price is not above
            the resolved price (Shopify would show no saving, or a negative one).
    """
    price = resolve_price(
        size, frame_style=frame_style, is_digital=is_digital, explicit=explicit_price,
        user_rows=dict(user_rows), system_rows=dict(system_rows),
    )
    if explicit_compare_at is not None:
        if explicit_compare_at <= price:
            raise ValidationError(f"{field}.compare_at_price", f"must be above the price {price}, got {explicit_compare_at}")
        compare_at: Decimal | None = explicit_compare_at
    elif compare_at_rule is not None:
        compare_at = compare_at_rule.apply(price)
    else:
        compare_at = None
    row = user_rows.get(size) or system_rows.get(size)
    if is_digital:
        cost: Decimal | None = Decimal("0.00")
    else:
        cost = row.cost if row is not None else None
    return VariantSpec(
        size=size,
        frame_style=frame_style,
        is_digital=is_digital,
        title=variant_title(size, frame_style, is_digital=is_digital),
        price=price,
        compare_at_price=compare_at,
        sku=make_sku(product_id, size, frame_style, is_digital=is_digital),
        cost=cost,
        inventory_policy=inventory_policy,
        requires_shipping=not is_digital,
        position=position,
    )


def check_unique_skus(variants: Sequence[VariantSpec]) -> None:
    """Raise ``ValidationError('variants[i]', ...)`` when a variant repeats an earlier one's SKU."""
    first: dict[str, int] = {}
    for i, variant in enumerate(variants):
        if variant.sku in first:
            raise ValidationError(f"variants[{i}]", f"has the same SKU {variant.sku} as variants[{first[variant.sku]}]")
        first[variant.sku] = i


def template_values(design: DesignInfo) -> dict[str, str]:
    """The plain-text values templates can use; a missing value is ``""``."""
    collection = (design.collection or "").strip()
    return {
        "text": _one_line(design.text),
        "attribution": _one_line(design.attribution),
        "collection": collection,
        "collection_title": collection.title(),
        "mood": _one_line(design.mood),
    }


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def render_text(template: str, values: Mapping[str, str], limit: int) -> str:
    """Fill a plain-text template, collapse whitespace, and fit it in ``limit`` characters.

    When the result is too long the quote text is shortened (with an ellipsis), so that the fixed
    words of the template survive; a template without ``{text}`` is cut at the end.
    """
    rendered = _one_line(template.format_map(values))
    text = values.get("text", "")
    uses = template_fields(template).count("text")
    while len(rendered) > limit and uses and text:
        overflow = len(rendered) - limit
        keep = max(0, len(text) - math.ceil(overflow / uses) - 1)
        text = text[:keep].rstrip()
        shortened = {**values, "text": f"{text}{ELLIPSIS}" if text else ""}
        rendered = _one_line(template.format_map(shortened))
    if len(rendered) > limit:
        rendered = rendered[: limit - 1].rstrip() + ELLIPSIS
    return rendered


def render_description(paragraphs: Sequence[str], values: Mapping[str, str]) -> str:
    """Fill the description paragraphs with HTML-escaped values, each in ``<p>``.

    A paragraph naming a value that is empty is left out.
    """
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    parts = []
    for paragraph in paragraphs:
        if any(not values.get(name) for name in template_fields(paragraph)):
            continue
        parts.append(f"<p>{paragraph.format_map(escaped)}</p>")
    return "\n".join(parts)


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, commas turned to spaces, cut to 255, first spelling kept of case-insensitive duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        clean = _one_line(tag.replace(",", " "))[:MAX_TAG_LENGTH].strip()
        if clean and clean.casefold() not in seen:
            seen.add(clean.casefold())
            out.append(clean)
    return tuple(out)


def _scene_name(mockup: MockupImage) -> str:
    if mockup.scene_name:
        return mockup.scene_name.lower()
    system = SCENES_BY_KEY.get(mockup.scene)
    return (system.name if system else mockup.scene.replace("_", " ")).lower()


def select_images(profile: CatalogueProfile, design: DesignInfo, mockups: Sequence[MockupImage]) -> tuple[ImageSpec, ...]:
    """The design first (when the profile says so), then usable mockups in the profile's scene order.

    Scenes the profile does not list follow the listed ones, alphabetically; mockups without a
    file url are skipped; the list stops at ``max_images``. Positions start at 1.
    """
    rules = profile.images
    values = template_values(design)
    chosen: list[tuple[str, str | None, str, str, str]] = []
    if rules.include_design:
        alt = render_text(rules.design_alt, values, MAX_ALT_LENGTH)
        chosen.append((design.file_url, design.file_key, alt, "asset", design.asset_id))
    rank = {scene: i for i, scene in enumerate(rules.scene_order)}
    usable = {m.mockup_id: m for m in mockups if m.status in rules.mockup_statuses and m.file_url}
    ordered = sorted(usable.values(), key=lambda m: (rank.get(m.scene, len(rank)), m.scene, m.mockup_id))
    for mockup in ordered:
        alt_values = {**values, "scene": mockup.scene, "scene_name": _scene_name(mockup)}
        alt = render_text(rules.mockup_alt, alt_values, MAX_ALT_LENGTH)
        chosen.append((mockup.file_url or "", mockup.file_key, alt, "mockup", mockup.mockup_id))
    return tuple(
        ImageSpec(src=src, key=key, alt=alt, source=source, ref_id=ref, position=i)
        for i, (src, key, alt, source, ref) in enumerate(chosen[: rules.max_images], start=1)
    )


def build_product_spec(
    profile: CatalogueProfile,
    design: DesignInfo,
    mockups: Sequence[MockupImage],
    pricing_user_rows: PricingRows,
    pricing_system_rows: PricingRows,
    product_id: str,
) -> ProductSpec:
    """Build the product an approved design gets under ``profile``.

    Args:
        profile: the catalogue profile.
        design: the design asset and its quote.
        mockups: the design's mockups, in any order; the profile picks and orders them.
        pricing_user_rows: the user's pricing overrides (by size, or a list of rows).
        pricing_system_rows: the system pricing rows; ``None`` means the built-in defaults.
        product_id: the product's id. SKUs and the handle derive from it, so pass the existing
            product's id on a rebuild.

    Returns:
        A :class:`ProductSpec`; the same arguments always give an equal spec.

    Raises:
        ValidationError: ``collection`` when the quote's collection is not a known one.
    """
    if design.collection is not None and design.collection not in COLLECTIONS:
        raise ValidationError("collection", f"must be one of {', '.join(COLLECTIONS)}, got {design.collection!r}")
    values = template_values(design)
    if values["text"]:
        title = render_text(profile.title_template, values, MAX_TITLE_LENGTH)
    else:
        title = profile.fallback_title
    user_rows = pricing_by_size(pricing_user_rows)
    system_rows = SYSTEM_BY_SIZE if pricing_system_rows is None else pricing_by_size(pricing_system_rows)
    variants = tuple(
        build_variant_spec(
            product_id=product_id, size=option.size, frame_style=option.frame_style,
            is_digital=option.is_digital, position=i, inventory_policy=profile.inventory_policy,
            user_rows=user_rows, system_rows=system_rows, compare_at_rule=profile.compare_at,
            field=f"variants[{i - 1}]",
        )
        for i, option in enumerate(profile.variants, start=1)
    )
    check_unique_skus(variants)
    tag_source = list(profile.static_tags)
    if profile.tag_collection and values["collection"]:
        tag_source.append(values["collection"])
    if profile.tag_mood and values["mood"]:
        tag_source.append(values["mood"])
    return ProductSpec(
        product_id=product_id,
        asset_id=design.asset_id,
        quote_id=design.quote_id,
        title=title,
        description_html=render_description(profile.description_paragraphs, values),
        handle=product_handle(title, product_id),
        collection=design.collection,
        tags=normalise_tags(tag_source),
        vendor=profile.vendor,
        product_type=profile.product_type,
        status=profile.initial_status,
        track_inventory=profile.track_inventory,
        variants=variants,
        images=select_images(profile, design, mockups),
    )
