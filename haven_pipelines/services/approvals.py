"""The approval queue's use cases: a person decides; the decision reaches the mockup or product.

Deciding and applying happen in one transaction (``decide``), so a mockup's status never disagrees
with its approval item. ``apply_decision`` is what the approval sensor calls for each decided item:
it re-applies idempotently and says which design's product and listing to run next.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.approvals import ApprovalStore, decided_since
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.tables import approval_items, mockups, products
from haven_pipelines.domain.errors import NotFound


def decide(engine: Engine, user_id: str, item_id: str, decision: str, note: str | None = None) -> dict:
    """Approve or reject the user's pending item and apply it to its mockup; returns the applied facts.

    Raises:
        NotFound: no such item for this user (another user's item looks absent).
        Conflict: the item was already decided.
        ValidationError: ``decision`` is not approved or rejected.
    """
    with engine.begin() as conn:
        item = ApprovalStore(conn, user_id).decide(item_id, decision, note)
        _apply(conn, item)
        ActivityStore(conn, user_id).log(f"approval.{decision}", item["type"], item["reference_id"],
                                         {"item_id": item_id, "note": note})
    return apply_decision(engine, item_id)


def _apply(conn, item) -> None:
    if item["type"] == "mockup":
        store = MockupStore(conn, item["user_id"])
        mockup = store.find(item["reference_id"])
        if mockup is not None and mockup["status"] in ("completed", "approved", "rejected") and mockup["status"] != item["status"]:
            store.set_status(item["reference_id"], item["status"])


def apply_decision(engine: Engine, item_id: str) -> dict:
    """SYSTEM: make sure the decided item's mockup carries the decision; say what to run next.

    Returns:
        ``{"item_id", "user_id", "type", "status", "reference_id", "asset_id"}``: ``asset_id`` is the
        design whose product and listing the decision concerns (None when it no longer exists).
    """
    with engine.begin() as conn:
        item = conn.execute(select(approval_items).where(approval_items.c.id == item_id)).mappings().first()
        if item is None:
            raise NotFound("approval item", item_id)
        if item["status"] in ("approved", "rejected"):
            _apply(conn, item)
        table = mockups if item["type"] == "mockup" else products
        asset_id = conn.execute(select(table.c.asset_id).where(table.c.id == item["reference_id"])).scalar()
    return {"item_id": item["id"], "user_id": item["user_id"], "type": item["type"], "status": item["status"],
            "reference_id": item["reference_id"], "asset_id": asset_id}


def decisions_page(engine: Engine, cursor: tuple[datetime, str] | None, limit: int = 100) -> list[dict]:
    """SYSTEM: decided items after ``cursor`` in decision order (for the approval sensor)."""
    with engine.connect() as conn:
        return decided_since(conn, cursor, limit)
