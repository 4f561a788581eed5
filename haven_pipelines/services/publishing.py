"""Sending products to Shopify, and only what changed.

The database remembers what the shop has: per product the digest of the last ``productSet`` input
the shop accepted (``products.published_digest``, with ``published_mode`` saying whether a live
shop or the dry run accepted it), and per image the Shopify media id it became with the SHA-256 of
its bytes (``product_images.shopify_media_id`` and ``shopify_media_digest``). A catalogue run then:

- sends nothing for a product whose input digest is unchanged (no staged upload, no mutation);
- sends one ``productSet`` for a changed product, citing each image the shop already has by its
  file id (``FileSetInput.id``: nothing fetched or processed again) and uploading only new or
  changed images, all of them staged with one ``stagedUploadsCreate`` call;
- never recreates a product found deleted on Shopify (an operator's ``haven products publish`` does).

The dry run follows the same rules against its own record (``published_mode = dry_run``), so the
outbox holds only what would be sent. A live run trusts only what a live publish recorded.

:class:`PublishSession` publishes any number of one user's products through one client and keeps a
:class:`PublishTally` of the run: sent, unchanged, failed, deleted on Shopify, images uploaded and
reused, staged-upload calls and the throttle points Shopify charged.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.products import ProductDetail, ProductStore
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.domain.shopify_input import product_set_digest, product_set_identifier, product_set_input
from haven_pipelines.integrations.shopify.errors import ShopifyError, ShopifyUserErrors
from haven_pipelines.integrations.shopify.models import ProductSetResult, UploadFile

if TYPE_CHECKING:
    from haven_pipelines.domain.catalogue import ProductSpec
    from haven_pipelines.services.products import ProductService, PublishResult

DELETED_MESSAGE = "deleted on Shopify; run `haven products publish {product_id}` to recreate it"


class PublishError(HavenError):
    """Publishing failed; the product's ``sync_error`` holds the same message and its status is ``sync_error``."""


class DeletedOnShopify(HavenError):
    """The product was deleted on Shopify: reported, and recreated only when an operator publishes it."""


@dataclass
class PublishTally:
    """What one run of publishing did (added up over products and users)."""

    sent: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted_on_shopify: int = 0
    images_uploaded: int = 0
    images_reused: int = 0
    staged_upload_calls: int = 0  # stagedUploadsCreate calls for images (a bulk operation's JSONL file is not counted)
    points_spent: float = 0.0

    def add(self, other: PublishTally) -> PublishTally:
        """Add ``other``'s counts to this tally (returns self)."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self

    def as_dict(self) -> dict[str, int | float]:
        """The counts as a plain dict (points rounded to one decimal)."""
        values = asdict(self)
        values["points_spent"] = round(self.points_spent, 1)
        return values


@dataclass(frozen=True)
class ImagePlan:
    """How one product's images travel: by file id, by URL, or staged; and the media each becomes."""

    urls: list[str | None]
    file_ids: list[str | None]
    #: (image row id, SHA-256 of its bytes or None) of each file sent, in ``files`` order.
    sent: list[tuple[str, str | None]]
    uploaded: int
    reused: int


@dataclass(frozen=True)
class Prepared:
    """One product checked for publishing: its spec and the digest of its ``productSet`` input.

    ``unchanged`` says the shop (or the dry run's record) already accepted exactly this input;
    ``trusted`` that the stored media ids may be cited; ``deleted`` that it was deleted on Shopify
    (only an operator's publish gets this far with it).
    """

    detail: ProductDetail
    spec: ProductSpec
    digest: str
    trusted: bool
    deleted: bool
    unchanged: bool

    @property
    def product_id(self) -> str:
        """The product's id."""
        return self.detail.id

    @property
    def identifier_is_id(self) -> bool:
        """True when the ``productSet`` upserts by the stored GID (not by handle)."""
        return bool(self.detail["shopify_product_gid"]) and not self.deleted

    def product_set(self, plan: ImagePlan) -> tuple[dict, dict]:
        """The ``productSet`` input and identifier for this product with its images as ``plan`` says."""
        variables = product_set_input(self.spec, image_urls=plan.urls, file_ids=plan.file_ids, status="ACTIVE")
        # A product deleted on Shopify is recreated (by handle) only on an operator's request.
        identifier = product_set_identifier(None if self.deleted else self.detail["shopify_product_gid"], self.detail["handle"])
        return variables, identifier


