"""The fake shop's catalogue and the product mutations that change it.

Each mutation validates its whole input first and returns ``userErrors`` (dicts with ``field``,
``message`` and, where the payload type has one, ``code``) without changing anything, or applies
the change and returns the product. Callers hold :attr:`ShopState.lock` around a request.

Semantics follow Shopify's documentation where it speaks, and stay deliberately simple where it
does not:

- ``productSet`` upserts: ``identifier.id`` must name an existing product; ``identifier.handle``
  updates the product with that handle or creates one with it; without an identifier, ``input.id``
  updates and its absence creates. List fields (options, variants, files) are replaced as a whole;
  a variant keeps its id when its option values (or its ``id``) match an existing one, a file keeps
  its id when its ``originalSource`` (or ``id``) matches. Other omitted fields stay unchanged.
- Stricter than Shopify, so that this project's rules are checked end to end: a price must be
  greater than 0, and a SKU may appear on one variant of a product only.
- ``productCreate`` makes one standalone variant (the first value of each option, price 0) that
  ``productVariantsBulkCreate`` with ``REMOVE_STANDALONE_VARIANT`` (or ``DEFAULT`` for a
  ``Default Title`` product) replaces.
- A file whose ``originalSource`` is a staged upload on this server is ``READY`` once its bytes were
  uploaded and ``FAILED`` (with a media error) otherwise; any other http(s) URL is taken as ``READY``.
- Files live in the shop's Files (:attr:`ShopState.files`) as well as on their product, as on
  Shopify: ``productSet`` may cite any existing file by ``FileSetInput.id`` (nothing is fetched or
  processed again); an id that names no file is a ``NOT_FOUND`` userError on ``files.<i>.id``. A file
  left out of ``files`` leaves the product but stays in Files; deleting it (:meth:`ShopState.delete_media`,
  as in the admin) removes it from both. The answer lists the product's media in ``files`` order.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_VARIANTS = 2048
MAX_OPTIONS = 3
MAX_TITLE_LENGTH = 255
DEFAULT_TITLE = "Default Title"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slugify(text: str) -> str:
    """A Shopify-like handle for a title: lower-case letters and digits joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


def gid_number(gid: str) -> int:
    """The numeric tail of a GID (``gid://shopify/Product/12`` -> 12); 0 when there is none."""
    tail = gid.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@dataclass
class FakeInventoryItem:
    """The inventory item behind a variant: SKU, unit cost, shipping and tracking."""

    id: str
    sku: str | None = None
    cost: Decimal | None = None
    requires_shipping: bool = True
    tracked: bool = False


@dataclass
class FakeVariant:
    """One variant: its option values (option name -> value), price and inventory item."""

    id: str
    option_values: dict[str, str]
    price: Decimal
    inventory_item: FakeInventoryItem
    compare_at_price: Decimal | None = None
    inventory_policy: str = "DENY"
    position: int = 1
    taxable: bool = True
    barcode: str | None = None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    @property
    def sku(self) -> str | None:
        """The SKU, which Shopify keeps on the inventory item."""
        return self.inventory_item.sku

    @property
    def title(self) -> str:
        """``8x10 / Black Frame`` style title, or ``Default Title``."""
        return " / ".join(self.option_values.values()) or DEFAULT_TITLE


@dataclass
class FakeOption:
    """A product option (``Size``, ``Frame``) and its values in order."""

    id: str
    name: str
    position: int
    values: list[str]


@dataclass
class FakeMedia:
    """A product image: where it came from, its alt text and whether Shopify could process it."""

    id: str
    original_source: str
    alt: str | None = None
    content_type: str = "IMAGE"
    status: str = "READY"
    error: str | None = None
    size: int | None = None


@dataclass
class FakeProduct:
    """A product as the fake shop holds it."""

    id: str
    title: str
    handle: str
    status: str = "ACTIVE"
    vendor: str = ""
    product_type: str = ""
    description_html: str = ""
    tags: list[str] = field(default_factory=list)
    options: list[FakeOption] = field(default_factory=list)
    variants: list[FakeVariant] = field(default_factory=list)
    media: list[FakeMedia] = field(default_factory=list)
    standalone_variant_id: str | None = None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    @property
    def legacy_id(self) -> int:
        """The numeric id (``legacyResourceId``)."""
        return gid_number(self.id)

    def variant_by_sku(self, sku: str) -> FakeVariant | None:
        """The variant with that SKU, if any."""
        return next((v for v in self.variants if v.sku == sku), None)


