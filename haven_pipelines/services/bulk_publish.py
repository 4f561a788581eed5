"""Large sets go to Shopify in one bulk operation, and a run that dies collects its result next time.

A catalogue run (the ``shopify_listings`` asset) hands each user's products to
:meth:`BulkPublisher.publish_large_set` before publishing them one by one:

1. **Collect first.** Every bulk publish of this user and shop that was started but whose result
   was not applied (``shopify_bulk_operations``) is waited for and applied. Its products are then
   published (or failed) and the rest of the run does not send them again. A row whose start was
   never confirmed by Shopify is marked ``abandoned``: its products are sent again, which is safe,
   since every line upserts by the product's GID or handle and never makes a second product.
2. **Decide.** The products to send are those the per-product path would send, decided by the
   same code (:meth:`PublishSession.prepare <haven_pipelines.services.publishing.PublishSession.prepare>`):
   not retired, their content approved (or needing no approval), not deleted on Shopify, and not
   already accepted with this ``productSet`` input digest. When there are no more than ``threshold``
   (``HAVEN_SHOPIFY_BULK_THRESHOLD``), nothing more happens here and each is published with its own
   ``productSet`` as before.
3. **Send in bulk.** Above the threshold, the images are planned as the per-product path plans
   them (:meth:`~haven_pipelines.services.publishing.PublishSession.plan_images`): an image the shop
   has is cited by its file id, and the new ones of the whole batch are staged with ONE
   ``stagedUploadsCreate`` call. One JSONL line per product (``productSet`` input and identifier) is
   staged with ``stagedUploadsCreate`` (``BULK_MUTATION_VARIABLES``), a row is written (line order,
   each line's input digest and the image rows it sends), ``bulkOperationRunMutation`` starts the
   operation and its id is stored before the run waits. Then the run polls with backoff, downloads
   the result and applies each line as the per-product path applies its answer
   (:meth:`~haven_pipelines.services.publishing.PublishSession.accepted`: Shopify ids, input digest,
   media ids with their bytes digests; or
   :meth:`~haven_pipelines.services.publishing.PublishSession.failed`: ``sync_error`` with Shopify's
   message). Every outcome, and the throttle points of the bulk requests, count in the session's
   tally, so the run's metadata and summary include what went in bulk.

One bulk mutation at a time per shop, from this project: a new one starts only when none of ours
is unfinished (Shopify's own limit is five at once from API 2026-01, one before). A dry run (no
connected shop) never uses bulk operations: each product's ``productSet`` is recorded in the outbox,
which is what a person reads.

Reconcile of a large catalogue reads the shop with one ``bulkOperationRunQuery``
(:func:`remote_product_lookup`) instead of one query per product.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from haven_pipelines.db.stores.bulk_operations import BulkOperationStore
from haven_pipelines.db.stores.products import ProductDetail
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.integrations.shopify.bulk import (
    BulkLineResult,
    BulkOperation,
    ShopifyBulk,
    product_set_result,
    products_from_bulk_lines,
)
from haven_pipelines.integrations.shopify.bulk_documents import BULK_PRODUCT_SET, BULK_PRODUCTS_QUERY
from haven_pipelines.integrations.shopify.errors import ShopifyError, ShopifyResponseError, ShopifyUserErrors, UserError
from haven_pipelines.integrations.shopify.models import ShopifyProduct
from haven_pipelines.services.products import ProductService, PublishError, PublishResult
from haven_pipelines.services.publishing import ImagePlan, Prepared, PublishSession
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

    def publish_large_set(self, user_id: str, product_ids: Sequence[str], *, session: PublishSession | None = None,
                          details: Mapping[str, ProductDetail] | None = None) -> dict[str, Outcome]:
        """Collect unfinished bulk publishes, then send ``product_ids`` in bulk when they are many.

        Each line is prepared and recorded by ``session`` (a catalogue run's
        :meth:`ProductService.publishing`; one is opened here without it) with the per-product
        path's rules, and counted in its tally: sent, failed, images uploaded and reused, and the
        throttle points the bulk requests cost. ``details`` are products as the caller has just read
        them (a catalogue run reads its batch in a few queries), so they are not read again one by one.

        Returns:
            An outcome for each product handled here (collected, sent in bulk, or waiting for a
            bulk operation still running); the caller publishes the others one by one.
        """
        if session is None:
            if self.products._connection(user_id) is None:
                return {}  # no shop: a dry run, or live mode's error, which the per-product path reports
            with self.products.publishing(user_id) as own:
                return self.publish_large_set(user_id, product_ids, session=own, details=details)
        if session.dry_run:
            return {}
        points_before = session.points()
        try:
            with ShopifyBulk(session.client, poll_first=self.options.poll_first, poll_max=self.options.poll_max) as bulk:
                outcomes, still_running = self._collect(session, bulk)
                pending = [p for p in product_ids if p not in outcomes]
                if len(pending) <= self.threshold:
                    return outcomes  # cannot be more than the threshold to send: skip reading them twice
                to_send = self._to_send(session, pending, details or {})
                if len(to_send) <= self.threshold:
                    return outcomes
                if still_running:
                    # One bulk mutation at a time: these wait for the next run, as do the running one's.
                    why = f"waiting for bulk operation {still_running} to finish before another is sent"
                    outcomes.update({p.product_id: Conflict(f"product {p.product_id}: {why}") for p in to_send})
                    return outcomes
                outcomes.update(self._send(session, bulk, to_send))
                return outcomes
        finally:
            session.tally.points_spent += session.points() - points_before

    # -- collecting ---------------------------------------------------------------------------------

    def _collect(self, session: PublishSession, bulk: ShopifyBulk) -> tuple[dict[str, Outcome], str | None]:
        """Apply every unfinished bulk publish of this shop; returns outcomes and a GID still running."""
        user_id = session.user_id
        outcomes: dict[str, Outcome] = {}
        with self.engine.connect() as conn:
            rows = BulkOperationStore(conn, user_id).unfinished(session.client.shop_domain)
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
            outcomes.update(self._apply(session, bulk, row, op))
        return outcomes, None

    def _apply(self, session: PublishSession, bulk: ShopifyBulk, row, op: BulkOperation) -> dict[str, Outcome]:
        """Apply each result line to its product as the per-product path records an answer (the
        session's :meth:`~PublishSession.accepted` and :meth:`~PublishSession.failed`); lines
        without a result fail with the operation's end."""
        results: dict[int, BulkLineResult] = {r.line: r for r in bulk.mutation_results(op)}
        outcomes: dict[str, Outcome] = {}
        missing = 0
        extra = {"bulk_operation": op.id}
        for number, line in enumerate(row["lines"]):
            product_id, digest = line["product_id"], line["digest"]
            plan = _line_plan(line)
            result = results.get(number)
            try:
                if result is not None and result.ok:
                    outcomes[product_id] = session.accepted(product_id, digest, product_set_result(result), plan,
                                                            log_extra=extra)
                    continue
                if result is None:
                    missing += 1
                    exc: Exception = PublishError(
                        f"bulk operation {op.id} ended {op.status}"
                        f"{f' ({op.error_code})' if op.error_code else ''} before this product's line ran")
                else:
                    exc = ShopifyUserErrors(result.errors or (UserError((), "refused"),), operation="BulkProductSet")
                outcomes[product_id] = session.failed(product_id, plan.sent, exc,
                                                      identifier_was_id=bool(line.get("by_id")), log_extra=extra)
            except (ShopifyError, HavenError) as exc:  # deleted here meanwhile, or Shopify's answer does not fit it
                outcomes[product_id] = exc
        with self.engine.begin() as conn:
            BulkOperationStore(conn, session.user_id).mark_collected(
                row["id"], op.status, f"{missing} line(s) without a result" if missing else None)
        return outcomes

    # -- sending ------------------------------------------------------------------------------------

    def _to_send(self, session: PublishSession, product_ids: Sequence[str],
                 details: Mapping[str, ProductDetail]) -> list[Prepared]:
        """The products the per-product path would send now (:meth:`PublishSession.prepare` of a
        catalogue run): approved, not retired, not deleted on Shopify (that path reports those,
        never recreates them here) and not already accepted with this ``productSet`` input."""
        out = []
        for product_id in product_ids:
            try:
                prepared = session.prepare(product_id, skip_unchanged=True, detail=details.get(product_id))
            except HavenError:
                continue  # waiting, retired, deleted: the per-product path says so, and counts it
            if not prepared.unchanged:
                out.append(prepared)
        return out

    def _send(self, session: PublishSession, bulk: ShopifyBulk, to_send: list[Prepared]) -> dict[str, Outcome]:
        """One bulk operation for ``to_send``: plan the images (one staged upload for all the new
        ones), stage the JSONL, record, start, store the id, wait, apply."""
        user_id, client = session.user_id, session.client
        outcomes: dict[str, Outcome] = {}
        try:
            plans = session.plan_images(to_send)
        except (ShopifyError, HavenError) as exc:
            log.warning("images not staged for a bulk publish, publishing one by one: %s", exc)
            return outcomes  # nothing was sent
        lines: list[dict[str, Any]] = []
        order: list[dict[str, Any]] = []
        for prepared, plan in zip(to_send, plans, strict=True):
            variables, identifier = prepared.product_set(plan)
            lines.append({"input": variables, "identifier": identifier})
            # What applying the line needs, kept with the row: a run that dies collects it later.
            order.append({"product_id": prepared.product_id, "digest": prepared.digest, "by_id": prepared.identifier_is_id,
                          "images": [list(sent) for sent in plan.sent], "uploaded": plan.uploaded, "reused": plan.reused})
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
        outcomes.update(self._apply(session, bulk, row, done))
        return outcomes


def _line_plan(line: dict[str, Any]) -> ImagePlan:
    """The image plan a bulk line was sent with, as its row keeps it (rows written before images
    were kept have none: their media ids are then not stored, and the images go again next time)."""
    sent = [(str(row_id), digest) for row_id, digest in line.get("images") or ()]
    return ImagePlan(urls=[], file_ids=[], sent=sent, uploaded=int(line.get("uploaded") or 0), reused=int(line.get("reused") or 0))


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
