"""Products as an operator sees and makes them: one product in full, a page of them, and Haven Hub's
create request read as the source wrote it.

``products show`` needs more than the product store holds: the approval state (and whether the
user's mode needs one at all), the design's quote, and the Shopify admin link of the connected shop.

The create request (:func:`create_from_request`) is the one
:func:`~haven_pipelines.domain.product_request.validate_product_request` documents, plus three
top-level fields of the source's request, each accepted in snake_case or the source's camelCase:

| field | meaning |
| --- | --- |
| ``publishImmediately`` / ``publish_immediately`` | the source's name for ``publish`` |
| ``quoteId`` / ``quote_id`` | one of the user's quotes; stored on the product |
| ``assetId`` / ``asset_id`` | one of the user's design assets; its image comes first unless ``images`` names it |

The asset is not made the design's catalogue product (``products.asset_id`` stays empty): that link
hands the product to the pipeline, whose rebuild replaces the variants with the catalogue's and
would discard the prices the request gave. A design has one catalogue product, built by
``haven products build`` or the pipeline; a requested product stands beside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from haven_pipelines.db.stores.base import Page
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.db.tables import approval_items, products, quotes
from haven_pipelines.db.tenancy import act_as
from haven_pipelines.domain.approval import effective_mode
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.product_request import validate_product_request

_EXTRA_FIELDS = {
    "publishImmediately": "publish", "publish_immediately": "publish",
    "quoteId": "quote_id", "quote_id": "quote_id", "assetId": "asset_id", "asset_id": "asset_id",
}


def list_products(engine, user_id: str, *, status: str | None = None, collection: str | None = None,
                  search: str | None = None, limit: int = 20, offset: int = 0) -> Page:
    """The user's products newest first (each a ``ProductDetail``), and the total."""
    with engine.connect() as conn:
        return ProductStore(conn, user_id).list(status=status, collection=collection, search=search,
                                                limit=limit, offset=offset)


def admin_url(shop: str | None, legacy_id: str | None) -> str | None:
    """The Shopify admin page of a product (``my-shop.myshopify.com`` and ``123`` give
    ``https://admin.shopify.com/store/my-shop/products/123``); None without a shop or id."""
    if not shop or not legacy_id:
        return None
    return f"https://admin.shopify.com/store/{shop.split('.')[0]}/products/{legacy_id}"


def product_view(engine, user_id: str, product_id: str) -> dict[str, Any]:
    """One product in full: its fields, variants with prices, images, the design's quote, the Shopify
    admin link and the approval state.

    ``approval`` is ``{"required", "mode", "status", "item_id", "decided_at", "note", "changes"}``:
    ``required`` is False when the products module runs in autopilot; ``status`` is None when no
    item was ever opened; ``changes`` is what the item's payload says changed, when it says.

    Raises:
        NotFound: not one of the user's products.
    """
    with engine.connect() as conn:
        detail = ProductStore(conn, user_id).get(product_id)
        settings = SettingsStore(conn, user_id).get()
        item = conn.execute(select(approval_items).where(
            approval_items.c.user_id == user_id, approval_items.c.type == "product",
            approval_items.c.reference_id == product_id)).mappings().first()
        quote_text = None
        if detail["quote_id"]:
            quote_text = conn.execute(select(quotes.c.text).where(
                quotes.c.id == detail["quote_id"], quotes.c.user_id == user_id)).scalar()
        try:
            shop = IntegrationStore(conn, user_id).get("shopify").account
        except NotFound:
            shop = None
    mode = effective_mode(settings["global_mode"], settings["module_overrides"], "products")
    payload = (item["payload"] or {}) if item is not None else {}
    data = detail.as_dict()
    data.update(
        quote_text=quote_text,
        admin_url=admin_url(shop, detail["shopify_product_id"]),
        approval={
            "required": mode != "autopilot",
            "mode": mode,
            "status": None if item is None else item["status"],
            "item_id": None if item is None else item["id"],
            "decided_at": None if item is None else item["decided_at"],
            "note": None if item is None else item["decision_note"],
            "changes": payload.get("changes"),
        },
    )
    return data


def read_request(text: str) -> dict[str, Any]:
    """The JSON object of a create request file; ValidationError naming ``file`` when it is not one."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("file", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(payload, dict):
        raise ValidationError("file", f"must hold a JSON object (the create request), got {type(payload).__name__}")
    return payload


def split_request(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request without the source's extra fields, and those fields by their canonical names.

    Raises:
        ValidationError: a field given twice (``publish`` and ``publishImmediately``, or both spellings).
    """
    if not isinstance(payload, Mapping):
        raise ValidationError("request", f"must be an object, got {type(payload).__name__}")
    rest: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in payload.items():
        canonical = _EXTRA_FIELDS.get(key) if isinstance(key, str) else None
        if canonical is None:
            rest[key] = value
        elif canonical in extra:
            raise ValidationError(canonical, "is given twice (snake_case and camelCase)")
        else:
            extra[canonical] = value
    if "publish" in extra:
        if "publish" in rest:
            raise ValidationError("publish", "is given twice (publish and publishImmediately)")
        rest["publish"] = extra.pop("publish")
    return rest, extra


def _owned_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 36:
        raise ValidationError(field, "must be an id (text of 1 to 36 characters)")
    return value.strip()


def create_from_request(ctx, user_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Create a product from the source's create request (see the module docstring) and return it in full.

    Publishes at once when the request says so (``publish`` or ``publishImmediately``), as the source did.

    Raises:
        ValidationError: naming the first wrong field; nothing is created.
        PublishError: the product was created but publishing failed (its ``sync_error`` says why).
    """
    from haven_pipelines.services.products import ProductService

    request, extra = split_request(payload)
    quote_id = asset_id = None
    with ctx.engine.connect() as conn:
        designs = DesignStore(conn, user_id)
        if extra.get("quote_id") is not None:
            quote_id = _owned_id("quote_id", extra["quote_id"])
            if designs.find_quote(quote_id) is None:
                raise ValidationError("quote_id", f"quote {quote_id} not found")
        if extra.get("asset_id") is not None:
            asset_id = _owned_id("asset_id", extra["asset_id"])
            if designs.find_asset(asset_id) is None:
                raise ValidationError("asset_id", f"design asset {asset_id} not found")
    if asset_id is not None:
        images = request.get("images")
        if images is None:
            images = []
        if isinstance(images, list) and not any(
            isinstance(i, Mapping) and asset_id in (i.get("asset_id"), i.get("assetId")) for i in images
        ):
            request["images"] = [{"asset_id": asset_id}, *images]
    publish = request.pop("publish", None)
    service = ProductService(ctx)
    # Validated with the publish flag, so a bad flag is refused before anything is created.
    validate_product_request({**request, "publish": publish} if publish is not None else request)
    built = service.create(user_id, request)
    if quote_id is not None:
        with ctx.engine.begin() as conn:
            act_as(conn, user_id)
            conn.execute(update(products).where(products.c.id == built.product_id, products.c.user_id == user_id)
                         .values(quote_id=quote_id))
    if publish:
        service.publish(user_id, built.product_id, require_approval=False)
    return product_view(ctx.engine, user_id, built.product_id)
