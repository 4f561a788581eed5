"""The variables of Shopify Admin GraphQL mutations (API 2026-10), built from a :class:`ProductSpec`.

Pure data: the Shopify client sends these as GraphQL variables, never pasted into a document.

- :func:`product_set_input` is ``productSet``'s ``input`` (``ProductSetInput``): options Size and
  Frame, every variant with its option values, price, compare-at price, SKU, inventory policy and
  inventory item (SKU, unit cost, shipping, tracking), and the images as ``files``.
- :func:`product_set_identifier` is ``productSet``'s ``identifier`` (``ProductSetIdentifiers``): the
  stored product GID when there is one, else the stable handle, so that a retry upserts the same
  product instead of creating a second.
- :func:`product_set_digest` is the digest of the input a product would be sent with, images
  named by the bytes they hold rather than by the (per-upload) URL: equal digest, nothing to send.
- :func:`archive_input` is ``productUpdate``'s ``product`` (``ProductUpdateInput``) with status
  ARCHIVED; ``productChangeStatus`` is deprecated.

Money goes out as strings with two decimals (``"24.99"``): Shopify's ``Money`` and ``Decimal``
scalars are strings, and a float would lose cents.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from haven_pipelines.domain.catalogue import ProductSpec, VariantSpec
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.handles import is_valid_handle

SIZE_OPTION = "Size"
FRAME_OPTION = "Frame"
UNFRAMED_VALUE = "Unframed"
DIGITAL_VALUE = "Digital Download"
PRODUCT_STATUSES = ("ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED")

_PRODUCT_GID = re.compile(r"^gid://shopify/Product/\d+$")
_FILE_GID = re.compile(r"^gid://shopify/[A-Za-z]+/\d+$")
_CENT = Decimal("0.01")


def format_money(amount: Decimal) -> str:
    """``Decimal("24.9")`` -> ``"24.90"``: two decimals, rounded half up, never exponent notation."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):f}"


def frame_option_value(variant: VariantSpec) -> str:
    """The variant's value of the Frame option: ``Black Frame``, ``Unframed`` or ``Digital Download``.

    It matches the second half of the variant title (``8x10 / Black Frame``), so the storefront
    reads the same as Haven Hub's titles.
    """
    if variant.is_digital:
        return DIGITAL_VALUE
    if variant.frame_style:
        return f"{variant.frame_style.strip().title()} Frame"
    return UNFRAMED_VALUE


def variant_option_values(variant: VariantSpec) -> list[dict[str, str]]:
    """``[{optionName: Size, name: 8x10}, {optionName: Frame, name: Black Frame}]``."""
    return [
        {"optionName": SIZE_OPTION, "name": variant.size},
        {"optionName": FRAME_OPTION, "name": frame_option_value(variant)},
    ]


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def product_options(spec: ProductSpec) -> list[dict[str, Any]]:
    """The Size and Frame options with the values the variants use, in the variants' order."""
    sizes = _distinct([v.size for v in spec.variants])
    frames = _distinct([frame_option_value(v) for v in spec.variants])
    return [
        {"name": SIZE_OPTION, "position": 1, "values": [{"name": s} for s in sizes]},
        {"name": FRAME_OPTION, "position": 2, "values": [{"name": f} for f in frames]},
    ]


def variant_input(variant: VariantSpec, *, track_inventory: bool) -> dict[str, Any]:
    """One ``ProductVariantSetInput``.

    The SKU is sent both on the variant and on its inventory item (the same value), which is how
    productSet reads it back on ``ProductVariant.sku``. ``compareAtPrice`` is sent as null when
    there is none, so that a rebuild without a compare-at price clears an old one.
    """
    item: dict[str, Any] = {
        "sku": variant.sku,
        "requiresShipping": variant.requires_shipping,
        # Print-on-demand: nothing is stocked, so Shopify must not count stock down to zero.
        "tracked": track_inventory,
    }
    if variant.cost is not None:
        item["cost"] = format_money(variant.cost)
    return {
        "optionValues": variant_option_values(variant),
        "position": variant.position,
        "price": format_money(variant.price),
        "compareAtPrice": format_money(variant.compare_at_price) if variant.compare_at_price is not None else None,
        "sku": variant.sku,
        "inventoryPolicy": variant.inventory_policy.upper(),
        "inventoryItem": item,
    }


