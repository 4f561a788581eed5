"""Read-only GraphQL views of the fake shop's objects, and Relay-style paging.

A view answers a GraphQL field by the method or attribute of the same name in snake_case
(``descriptionHtml`` -> ``description_html``), called with the field's arguments. A field with no
method answers null; :func:`haven_pipelines_tests.fakes.shopify.resolvers.field_resolver` then fills
non-null fields with an empty value of the right type, so that a document asking for fields this
fake does not model still executes.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from graphql import GraphQLError

from .bulk import UNBOUNDED_PAGES, FakeBulkOperation
from .state import FakeInventoryItem, FakeMedia, FakeOption, FakeProduct, FakeVariant, ShopState, gid_number

MAX_PAGE_SIZE = 250
CURRENCY = "USD"


@lru_cache(maxsize=1024)
def snake(name: str) -> str:
    """``descriptionHtml`` -> ``description_html``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def money(amount: Decimal | None) -> str | None:
    """Shopify's ``Money`` output: a decimal string with two places."""
    return None if amount is None else f"{amount.quantize(Decimal('0.01'))}"


def money_v2(amount: Decimal | None) -> dict[str, str] | None:
    """A ``MoneyV2`` object."""
    return None if amount is None else {"amount": f"{amount:f}", "currencyCode": CURRENCY}


class View:
    """Base of every view: resolves a field by its snake_case method or attribute."""

    typename = ""

    def resolve(self, field_name: str, args: dict[str, Any]) -> Any:
        """The value of ``field_name`` called with ``args`` (snake_cased), or None."""
        attr = getattr(self, snake(field_name), None)
        if attr is None or field_name.startswith("_"):
            return None
        if callable(attr):
            return attr(**{snake(k): v for k, v in args.items()})
        return attr


class Placeholder(View):
    """An object this fake does not model: every field resolves to an empty value."""

    def resolve(self, field_name: str, args: dict[str, Any]) -> Any:  # noqa: D102 - see class
        return None


