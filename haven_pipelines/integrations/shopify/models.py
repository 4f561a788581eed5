"""Typed values the Shopify clients return (frozen dataclasses; money as ``Decimal``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from haven_pipelines.integrations.shopify.throttle import QueryCost


@dataclass(frozen=True)
class GraphQLResult:
    """A successful answer: the operation's name, its ``data`` and the cost Shopify reported."""

    operation: str
    data: dict[str, Any]
    cost: QueryCost | None = None


@dataclass(frozen=True)
class VariantRef:
    """A variant as ``productSet`` returns it: enough to match it back to ours by SKU."""

    id: str
    sku: str | None


@dataclass(frozen=True)
class MediaRef:
    """A media item attached by ``productSet`` (its status is PROCESSING until Shopify fetched it)."""

    id: str
    alt: str | None
    status: str | None


@dataclass(frozen=True)
class ProductSetResult:
    """What a publish read back: the product's GID, handle and status, its variants and media."""

    id: str
    handle: str
    title: str
    status: str
    variants: tuple[VariantRef, ...]
    media: tuple[MediaRef, ...] = ()
    #: False when the product has more media than the answer listed (their ids are then not all known).
    media_complete: bool = True

    @property
    def legacy_id(self) -> str:
        """The numeric id at the end of the GID (the ``shopify_product_id`` column)."""
        return legacy_id(self.id)

    def variant_ids_by_sku(self) -> dict[str, str]:
        """Variant GIDs keyed by SKU (variants without a SKU are left out)."""
        return {v.sku: v.id for v in self.variants if v.sku}


@dataclass(frozen=True)
class ShopifyVariant:
    """A variant as reconcile compares it."""

    id: str
    sku: str | None
    price: Decimal
    compare_at_price: Decimal | None


@dataclass(frozen=True)
class ShopifyProduct:
    """A product as Shopify holds it now, with every variant."""

    id: str
    handle: str
    title: str
    status: str
    updated_at: str | None
    variants: tuple[ShopifyVariant, ...] = field(default=())
    #: The GIDs of the product's media, when the query read all of them (None: not read).
    media_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StagedTarget:
    """Where to upload bytes (``url`` with form ``parameters``) and what to cite afterwards."""

    url: str
    resource_url: str
    parameters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UploadFile:
    """Image bytes to stage for a product file."""

    filename: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class ShopInfo:
    """The connected shop, as the connection check reads it."""

    id: str
    name: str
    domain: str
    currency: str


@dataclass(frozen=True)
class ClientStats:
    """Counters of one client: HTTP requests sent, THROTTLED answers, retries, seconds paced, and the
    throttle points Shopify charged (the sum of ``actualQueryCost``)."""

    requests: int
    throttled: int
    retries: int
    paced_seconds: float
    points_spent: float = 0.0


@dataclass(frozen=True)
class OutboxEntry:
    """One document the dry run would have sent (the lead's service stores it in ``shopify_outbox``)."""

    operation: str
    document: str
    variables: dict[str, Any]
    recorded_at: datetime


def legacy_id(gid: str) -> str:
    """``gid://shopify/Product/123`` → ``123`` (the id Shopify's admin URLs use)."""
    return gid.rsplit("/", 1)[-1]
