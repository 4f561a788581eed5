"""The dry-run Shopify client: every document validated against the schema and recorded, nothing sent.

It is the default until a shop is connected. Each mutation (queries too, with ``record_queries``)
becomes an :class:`~haven_pipelines.integrations.shopify.models.OutboxEntry` handed to the
``recorder`` callback; the product service writes those to the ``shopify_outbox`` table so the
operator can read exactly what would be published. A document or variables Shopify would refuse
raise :class:`~haven_pipelines.integrations.shopify.errors.ShopifyValidationError` and record nothing.

Answers are synthetic but shaped like Shopify's, so the same parsing code runs: product, variant and
media GIDs are derived from the handle and SKU (the same product gets the same GIDs in every run),
and products "published" through this instance can be read back with ``get_product``. A product
this instance never saw reads as absent; reconcile is meaningless against a dry run.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from haven_pipelines.integrations.shopify.base import BaseShopifyClient
from haven_pipelines.integrations.shopify.errors import ShopifyValidationError
from haven_pipelines.integrations.shopify.models import GraphQLResult, OutboxEntry, StagedTarget
from haven_pipelines.integrations.shopify.schema import DEFAULT_API_VERSION, operation_info, validate_document

DRY_RUN_HOST = "https://dry-run.invalid"


def fake_gid(kind: str, *parts: str) -> str:
    """A stable, plausible GID: ``gid://shopify/<kind>/<12 digits from a hash of the parts>``."""
    digest = hashlib.sha256("\x1f".join((kind, *parts)).encode()).hexdigest()
    return f"gid://shopify/{kind}/{int(digest[:12], 16) % 10**12 + 10**12}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


