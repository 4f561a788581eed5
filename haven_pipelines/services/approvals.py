"""The approval queue's use cases: a person decides; the decision reaches the mockup or product.

How a supervised shop gets from a render to a listing (``assisted`` skips step 2's mockup review,
``autopilot`` both reviews; see :mod:`haven_pipelines.domain.approval`):

1. A catalogue run renders a design's mockups. Each finished render asks for a decision on its
   picture (:func:`route_mockup`): an approval item holding the image's digest. Rendering the same
   picture again keeps the decision; a different picture reopens the item.
2. A person decides each mockup (:func:`decide`; the mockup takes the decision in the same
   transaction). Meanwhile the design's product is built from its approved mockups as a ``draft``
   and is not put up for review: its images are not final.
3. Once no mockup of the design waits (all decided, or failed), the next run builds the product with
   its final images and opens the product's approval item with that content and its digest
   (``awaiting_approval``). A rebuild that gives the same content keeps the item as it is.
4. A person approves the product. The approval sensor sees the decision and requests the design's
   catalogue run; the run applies the decisions of the design (:func:`apply_design_decisions`,
   idempotent), rebuilds the product (same content: the approval stands) and publishes it.
5. Later changes (a price override, a new mockup picture) change the product's digest: the next
   build reopens the item, its payload names what changed (``changes``: prices, images, ...), and
   publishing waits: Shopify keeps the approved content until the new one is approved.

The approval sensor only reads (:func:`decisions_page`); every write happens in the runs it requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, Engine, RowMapping

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.approvals import DECISIONS, ApprovalStore, decided_since
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.products import ProductDetail, ProductStore
from haven_pipelines.db.tables import approval_items, mockups, products
from haven_pipelines.domain.approval import content_digest, product_content, product_status
from haven_pipelines.domain.errors import NotFound
from haven_pipelines.db.tenancy import act_as, cross_tenant_transaction

_MOCKUP_DECIDABLE = ("completed", "approved", "rejected")


def decide(engine: Engine, user_id: str, item_id: str, decision: str, note: str | None = None, *,
           content_digest: str | None = None) -> dict:
    """Approve or reject the user's pending item and apply it to its mockup or product.

    Args:
        engine: the application database.
        user_id: the deciding user (the item's owner).
        item_id: the approval item.
        decision: ``approved`` or ``rejected``.
        note: an optional note kept with the decision.
        content_digest: the digest the reviewer saw (the payload's ``contentDigest``); when given and
            the item has since been reopened for other content, the decision is refused.

    Returns:
        The applied facts, as :func:`apply_decision` returns them.

    Raises:
        NotFound: no such item for this user (another user's item looks absent).
        Conflict: the item was already decided, or now asks about other content.
        ValidationError: ``decision`` is not approved or rejected.
    """
    with engine.begin() as conn:
        item = ApprovalStore(conn, user_id).decide(item_id, decision, note, content_digest=content_digest)
        _apply(conn, item)
        ActivityStore(conn, user_id).log(f"approval.{decision}", item["type"], item["reference_id"],
                                         {"item_id": item_id, "note": note})
    return apply_decision(engine, item_id)


def product_digest(detail: ProductDetail) -> str:
    """The content digest of a stored product (what an approval of it covers)."""
    return content_digest(product_content(detail.product, detail.variants, detail.images))


def _apply(conn: Connection, item: RowMapping) -> bool:
    """Make the item's mockup or product carry its decision; True when a row changed.

    A decision applies only to the content it was made on: a mockup being rendered again, or a
    product whose content has changed since, is left as it is (its item will be reopened).
    """
    if item["status"] not in DECISIONS:
        return False
    user_id = item["user_id"]
    if item["type"] == "mockup":
        store = MockupStore(conn, user_id)
        mockup = store.find(item["reference_id"])
        if mockup is None or mockup["status"] not in _MOCKUP_DECIDABLE or mockup["status"] == item["status"]:
            return False
        store.set_status(item["reference_id"], item["status"])
        return True
    store = ProductStore(conn, user_id)
    try:
        detail = store.get(item["reference_id"])
    except NotFound:
        return False
    if item["content_digest"] is None or item["content_digest"] != product_digest(detail):
        return False
    status = product_status(detail["status"], item["status"])
    if status == detail["status"]:
        return False
    store.set_status(detail.id, status)
    return True


def apply_decision(engine: Engine, item_id: str) -> dict:
    """SYSTEM: make sure the decided item's mockup or product carries the decision (idempotent).

    Returns:
        ``{"item_id", "user_id", "type", "status", "reference_id", "asset_id"}``: ``asset_id`` is the
        design whose product and listing the decision concerns (None when it no longer exists).
    """
    with cross_tenant_transaction(engine) as conn:
        item = conn.execute(select(approval_items).where(approval_items.c.id == item_id)).mappings().first()
        if item is None:
            raise NotFound("approval item", item_id)
        _apply(conn, item)
        asset_id = _design_of(conn, item)
    return {"item_id": item["id"], "user_id": item["user_id"], "type": item["type"], "status": item["status"],
            "reference_id": item["reference_id"], "asset_id": asset_id}


def apply_design_decisions(engine: Engine, user_id: str, asset_id: str) -> int:
    """Apply every decided item of the design's mockups and product (the first step of a catalogue
    run, so that a run requested by the approval sensor acts on the decisions it was requested for).

    Idempotent: a decision already applied changes nothing. Returns how many rows changed.
    """
    with engine.begin() as conn:
        act_as(conn, user_id)
        mockup_ids = select(mockups.c.id).where(mockups.c.user_id == user_id, mockups.c.asset_id == asset_id)
        product_ids = select(products.c.id).where(products.c.user_id == user_id, products.c.asset_id == asset_id)
        items = conn.execute(
            select(approval_items).where(
                approval_items.c.user_id == user_id,
                approval_items.c.status.in_(DECISIONS),
                or_(
                    (approval_items.c.type == "mockup") & approval_items.c.reference_id.in_(mockup_ids),
                    (approval_items.c.type == "product") & approval_items.c.reference_id.in_(product_ids),
                ),
            ).order_by(approval_items.c.decided_at, approval_items.c.id)
        ).mappings().all()
        return sum(_apply(conn, item) for item in items)


def _design_of(conn: Connection, item: RowMapping) -> str | None:
    table = mockups if item["type"] == "mockup" else products
    return conn.execute(
        select(table.c.asset_id).where(table.c.id == item["reference_id"], table.c.user_id == item["user_id"])
    ).scalar()


def decisions_page(engine: Engine, cursor: tuple[datetime, str] | None, limit: int = 100) -> list[dict]:
    """SYSTEM, read only: decided items after ``cursor`` in decision order, each with the ``asset_id``
    of the design it concerns (None when the mockup or product is gone). The approval sensor's read."""
    with engine.connect() as conn:
        items = decided_since(conn, cursor, limit)
        for item in items:
            item["asset_id"] = _design_of(conn, item)
    return items


def route_mockup(conn: Connection, user_id: str, mockup_id: str, image_digest: str, payload: dict[str, Any],
                 collection: str | None, *, auto: bool) -> tuple[str | None, str]:
    """Route a just-completed mockup: approve it at once, keep its earlier decision, or ask a person.

    Runs in the render's own transaction. With ``auto`` (autopilot or assisted for mockups, or skip
    approval asked) the mockup is approved. Otherwise an earlier decision on the same picture
    (same ``image_digest``) stands and the mockup takes it again; a new or different picture opens
    the approval item with ``payload`` (plus ``imageDigest`` and ``changes``).

    Returns:
        (the approval item id or None, the mockup's status: approved, rejected or completed).
    """
    store = MockupStore(conn, user_id)
    if auto:
        store.set_status(mockup_id, "approved")
        return None, "approved"
    approvals = ApprovalStore(conn, user_id)
    existing = approvals.find_by_reference("mockup", mockup_id)
    if existing is not None and existing["status"] in DECISIONS and existing["content_digest"] == image_digest:
        store.set_status(mockup_id, existing["status"])
        return existing["id"], existing["status"]
    changes = ["new"] if existing is None or existing["content_digest"] is None else ["image"]
    item, _ = approvals.open_for("mockup", mockup_id, image_digest,
                                 {**payload, "imageDigest": image_digest, "contentDigest": image_digest, "changes": changes},
                                 collection)
    return item["id"], "completed"