@dataclass
class StagedUpload:
    """A staged upload target and, once uploaded, its bytes."""

    token: str
    filename: str
    mime_type: str
    resource: str
    data: bytes | None = None


UserErrors = list[dict[str, Any]]


def user_error(field_path: Sequence[Any] | None, message: str, code: str | None = None) -> dict[str, Any]:
    """One ``userErrors`` entry in Shopify's shape."""
    err: dict[str, Any] = {"field": [str(p) for p in field_path] if field_path is not None else None, "message": message}
    if code is not None:
        err["code"] = code
    return err


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a valid amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a valid amount")
    return amount


class ShopState:
    """Everything the fake shop knows, plus the mutations. Guard calls with :attr:`lock`.

    Args:
        staged_prefix: URL prefix of this server's staged-upload area (``<base_url>/staged-uploads/``).
    """

    def __init__(self, staged_prefix: str = ""):
        self.lock = threading.RLock()
        self.staged_prefix = staged_prefix
        self.products: dict[str, FakeProduct] = {}
        self.deleted: dict[str, FakeProduct] = {}
        self.uploads: dict[str, StagedUpload] = {}
        self.files: dict[str, FakeMedia] = {}
        self.rejected_skus: dict[str, str] = {}
        self._ids = itertools.count(1_000_000_001)

    # -- helpers ------------------------------------------------------------------------

    def new_gid(self, kind: str) -> str:
        """A fresh GID of ``kind`` (``Product``, ``ProductVariant``, ...)."""
        return f"gid://shopify/{kind}/{next(self._ids)}"

    def by_handle(self, handle: str) -> FakeProduct | None:
        """The product with that handle, if any."""
        return next((p for p in self.products.values() if p.handle == handle), None)

    def delete_product(self, gid: str) -> bool:
        """Remove a product as a person in the Shopify admin would. Returns whether it existed."""
        with self.lock:
            product = self.products.pop(gid, None)
            if product is None:
                return False
            self.deleted[gid] = product
            return True

    def _unique_handle(self, base: str) -> str:
        handle, n = base, 0
        while self.by_handle(handle) is not None:
            n += 1
            handle = f"{base}-{n}"
        return handle

    def _media_from(self, source: str, alt: str | None, content_type: str | None, media_id: str | None = None) -> FakeMedia:
        media = FakeMedia(
            id=media_id or self.new_gid("MediaImage"), original_source=source, alt=alt, content_type=content_type or "IMAGE"
        )
        if self.staged_prefix and source.startswith(self.staged_prefix):
            token = source[len(self.staged_prefix) :].split("/", 1)[0]
            upload = self.uploads.get(token)
            if upload is None or upload.data is None:
                media.status, media.error = "FAILED", "IMAGE_DOWNLOAD_FAILURE"
            else:
                media.size = len(upload.data)
        elif not re.match(r"^https?://", source):
            media.status, media.error = "FAILED", "IMAGE_DOWNLOAD_FAILURE"
        self.files[media.id] = media
        return media

    def delete_media(self, media_id: str) -> bool:
        """Delete a file as someone in the admin would: gone from Files and from every product."""
        with self.lock:
            found = self.files.pop(media_id, None) is not None
            for product in self.products.values():
                kept = [m for m in product.media if m.id != media_id]
                found |= len(kept) != len(product.media)
                product.media = kept
            return found

    # -- productSet ------------------------------------------------------------------------

    def product_set(self, identifier: Mapping[str, Any] | None, data: Mapping[str, Any]) -> tuple[FakeProduct | None, UserErrors]:
        """Create or update a product from a ``ProductSetInput`` (see the module docstring)."""
        target, errors = self._product_set_target(identifier, data)
        if errors:
            return None, errors
        creating = target is None
        errors = self._check_product_fields(
            data, creating, target, ("input",), code_blank="INVALID_PRODUCT", code_handle="HANDLE_NOT_UNIQUE"
        )
        if creating and "handle" not in data and identifier and identifier.get("handle"):
            data = {**data, "handle": identifier["handle"]}
            errors += self._check_handle(data["handle"], None, ("identifier", "handle"), "HANDLE_NOT_UNIQUE")
        options_input = data.get("productOptions")
        if options_input is not None:
            errors += self._check_option_input(options_input)
        option_names = (
            [o.get("name") for o in options_input]
            if options_input is not None
            else [o.name for o in target.options]
            if target
            else []
        )
        option_values = (
            {o.get("name"): [v.get("name") for v in (o.get("values") or [])] for o in options_input}
            if options_input is not None
            else {o.name: list(o.values) for o in target.options}
            if target
            else {}
        )
        variants_input = data.get("variants")
        if variants_input is not None:
            if variants_input and not option_names:
                errors.append(
                    user_error(
                        ["input", "productOptions"],
                        "Product options input is required when updating variants",
                        "PRODUCT_OPTIONS_INPUT_MISSING",
                    )
                )
            else:
                errors += self._check_set_variants(variants_input, option_names, option_values, target)
        for i, f in enumerate(data.get("files") or []):
            if not f.get("originalSource") and not f.get("id"):
                errors.append(
                    user_error(
                        ["input", "files", i, "originalSource"], "File must have an original source or an id", "INVALID_INPUT"
                    )
                )
            elif f.get("id") and f["id"] not in self.files:
                errors.append(user_error(["input", "files", i, "id"], f"File {f['id']} does not exist", "NOT_FOUND"))
        if errors:
            return None, errors
        return self._apply_product_set(target, data, option_names, option_values), []

    def _product_set_target(
        self, identifier: Mapping[str, Any] | None, data: Mapping[str, Any]
    ) -> tuple[FakeProduct | None, UserErrors]:
        if identifier:
            if identifier.get("customId") is not None:
                return None, [
                    user_error(["identifier", "customId"], "customId identifiers are not supported by this fake", "INVALID_INPUT")
                ]
            if identifier.get("id"):
                product = self.products.get(identifier["id"])
                if product is None:
                    return None, [user_error(["identifier", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]
                return product, []
            if identifier.get("handle"):
                return self.by_handle(identifier["handle"]), []
            return None, [user_error(["identifier"], "Identifier must give an id, a handle or a customId", "INVALID_INPUT")]
        if data.get("id"):
            product = self.products.get(data["id"])
            if product is None:
                return None, [user_error(["input", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]
            return product, []
        return None, []

    def _check_handle(self, handle: str, owner: FakeProduct | None, path: Sequence[str], code: str | None) -> UserErrors:
        other = self.by_handle(handle)
        if other is not None and other is not owner:
            return [user_error(path, f"Handle '{handle}' has already been taken", code)]
        if not re.match(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", handle):
            return [user_error(path, f"Handle '{handle}' is invalid", code and "INVALID_INPUT")]
        return []

    def _check_product_fields(
        self,
        data: Mapping[str, Any],
        creating: bool,
        target: FakeProduct | None,
        prefix: tuple[str, ...],
        code_blank: str | None,
        code_handle: str | None,
    ) -> UserErrors:
        errors: UserErrors = []
        title = data.get("title")
        if (creating and not (title or "").strip()) or ("title" in data and not (title or "").strip()):
            errors.append(user_error([*prefix, "title"], "Title can't be blank", code_blank))
        elif title and len(title) > MAX_TITLE_LENGTH:
            errors.append(
                user_error([*prefix, "title"], f"Title is too long (maximum is {MAX_TITLE_LENGTH} characters)", code_blank)
            )
        if data.get("handle"):
            errors += self._check_handle(data["handle"], target, [*prefix, "handle"], code_handle)
        return errors

    def _check_option_input(self, options_input: Sequence[Mapping[str, Any]], prefix: tuple[str, ...] = ("input",)) -> UserErrors:
        errors: UserErrors = []
        if len(options_input) > MAX_OPTIONS:
            errors.append(
                user_error([*prefix, "productOptions"], f"A product can have at most {MAX_OPTIONS} options", "OPTIONS_OVER_LIMIT")
            )
        seen: set[str] = set()
        for i, opt in enumerate(options_input):
            name = (opt.get("name") or "").strip()
            if not name:
                errors.append(user_error([*prefix, "productOptions", i, "name"], "Option name can't be blank", "INVALID_INPUT"))
            elif name.lower() in seen:
                errors.append(
                    user_error(
                        [*prefix, "productOptions", i, "name"], f"Duplicated option name '{name}'", "DUPLICATED_OPTION_NAME"
                    )
                )
            seen.add(name.lower())
            values = [v.get("name") for v in (opt.get("values") or [])]
            if not values:
                errors.append(
                    user_error(
                        [*prefix, "productOptions", i, "values"],
                        f"Option '{name}' needs at least one value",
                        "OPTION_VALUES_MISSING",
                    )
                )
            if len({(v or "").lower() for v in values}) != len(values):
                errors.append(
                    user_error(
                        [*prefix, "productOptions", i, "values"],
                        f"Duplicated value in option '{name}'",
                        "DUPLICATED_OPTION_VALUE",
                    )
                )
        return errors

    def _check_variant_money(
        self, v: Mapping[str, Any], path: list[Any], code_invalid: str, code_zero: str, code_negative: str
    ) -> UserErrors:
        errors: UserErrors = []
        for key in ("price", "compareAtPrice"):
            try:
                amount = _money(v.get(key))
            except ValueError as exc:
                errors.append(user_error([*path, key], str(exc), code_invalid))
                continue
            if key == "price" and amount is not None and amount < 0:
                errors.append(user_error([*path, key], "Price must be greater than or equal to 0", code_negative))
            elif key == "price" and amount is not None and amount == 0:
                errors.append(user_error([*path, key], "Price must be greater than 0", code_zero))
        try:
            _money((v.get("inventoryItem") or {}).get("cost"))
        except ValueError as exc:
            errors.append(user_error([*path, "inventoryItem", "cost"], str(exc), code_invalid))
        return errors

    def _check_set_variants(
        self,
        variants_input: Sequence[Mapping[str, Any]],
        option_names: list[str],
        option_values: dict[str, list[str]],
        target: FakeProduct | None,
    ) -> UserErrors:
        errors: UserErrors = []
        if len(variants_input) > MAX_VARIANTS:
            errors.append(
                user_error(["input", "variants"], f"A product can have at most {MAX_VARIANTS} variants", "VARIANTS_OVER_LIMIT")
            )
        combos: set[tuple[str, ...]] = set()
        skus: dict[str, int] = {}
        for i, v in enumerate(variants_input):
            path: list[Any] = ["input", "variants", i]
            if v.get("id") and (target is None or not any(x.id == v["id"] for x in target.variants)):
                errors.append(user_error([*path, "id"], "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST"))
            values: dict[str, str] = {}
            for j, ov in enumerate(v.get("optionValues") or []):
                name, value = ov.get("optionName"), ov.get("name")
                if name not in option_values:
                    errors.append(
                        user_error(
                            [*path, "optionValues", j, "optionName"], f"Option '{name}' does not exist", "OPTION_DOES_NOT_EXIST"
                        )
                    )
                elif value not in option_values[name]:
                    errors.append(
                        user_error(
                            [*path, "optionValues", j, "name"],
                            f"Option value '{value}' does not exist on option '{name}'",
                            "OPTION_VALUE_DOES_NOT_EXIST",
                        )
                    )
                else:
                    values[name] = value
            missing = [n for n in option_names if n not in values]
            if missing and len(values) == len(v.get("optionValues") or []):
                errors.append(
                    user_error(
                        [*path, "optionValues"], f"Missing value for option(s) {', '.join(missing)}", "OPTION_VALUES_MISSING"
                    )
                )
            combo = tuple(values.get(n, "") for n in option_names)
            if not missing and combo in combos:
                errors.append(
                    user_error([*path, "optionValues"], f"The variant '{' / '.join(combo)}' already exists", "INVALID_VARIANT")
                )
            combos.add(combo)
            errors += self._check_variant_money(v, path, "INVALID_VARIANT", "INVALID_VARIANT", "INVALID_VARIANT")
            sku = (v.get("inventoryItem") or {}).get("sku") or v.get("sku")
            if sku:
                if sku in skus:
                    errors.append(
                        user_error(
                            [*path, "sku"],
                            f"SKU '{sku}' is already used by variant {skus[sku]} of this product",
                            "DUPLICATED_VALUE",
                        )
                    )
                skus.setdefault(sku, i)
                if sku in self.rejected_skus:
                    errors.append(user_error([*path, "sku"], self.rejected_skus[sku], "INVALID_VARIANT"))
        return errors

    def _apply_common(self, product: FakeProduct, data: Mapping[str, Any]) -> None:
        for key, attr in (
            ("title", "title"),
            ("descriptionHtml", "description_html"),
            ("vendor", "vendor"),
            ("productType", "product_type"),
            ("status", "status"),
        ):
            if key in data and data[key] is not None:
                setattr(product, attr, data[key])
        if "tags" in data and data["tags"] is not None:
            product.tags = list(dict.fromkeys(t.strip() for t in data["tags"] if t.strip()))
        if data.get("handle"):
            product.handle = data["handle"]
        product.updated_at = _now()

    def _new_product(self, data: Mapping[str, Any]) -> FakeProduct:
        handle = data.get("handle") or self._unique_handle(slugify(data.get("title") or ""))
        product = FakeProduct(id=self.new_gid("Product"), title=data.get("title") or "", handle=handle)
        self.products[product.id] = product
        return product

    def _set_options(self, product: FakeProduct, names: list[str], values: dict[str, list[str]]) -> None:
        by_name = {o.name: o for o in product.options}
        product.options = [
            FakeOption(
                id=by_name[n].id if n in by_name else self.new_gid("ProductOption"),
                name=n,
                position=i + 1,
                values=list(values[n]),
            )
            for i, n in enumerate(names)
        ]

    def _variant_from(
        self, v: Mapping[str, Any], values: dict[str, str], existing: FakeVariant | None, position: int
    ) -> FakeVariant:
        item_in = v.get("inventoryItem") or {}
        item = existing.inventory_item if existing else FakeInventoryItem(id=self.new_gid("InventoryItem"))
        sku = item_in.get("sku") or v.get("sku")
        if sku is not None or existing is None:
            item.sku = sku
        if "cost" in item_in:
            item.cost = _money(item_in["cost"])
        if item_in.get("requiresShipping") is not None:
            item.requires_shipping = bool(item_in["requiresShipping"])
        if item_in.get("tracked") is not None:
            item.tracked = bool(item_in["tracked"])
        variant = existing or FakeVariant(
            id=self.new_gid("ProductVariant"), option_values={}, price=Decimal("0.00"), inventory_item=item
        )
        variant.option_values = values
        variant.position = position
        if v.get("price") is not None:
            variant.price = _money(v["price"]) or Decimal("0.00")
        if "compareAtPrice" in v:
            variant.compare_at_price = _money(v["compareAtPrice"])
        if v.get("inventoryPolicy"):
            variant.inventory_policy = v["inventoryPolicy"]
        if v.get("taxable") is not None:
            variant.taxable = bool(v["taxable"])
        if "barcode" in v:
            variant.barcode = v["barcode"]
        variant.updated_at = _now()
        return variant

    def _apply_product_set(
        self, target: FakeProduct | None, data: Mapping[str, Any], option_names: list[str], option_values: dict[str, list[str]]
    ) -> FakeProduct:
        product = target or self._new_product(data)
        self._apply_common(product, data)
        if data.get("productOptions") is not None:
            self._set_options(product, option_names, option_values)
        if data.get("variants") is not None:
            by_id = {v.id: v for v in product.variants}
            by_combo = {tuple(v.option_values.get(n, "") for n in option_names): v for v in product.variants}
            new_variants = []
            for i, v in enumerate(data["variants"]):
                values = {ov["optionName"]: ov["name"] for ov in v.get("optionValues") or []}
                values = {n: values[n] for n in option_names}
                existing = by_id.get(v.get("id") or "") or by_combo.get(tuple(values[n] for n in option_names))
                new_variants.append(self._variant_from(v, values, existing, i + 1))
            product.variants = new_variants
        elif target is None:
            self._add_standalone(product)
        if data.get("files") is not None:
            by_id = {m.id: m for m in product.media}
            by_source = {m.original_source: m for m in product.media}
            media = []
            for f in data["files"]:
                existing = (by_id.get(f.get("id") or "") or self.files.get(f.get("id") or "")
                            or by_source.get(f.get("originalSource") or ""))
                if existing is not None and (not f.get("originalSource") or f["originalSource"] == existing.original_source):
                    if "alt" in f:
                        existing.alt = f["alt"]
                    media.append(existing)
                else:
                    media.append(self._media_from(f["originalSource"], f.get("alt"), f.get("contentType")))
            product.media = media
        return product

    def _add_standalone(self, product: FakeProduct) -> None:
        if not product.options:
            product.options = [FakeOption(id=self.new_gid("ProductOption"), name="Title", position=1, values=[DEFAULT_TITLE])]
        values = {o.name: o.values[0] for o in product.options}
        variant = FakeVariant(
            id=self.new_gid("ProductVariant"),
            option_values=values,
            price=Decimal("0.00"),
            inventory_item=FakeInventoryItem(id=self.new_gid("InventoryItem")),
        )
        product.variants = [variant]
        product.standalone_variant_id = variant.id

    # -- productCreate / productUpdate ------------------------------------------------------

    def product_create(
        self, data: Mapping[str, Any], media: Sequence[Mapping[str, Any]] | None
    ) -> tuple[FakeProduct | None, UserErrors]:
        """Create a product with one standalone variant from a ``ProductCreateInput``."""
        errors = self._check_product_fields(data, True, None, (), code_blank=None, code_handle=None)
        options_input = data.get("productOptions") or []
        if options_input:
            errors += self._check_option_input(options_input, prefix=())
        if errors:
            return None, errors
        product = self._new_product(data)
        self._apply_common(product, data)
        self._set_options(
            product, [o["name"] for o in options_input], {o["name"]: [v["name"] for v in o["values"]] for o in options_input}
        )
        self._add_standalone(product)
        product.media = [self._media_from(m["originalSource"], m.get("alt"), m.get("mediaContentType")) for m in media or []]
        return product, []

    def find_for_update(self, product_id: str | None, handle: str | None) -> FakeProduct | None:
        """The product named by id or handle, if it exists."""
        if product_id:
            return self.products.get(product_id)
        if handle:
            return self.by_handle(handle)
        return None

    def product_update(
        self, product: FakeProduct | None, data: Mapping[str, Any], media: Sequence[Mapping[str, Any]] | None
    ) -> tuple[FakeProduct | None, UserErrors]:
        """Update ``product``'s own fields (status, title, ...) and append ``media``."""
        if product is None:
            return None, [user_error(["id"], "Product does not exist")]
        errors = self._check_product_fields(data, False, product, (), code_blank=None, code_handle=None)
        if errors:
            return None, errors
        self._apply_common(product, data)
        product.media += [self._media_from(m["originalSource"], m.get("alt"), m.get("mediaContentType")) for m in media or []]
        return product, []

    # -- productVariantsBulkCreate --------------------------------------------------------------

    def variants_bulk_create(
        self, product_id: str, variants_input: Sequence[Mapping[str, Any]], strategy: str | None
    ) -> tuple[FakeProduct | None, list[FakeVariant], UserErrors]:
        """Add variants to an existing product, one call per batch (the source's way)."""
        product = self.products.get(product_id)
        if product is None:
            return None, [], [user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")]
        strategy = strategy or "DEFAULT"
        standalone = next((v for v in product.variants if v.id == product.standalone_variant_id), None)
        drop_standalone = standalone is not None and (
            strategy == "REMOVE_STANDALONE_VARIANT" or (strategy == "DEFAULT" and standalone.title == DEFAULT_TITLE)
        )
        if drop_standalone and standalone is not None and standalone.title == DEFAULT_TITLE:
            names = [ov.get("optionName") for v in variants_input for ov in v.get("optionValues") or []]
            option_names = list(dict.fromkeys(n for n in names if n))
        else:
            option_names = [o.name for o in product.options]
        keep = [v for v in product.variants if not (drop_standalone and v is standalone)]
        combos = {tuple(v.option_values.get(n, "") for n in option_names) for v in keep}
        skus = {v.sku for v in keep if v.sku}
        errors: UserErrors = []
        parsed: list[dict[str, str]] = []
        for i, v in enumerate(variants_input):
            path: list[Any] = ["variants", i]
            values = {ov.get("optionName"): ov.get("name") for ov in v.get("optionValues") or []}
            unknown = [n for n in values if n not in option_names]
            if unknown:
                errors.append(
                    user_error(
                        [*path, "optionValues"],
                        f"Option(s) {', '.join(map(str, unknown))} do not exist on this product",
                        "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS",
                    )
                )
            elif any(n not in values for n in option_names):
                errors.append(
                    user_error(
                        [*path, "optionValues"], "You need to add option values for every option", "NEED_TO_ADD_OPTION_VALUES"
                    )
                )
            else:
                combo = tuple(values[n] for n in option_names)
                if combo in combos:
                    errors.append(
                        user_error(
                            [*path, "optionValues"], f"The variant '{' / '.join(combo)}' already exists", "VARIANT_ALREADY_EXISTS"
                        )
                    )
                combos.add(combo)
            errors += self._check_variant_money(v, path, "INVALID", "GREATER_THAN_OR_EQUAL_TO", "NEGATIVE_PRICE_VALUE")
            sku = (v.get("inventoryItem") or {}).get("sku")
            if sku:
                if sku in skus:
                    errors.append(
                        user_error([*path, "inventoryItem", "sku"], f"SKU '{sku}' is already used on this product", "INVALID")
                    )
                skus.add(sku)
                if sku in self.rejected_skus:
                    errors.append(user_error([*path, "inventoryItem", "sku"], self.rejected_skus[sku], "INVALID"))
            parsed.append({n: values.get(n, "") for n in option_names})
        if errors:
            return None, [], errors
        if drop_standalone and standalone is not None and standalone.title == DEFAULT_TITLE:
            product.options = []
        created = [
            self._variant_from(v, values, None, len(keep) + i + 1)
            for i, (v, values) in enumerate(zip(variants_input, parsed, strict=True))
        ]
        product.variants = keep + created
        if drop_standalone:
            product.standalone_variant_id = None
        self._sync_options_with_variants(product, option_names)
        product.updated_at = _now()
        return product, created, []

    def _sync_options_with_variants(self, product: FakeProduct, option_names: list[str]) -> None:
        # Shopify keeps only option values that some variant uses, in first-use order.
        by_name = {o.name: o for o in product.options}
        options = []
        for i, name in enumerate(option_names):
            used = list(dict.fromkeys(v.option_values[name] for v in product.variants if name in v.option_values))
            opt = by_name.get(name) or FakeOption(id=self.new_gid("ProductOption"), name=name, position=i + 1, values=[])
            ordered = [x for x in opt.values if x in used] + [x for x in used if x not in opt.values]
            options.append(FakeOption(id=opt.id, name=name, position=i + 1, values=ordered))
        product.options = options

    # -- staged uploads -------------------------------------------------------------------------

    def staged_uploads_create(self, inputs: Sequence[Mapping[str, Any]]) -> tuple[list[StagedUpload], UserErrors]:
        """Reserve upload targets; the bytes arrive later by PUT or POST to the target URL."""
        errors: UserErrors = []
        for i, item in enumerate(inputs):
            if not (item.get("filename") or "").strip():
                errors.append(user_error(["input", i, "filename"], "Filename can't be blank"))
            if not (item.get("mimeType") or "").strip():
                errors.append(user_error(["input", i, "mimeType"], "Mime type can't be blank"))
        if errors:
            return [], errors
        targets = []
        for item in inputs:
            token = f"{next(self._ids):x}"
            filename = re.sub(r"[^A-Za-z0-9._-]+", "_", item["filename"])
            upload = StagedUpload(token=token, filename=filename, mime_type=item["mimeType"], resource=item["resource"])
            self.uploads[token] = upload
            targets.append(upload)
        return targets, []
