"""Products with their variants and images, and their link to the Shopify product.

A product is read and written whole: :meth:`ProductStore.create` and
:meth:`ProductStore.replace_variants_and_images` take the variants and images as lists of dicts
(or the frozen dataclasses of :mod:`haven_pipelines.domain.catalogue`, which are turned into dicts),
and :meth:`ProductStore.get` returns a :class:`ProductDetail`.

Variant keys: ``size``, ``price`` (required); ``frame_style``, ``is_digital``, ``title`` (default
``8x10`` / ``8x10 / Black Frame``), ``sku`` (default Haven Hub's format from the product id),
``compare_at_price``, ``inventory_quantity``, ``inventory_policy``, ``digital_file_url``,
``position``. ``cost`` and ``requires_shipping`` are accepted and not stored here.

Image keys: ``src`` (required); ``alt``, ``source`` (asset, mockup or upload; default from the ids
given), ``asset_id``, ``mockup_id``, ``file_key`` (or ``key``), ``ref_id`` (the asset or mockup
id, by ``source``), ``position`` (default the list order).

SKUs are unique across the whole table (a shop cannot have two), so a clash names the SKU and says
it is taken, without saying by whom.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import RowMapping

from haven_pipelines.db.stores.base import (
    Page,
    UserScopedStore,
    as_utc,
    check_page,
    clip_error,
    optional_text,
    require_choice,
    require_money,
    require_text,
)
from haven_pipelines.db.tables import (
    COLLECTIONS,
    IMAGE_SOURCES,
    INVENTORY_POLICIES,
    PRODUCT_STATUSES,
    RETIRE_REASONS,
    assets,
    mockups,
    new_id,
    product_images,
    product_variants,
    products,
    quotes,
    utcnow,
)
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.handles import is_valid_handle, product_handle
from haven_pipelines.domain.pricing import make_sku, variant_title
from haven_pipelines.domain.shopify_input import image_identity

CREATE_STATUSES = ("draft", "awaiting_approval", "approved", "active")
PUBLISH_MODES = ("live", "dry_run")
MAX_TAGS = 250
_IGNORED_VARIANT_KEYS = frozenset({"cost", "requires_shipping"})
_VARIANT_KEYS = frozenset({
    "size", "price", "frame_style", "is_digital", "title", "sku", "compare_at_price", "inventory_quantity",
    "inventory_policy", "digital_file_url", "position",
}) | _IGNORED_VARIANT_KEYS
_IMAGE_KEYS = frozenset({"src", "alt", "source", "asset_id", "mockup_id", "file_key", "key", "ref_id", "position"})


@dataclass(frozen=True)
class ProductDetail:
    """A product row with its variants (by position) and images (by position).

    ``detail["title"]`` reads the product row, so a detail can stand in for the row.
    """

    product: RowMapping
    variants: tuple[RowMapping, ...]
    images: tuple[RowMapping, ...]

    def __getitem__(self, key: str) -> Any:
        return self.product[key]

    @property
    def id(self) -> str:
        """The product id."""
        return self.product["id"]

    def as_dict(self) -> dict[str, Any]:
        """The product as a plain dict with ``variants`` and ``images`` lists (for JSON output)."""
        return {**self.product, "variants": [dict(v) for v in self.variants], "images": [dict(i) for i in self.images]}


class ProductStore(UserScopedStore):
    """The acting user's products."""

    table = products
    kind = "product"

    # -- reading ----------------------------------------------------------------------------

    def get(self, product_id: str) -> ProductDetail:  # type: ignore[override]
        """The product with its variants and images, else :class:`NotFound`."""
        return self._details([self._get_in(products, self.kind, product_id)])[0]

    def find_by_asset(self, asset_id: str) -> ProductDetail | None:
        """The product built from design ``asset_id``, or None."""
        row = self.conn.execute(
            select(products).where(self._owned(), products.c.asset_id == asset_id)
        ).mappings().first()
        return None if row is None else self._details([row])[0]

    def find_by_assets(self, asset_ids: Sequence[str]) -> dict[str, ProductDetail]:
        """The products built from the designs ``asset_ids``, by design id, read in three queries
        whatever their number (a catalogue run reads its whole batch at once)."""
        rows: list[RowMapping] = []
        ids = list(dict.fromkeys(asset_ids))
        for start in range(0, len(ids), 500):  # stay under every database's bound-parameter limit
            rows += self.conn.execute(
                select(products).where(self._owned(), products.c.asset_id.in_(ids[start:start + 500]))
            ).mappings().all()
        return {d["asset_id"]: d for d in self._details(rows)}

    def list(
        self,
        status: str | None = None,
        collection: str | None = None,
        search: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Page:
        """The user's products, newest first, each a :class:`ProductDetail`.

        Args:
            status: only this status.
            collection: only this collection.
            search: text the title contains (case-insensitive; ``%`` and ``_`` match themselves).
            limit: 1..100.
            offset: >= 0.
        """
        check_page(limit, offset)
        stmt = select(products).where(self._owned())
        if status is not None:
            stmt = stmt.where(products.c.status == require_choice("status", status, PRODUCT_STATUSES))
        if collection is not None:
            stmt = stmt.where(products.c.collection == require_choice("collection", collection, COLLECTIONS))
        if search is not None and search.strip():
            needle = require_text("search", search, max_len=200).lower()
            stmt = stmt.where(func.lower(products.c.title).contains(needle, autoescape=True))
        total = self.conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = list(self.conn.execute(
            stmt.order_by(products.c.created_at.desc(), products.c.id.desc()).limit(limit).offset(offset)
        ).mappings())
        return Page(self._details(rows), int(total))

    def _details(self, rows: Sequence[RowMapping]) -> list[ProductDetail]:
        """Attach variants and images to product rows in two queries, whatever the page size."""
        ids = [r["id"] for r in rows]
        variants: dict[str, list[RowMapping]] = {i: [] for i in ids}
        images: dict[str, list[RowMapping]] = {i: [] for i in ids}
        if ids:
            for v in self.conn.execute(
                select(product_variants)
                .where(product_variants.c.product_id.in_(ids), self._owned(product_variants))
                .order_by(product_variants.c.position, product_variants.c.sku)
            ).mappings():
                variants[v["product_id"]].append(v)
            for i in self.conn.execute(
                select(product_images)
                .where(product_images.c.product_id.in_(ids), self._owned(product_images))
                .order_by(product_images.c.position)
            ).mappings():
                images[i["product_id"]].append(i)
        return [ProductDetail(r, tuple(variants[r["id"]]), tuple(images[r["id"]])) for r in rows]

    # -- writing ----------------------------------------------------------------------------

    def create(
        self,
        title: str,
        description: str | None,
        collection: str | None,
        tags: Iterable[str] | None,
        handle: str | None,
        asset_id: str | None,
        quote_id: str | None,
        variants: Sequence[Any],
        images: Sequence[Any] = (),
        status: str = "draft",
        *,
        product_id: str | None = None,
    ) -> ProductDetail:
        """Create a product with its variants and images; nothing is written when any input is bad.

        Args:
            title: 1..200 characters.
            description: HTML or text, optional.
            collection: grounding, wholeness, growth or None.
            tags: text tags.
            handle: a Shopify handle (lower-case words joined by hyphens); default from the title and id.
            asset_id: the user's design asset this product is built from (one product per design).
            quote_id: the user's quote.
            variants: at least one; see the module docstring for keys.
            images: see the module docstring for keys.
            status: draft, awaiting_approval, approved or active (see domain.approval for their meaning).
            product_id: a caller-chosen id (the catalogue builds SKUs from it); default a new UUID.
        """
        product_id = product_id or new_id()
        values = self._product_values(title=title, description=description, collection=collection, tags=tags)
        values["status"] = require_choice("status", status, CREATE_STATUSES)
        values["handle"] = self._check_handle(handle or product_handle(values["title"], product_id), product_id)
        if asset_id is not None:
            self._get_in(assets, "design asset", asset_id)
            taken = self.find_by_asset(asset_id)
            if taken is not None:
                raise ValidationError("asset_id", f"design {asset_id} already has product {taken.id}")
        if quote_id is not None:
            self._get_in(quotes, "quote", quote_id)
        variant_rows = self._variant_rows(product_id, variants)
        image_rows = self._image_rows(product_id, images)
        if values["status"] == "active":
            values["published_at"] = utcnow()
        self._insert_in(products, {**values, "id": product_id, "asset_id": asset_id, "quote_id": quote_id})
        self._insert_children(variant_rows, image_rows)
        return self.get(product_id)

    def replace_variants_and_images(
        self,
        product_id: str,
        variants: Sequence[Any],
        images: Sequence[Any] = (),
        *,
        current: ProductDetail | None = None,
        **fields: Any,
    ) -> ProductDetail:
        """Rebuild a product in place: new variants and images, and optionally new product fields.

        ``fields`` may be ``title``, ``description``, ``collection`` and ``tags``. A variant keeps its
        ``shopify_variant_id`` when its SKU is unchanged, so that publishing again updates the
        Shopify variant rather than adding one. ``current`` is the product as the caller just read it
        in this transaction (saves reading it again).
        """
        current = current if current is not None and current.id == product_id else self.get(product_id)
        unknown = set(fields) - {"title", "description", "collection", "tags"}
        if unknown:
            raise ValidationError(sorted(unknown)[0], "not a product field that a rebuild can change")
        values = self._product_values(**fields) if fields else {}
        variant_rows = self._variant_rows(product_id, variants, replacing=True)
        image_rows = self._image_rows(product_id, images)
        shopify_ids = {v["sku"]: v["shopify_variant_id"] for v in current.variants if v["shopify_variant_id"]}
        for row in variant_rows:
            row["shopify_variant_id"] = shopify_ids.get(row["sku"])
        # An image keeps its Shopify media when it names the same bytes (its key ends in their hash),
        # so that publishing again references the file instead of uploading it again.
        media = {image_identity(i["file_key"], i["src"]): (i["shopify_media_id"], i["shopify_media_digest"])
                 for i in current.images if i["shopify_media_id"]}
        for row in image_rows:
            row["shopify_media_id"], row["shopify_media_digest"] = media.get(image_identity(row["file_key"], row["src"]), (None, None))
        # A rebuild that would write what is stored writes nothing (a nightly rebuilds every product):
        # the rows, their Shopify ids and updated_at stay as they are.
        if _same_rows(current.product, [values]) and _same_children(current, variant_rows, image_rows):
            return current
        self.conn.execute(delete(product_variants).where(product_variants.c.product_id == product_id, self._owned(product_variants)))
        self.conn.execute(delete(product_images).where(product_images.c.product_id == product_id, self._owned(product_images)))
        self._insert_children(variant_rows, image_rows)
        # Touch the product row, so that its updated_at says when it was last rebuilt with other rows.
        self._update_in(products, self.kind, product_id, {**values, "updated_at": utcnow()})
        return self.get(product_id)

    def set_status(self, product_id: str, status: str, retire_reason: str | None = None) -> ProductDetail:
        """Change the status; ``retired`` needs a reason (underperformer, manual or seasonal).

        Going active stamps ``published_at`` the first time; retiring stamps ``retired_at``; leaving
        retired clears the reason and the stamp.
        """
        require_choice("status", status, PRODUCT_STATUSES)
        current = self.get(product_id)
        values: dict[str, Any] = {"status": status}
        if status == "retired":
            values["retire_reason"] = require_choice("retire_reason", retire_reason, RETIRE_REASONS)
            values["retired_at"] = utcnow()
        elif retire_reason is not None:
            raise ValidationError("retire_reason", "only a retired product has a retire reason")
        else:
            values["retire_reason"] = None
            values["retired_at"] = None
        if status == "active" and current["published_at"] is None:
            values["published_at"] = utcnow()
        self._update_in(products, self.kind, product_id, values)
        return self.get(product_id)

    def set_shopify(
        self,
        product_id: str,
        shopify_product_id: str,
        gid: str,
        handle: str | None,
        variant_ids_by_sku: Mapping[str, str],
        synced_at: datetime | None = None,
    ) -> ProductDetail:
        """Record the Shopify product and variant ids after a successful sync (clears any sync error).

        Raises ValidationError when ``variant_ids_by_sku`` names a SKU the product does not have.
        """
        current = self.get(product_id)
        skus = {v["sku"] for v in current.variants}
        unknown = sorted(set(variant_ids_by_sku) - skus)
        if unknown:
            raise ValidationError("variant_ids_by_sku", f"SKU {unknown[0]} is not a variant of product {product_id}")
        self._update_in(products, self.kind, product_id, {
            "shopify_product_id": require_text("shopify_product_id", str(shopify_product_id), max_len=64),
            "shopify_product_gid": require_text("gid", gid, max_len=128),
            "shopify_handle": optional_text("handle", handle, max_len=255),
            "last_synced_at": as_utc(synced_at) or utcnow(),
            "sync_error": None,
            "shopify_deleted_at": None,
        })
        for sku, variant_id in variant_ids_by_sku.items():
            self.conn.execute(
                update(product_variants)
                .where(product_variants.c.product_id == product_id, product_variants.c.sku == sku,
                       self._owned(product_variants))
                .values(shopify_variant_id=str(variant_id))
            )
        return self.get(product_id)

    def set_sync_error(self, product_id: str, error: str) -> ProductDetail:
        """Record a failed sync: the (clipped) error, and status ``sync_error`` until a sync succeeds."""
        self._update_in(products, self.kind, product_id, {"sync_error": clip_error(error), "status": "sync_error"})
        return self.get(product_id)

    def set_published(self, product_id: str, digest: str, status: str | None = None, *, mode: str = "live",
                      media: Mapping[str, tuple[str, str | None]] | None = None) -> ProductDetail:
        """Record a successful publish of the ``productSet`` input with ``digest``.

        Args:
            product_id: the product.
            digest: ``domain.shopify_input.product_set_digest`` of what was sent.
            status: the new status, when it changes (``active`` live; a dry run leaves a failed
                product ``approved``, since nothing went live).
            mode: ``live`` or ``dry_run``: which kind of publish this was (a live run trusts only live state).
            media: image id -> (Shopify media GID, SHA-256 of its bytes or None) for the product's
                images; images left out keep no media id (the shop no longer shows them as sent).

        Clears any sync error, and (live only: a dry run recreates nothing) the deleted-on-Shopify mark.
        """
        values: dict[str, Any] = {"published_digest": require_text("digest", digest, max_len=64), "sync_error": None,
                                  "published_mode": require_choice("mode", mode, PUBLISH_MODES)}
        if mode == "live":
            values["shopify_deleted_at"] = None
        self._update_in(products, self.kind, product_id, values)
        if media is not None:
            self._set_media(product_id, media)
        if status is not None:
            return self.set_status(product_id, status)
        return self.get(product_id)

    def _set_media(self, product_id: str, media: Mapping[str, tuple[str, str | None]]) -> None:
        for image in self.get(product_id).images:
            media_id, digest = media.get(image["id"], (None, None))
            if (media_id, digest) != (image["shopify_media_id"], image["shopify_media_digest"]):
                self.conn.execute(
                    update(product_images).where(product_images.c.id == image["id"], self._owned(product_images))
                    .values(shopify_media_id=optional_text("shopify_media_id", media_id, max_len=128),
                            shopify_media_digest=optional_text("shopify_media_digest", digest, max_len=64))
                )

    def forget_published(self, product_id: str, image_ids: Iterable[str] | None = None) -> ProductDetail:
        """Drift found on the shop: clear the published digest (so the next run sends the product
        again) and the media ids of ``image_ids`` (all images when None), so those are uploaded again."""
        self._update_in(products, self.kind, product_id, {"published_digest": None})
        stmt = update(product_images).where(product_images.c.product_id == product_id, self._owned(product_images))
        if image_ids is not None:
            stmt = stmt.where(product_images.c.id.in_(list(image_ids)))
        self.conn.execute(stmt.values(shopify_media_id=None, shopify_media_digest=None))
        return self.get(product_id)

    def mark_deleted_on_shopify(self, product_id: str, error: str) -> ProductDetail:
        """The product is gone from Shopify: ``sync_error`` says so, and nothing it had there is
        trusted any more (digest and media ids cleared). Catalogue runs do not recreate it."""
        self.forget_published(product_id)
        self._update_in(products, self.kind, product_id, {"shopify_deleted_at": utcnow()})
        return self.set_sync_error(product_id, error)

    def delete(self, product_id: str) -> None:
        """Delete a product with its variants and images."""
        self._delete(product_id)

    # -- checks -----------------------------------------------------------------------------

    def _product_values(self, **fields: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "title" in fields:
            values["title"] = require_text("title", fields["title"], max_len=200)
        if "description" in fields:
            values["description"] = optional_text("description", fields["description"], max_len=100_000)
        if "collection" in fields:
            collection = fields["collection"]
            values["collection"] = None if collection is None else require_choice("collection", collection, COLLECTIONS)
        if "tags" in fields:
            values["tags"] = _tags(fields["tags"])
        return values

    def _check_handle(self, handle: str, product_id: str) -> str:
        if not isinstance(handle, str) or not is_valid_handle(handle):
            raise ValidationError("handle", f"must be lower-case letters and digits joined by hyphens, got {handle!r}")
        clash = self.conn.execute(
            select(products.c.id).where(self._owned(), products.c.handle == handle, products.c.id != product_id)
        ).first()
        if clash is not None:
            raise ValidationError("handle", f"{handle!r} is already used by product {clash.id}")
        return handle

    def _variant_rows(self, product_id: str, variants: Sequence[Any], *, replacing: bool = False) -> list[dict]:
        if not variants:
            raise ValidationError("variants", "a product needs at least one variant")
        rows: list[dict] = []
        seen: set[str] = set()
        for index, raw in enumerate(variants):
            data = _as_mapping(raw, f"variants[{index}]", _VARIANT_KEYS)
            field = f"variants[{index}]"
            size = require_text(f"{field}.size", data.get("size"), max_len=20)
            frame = optional_text(f"{field}.frame_style", data.get("frame_style"), max_len=30)
            digital = bool(data.get("is_digital", False))
            sku = data.get("sku") or make_sku(product_id, size, frame, is_digital=digital)
            sku = require_text(f"{field}.sku", sku, max_len=64)
            if sku in seen:
                raise ValidationError(f"{field}.sku", f"SKU {sku} appears twice in this product")
            seen.add(sku)
            quantity = data.get("inventory_quantity", 0)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
                raise ValidationError(f"{field}.inventory_quantity", f"must be a whole number >= 0, got {quantity!r}")
            compare_at = data.get("compare_at_price")
            rows.append({
                "id": new_id(),
                "user_id": self.user_id,
                "product_id": product_id,
                "title": require_text(f"{field}.title", data.get("title") or variant_title(size, frame, is_digital=digital), max_len=200),
                "size": size,
                "frame_style": frame,
                "price": require_money(f"{field}.price", data.get("price")),
                "compare_at_price": None if compare_at is None else require_money(f"{field}.compare_at_price", compare_at),
                "sku": sku,
                "inventory_quantity": quantity,
                "inventory_policy": require_choice(f"{field}.inventory_policy", data.get("inventory_policy", "continue"), INVENTORY_POLICIES),
                "is_digital": digital,
                "digital_file_url": optional_text(f"{field}.digital_file_url", data.get("digital_file_url"), max_len=4000),
                "position": data.get("position", index + 1),
            })
        taken_stmt = select(product_variants.c.sku).where(product_variants.c.sku.in_(sorted(seen)))
        if replacing:
            taken_stmt = taken_stmt.where(product_variants.c.product_id != product_id)
        taken = sorted(self.conn.execute(taken_stmt).scalars())
        if taken:
            raise ValidationError("variants.sku", f"SKU {taken[0]} is already taken by another product")
        return rows

    def _image_rows(self, product_id: str, images: Sequence[Any]) -> list[dict]:
        rows: list[dict] = []
        positions: set[int] = set()
        refs: list[tuple[str | None, str | None]] = []
        for index, raw in enumerate(images or ()):
            field = f"images[{index}]"
            data = _as_mapping(raw, field, _IMAGE_KEYS)
            asset_id, mockup_id = data.get("asset_id"), data.get("mockup_id")
            source = data.get("source") or ("mockup" if mockup_id else "asset" if asset_id else "upload")
            require_choice(f"{field}.source", source, IMAGE_SOURCES)
            if data.get("ref_id"):
                if source == "asset":
                    asset_id = asset_id or data["ref_id"]
                elif source == "mockup":
                    mockup_id = mockup_id or data["ref_id"]
            refs.append((asset_id, mockup_id))
            position = data.get("position", index + 1)
            if not isinstance(position, int) or isinstance(position, bool) or position < 0 or position in positions:
                raise ValidationError(f"{field}.position", f"must be a distinct whole number >= 0, got {position!r}")
            positions.add(position)
            rows.append({
                "id": new_id(),
                "user_id": self.user_id,
                "product_id": product_id,
                "position": position,
                "src": require_text(f"{field}.src", data.get("src"), max_len=4000),
                "file_key": optional_text(f"{field}.file_key", data.get("file_key") or data.get("key"), max_len=1000),
                "alt": optional_text(f"{field}.alt", data.get("alt"), max_len=1000),
                "source": source,
                "asset_id": asset_id,
                "mockup_id": mockup_id,
            })
        # The images' design assets and mockups must be the user's: one query per table, not per image.
        found_assets = self._owned_ids(assets, [a for a, _ in refs if a is not None])
        found_mockups = self._owned_ids(mockups, [m for _, m in refs if m is not None])
        for asset_id, mockup_id in refs:
            if asset_id is not None and asset_id not in found_assets:
                raise NotFound("design asset", asset_id)
            if mockup_id is not None and mockup_id not in found_mockups:
                raise NotFound("mockup", mockup_id)
        return rows

    def _owned_ids(self, table, ids: list[str]) -> set[str]:
        """Which of ``ids`` are rows of ``table`` owned by the acting user."""
        if not ids:
            return set()
        return set(self.conn.execute(select(table.c.id).where(table.c.id.in_(set(ids)), self._owned(table))).scalars())

    def _insert_children(self, variant_rows: list[dict], image_rows: list[dict]) -> None:
        if variant_rows:
            self.conn.execute(product_variants.insert(), variant_rows)
        if image_rows:
            self.conn.execute(product_images.insert(), image_rows)


#: Columns a rebuild makes afresh for every row; they say nothing about its content.
_FRESH_COLUMNS = frozenset({"id", "created_at", "updated_at"})


def _same_rows(stored: Mapping[str, Any], new_rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether each new row's values (its fresh id and stamps aside) equal the stored row's."""
    return all(stored.get(k) == v for row in new_rows for k, v in row.items() if k not in _FRESH_COLUMNS)


def _same_children(current: ProductDetail, variant_rows: list[dict], image_rows: list[dict]) -> bool:
    """Whether a rebuild's variant and image rows are the stored ones, in the same order."""
    if len(variant_rows) != len(current.variants) or len(image_rows) != len(current.images):
        return False
    pairs = list(zip(current.variants, variant_rows)) + list(zip(current.images, image_rows))
    return all(_same_rows(stored, [row]) for stored, row in pairs)


def _as_mapping(raw: Any, field: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    """A variant or image as a mapping; unknown keys are refused so a typo cannot pass silently."""
    if dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        # Shallow: the fields are plain values, and asdict's deep copy costs more than the rest of a rebuild.
        raw = {f.name: getattr(raw, f.name) for f in dataclasses.fields(raw)}
    if not isinstance(raw, Mapping):
        raise ValidationError(field, f"must be a dict, got {type(raw).__name__}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValidationError(f"{field}.{unknown[0]}", "unknown key")
    return raw


def _tags(tags: Iterable[str] | None) -> list[str]:
    """Tags stripped, de-duplicated (first spelling wins, case-insensitively), at most 250."""
    if tags is None:
        return []
    if isinstance(tags, str):
        raise ValidationError("tags", "must be a list of text tags, not one string")
    result: list[str] = []
    seen: set[str] = set()
    for index, tag in enumerate(tags):
        tag = require_text(f"tags[{index}]", tag, max_len=255)
        if tag.lower() not in seen:
            seen.add(tag.lower())
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise ValidationError("tags", f"at most {MAX_TAGS} tags, got {len(result)}")
    return result
