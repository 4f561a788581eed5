"""Products: build from the catalogue profile, create on request, publish to Shopify, retire, reconcile.

Haven Hub published through Shopify's legacy REST product API, one call per variant, and its retire
left the product live on Shopify (a TODO). Here a product is published with one ``productSet`` call
that upserts by the stored GID or the product's stable handle (so a retry after a timeout or a crash
never creates a second product), and retiring archives it on Shopify.

Shopify is live for a user with a connected shop (``haven shopify connect``), else a dry run that
validates every mutation against the pinned schema and records it in ``shopify_outbox``.

In supervised and assisted mode a product publishes only when its current content is the approved
content (a digest kept with the approval; see :mod:`haven_pipelines.services.approvals` for the
whole flow), and the catalogue runs publish a product only when its content differs from what was
last published (``products.published_digest``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, insert, select

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.approvals import DECISIONS, ApprovalStore
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.products import ProductDetail, ProductStore
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.db.tables import mockups as mockups_table
from haven_pipelines.db.tables import new_id, shopify_outbox
from haven_pipelines.db.tenancy import act_as
from haven_pipelines.domain.approval import (
    auto_approve,
    content_changes,
    content_digest,
    product_content,
    product_status,
)
from haven_pipelines.domain.catalogue import (
    DesignInfo,
    ImageSpec,
    MockupImage,
    ProductSpec,
    VariantSpec,
    build_product_spec,
)
from haven_pipelines.domain.errors import Conflict, HavenError, NotFound, ValidationError
from haven_pipelines.domain.product_request import ResolvedImage, build_request_spec, validate_product_request
from haven_pipelines.domain.shopify_input import archive_input, product_set_identifier, product_set_input  # noqa: F401
from haven_pipelines.integrations.shopify.errors import ShopifyError
from haven_pipelines.services.approvals import product_digest
from haven_pipelines.services.publishing import (  # noqa: F401 - PublishError and DeletedOnShopify are raised from here too
    DELETED_MESSAGE,
    DeletedOnShopify,
    PublishError,
    PublishSession,
    PublishTally,
    sync_message,
)

log = logging.getLogger(__name__)

RETIRE_REASONS = ("underperformer", "manual", "seasonal")


@dataclass(frozen=True)
class BuildResult:
    """A product built (or rebuilt in place) for a design."""

    product_id: str
    created: bool
    variant_count: int
    image_count: int
    status: str
    approval_item_id: str | None = None
    changed: bool = True
    """False when the rebuild wrote nothing: the stored rows and status were already what it built."""


@dataclass(frozen=True)
class PublishResult:
    """Where a product now is on Shopify (or would be, in a dry run)."""

    product_id: str
    shopify_gid: str | None
    handle: str | None
    variant_count: int
    admin_url: str | None
    dry_run: bool
    status: str
    outbox_ids: tuple[int, ...] = ()
    unchanged: bool = False  # nothing sent: the shop already accepted this exact input
    images_uploaded: int = 0  # files sent by URL or staged upload (new to the shop)
    images_reused: int = 0  # files cited by the id of the media the shop already has
    points_spent: float = 0.0  # throttle points Shopify charged for this publish (0 in dry run)


@dataclass
class ReconcileReport:
    """Local products compared with Shopify: what differs, what is gone there, what was fixed."""

    checked: int = 0
    drifted: list[dict] = field(default_factory=list)
    missing_on_shopify: list[dict] = field(default_factory=list)
    fixed: int = 0
    dry_run: bool = False


class ProductService:
    """The product use cases for one deployment (``ctx`` is an AppContext)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.engine = ctx.engine
        self.profile = ctx.catalogue_profile

    # -- building -------------------------------------------------------------------------------

    def product_for_design(self, user_id: str, asset_id: str) -> ProductDetail | None:
        """The product built for design ``asset_id``, or None."""
        with self.engine.connect() as conn:
            return ProductStore(conn, user_id).find_by_asset(asset_id)

    def products_for_designs(self, user_id: str, asset_ids: list[str]) -> dict[str, ProductDetail]:
        """The products built for the designs ``asset_ids`` (by design id; designs without one are left out)."""
        with self.engine.connect() as conn:
            return ProductStore(conn, user_id).find_by_assets(asset_ids)

    def design_of(self, user_id: str, product_id: str) -> str | None:
        """The design a product was built from (None for a manual product); NotFound for another user's."""
        with self.engine.connect() as conn:
            return ProductStore(conn, user_id).get(product_id)["asset_id"]

    def build_for_design(self, user_id: str, asset_id: str) -> BuildResult:
        """Build the design's product from the catalogue profile, or rebuild the existing one in place.

        The design must be approved. Images are the design and its approved mockups. In autopilot
        (the ``products`` module, else the global mode) the product needs no review and is
        ``approved`` at once. Otherwise (supervised, assisted) it stays a ``draft`` while any of the
        design's mockups waits for a decision or a render, and then asks for approval of its exact
        content (``awaiting_approval``); a rebuild with the same content keeps the decision, one with
        other content reopens it naming the changes (see :mod:`haven_pipelines.services.approvals`).
        A retired or archived product is left as it is.
        """
        with self.engine.begin() as conn:
            design = DesignStore(conn, user_id).get_design(asset_id)
            if design["approval_status"] != "approved":
                raise ValidationError("asset_id", f"design {asset_id} is not approved ({design['approval_status']})")
            products = ProductStore(conn, user_id)
            existing = products.find_by_asset(asset_id)
            if existing is not None and existing["status"] in ("retired", "archived"):
                return BuildResult(existing.id, False, len(existing.variants), len(existing.images), existing["status"])
            mockups = MockupStore(conn, user_id).approved_for_design(asset_id)
            pricing = PricingStore(conn, user_id)
            product_id = existing.id if existing else new_id()
            spec = build_product_spec(
                self.profile,
                DesignInfo(asset_id=asset_id, file_url=design["file_url"], file_key=design["file_key"],
                           quote_id=design["quote_id"], text=design["quote_text"], attribution=design["attribution"],
                           collection=design["collection"], mood=design["mood"]),
                [MockupImage(mockup_id=m["id"], scene=m["scene"], status=m["status"], file_url=m["file_url"],
                             file_key=m["file_key"]) for m in mockups],
                pricing.user_rows(), pricing.system_rows(), product_id,
            )
            if existing:
                detail = products.replace_variants_and_images(
                    product_id, spec.variants, spec.images, title=spec.title, description=spec.description_html,
                    collection=spec.collection, tags=list(spec.tags), current=existing,
                )
            else:
                detail = products.create(
                    title=spec.title, description=spec.description_html, collection=spec.collection,
                    tags=list(spec.tags), handle=spec.handle, asset_id=asset_id, quote_id=design["quote_id"],
                    variants=spec.variants, images=spec.images, status="draft", product_id=product_id,
                )
            changed = existing is None or detail["updated_at"] != existing["updated_at"]
            review, approval_id = self._route(conn, user_id, detail, _mockups_settled(conn, user_id, asset_id))
            status = product_status(detail["status"], review)
            if status != detail["status"]:
                detail = products.set_status(product_id, status)
                changed = True
            digest = product_digest(detail)
            # Log content changes only: a rebuild that changes nothing leaves no trace but updated_at.
            if existing is None or digest != product_digest(existing):
                ActivityStore(conn, user_id).log(
                    "product.rebuilt" if existing else "product.created", "product", product_id,
                    {"asset_id": asset_id, "variants": len(detail.variants), "images": len(detail.images),
                     "digest": digest, "review": review},
                )
        return BuildResult(product_id, existing is None, len(detail.variants), len(detail.images),
                           detail["status"], approval_id, changed)

    def create(self, user_id: str, payload: dict) -> BuildResult:
        """Create a product from Haven Hub's create request (validated; images only from the user's own
        design assets and mockups, in the order given); publishes at once when the request says so."""
        request = validate_product_request(payload)
        product_id = new_id()
        with self.engine.begin() as conn:
            images = []
            for i, ref in enumerate(request.images):
                images.append(self._resolve_image(conn, user_id, ref, i))
            pricing = PricingStore(conn, user_id)
            spec = build_request_spec(self.profile, request, product_id=product_id, images=images,
                                      pricing_user_rows=pricing.user_rows(), pricing_system_rows=pricing.system_rows())
            detail = ProductStore(conn, user_id).create(
                title=spec.title, description=spec.description_html, collection=spec.collection, tags=list(spec.tags),
                handle=spec.handle, asset_id=None, quote_id=None, variants=spec.variants, images=spec.images,
                status="draft", product_id=product_id,
            )
            ActivityStore(conn, user_id).log("product.created", "product", product_id,
                                             {"variants": len(detail.variants), "images": len(detail.images), "manual": True})
        if request.publish:
            self.publish(user_id, product_id, require_approval=False)
        return BuildResult(product_id, True, len(detail.variants), len(detail.images), detail["status"])

    def _resolve_image(self, conn, user_id: str, ref, index: int) -> ResolvedImage:
        """Look the image up among the acting user's own assets or mockups (others' look absent)."""
        field_name = f"images[{index}]"
        try:
            if ref.kind == "asset":
                asset = DesignStore(conn, user_id).get_asset(ref.id)
                return ResolvedImage(ref=ref, src=asset["file_url"], key=asset["file_key"])
            mockup = MockupStore(conn, user_id).get(ref.id)
        except NotFound as exc:
            raise ValidationError(field_name, str(exc)) from None
        if not mockup["file_url"]:
            raise ValidationError(field_name, f"mockup {mockup['id']} has no image yet ({mockup['status']})")
        return ResolvedImage(ref=ref, src=mockup["file_url"], key=mockup["file_key"])

    def _route(self, conn, user_id: str, detail: ProductDetail, settled: bool) -> tuple[str, str | None]:
        """Decide how the product's current content is reviewed; returns (review state, item id).

        The review state is one of :data:`haven_pipelines.domain.approval.REVIEW_STATES`. The
        approval item is opened or reopened only when the content differs from what it holds and
        the design's mockups are settled (so the reviewer sees the final images).
        """
        settings = SettingsStore(conn, user_id).get()
        if auto_approve(settings["global_mode"], settings["module_overrides"], module="products"):
            return "auto", None
        approvals = ApprovalStore(conn, user_id)
        existing = approvals.find_by_reference("product", detail.id)
        content = product_content(detail.product, detail.variants, detail.images)
        digest = content_digest(content)
        if existing is not None and existing["content_digest"] == digest:
            return existing["status"], existing["id"]
        if not settled:
            return "not_ready", existing["id"] if existing is not None else None
        # Changes are named against the content last decided (what the reviewer last judged).
        previous, decision = None, None
        if existing is not None:
            old = existing["payload"] or {}
            if existing["status"] in DECISIONS:
                previous, decision = old.get("content"), existing["status"]
            else:
                previous, decision = old.get("previousContent"), old.get("previousDecision")
        payload = {
            "title": detail["title"], "handle": detail["handle"], "variants": len(detail.variants),
            "images": [i["src"] for i in detail.images], "assetId": detail["asset_id"],
            "prices": _price_range(detail), "changes": content_changes(previous, content),
            "content": content, "contentDigest": digest,
            "previousContent": previous, "previousDecision": decision,
        }
        item, _ = approvals.open_for("product", detail.id, digest, payload, detail["collection"])
        return "pending", item["id"]

    def approval_state(self, user_id: str, product_id: str, *, detail: ProductDetail | None = None) -> dict:
        """Whether the product's current content may be published, and why (for people and the CLI).

        Returns:
            ``{"required": bool, "approved": bool, "item_id", "status", "changes"}``: ``required``
            is False in autopilot for products; ``approved`` says the current content is approved
            (or needs no approval); ``status`` is the item's (None without one); ``changes`` what the
            open item says changed. ``detail``, when the caller has just read the product, saves reading it again.
        """
        with self.engine.connect() as conn:
            if detail is None or detail.id != product_id:
                detail = ProductStore(conn, user_id).get(product_id)
            settings = SettingsStore(conn, user_id).get()
            item = ApprovalStore(conn, user_id).find_by_reference("product", product_id)
        if auto_approve(settings["global_mode"], settings["module_overrides"], module="products"):
            return {"required": False, "approved": True, "item_id": item["id"] if item else None,
                    "status": item["status"] if item else None, "changes": []}
        current = item is not None and item["content_digest"] == product_digest(detail)
        return {
            "required": True,
            "approved": current and item["status"] == "approved",
            "item_id": item["id"] if item else None,
            "status": item["status"] if item else None,
            "changes": list((item["payload"] or {}).get("changes") or []) if item else [],
        }

    def is_approved(self, user_id: str, product_id: str) -> bool:
        """Whether the product may be published: autopilot for products, or an approval of exactly
        its current content (an approval of other content does not count)."""
        return self.approval_state(user_id, product_id)["approved"]

    # -- Shopify --------------------------------------------------------------------------------

    @contextmanager
    def shopify(self, user_id: str, product_id: str | None = None) -> Iterator[tuple[object, list]]:
        """The user's Shopify client (live when connected, else dry run) and the dry-run entries list."""
        from haven_pipelines.integrations.shopify.client import ShopifyClient
        from haven_pipelines.integrations.shopify.dry_run import DryRunShopifyClient

        connection = self._connection(user_id)
        mode = self.ctx.shopify_mode
        if mode == "live" and connection is None:
            raise ValidationError("shopify", "live mode needs a connected shop: run `haven shopify connect`")
        entries: list = []
        if connection is None or mode == "dry_run":
            yield DryRunShopifyClient(recorder=entries.append), entries
            return
        shop, token, base_url = connection
        client = ShopifyClient(shop, token, base_url=base_url or self.ctx.shopify_base_url)
        try:
            yield client, entries
        finally:
            client.close()

    def _connection(self, user_id: str) -> tuple[str, str, str | None] | None:
        from haven_pipelines.db.stores.integrations import IntegrationStore

        with self.engine.connect() as conn:
            store = IntegrationStore(conn, user_id)
            try:
                shop = store.get("shopify")
            except NotFound:
                return None  # no shop connected: the dry run
            if shop.status != "connected":
                return None
            return shop.account, store.credentials("shopify"), (shop.settings or {}).get("base_url")

    def _record(self, user_id: str, product_id: str, entries: list) -> tuple[int, ...]:
        if not entries:
            return ()
        ids = []
        with self.engine.begin() as conn:
            act_as(conn, user_id)  # the outbox rows are the user's (row-level security on PostgreSQL)
            for entry in entries:
                result = conn.execute(insert(shopify_outbox).values(
                    user_id=user_id, product_id=product_id, operation=entry.operation, document=entry.document,
                    variables=entry.variables, mode="dry_run", created_at=entry.recorded_at,
                ))
                ids.append(result.inserted_primary_key[0])
        return tuple(ids)

    @contextmanager
    def publishing(self, user_id: str) -> Iterator[PublishSession]:
        """A session that publishes any number of the user's products through one Shopify client
        (live when connected, else dry run) and tallies the run (see :mod:`.publishing`)."""
        with self.shopify(user_id) as (client, entries):
            yield PublishSession(self, user_id, client, entries)

    def publish(self, user_id: str, product_id: str, *, require_approval: bool = True,
                skip_unchanged: bool = False) -> PublishResult:
        """Publish (create or update) the product on Shopify with one ``productSet``.

        Images the shop already has are cited by their file id; only new or changed images are
        uploaded, staged with one ``stagedUploadsCreate`` call (see :mod:`.publishing`).

        Args:
            user_id: the owner.
            product_id: the product.
            require_approval: publish only content that is approved (or needs no approval); an
                operator's explicit request (a manual product with publish) passes False.
            skip_unchanged: send nothing when the shop already accepted this exact input (the
                catalogue runs pass True, so a second round adds nothing to Shopify or the outbox);
                the result then says ``unchanged``. Such a run also never recreates a product
                deleted on Shopify; an explicit publish (False) recreates it.

        Raises:
            Conflict: the product is retired or archived, or its content is waiting for approval.
            DeletedOnShopify: the product was deleted on Shopify (and this is a catalogue run, or
                Shopify said so just now).
            PublishError: Shopify refused or failed; ``sync_error`` says why and the status is ``sync_error``.
        """
        with self.publishing(user_id) as session:
            return session.publish(product_id, require_approval=require_approval, skip_unchanged=skip_unchanged)

    @staticmethod
    def _admin_url(client, legacy_id: str, dry_run: bool) -> str | None:
        if dry_run:
            return None
        return f"https://admin.shopify.com/store/{client.shop_domain.split('.')[0]}/products/{legacy_id}"

    def retire(self, user_id: str, product_id: str, reason: str = "manual") -> PublishResult:
        """Retire with a reason (underperformer, manual, seasonal; ``manual`` by default, as in Haven
        Hub) and archive the product on Shopify.

        The local status changes only after Shopify archived it (or when it was never published).
        """
        if reason not in RETIRE_REASONS:
            raise ValidationError("reason", f"must be one of {', '.join(RETIRE_REASONS)}, got {reason!r}")
        with self.engine.connect() as conn:
            detail = ProductStore(conn, user_id).get(product_id)
        gid = detail["shopify_product_gid"]
        outbox_ids: tuple[int, ...] = ()
        dry_run = True
        if gid:
            with self.shopify(user_id, product_id) as (client, entries):
                dry_run = client.dry_run
                try:
                    client.archive_product(gid)
                except (ShopifyError, HavenError) as exc:
                    message = sync_message(exc)
                    self._record(user_id, product_id, entries)
                    with self.engine.begin() as conn:
                        ProductStore(conn, user_id).set_sync_error(product_id, message)
                    raise PublishError(f"archiving product {product_id} on Shopify failed: {message}") from exc
                outbox_ids = self._record(user_id, product_id, entries)
        with self.engine.begin() as conn:
            store = ProductStore(conn, user_id)
            store.set_status(product_id, "retired", retire_reason=reason)
            ActivityStore(conn, user_id).log("product.retired", "product", product_id,
                                             {"reason": reason, "archived_on_shopify": bool(gid), "dry_run": dry_run})
        return PublishResult(product_id, gid, detail["shopify_handle"], len(detail.variants), None, dry_run,
                             "retired", outbox_ids)

    def reconcile(self, user_id: str, fix: bool = False) -> ReconcileReport:
        """Compare the user's published products with Shopify (status, title, prices, SKUs, images).

        Drift clears what the database believed the shop has, so the next catalogue run repairs
        it: an edited price, title or status (an archived product) clears the product's published
        digest; a deleted image clears that image's media id too, so it is uploaded again. A product
        deleted on Shopify is reported (``sync_error``, and marked deleted), never silently recreated:
        catalogue runs skip it until an operator publishes it. With ``fix``, drifted products are
        published again at once.
        """
        report = ReconcileReport()
        details: list[ProductDetail] = []
        with self.engine.connect() as conn:
            store = ProductStore(conn, user_id)
            while True:
                page = store.list(limit=100, offset=len(details))
                details += page.rows
                if not page.rows or len(details) >= page.total:
                    break
        published = [d for d in details if d["shopify_product_gid"]]
        to_fix: list[str] = []
        with self.shopify(user_id) as (client, _entries):
            if client.dry_run:
                # A dry run has no shop to compare with: report nothing rather than "all deleted".
                report.dry_run = True
                return report
            from haven_pipelines.services.bulk_publish import remote_product_lookup  # it imports this module

            # A large catalogue is read with one bulk query; a small one product by product.
            remote_product = remote_product_lookup(self.ctx, client, len(published))
            for detail in published:
                report.checked += 1
                if self._apply_remote(user_id, detail, remote_product(detail["shopify_product_gid"]), report):
                    to_fix.append(detail.id)
        if fix:
            catalogue = {d.id for d in details if d["asset_id"]}
            for product_id in to_fix:
                try:
                    # A catalogue product's local content may be newer than its approval: fixing drift
                    # never publishes what a person has not approved.
                    self.publish(user_id, product_id, require_approval=product_id in catalogue)
                    report.fixed += 1
                except (Conflict, PublishError) as exc:
                    log.warning("reconcile could not fix %s: %s", product_id, exc)
        return report

    def _apply_remote(self, user_id: str, detail: ProductDetail, remote, report: ReconcileReport) -> bool:
        """Record what Shopify's copy (``remote``, None when deleted) says about one product; True
        when it drifted (the stored digest, and the media ids of deleted images, are cleared)."""
        if remote is None:
            report.missing_on_shopify.append({"product_id": detail.id, "gid": detail["shopify_product_gid"]})
            with self.engine.begin() as conn:
                ProductStore(conn, user_id).mark_deleted_on_shopify(
                    detail.id, DELETED_MESSAGE.format(product_id=detail.id))
            return False
        diffs = _drift(detail, remote)
        gone = []
        if remote.media_ids is not None and detail["published_mode"] == "live":
            shown = set(remote.media_ids)
            gone = [i for i in detail.images if i["shopify_media_id"] and i["shopify_media_id"] not in shown]
            diffs += [f"image {i['position']}: deleted on Shopify" for i in gone]
        if not diffs:
            return False
        report.drifted.append({"product_id": detail.id, "gid": remote.id, "differences": diffs})
        with self.engine.begin() as conn:
            ProductStore(conn, user_id).forget_published(detail.id, [i["id"] for i in gone])
        return True