class PublishSession:
    """One user's Shopify client (live or dry run) for publishing many products in one run.

    Made by :meth:`haven_pipelines.services.products.ProductService.publishing`; read :attr:`tally`
    after the products are published. :meth:`publish` sends one product with its own ``productSet``;
    the bulk path (:mod:`haven_pipelines.services.bulk_publish`) uses the same steps for each line:
    :meth:`prepare`, :meth:`plan_images` (one staged upload for a whole batch), :meth:`accepted`
    and :meth:`failed`, so both paths send and record by the same rules.
    """

    def __init__(self, service: ProductService, user_id: str, client, entries: list):
        self.service = service
        self.user_id = user_id
        self.client = client
        self.entries = entries
        self.tally = PublishTally()
        self._costs: dict[str, Decimal] | None = None
        self._auto: bool | None = None

    @property
    def dry_run(self) -> bool:
        """True when nothing is sent (the outbox records what would be)."""
        return bool(self.client.dry_run)

    def points(self) -> float:
        """Throttle points the session's client has been charged so far (0 in dry run)."""
        stats = getattr(self.client, "stats", None)
        return stats().points_spent if callable(stats) else 0.0

    def publish(self, product_id: str, *, require_approval: bool = True, skip_unchanged: bool = False,
                detail: ProductDetail | None = None) -> PublishResult:
        """Publish one product (see :meth:`ProductService.publish` for the arguments and errors);
        ``detail`` is the product as the caller has just read it (else it is read here).

        Raises:
            DeletedOnShopify: ``skip_unchanged`` (a catalogue run) and the product was deleted on
                Shopify; or Shopify says the product no longer exists.
        """
        from haven_pipelines.services.products import PublishResult

        try:
            prepared = self.prepare(product_id, require_approval=require_approval, skip_unchanged=skip_unchanged,
                                    detail=detail)
        except DeletedOnShopify:
            self.tally.deleted_on_shopify += 1
            raise
        detail = prepared.detail
        if prepared.unchanged:
            self.tally.unchanged += 1
            return PublishResult(product_id, detail["shopify_product_gid"], detail["shopify_handle"] or detail["handle"],
                                 len(detail.variants), None, self.dry_run, detail["status"], unchanged=True)
        points_before = self.points()
        self.entries.clear()
        plan: ImagePlan | None = None
        try:
            [plan] = self.plan_images([prepared])
            variables, identifier = prepared.product_set(plan)
            result = self.client.product_set(variables, identifier, with_media=bool(variables["files"]))
        except (ShopifyError, HavenError) as exc:
            self.tally.points_spent += self.points() - points_before
            self.service._record(self.user_id, product_id, self.entries)
            self.entries.clear()
            raise self.failed(product_id, plan.sent if plan is not None else [], exc,
                              identifier_was_id=prepared.identifier_is_id) from exc
        outbox_ids = self.service._record(self.user_id, product_id, self.entries)
        self.entries.clear()
        points = self.points() - points_before
        self.tally.points_spent += points
        return self.accepted(product_id, prepared.digest, result, plan, detail=detail, outbox_ids=outbox_ids,
                             points=points, recreated=prepared.deleted)

    def prepare(self, product_id: str, *, require_approval: bool = True, skip_unchanged: bool = False,
                detail: ProductDetail | None = None) -> Prepared:
        """Check that the product may be published now and compute the digest of its ``productSet``
        input (nothing is sent, nothing counted).

        Raises:
            Conflict: retired or archived, or its content waits for approval.
            DeletedOnShopify: ``skip_unchanged`` and the product was deleted on Shopify.
        """
        from haven_pipelines.services.products import spec_from_detail

        if detail is None or detail.id != product_id:
            with self.service.engine.connect() as conn:
                detail = ProductStore(conn, self.user_id).get(product_id)
        if detail["status"] in ("retired", "archived"):
            raise Conflict(f"product {product_id} is {detail['status']}; it cannot be published")
        if require_approval and not self._autopilot():
            state = self.service.approval_state(self.user_id, product_id, detail=detail)
            if not state["approved"]:
                changes = [c for c in state["changes"] if c != "new"]
                what = f"its changes ({', '.join(changes)}) are" if changes and detail["published_digest"] else "it is"
                raise Conflict(f"product {product_id}: {what} waiting for approval")
        deleted = detail["shopify_deleted_at"] is not None
        if deleted and skip_unchanged:
            raise DeletedOnShopify(f"product {product_id} was {DELETED_MESSAGE.format(product_id=product_id)}")
        spec = spec_from_detail(detail, self._user_costs())
        digest = product_set_digest(spec)
        mode = "dry_run" if self.dry_run else "live"
        # What the database says the shop has counts only if this kind of publish recorded it.
        trusted = detail["published_mode"] == mode and (self.dry_run or bool(detail["shopify_product_gid"])) and not deleted
        unchanged = (skip_unchanged and trusted and detail["published_digest"] == digest
                     and detail["status"] != "sync_error")
        return Prepared(detail, spec, digest, trusted, deleted, unchanged)

    def plan_images(self, products: list[Prepared]) -> list[ImagePlan]:
        """Decide how each image of ``products`` travels, and stage every image that needs it with
        ONE ``stagedUploadsCreate`` call for all of them (none when every image is cited by file id
        or fetched from a public URL).

        Raises:
            ShopifyError: the staged upload failed (nothing was published).
        """
        blob = self.service.ctx.blob_store
        plans: list[tuple[list, list, list, int]] = []
        staged: list[tuple[int, int, UploadFile]] = []  # (product index, image index, file)
        for number, prepared in enumerate(products):
            urls: list[str | None] = []
            file_ids: list[str | None] = []
            sent: list[tuple[str, str | None]] = []
            reused = 0
            for index, (row, image) in enumerate(zip(prepared.detail.images, prepared.spec.images, strict=True)):
                if prepared.trusted and row["shopify_media_id"]:
                    urls.append(None)
                    file_ids.append(row["shopify_media_id"])
                    sent.append((row["id"], row["shopify_media_digest"]))
                    reused += 1
                    continue
                file_ids.append(None)
                # The bytes are read even when Shopify fetches a public URL: their digest is recorded
                # with the media id, so the database says which bytes each media was made from.
                data = blob.get(image.key) if image.key else None
                image_digest = hashlib.sha256(data).hexdigest() if data is not None else None
                url = blob.public_url(image.key) if image.key else None
                if url is None and image.src and image.src.startswith("https://"):
                    url = image.src
                if url is None and data is not None:
                    filename = image.key.rsplit("/", 1)[-1]
                    staged.append((number, index, UploadFile(filename, mimetypes.guess_type(filename)[0] or "image/jpeg", data)))
                urls.append(url)
                if url is not None or data is not None:
                    sent.append((row["id"], image_digest))
            plans.append((urls, file_ids, sent, reused))
        if staged:
            resource_urls = self.client.staged_uploads([f for _, _, f in staged])
            for (number, index, _), resource_url in zip(staged, resource_urls, strict=True):
                plans[number][0][index] = resource_url
            self.tally.staged_upload_calls += 1
        return [ImagePlan(urls, file_ids, sent, sum(1 for u in urls if u is not None), reused)
                for urls, file_ids, sent, reused in plans]

    def accepted(self, product_id: str, digest: str, result: ProductSetResult, plan: ImagePlan, *,
                 detail: ProductDetail | None = None, outbox_ids: tuple[int, ...] = (), points: float = 0.0,
                 recreated: bool = False, log_extra: dict | None = None) -> PublishResult:
        """Record that the shop (or the dry run) accepted the product's ``productSet``: its Shopify
        ids, the input digest, each sent image's media id with its bytes digest, the activity log and
        the tally (``points`` are the caller's to add: a bulk operation's are not per line).

        ``detail`` is the product as read before sending; without it (a bulk line collected later)
        it is read here, and a product retired meanwhile stays retired.
        """
        from haven_pipelines.services.products import PublishResult

        media = None
        if result.media_complete and len(result.media) == len(plan.sent):
            media = {row_id: (m.id, image_digest) for (row_id, image_digest), m in zip(plan.sent, result.media, strict=True)}
        by_sku = result.variant_ids_by_sku()
        with self.service.engine.begin() as conn:
            store = ProductStore(conn, self.user_id)
            if detail is None:
                detail = store.get(product_id)
            skus = {v["sku"] for v in detail.variants}
            if self.dry_run:
                # Nothing reached Shopify: keep no synthetic product GID (a later live publish upserts
                # by handle); the outbox says what would be sent.
                status = "approved" if detail["status"] == "sync_error" else detail["status"]
                store.set_published(product_id, digest, status if status != detail["status"] else None,
                                    mode="dry_run", media=media or {})
            else:
                store.set_shopify(product_id, result.legacy_id, result.id, result.handle,
                                  {s: v for s, v in by_sku.items() if s in skus})
                # A product retired while a bulk line was in flight stays retired (retire archives it).
                keep = detail["status"] in ("retired", "archived")
                status = detail["status"] if keep else "active"
                store.set_published(product_id, digest, None if keep else "active", mode="live", media=media or {})
            ActivityStore(conn, self.user_id).log("product.published", "product", product_id, {
                "gid": None if self.dry_run else result.id, "dry_run": self.dry_run, "variants": len(result.variants),
                "outbox_ids": list(outbox_ids), "images_uploaded": plan.uploaded, "images_reused": plan.reused,
                "recreated": recreated, **(log_extra or {}),
            })
        self.tally.sent += 1
        self.tally.images_uploaded += plan.uploaded
        self.tally.images_reused += plan.reused
        return PublishResult(product_id, None if self.dry_run else result.id, result.handle, len(result.variants),
                             self.service._admin_url(self.client, result.legacy_id, self.dry_run), self.dry_run, status,
                             outbox_ids, images_uploaded=plan.uploaded, images_reused=plan.reused, points_spent=points)

    def _autopilot(self) -> bool:
        """Whether the user's products need no approval (read once per session: a run is a moment)."""
        if self._auto is None:
            from haven_pipelines.db.stores.users import SettingsStore
            from haven_pipelines.domain.approval import auto_approve

            with self.service.engine.connect() as conn:
                settings = SettingsStore(conn, self.user_id).get()
            self._auto = auto_approve(settings["global_mode"], settings["module_overrides"], module="products")
        return self._auto

    def _user_costs(self) -> dict[str, Decimal]:
        if self._costs is None:
            from haven_pipelines.db.stores.pricing import PricingStore
            from haven_pipelines.services.products import user_costs

            with self.service.engine.connect() as conn:
                self._costs = user_costs(PricingStore(conn, self.user_id))
        return self._costs

    def failed(self, product_id: str, sent: list[tuple[str, str | None]], exc: Exception, *,
               identifier_was_id: bool, log_extra: dict | None = None) -> HavenError:
        """Record a refused or failed publish and return the error the caller raises or reports.

        ``sent`` is the plan's (image row id, digest) per file, so that a file id the shop no longer
        knows is forgotten and that image uploaded next time. Shopify saying the product does not
        exist (when it was cited by GID) marks it deleted on Shopify instead of ``sync_error``.
        """
        message = sync_message(exc)
        errors = exc.user_errors if isinstance(exc, ShopifyUserErrors) else []
        gone = identifier_was_id and any(e.code == "PRODUCT_DOES_NOT_EXIST" for e in errors)
        # A file id the shop no longer knows (deleted in the admin): upload that image next time.
        stale = {int(e.field[2]) for e in errors
                 if len(e.field) >= 4 and e.field[:2] == ("input", "files") and e.field[2].isdigit() and e.field[3] == "id"}
        with self.service.engine.begin() as conn:
            store = ProductStore(conn, self.user_id)
            if gone:
                store.mark_deleted_on_shopify(product_id, DELETED_MESSAGE.format(product_id=product_id))
            else:
                if stale:
                    store.forget_published(product_id, [sent[i][0] for i in sorted(stale) if i < len(sent)])
                store.set_sync_error(product_id, message)
            ActivityStore(conn, self.user_id).log("product.sync_failed", "product", product_id,
                                                  {"error": message, **(log_extra or {})})
        if gone:
            self.tally.deleted_on_shopify += 1
            return DeletedOnShopify(f"product {product_id} was {DELETED_MESSAGE.format(product_id=product_id)}")
        self.tally.failed += 1
        return PublishError(f"publishing product {product_id} failed: {message}")


def sync_message(exc: Exception) -> str:
    """The text stored in ``sync_error``: every user error of a refusal, else the error's message."""
    if isinstance(exc, ShopifyUserErrors):
        return "; ".join(str(e) for e in exc.user_errors) or str(exc)
    return str(exc)
