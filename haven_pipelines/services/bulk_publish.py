"""Large sets go to Shopify in one bulk operation, and a run that dies collects its result next time.

A catalogue run (the ``shopify_listings`` asset) hands each user's products to
:meth:`BulkPublisher.publish_large_set` before publishing them one by one:

1. **Collect first.** Every bulk publish of this user and shop that was started but whose result
   was not applied (``shopify_bulk_operations``) is waited for and applied. Its products are then
   published (or failed) and the rest of the run does not send them again. A row whose start was
   never confirmed by Shopify is marked ``abandoned``: its products are sent again, which is safe,
   since every line upserts by the product's GID or handle and never makes a second product.
2. **Decide.** The products to send are those the per-product path would send: not retired, their
   content approved (or needing no approval), and not already published with this content. When
   there are no more than ``threshold`` (``HAVEN_SHOPIFY_BULK_THRESHOLD``), nothing more happens
   here and each is published with its own ``productSet`` as before.
3. **Send in bulk.** Above the threshold, one JSONL line per product (``productSet`` input and
   identifier, built as the per-product path builds them) is staged with ``stagedUploadsCreate``
   (``BULK_MUTATION_VARIABLES``), a row is written (line order and each line's content digest),
   ``bulkOperationRunMutation`` starts the operation and its id is stored before the run waits.
   Then the run polls with backoff, downloads the result and applies each line: the Shopify ids and
   the content digest for a success, ``sync_error`` with Shopify's message for a refused line.

One bulk mutation at a time per shop, from this project: a new one starts only when none of ours
is unfinished (Shopify's own limit is five at once from API 2026-01, one before). A dry run (no
connected shop) never uses bulk operations: each product's ``productSet`` is recorded in the outbox,
which is what a person reads.

Reconcile of a large catalogue reads the shop with one ``bulkOperationRunQuery``
(:func:`remote_product_lookup`) instead of one query per product.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.bulk_operations import BulkOperationStore
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.products import ProductDetail, ProductStore
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.domain.shopify_input import product_set_digest, product_set_identifier, product_set_input
from haven_pipelines.integrations.shopify.bulk import BulkLineResult, BulkOperation, ShopifyBulk, products_from_bulk_lines
from haven_pipelines.integrations.shopify.bulk_documents import BULK_PRODUCT_SET, BULK_PRODUCTS_QUERY
from haven_pipelines.integrations.shopify.errors import ShopifyError, ShopifyResponseError, ShopifyUserErrors
from haven_pipelines.integrations.shopify.models import ShopifyProduct, legacy_id
from haven_pipelines.services.products import ProductService, PublishError, PublishResult, spec_from_detail, user_costs
from haven_pipelines.services.publishing import sync_message
from haven_pipelines.settings import DEFAULT_SHOPIFY_BULK_THRESHOLD

log = logging.getLogger(__name__)

#: What a bulk publish says of each product it handled: where it is now, or why it failed or waits.
Outcome = PublishResult | HavenError


@dataclass(frozen=True)
class BulkOptions:
    """How a run waits for a bulk operation: the first poll interval, its ceiling, and the longest wait."""

    poll_first: float = 1.0
    poll_max: float = 15.0
    wait_seconds: float = 3600.0


def bulk_threshold(ctx) -> int:
    """Products above which one run sends (or reads) in bulk: the setting, else its default."""
    settings = getattr(ctx, "settings", None)
    return settings.shopify_bulk_threshold if settings is not None else DEFAULT_SHOPIFY_BULK_THRESHOLD


class BulkPublisher:
    """Bulk publishing for a catalogue run (see the module docstring).

    Args:
        ctx: the AppContext.
        threshold: overrides :func:`bulk_threshold`.
        options: polling and waiting.
        after_start: called with the operation's GID once it is stored and before the run waits
            (tests stop a run there, as a crash would).
    """

    def __init__(self, ctx, *, threshold: int | None = None, options: BulkOptions | None = None,
                 after_start: Callable[[str], None] | None = None):
        self.ctx = ctx
        self.engine = ctx.engine
        self.products = ProductService(ctx)
        self.threshold = threshold if threshold is not None else bulk_threshold(ctx)
        self.options = options or BulkOptions()
        self.after_start = after_start

    def publish_large_set(self, user_id: str, product_ids: Sequence[str]) -> dict[str, Outcome]:
        """Collect unfinished bulk publishes, then send ``product_ids`` in bulk when they are many.

        Returns:
            An outcome for each product handled here (collected, sent in bulk, or waiting for a
            bulk operation still running); the caller publishes the others one by one.
        """
        if self.products._connection(user_id) is None:
            return {}  # no shop: a dry run, or live mode's error, which the per-product path reports
        with self.products.shopify(user_id) as (client, _entries):
            if client.dry_run:
                return {}
            with ShopifyBulk(client, poll_first=self.options.poll_first, poll_max=self.options.poll_max) as bulk:
                outcomes, still_running = self._collect(user_id, client, bulk)
                pending = [p for p in product_ids if p not in outcomes]
                if len(pending) <= self.threshold:
                    return outcomes  # cannot be more than the threshold to send: skip reading them twice
                to_send = self._to_send(user_id, pending)
                if len(to_send) <= self.threshold:
                    return outcomes
                if still_running:
                    # One bulk mutation at a time: these wait for the next run, as do the running one's.
                    why = f"waiting for bulk operation {still_running} to finish before another is sent"
                    outcomes.update({d.id: Conflict(f"product {d.id}: {why}") for d, _ in to_send})
                    return outcomes
                outcomes.update(self._send(user_id, client, bulk, to_send))
                return outcomes

    # -- collecting ---------------------------------------------------------------------------------

    def _collect(self, user_id: str, client, bulk: ShopifyBulk) -> tuple[dict[str, Outcome], str | None]:
        """Apply every unfinished bulk publish of this shop; returns outcomes and a GID still running."""
        outcomes: dict[str, Outcome] = {}
        with self.engine.connect() as conn:
            rows = BulkOperationStore(conn, user_id).unfinished(client.shop_domain)
        for row in rows:
            if row["operation_gid"] is None:
                with self.engine.begin() as conn:
                    BulkOperationStore(conn, user_id).mark_abandoned(
                        row["id"], "Shopify never confirmed the start; its products are sent again (upserts, no duplicates)")
                continue
            try:
                op = bulk.wait(row["operation_gid"], timeout=self.options.wait_seconds)
            except ShopifyError as exc:
                log.warning("bulk operation %s not collected: %s", row["operation_gid"], exc)
                for line in row["lines"]:
                    outcomes[line["product_id"]] = Conflict(
                        f"product {line['product_id']}: in bulk operation {row['operation_gid']}, not finished yet ({exc})")
                return outcomes, row["operation_gid"]
            outcomes.update(self._apply(user_id, client, bulk, row, op))
        return outcomes, None

    def _apply(self, user_id: str, client, bulk: ShopifyBulk, row, op: BulkOperation) -> dict[str, Outcome]:
        """Apply each result line to its product; lines without a result fail with the operation's end."""
        results: dict[int, BulkLineResult] = {r.line: r for r in bulk.mutation_results(op)}
        outcomes: dict[str, Outcome] = {}
        missing = 0
        for number, line in enumerate(row["lines"]):
            product_id, digest = line["product_id"], line["digest"]
            result = results.get(number)
            try:
                if result is not None and result.ok:
                    outcomes[product_id] = self._applied(user_id, client, product_id, digest, result, op.id)
                    continue
                if result is None:
                    missing += 1
                    message = (f"bulk operation {op.id} ended {op.status}"
                               f"{f' ({op.error_code})' if op.error_code else ''} before this product's line ran")
                else:
                    message = "; ".join(str(e) for e in result.errors) or "refused"
                with self.engine.begin() as conn:
                    ProductStore(conn, user_id).set_sync_error(product_id, message)
                    ActivityStore(conn, user_id).log("product.sync_failed", "product", product_id,
                                                     {"error": message, "bulk_operation": op.id})
                outcomes[product_id] = PublishError(f"publishing product {product_id} failed: {message}")
            except HavenError as exc:  # the product was deleted here meanwhile, or Shopify's answer does not fit it
                outcomes[product_id] = exc
        with self.engine.begin() as conn:
            BulkOperationStore(conn, user_id).mark_collected(
                row["id"], op.status, f"{missing} line(s) without a result" if missing else None)
        return outcomes

    def _applied(self, user_id: str, client, product_id: str, digest: str, result: BulkLineResult, op_id: str) -> PublishResult:
        product = result.payload.get("product") if result.payload else None
        if not isinstance(product, dict) or not product.get("id"):
            raise ShopifyResponseError("a bulk productSet line answered without a product", operation="BulkProductSet")
        by_sku = {v["sku"]: v["id"] for v in (product.get("variants") or {}).get("nodes", ()) if v.get("sku")}
        with self.engine.begin() as conn:
            store = ProductStore(conn, user_id)
            detail = store.get(product_id)
            skus = {v["sku"] for v in detail.variants}
            store.set_shopify(product_id, legacy_id(product["id"]), product["id"], product.get("handle"),
                              {s: v for s, v in by_sku.items() if s in skus})
            # A product retired while its line was in flight stays retired (retire archives it).
            keep = detail["status"] in ("retired", "archived")
            detail = store.set_published(product_id, digest, None if keep else "active", mode="live")
            ActivityStore(conn, user_id).log("product.published", "product", product_id,
                                             {"gid": product["id"], "dry_run": False, "variants": len(by_sku),
                                              "bulk_operation": op_id})
        return PublishResult(product_id, product["id"], product.get("handle"), len(by_sku),
                             ProductService._admin_url(client, legacy_id(product["id"]), False), False, detail["status"])

    # -- sending ------------------------------------------------------------------------------------

    def _to_send(self, user_id: str, product_ids: Sequence[str]) -> list[tuple[ProductDetail, str]]:
        """The products the per-product path would send now, with the digests of their ``productSet``
        inputs (:func:`~haven_pipelines.domain.shopify_input.product_set_digest`, as that path stores)."""
        out = []
        with self.engine.connect() as conn:
            costs = user_costs(PricingStore(conn, user_id))
        for product_id in product_ids:
            with self.engine.connect() as conn:
                detail = ProductStore(conn, user_id).get(product_id)
            if detail["status"] in ("retired", "archived") or detail["shopify_deleted_at"] is not None:
                continue  # a product deleted on Shopify is reported by the per-product path, never recreated here
            digest = product_set_digest(spec_from_detail(detail, costs))
            if (detail["published_mode"] == "live" and detail["published_digest"] == digest
                    and detail["status"] != "sync_error" and detail["shopify_product_gid"]):
                continue
            if not self.products.approval_state(user_id, product_id)["approved"]:
                continue
            out.append((detail, digest))
        return out

    def _send(self, user_id: str, client, bulk: ShopifyBulk, to_send: list[tuple[ProductDetail, str]]) -> dict[str, Outcome]:
        """One bulk operation for ``to_send``: stage, record, start, store the id, wait, apply."""
        outcomes: dict[str, Outcome] = {}
        lines: list[dict[str, Any]] = []
        order: list[dict[str, str]] = []
        with self.engine.connect() as conn:
            costs = user_costs(PricingStore(conn, user_id))
        for detail, digest in to_send:
            try:
                spec = spec_from_detail(detail, costs)
                urls = [self.products._image_url(client, image) for image in spec.images]
                variables = {"input": product_set_input(spec, image_urls=urls, status="ACTIVE"),
                             "identifier": product_set_identifier(detail["shopify_product_gid"], detail["handle"])}
            except (ShopifyError, HavenError) as exc:
                message = sync_message(exc)
                with self.engine.begin() as conn:
                    ProductStore(conn, user_id).set_sync_error(detail.id, message)
                outcomes[detail.id] = PublishError(f"publishing product {detail.id} failed: {message}")
                continue
            lines.append(variables)
            order.append({"product_id": detail.id, "digest": digest})
        if not lines:
            return outcomes
        try:
            path = bulk.stage_jsonl(lines)
        except ShopifyError as exc:
            log.warning("bulk file not staged, publishing one by one: %s", exc)
            return outcomes  # nothing was sent
        with self.engine.begin() as conn:
            row = BulkOperationStore(conn, user_id).create(client.shop_domain, order)
        try:
            op = bulk.run_mutation(BULK_PRODUCT_SET, path, client_identifier=row["id"])
        except ShopifyUserErrors as exc:
            # Shopify refused to start (e.g. another app run holds its limit): nothing was sent, so
            # the products go one by one in this run instead.
            with self.engine.begin() as conn:
                BulkOperationStore(conn, user_id).mark_abandoned(row["id"], str(exc))
            log.warning("bulk publish not started, publishing one by one: %s", exc)
            return outcomes
        except ShopifyError as exc:
            # The start may or may not have reached Shopify: send nothing more now. The row stays
            # ``starting``; the next run abandons it and sends these products again (upserts).
            why = f"the start of a bulk publish was not confirmed ({exc}); the next run sends it again"
            outcomes.update({line["product_id"]: Conflict(f"product {line['product_id']}: {why}") for line in order})
            return outcomes
        with self.engine.begin() as conn:
            row = BulkOperationStore(conn, user_id).set_started(row["id"], op.id, op.status)
        log.info("bulk operation %s started for %d product(s)", op.id, len(lines))
        if self.after_start is not None:
            self.after_start(op.id)
        try:
            done = bulk.wait(op.id, timeout=self.options.wait_seconds)
        except ShopifyError as exc:
            # The operation goes on at Shopify; the next run collects it.
            why = f"in bulk operation {op.id}, not finished yet ({exc}); the next run collects it"
            outcomes.update({line["product_id"]: Conflict(f"product {line['product_id']}: {why}") for line in order})
            return outcomes
        outcomes.update(self._apply(user_id, client, bulk, row, done))
        return outcomes


def remote_product_lookup(ctx, client, count: int, *, options: BulkOptions | None = None) -> Callable[[str], ShopifyProduct | None]:
    """How reconcile reads Shopify's copy of a product by GID: one query each, or one bulk query for all.

    Above :func:`bulk_threshold` products (and on a live shop), the whole catalogue is read with one
    ``bulkOperationRunQuery`` first; a GID missing from it is a product deleted on Shopify.

    Raises:
        ShopifyError: the bulk query failed or did not finish in time.
    """
    if client.dry_run or count <= bulk_threshold(ctx):
        return client.get_product
    options = options or BulkOptions()
    with ShopifyBulk(client, poll_first=options.poll_first, poll_max=options.poll_max) as bulk:
        op = bulk.wait(bulk.run_query(BULK_PRODUCTS_QUERY).id, timeout=options.wait_seconds)
        if op.status != "COMPLETED":
            raise ShopifyResponseError(f"bulk read {op.id} ended {op.status} ({op.error_code})", operation="BulkProducts")
        remote = products_from_bulk_lines(bulk.lines(op))
    return remote.get