def product_set_input(
    spec: ProductSpec,
    *,
    image_urls: Sequence[str | None],
    status: str = "ACTIVE",
    file_ids: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """The ``input`` variable of ``productSet`` for ``spec``.

    Args:
        spec: the product.
        image_urls: one entry per ``spec.images``, in the same order: the URL Shopify fetches the
            image from (a public blob URL, or the ``resourceUrl`` of a staged upload). ``None``
            leaves that image out, for an image the publisher could not make reachable.
        status: the Shopify status, ``ACTIVE``, ``DRAFT``, ``UNLISTED`` or ``ARCHIVED``.
        file_ids: optional, one entry per image: the Shopify file GID from an earlier publish.
            An image with a GID is referenced by it (with its alt text) instead of being uploaded
            again, so that re-publishing does not pile up copies in the shop's files.

    Returns:
        A dict that coerces without error to ``ProductSetInput`` of API 2026-10.

    Raises:
        ValidationError: ``status``, ``image_urls`` or ``file_ids`` when they do not fit.
    """
    if status not in PRODUCT_STATUSES:
        raise ValidationError("status", f"must be one of {', '.join(PRODUCT_STATUSES)}, got {status!r}")
    if len(image_urls) != len(spec.images):
        raise ValidationError("image_urls", f"needs one entry per image: {len(spec.images)} images, {len(image_urls)} urls")
    ids: Sequence[str | None] = file_ids if file_ids is not None else [None] * len(spec.images)
    if len(ids) != len(spec.images):
        raise ValidationError("file_ids", f"needs one entry per image: {len(spec.images)} images, {len(ids)} ids")
    files: list[dict[str, Any]] = []
    for i, (image, url, file_id) in enumerate(zip(spec.images, image_urls, ids, strict=True)):
        if file_id is not None:
            if not _FILE_GID.match(file_id):
                raise ValidationError(f"file_ids[{i}]", f"is not a Shopify GID: {file_id!r}")
            files.append({"id": file_id, "alt": image.alt})
        elif url is not None:
            if not url.startswith(("https://", "http://")):
                raise ValidationError(f"image_urls[{i}]", "must be an http(s) URL Shopify can fetch")
            files.append({"originalSource": url, "alt": image.alt, "contentType": "IMAGE"})
    return {
        "title": spec.title,
        "descriptionHtml": spec.description_html,
        "handle": spec.handle,
        # A title edit changes the handle; old links then redirect instead of breaking.
        "redirectNewHandle": True,
        "vendor": spec.vendor,
        "productType": spec.product_type,
        "status": status,
        "tags": list(spec.tags),
        "productOptions": product_options(spec),
        "variants": [variant_input(v, track_inventory=spec.track_inventory) for v in spec.variants],
        "files": files,
    }


def image_identity(key: str | None, src: str | None) -> str:
    """What names an image's bytes: its storage key (keys end in a hash of the bytes), else its URL."""
    return key or src or ""


def product_set_digest(spec: ProductSpec, *, status: str = "ACTIVE") -> str:
    """The SHA-256 (hex) of the ``productSet`` input for ``spec``, with each file named by
    :func:`image_identity` and its alt text instead of the URL or file id it travels by.

    A staged upload gets a new URL every time and a re-published image is cited by its file id, so
    neither may enter the digest: equal digests mean the shop already has exactly this input.
    """
    data = product_set_input(spec, image_urls=[None] * len(spec.images), status=status)
    data["files"] = [{"image": image_identity(i.key, i.src), "alt": i.alt} for i in spec.images]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def product_set_identifier(shopify_gid: str | None, handle: str) -> dict[str, str]:
    """``productSet``'s ``identifier``: ``{"id": gid}`` once Shopify gave one, else ``{"handle": handle}``.

    Raises:
        ValidationError: ``shopify_gid`` when it is not a product GID, ``handle`` when it is not a
            valid handle.
    """
    if shopify_gid is not None:
        if not _PRODUCT_GID.match(shopify_gid):
            raise ValidationError("shopify_gid", f"is not a Shopify product GID: {shopify_gid!r}")
        return {"id": shopify_gid}
    if not is_valid_handle(handle):
        raise ValidationError("handle", f"is not a valid Shopify handle: {handle!r}")
    return {"handle": handle}


def archive_input(gid: str) -> dict[str, str]:
    """``productUpdate``'s ``product`` variable that archives the product ``gid``.

    Raises:
        ValidationError: ``shopify_gid`` when ``gid`` is not a product GID.
    """
    if not _PRODUCT_GID.match(gid):
        raise ValidationError("shopify_gid", f"is not a Shopify product GID: {gid!r}")
    return {"id": gid, "status": "ARCHIVED"}
