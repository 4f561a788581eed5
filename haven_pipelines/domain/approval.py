"""Approval rules: who decides (the operator mode), and what a decision covers (a content digest).

Operator modes, per module (``mockups``, ``products``; a module override wins over the global mode):

| mode | mockups | products |
| --- | --- | --- |
| ``supervised`` (the default) | a person approves each render | a person approves each product |
| ``assisted`` | approved at once | a person approves each product |
| ``autopilot`` | approved at once | published without review |

``assisted`` is for a shop that trusts the renders but not the listing: the reviewer sees each
product once, with its final images and prices, instead of every picture separately. Haven Hub
allowed the value and gave it no behaviour; this is the meaning chosen here.

An approval is of definite content. A product's content is what a customer would see (title,
description, vendor, type, tags, variants with prices and SKUs, images with their alt text), put in
a canonical form by :func:`product_content` and hashed by :func:`content_digest`; a mockup's is its
image bytes (:func:`image_digest`). The decision stays valid while the digest is the same; a
different digest needs a new decision, and :func:`content_changes` names what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

OPERATOR_MODES = ("supervised", "assisted", "autopilot")
MODULES = ("mockups", "products")
_CENT = Decimal("0.01")


def effective_mode(global_mode: str | None, module_overrides: Mapping[str, str] | None, module: str) -> str:
    """The operator mode for ``module``: its override when set, else the global mode, else supervised."""
    override = (module_overrides or {}).get(module)
    return override or global_mode or "supervised"


def auto_approve(
    global_mode: str | None,
    module_overrides: Mapping[str, str] | None,
    *,
    module: str = "mockups",
    skip_approval: bool = False,
) -> bool:
    """True when a finished item needs no person: skip approval asked, autopilot for the module, or
    ``assisted`` for mockups (see the module docstring's table)."""
    if skip_approval:
        return True
    mode = effective_mode(global_mode, module_overrides, module)
    return mode == "autopilot" or (mode == "assisted" and module == "mockups")


# -- what a decision covers ---------------------------------------------------------------------


def _money(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(_CENT))


def product_content(product: Mapping[str, Any], variants: Iterable[Mapping[str, Any]],
                    images: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The canonical, JSON-ready form of what a customer sees of a product.

    Args:
        product: the product's fields (``title``, ``description``, ``vendor``, ``product_type``, ``tags``).
        variants: rows with ``sku``, ``title``, ``size``, ``frame_style``, ``is_digital``, ``price``,
            ``compare_at_price``, ``inventory_policy``.
        images: rows with ``position``, ``src``, ``file_key``, ``alt``.

    Returns:
        A dict with prices as two-decimal strings, variants by SKU and images by position, so the
        same product always gives the same form, however its rows were read. Cost, inventory counts
        and Shopify ids are left out: a customer sees none of them.
    """
    return {
        "title": product.get("title") or "",
        "description": product.get("description") or "",
        "vendor": product.get("vendor") or "",
        "productType": product.get("product_type") or "",
        "tags": sorted(product.get("tags") or ()),
        "variants": sorted(
            ({"sku": v["sku"], "title": v.get("title"), "size": v.get("size"), "frame": v.get("frame_style"),
              "digital": bool(v.get("is_digital")), "price": _money(v["price"]),
              "compareAt": _money(v.get("compare_at_price")), "inventoryPolicy": v.get("inventory_policy")}
             for v in variants),
            key=lambda v: v["sku"],
        ),
        # The stored key names the image bytes (it ends in their hash); the src only when there is no key.
        "images": [{"position": i.get("position"), "image": i.get("file_key") or i.get("src"), "alt": i.get("alt")}
                   for i in sorted(images, key=lambda i: i.get("position") or 0)],
    }


def content_digest(content: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of the canonical JSON of ``content``: equal content, equal digest."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def image_digest(data: bytes) -> str:
    """The SHA-256 (hex) of an image's bytes: a mockup approval covers exactly this picture."""
    return hashlib.sha256(data).hexdigest()


def content_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """What a reviewer should look at: the parts of ``after`` that differ from ``before``.

    Returns ``["new"]`` when there is nothing to compare with, else some of ``title``,
    ``description``, ``prices`` (a variant kept its SKU and changed its price or compare-at price),
    ``variants`` (variants added, removed or retitled), ``images``, ``tags``, ``details`` (vendor or
    product type), in that order; an empty list when nothing differs.
    """
    if before is None:
        return ["new"]
    changes = [part for part in ("title", "description") if before.get(part) != after.get(part)]
    old = {v["sku"]: v for v in before.get("variants") or ()}
    new = {v["sku"]: v for v in after.get("variants") or ()}
    price = lambda v: (v.get("price"), v.get("compareAt"))  # noqa: E731
    if any(price(old[s]) != price(new[s]) for s in old.keys() & new.keys()):
        changes.append("prices")
    rest = lambda v: {k: x for k, x in v.items() if k not in ("price", "compareAt")}  # noqa: E731
    if old.keys() != new.keys() or any(rest(old[s]) != rest(new[s]) for s in old.keys() & new.keys()):
        changes.append("variants")
    for part, name in (("images", "images"), ("tags", "tags")):
        if before.get(part) != after.get(part):
            changes.append(name)
    if (before.get("vendor"), before.get("productType")) != (after.get("vendor"), after.get("productType")):
        changes.append("details")
    return changes


# -- product states --------------------------------------------------------------------------

PRODUCT_STATES = ("draft", "awaiting_approval", "approved", "active", "sync_error", "retired", "archived")
"""What a product's ``status`` says:

- ``draft``: built, not yet up for review (its mockups still wait for decisions) or rejected as it is.
- ``awaiting_approval``: its content waits for a person's decision (Haven Hub called this ``pending``).
- ``approved``: approved (or autopilot) and not live on Shopify; the next catalogue run publishes it.
  In Shopify dry run a product stays here: the outbox holds what would have been sent.
- ``active``: live on Shopify. Changes to a live product wait in its approval item; the shop keeps
  the approved content until they are approved.
- ``sync_error``: the last publish failed; ``sync_error`` says why, and the next publish retries.
- ``retired`` (with a reason) and ``archived``: off sale, archived on Shopify.
"""

REVIEW_STATES = ("auto", "approved", "pending", "rejected", "not_ready")


def product_status(current: str, review: str) -> str:
    """The status a (re)built product takes from its review state.

    Args:
        current: the product's status now. ``active``, ``sync_error``, ``retired`` and ``archived``
            describe Shopify, not the review, and are kept.
        review: ``auto`` (no review needed), ``approved`` (the current content is approved),
            ``pending`` (a decision is awaited), ``rejected`` (the current content was rejected) or
            ``not_ready`` (not yet up for review).
    """
    if review not in REVIEW_STATES:
        raise ValueError(f"review must be one of {', '.join(REVIEW_STATES)}, got {review!r}")
    if current in ("active", "sync_error", "retired", "archived"):
        return current
    return {"auto": "approved", "approved": "approved", "pending": "awaiting_approval",
            "rejected": "draft", "not_ready": "draft"}[review]