class DryRunShopifyClient(BaseShopifyClient):
    """Validates and records instead of sending (see the module docstring).

    Args:
        recorder: called with each :class:`OutboxEntry`; by default entries collect in :attr:`entries`.
        api_version: the schema version to validate against.
        record_queries: record queries as well as mutations.
        clock: the time stamped on each entry (UTC).
    """

    dry_run = True

    def __init__(
        self,
        recorder: Callable[[OutboxEntry], None] | None = None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        record_queries: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.api_version = api_version
        self.entries: list[OutboxEntry] = []
        self._recorder = recorder or self.entries.append
        self._record_queries = record_queries
        self._clock = clock
        self._lock = threading.Lock()
        self._products: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"DryRunShopifyClient(api_version={self.api_version!r}, products={len(self._products)})"

    def execute(self, document: str, variables: Mapping[str, Any] | None = None, *, idempotent: bool = True) -> GraphQLResult:
        """Validate, record (mutations), and answer with synthetic data; nothing leaves the process."""
        info = operation_info(document)
        variables = dict(variables or {})
        problems = validate_document(document, variables, api_version=self.api_version)
        if problems:
            raise ShopifyValidationError(problems, operation=info.name)
        sent = json.loads(json.dumps(variables))  # exactly what would go over the wire
        if info.is_mutation or self._record_queries:
            self._recorder(OutboxEntry(operation=info.name, document=document, variables=sent, recorded_at=self._clock()))
        with self._lock:
            data = self._answer(info.name, sent)
        return GraphQLResult(operation=info.name, data=data, cost=None)

    def _upload(self, target: StagedTarget, filename: str, mime_type: str, data: bytes) -> None:
        """Sends nothing: the dry run's staged targets point at a host that does not exist."""

    # -- synthetic answers ------------------------------------------------------------------

    def _answer(self, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        if operation == "ProductSet":
            return {"productSet": {"product": self._product_set(variables), "userErrors": []}}
        if operation == "ProductArchive":
            product = self._products.get(variables["id"])
            if product is not None:
                product["status"] = "ARCHIVED"
            return {"productUpdate": {"product": {"id": variables["id"], "status": "ARCHIVED"}, "userErrors": []}}
        if operation == "ProductGet":
            return {"product": self._read(self._products.get(variables["id"]))}
        if operation == "ProductByIdentifier":
            wanted = variables["identifier"]
            found = next((p for p in self._products.values() if p["id"] == wanted.get("id") or p["handle"] == wanted.get("handle")), None)
            return {"productByIdentifier": self._read(found)}
        if operation == "ProductsPage":
            nodes = [self._read(p) for p in sorted(self._products.values(), key=lambda p: p["id"])]
            return {"products": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}
        if operation == "ProductVariantsPage":
            return {"product": None}
        if operation == "StagedUploadsCreate":
            return {"stagedUploadsCreate": {"stagedTargets": [self._target(i) for i in variables["input"]], "userErrors": []}}
        if operation == "Shop":
            return {"shop": {"id": "gid://shopify/Shop/1", "name": "Dry run", "myshopifyDomain": "dry-run.myshopify.com", "currencyCode": "USD"}}
        return {}

    def _product_set(self, variables: dict[str, Any]) -> dict[str, Any]:
        data = variables["input"]
        identifier = variables.get("identifier") or {}
        existing = self._products.get(identifier.get("id", "")) or next(
            (p for p in self._products.values() if identifier.get("handle") and p["handle"] == identifier["handle"]), None
        )
        handle = data.get("handle") or identifier.get("handle") or (existing or {}).get("handle") or _slug(data.get("title", ""))
        gid = identifier.get("id") or (existing or {}).get("id") or fake_gid("Product", handle)
        variants = [
            {
                "id": fake_gid("ProductVariant", handle, v.get("sku") or (v.get("inventoryItem") or {}).get("sku") or str(i)),
                "sku": v.get("sku") or (v.get("inventoryItem") or {}).get("sku"),
                "price": v.get("price") or "0.00",
                "compareAtPrice": v.get("compareAtPrice"),
            }
            for i, v in enumerate(data.get("variants") or ())
        ]
        # A file cited by id keeps it, as Shopify keeps an existing file; a new one gets a stable GID.
        media = [
            {"id": f.get("id") or fake_gid("MediaImage", handle, f.get("originalSource") or str(i)), "alt": f.get("alt"),
             "status": "READY" if f.get("id") else "UPLOADED", "mediaContentType": "IMAGE"}
            for i, f in enumerate(data.get("files") or ())
        ]
        product = {
            "id": gid,
            "handle": handle,
            "title": data.get("title") or (existing or {}).get("title") or handle,
            "status": data.get("status") or (existing or {}).get("status") or "ACTIVE",
            "updatedAt": self._clock().isoformat(),
            "variants": variants,
            "media": [{"id": m["id"]} for m in media],
        }
        self._products[gid] = product
        return {
            "id": gid,
            "handle": handle,
            "title": product["title"],
            "status": product["status"],
            "variants": {"nodes": [{"id": v["id"], "sku": v["sku"]} for v in variants], "pageInfo": {"hasNextPage": False, "endCursor": None}},
            **({"media": {"nodes": media, "pageInfo": {"hasNextPage": False}}} if variables.get("withMedia") else {}),
        }

    @staticmethod
    def _read(product: dict[str, Any] | None) -> dict[str, Any] | None:
        if product is None:
            return None
        return {**product, "variants": {"nodes": list(product["variants"]), "pageInfo": {"hasNextPage": False, "endCursor": None}},
                "media": {"nodes": list(product["media"]), "pageInfo": {"hasNextPage": False}}}

    @staticmethod
    def _target(request: Mapping[str, Any]) -> dict[str, Any]:
        key = hashlib.sha256(f"{request['filename']}\x1f{request['mimeType']}".encode()).hexdigest()[:16]
        return {"url": f"{DRY_RUN_HOST}/staged/{key}", "resourceUrl": f"{DRY_RUN_HOST}/staged/{key}/{request['filename']}", "parameters": []}