def _mockups_settled(conn, user_id: str, asset_id: str) -> bool:
    """True when none of the design's mockups waits for a render or a decision (the product's
    images are final, so its review can start)."""
    waiting = conn.execute(
        select(func.count()).select_from(mockups_table).where(
            mockups_table.c.user_id == user_id, mockups_table.c.asset_id == asset_id,
            mockups_table.c.status.in_(("pending", "generating", "completed")),
        )
    ).scalar_one()
    return waiting == 0


def _price_range(detail: ProductDetail) -> str:
    """The lowest and highest variant price, for the reviewer's one-line summary."""
    prices = sorted(Decimal(v["price"]) for v in detail.variants)
    return f"{prices[0]}" if prices[0] == prices[-1] else f"{prices[0]}-{prices[-1]}"


def user_costs(pricing: PricingStore) -> dict[str, Decimal]:
    """Unit cost per size for the user (their override, else the system row), sent on inventory items."""
    rows = {**pricing.system_rows(), **pricing.user_rows()}
    return {size: row.cost for size, row in rows.items()}


def spec_from_detail(detail: ProductDetail, costs: dict[str, Decimal]) -> ProductSpec:
    """The publishable spec of a stored product (stored rows are the truth; the catalogue only builds them)."""
    product = detail.product
    variants = tuple(
        VariantSpec(
            size=v["size"], frame_style=v["frame_style"], is_digital=bool(v["is_digital"]), title=v["title"],
            price=Decimal(v["price"]), compare_at_price=None if v["compare_at_price"] is None else Decimal(v["compare_at_price"]),
            sku=v["sku"], cost=Decimal("0.00") if v["is_digital"] else costs.get(v["size"]),
            inventory_policy=v["inventory_policy"], requires_shipping=not v["is_digital"], position=v["position"],
        )
        for v in detail.variants
    )
    images = tuple(
        ImageSpec(src=i["src"], key=i["file_key"], alt=i["alt"] or product["title"], source=i["source"] if i["source"] != "upload" else "asset",
                  ref_id=i["mockup_id"] or i["asset_id"] or "", position=i["position"])
        for i in detail.images
    )
    return ProductSpec(
        product_id=product["id"], asset_id=product["asset_id"], quote_id=product["quote_id"], title=product["title"],
        description_html=product["description"] or "", handle=product["handle"], collection=product["collection"],
        tags=tuple(product["tags"] or ()), vendor=product["vendor"], product_type=product["product_type"],
        status=product["status"], track_inventory=False, variants=variants, images=images,
    )


def _drift(detail: ProductDetail, remote) -> list[str]:
    """What differs between the stored product and Shopify's copy."""
    diffs = []
    expected_status = "ARCHIVED" if detail["status"] in ("retired", "archived") else "ACTIVE"
    if detail["status"] in ("active", "retired", "archived") and remote.status != expected_status:
        diffs.append(f"status: local {expected_status}, Shopify {remote.status}")
    if remote.title != detail["title"]:
        diffs.append(f"title: local {detail['title']!r}, Shopify {remote.title!r}")
    local = {v["sku"]: Decimal(v["price"]) for v in detail.variants}
    remote_prices = {v.sku: v.price for v in remote.variants if v.sku}
    for sku in sorted(set(local) - set(remote_prices)):
        diffs.append(f"variant {sku}: missing on Shopify")
    for sku in sorted(set(remote_prices) - set(local)):
        diffs.append(f"variant {sku}: on Shopify only")
    for sku in sorted(set(local) & set(remote_prices)):
        if local[sku] != remote_prices[sku]:
            diffs.append(f"variant {sku} price: local {local[sku]}, Shopify {remote_prices[sku]}")
    return diffs