def _cursor(sort_key: Any, number: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_key, number]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        key, number = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return key, int(number)
    except (ValueError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


def connection(
    items: Sequence[Any],
    make_view: Callable[[Any], View],
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    reverse: bool = False,
    sort_key: Callable[[Any], Any] = lambda item: 0,
    number: Callable[[Any], int] = lambda item: 0,
) -> dict[str, Any]:
    """A connection page over ``items`` with opaque cursors, as Shopify pages lists.

    Raises:
        GraphQLError: neither ``first`` nor ``last`` given, or a page above 250 (both allowed while
            a bulk query runs: it reads every node).
    """
    if first is None and last is None:
        if not UNBOUNDED_PAGES.get():
            raise GraphQLError("you must provide one of first or last")
        first = len(items)  # a bulk query reads every node
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE and not UNBOUNDED_PAGES.get():
            raise GraphQLError(f"The {name} argument must be between 0 and {MAX_PAGE_SIZE}")
    entries = sorted(((sort_key(x), number(x), x) for x in items), key=lambda e: (e[0], e[1]), reverse=reverse)

    def beyond(entry: tuple[Any, int, Any], cursor: tuple[Any, int]) -> bool:
        key = (entry[0], entry[1])
        return key < tuple(cursor) if reverse else key > tuple(cursor)

    def precedes(entry: tuple[Any, int, Any], cursor: tuple[Any, int]) -> bool:
        key = (entry[0], entry[1])
        return key > tuple(cursor) if reverse else key < tuple(cursor)

    lo, hi = 0, len(entries)
    if after:
        c = _decode_cursor(after)
        lo = next((i for i, e in enumerate(entries) if beyond(e, c)), len(entries))
    if before:
        c = _decode_cursor(before)
        hi = next((i for i, e in enumerate(entries) if not precedes(e, c)), len(entries))
    start, end = lo, max(lo, hi)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    page = entries[start:end]
    edges = [{"cursor": _cursor(k, n), "node": make_view(x)} for k, n, x in page]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "pageInfo": {
            "hasNextPage": end < len(entries),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


class InventoryItemView(View):
    """``InventoryItem``."""

    typename = "InventoryItem"

    def __init__(self, item: FakeInventoryItem, variant: VariantView):
        self._item = item
        self._variant = variant
        self.id = item.id
        self.sku = item.sku
        self.tracked = item.tracked
        self.requires_shipping = item.requires_shipping
        self.legacy_resource_id = str(gid_number(item.id))
        self.unit_cost = money_v2(item.cost)

    def variant(self) -> VariantView:
        """The variant this item belongs to."""
        return self._variant


class OptionView(View):
    """``ProductOption``."""

    typename = "ProductOption"

    def __init__(self, option: FakeOption):
        self.id = option.id
        self.name = option.name
        self.position = option.position
        self.values = list(option.values)
        base = gid_number(option.id) * 100
        self.option_values = [
            {"id": f"gid://shopify/ProductOptionValue/{base + i}", "name": v, "hasVariants": True}
            for i, v in enumerate(option.values)
        ]


class MediaView(View):
    """``MediaImage`` (the only media kind this project sends)."""

    typename = "MediaImage"

    def __init__(self, media: FakeMedia):
        self.id = media.id
        self.alt = media.alt
        self.status = media.status
        self.media_content_type = media.content_type
        self.mime_type = None
        ready = media.status == "READY"
        image = {
            "url": media.original_source,
            "src": media.original_source,
            "originalSrc": media.original_source,
            "altText": media.alt,
            "id": media.id.replace("MediaImage", "ImageSource"),
        }
        self.image = image if ready else None
        self.preview = {"image": image if ready else None, "status": "READY" if ready else "FAILED"}
        self.original_source = {"url": media.original_source, "fileSize": media.size}
        self.media_errors = (
            [{"code": media.error, "message": f"Image could not be processed from {media.original_source}", "details": None}]
            if media.error
            else []
        )
        self.media_warnings: list[Any] = []
        self.file_status = "READY" if ready else "FAILED"


class VariantView(View):
    """``ProductVariant``."""

    typename = "ProductVariant"

    def __init__(self, variant: FakeVariant, product: FakeProduct, state: ShopState):
        self._variant = variant
        self._product = product
        self._state = state
        self.id = variant.id
        self.title = variant.title
        self.sku = variant.sku
        self.price = money(variant.price)
        self.compare_at_price = money(variant.compare_at_price)
        self.inventory_policy = variant.inventory_policy
        self.position = variant.position
        self.taxable = variant.taxable
        self.barcode = variant.barcode
        self.created_at = variant.created_at
        self.updated_at = variant.updated_at
        self.legacy_resource_id = str(gid_number(variant.id))
        self.display_name = f"{product.title} - {variant.title}"
        self.available_for_sale = product.status == "ACTIVE"
        self.inventory_quantity = 0
        self.selected_options = [
            {"name": k, "value": v, "optionValue": {"name": v, "hasVariants": True}} for k, v in variant.option_values.items()
        ]

    def inventory_item(self) -> InventoryItemView:
        """The inventory item (SKU, cost, shipping)."""
        return InventoryItemView(self._variant.inventory_item, self)

    def product(self) -> ProductView:
        """The variant's product."""
        return ProductView(self._product, self._state)


class ProductView(View):
    """``Product``."""

    typename = "Product"

    def __init__(self, product: FakeProduct, state: ShopState):
        self._p = product
        self._state = state
        self.id = product.id
        self.legacy_resource_id = str(product.legacy_id)
        self.title = product.title
        self.handle = product.handle
        self.status = product.status
        self.vendor = product.vendor
        self.product_type = product.product_type
        self.description_html = product.description_html
        self.body_html = product.description_html
        self.tags = list(product.tags)
        self.created_at = product.created_at
        self.updated_at = product.updated_at
        self.total_variants = len(product.variants)
        self.has_only_default_variant = len(product.variants) == 1 and product.variants[0].title == "Default Title"
        self.variants_count = {"count": len(product.variants), "precision": "EXACT"}
        self.media_count = {"count": len(product.media), "precision": "EXACT"}
        self.total_inventory = 0
        self.tracks_inventory = any(v.inventory_item.tracked for v in product.variants)
        self.is_gift_card = False
        self.online_store_url = None
        prices = [v.price for v in product.variants] or [Decimal("0")]
        range_ = {"minVariantPrice": money_v2(min(prices)), "maxVariantPrice": money_v2(max(prices))}
        self.price_range_v2 = range_
        self.price_range = range_

    def description(self, truncate_at: int | None = None) -> str:
        """The description as plain text."""
        text = re.sub(r"<[^>]+>", "", self._p.description_html)
        return text[:truncate_at] if truncate_at else text

    def options(self, first: int | None = None) -> list[OptionView]:
        """The options in position order."""
        opts = [OptionView(o) for o in self._p.options]
        return opts[:first] if first is not None else opts

    def variants(self, first=None, last=None, after=None, before=None, reverse=False, **_: Any) -> dict[str, Any]:  # noqa: ANN001
        """The variants, paged."""
        return connection(
            self._p.variants,
            lambda v: VariantView(v, self._p, self._state),
            first=first, last=last, after=after, before=before, reverse=bool(reverse),
            sort_key=lambda v: v.position, number=lambda v: gid_number(v.id),
        )  # fmt: skip

    def media(self, first=None, last=None, after=None, before=None, reverse=False, **_: Any) -> dict[str, Any]:  # noqa: ANN001
        """The media, paged, in product order."""
        order = {m.id: i for i, m in enumerate(self._p.media)}
        return connection(
            self._p.media, MediaView,
            first=first, last=last, after=after, before=before, reverse=bool(reverse),
            sort_key=lambda m: order[m.id], number=lambda m: gid_number(m.id),
        )  # fmt: skip

    def images(self, first=None, last=None, after=None, before=None, reverse=False, **_: Any) -> dict[str, Any]:  # noqa: ANN001
        """The ready images, paged (the older ``images`` field)."""
        page = self.media(first=first, last=last, after=after, before=before, reverse=reverse)
        nodes = [n.image for n in page["nodes"] if n.image]
        return {"edges": [{"cursor": "", "node": n} for n in nodes], "nodes": nodes, "pageInfo": page["pageInfo"]}

    def featured_media(self) -> MediaView | None:
        """The first media, if any."""
        return MediaView(self._p.media[0]) if self._p.media else None

    def featured_image(self) -> dict[str, Any] | None:
        """The first ready image, if any."""
        media = self.featured_media()
        return media.image if media else None


PRODUCT_SORT_KEYS: dict[str, Callable[[FakeProduct], Any]] = {
    "ID": lambda p: 0,
    "RELEVANCE": lambda p: 0,
    "TITLE": lambda p: p.title.lower(),
    "CREATED_AT": lambda p: p.created_at,
    "UPDATED_AT": lambda p: p.updated_at,
    "VENDOR": lambda p: p.vendor.lower(),
    "PRODUCT_TYPE": lambda p: p.product_type.lower(),
    "INVENTORY_TOTAL": lambda p: 0,
    "PUBLISHED_AT": lambda p: p.created_at,
}


def product_matches(product: FakeProduct, query: str | None) -> bool:
    """Shopify search syntax, the part this project uses: ``key:value`` terms and words, all ANDed.

    Keys: ``status`` (comma list), ``handle``, ``title``, ``sku``, ``tag``, ``vendor``,
    ``product_type``, ``id``; a value ending in ``*`` is a prefix. A bare word matches the title.
    """
    if not query or not query.strip():
        return True
    try:
        terms = shlex.split(query)
    except ValueError:
        terms = query.split()
    for term in terms:
        if term.upper() in ("AND", "OR"):
            continue
        negate = term.startswith("-")
        key, sep, value = term.lstrip("-").partition(":")
        ok = _term_matches(product, key.lower(), value) if sep else term.lower() in product.title.lower()
        if ok == negate:
            return False
    return True


def _like(actual: str | None, wanted: str) -> bool:
    if actual is None:
        return False
    if wanted.endswith("*"):
        return actual.lower().startswith(wanted[:-1].lower())
    return actual.lower() == wanted.lower()


def _term_matches(p: FakeProduct, key: str, value: str) -> bool:
    if key == "status":
        return p.status.lower() in {v.strip().lower() for v in value.split(",")}
    if key == "handle":
        return _like(p.handle, value)
    if key == "title":
        return _like(p.title, value) or value.lower().strip("*") in p.title.lower()
    if key == "sku":
        return any(_like(v.sku, value) for v in p.variants)
    if key in ("tag", "tags"):
        return any(_like(t, value) for t in p.tags)
    if key == "vendor":
        return _like(p.vendor, value)
    if key == "product_type":
        return _like(p.product_type, value)
    if key == "id":
        return str(p.legacy_id) == value or p.id == value
    return True  # unknown keys are ignored, as Shopify ignores unknown filters


class BulkOperationView(View):
    """``BulkOperation``."""

    typename = "BulkOperation"

    def __init__(self, op: FakeBulkOperation):
        self.id = op.id
        self.type = op.type
        self.status = op.status
        self.error_code = op.error_code
        self.created_at = op.created_at
        self.completed_at = op.completed_at
        self.object_count = str(op.object_count)
        self.root_object_count = str(op.root_object_count)
        self.file_size = None if op.file_size is None else str(op.file_size)
        self.url = op.url
        self.partial_data_url = op.partial_data_url
        self.query = op.query
