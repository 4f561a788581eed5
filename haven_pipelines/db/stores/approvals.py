"""The approval queue: finished mockups (and products) waiting for a person's decision.

One item per ``(type, reference_id)``, so enqueueing is idempotent. An item holds the digest of the
content it asks about (``content_digest``): :meth:`ApprovalStore.open_for` opens it again only when
that content changes, so a decision stands while what it covers stays the same.
:func:`decided_since` is the SYSTEM read behind the approval sensor: decisions of every user, in
``(decided_at, id)`` order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from haven_pipelines.db.stores.base import (
    Page,
    UserScopedStore,
    as_utc,
    optional_text,
    paginate,
    require_choice,
    require_json_object,
    require_text,
)
from haven_pipelines.db.tenancy import cross_tenant
from haven_pipelines.db.tables import (
    APPROVAL_STATUSES,
    APPROVAL_TYPES,
    COLLECTIONS,
    approval_items,
    mockups,
    new_id,
    products,
    utcnow,
)
from haven_pipelines.domain.errors import Conflict, ValidationError

DECISIONS = ("approved", "rejected")
SYSTEM_PAGE_MAX = 1000
_REFERENCED = {"mockup": (mockups, "mockup"), "product": (products, "product")}


class ApprovalStore(UserScopedStore):
    """The acting user's approval queue."""

    table = approval_items
    kind = "approval item"

    def enqueue(
        self,
        type: str,  # noqa: A002 - the column's name
        reference_id: str,
        payload: dict[str, Any] | None = None,
        collection: str | None = None,
        *,
        reopen: bool = False,
    ) -> RowMapping:
        """Queue the user's mockup or product for a decision; the same reference twice gives the same item.

        Args:
            type: ``mockup`` or ``product``.
            reference_id: the user's mockup or product id (anyone else's: NotFound).
            payload: what the reviewer sees (urls, scene, credits, design, quote).
            collection: the quote's collection, for filtering the queue.
            reopen: when the item was already decided, put it back to pending with this payload
                (a regenerated mockup needs a fresh look); otherwise it is returned unchanged.
        """
        require_choice("type", type, APPROVAL_TYPES)
        table, kind = _REFERENCED[type]
        self._get_in(table, kind, reference_id)
        values = {
            "payload": require_json_object("payload", payload),
            "collection": None if collection is None else require_choice("collection", collection, COLLECTIONS),
        }
        existing = self._by_reference(type, reference_id)
        if existing is None:
            try:
                # A savepoint, so that a concurrent enqueue of the same reference leaves the transaction usable.
                with self.conn.begin_nested():
                    return self._insert_in(approval_items, {
                        "id": new_id(), "type": type, "reference_id": reference_id, "status": "pending", **values,
                    })
            except IntegrityError:
                existing = self._by_reference(type, reference_id)
                if existing is None:
                    raise
        if reopen and existing["status"] != "pending":
            return self._update(existing["id"], {**values, "status": "pending", "decided_at": None, "decision_note": None})
        return existing

    def open_for(
        self,
        type: str,  # noqa: A002 - the column's name
        reference_id: str,
        content_digest: str,
        payload: dict[str, Any],
        collection: str | None = None,
    ) -> tuple[RowMapping, bool]:
        """Ask for a decision on the reference's content ``content_digest``; returns (item, opened).

        The same digest as the item holds: the item is returned unchanged, whatever its status (an
        approval or rejection of that content stands). Another digest, or no item yet: the item is
        (re)opened as pending with this payload and digest, clearing any earlier decision.
        ``opened`` says whether anything was written.
        """
        require_choice("type", type, APPROVAL_TYPES)
        digest = require_text("content_digest", content_digest, max_len=64)
        existing = self.find_by_reference(type, reference_id)
        if existing is not None and existing["content_digest"] == digest:
            return existing, False
        # enqueue inserts the item when there is none (and survives a concurrent insert); the update
        # then puts this content up for decision.
        item = self.enqueue(type, reference_id, payload, collection)
        return self._update(item["id"], {
            "payload": require_json_object("payload", payload),
            "collection": None if collection is None else require_choice("collection", collection, COLLECTIONS),
            "content_digest": digest, "status": "pending", "decided_at": None, "decision_note": None,
        }), True

    def find_by_reference(self, type: str, reference_id: str) -> RowMapping | None:  # noqa: A002
        """The user's item about this mockup or product, or None."""
        return self._by_reference(require_choice("type", type, APPROVAL_TYPES), reference_id)

    def _by_reference(self, type_: str, reference_id: str) -> RowMapping | None:
        stmt = select(approval_items).where(
            self._owned(), approval_items.c.type == type_, approval_items.c.reference_id == reference_id
        )
        return self.conn.execute(stmt).mappings().first()

    def list(self, status: str | None = "pending", type: str | None = None,  # noqa: A002
             limit: int = 20, offset: int = 0) -> Page:
        """The user's items, oldest first (a queue), of one status (None: all) and optionally one type."""
        stmt = select(approval_items).where(self._owned())
        if status is not None:
            stmt = stmt.where(approval_items.c.status == require_choice("status", status, APPROVAL_STATUSES))
        if type is not None:
            stmt = stmt.where(approval_items.c.type == require_choice("type", type, APPROVAL_TYPES))
        return paginate(self.conn, stmt.order_by(approval_items.c.created_at, approval_items.c.id), limit, offset)

    def decide(self, item_id: str, decision: str, note: str | None = None, *,
               content_digest: str | None = None) -> RowMapping:
        """Approve or reject a pending item, stamping ``decided_at``; a decided item is a Conflict.

        The status check is part of the UPDATE, so two people deciding at once cannot both win.
        With ``content_digest`` (what the reviewer saw), the decision is refused with a Conflict
        when the item has been reopened for other content in the meantime.
        """
        require_choice("decision", decision, DECISIONS)
        values = {"status": decision, "decided_at": utcnow(), "decision_note": optional_text("note", note, max_len=2000)}
        condition = approval_items.c.status == "pending"
        if content_digest is not None:
            condition = and_(condition, approval_items.c.content_digest == content_digest)
        if self._update_where(approval_items, item_id, values, condition):
            return self.get(item_id)
        current = self.get(item_id)  # NotFound when it is not the acting user's
        if current["status"] == "pending":
            raise Conflict(f"approval item {item_id} now asks about other content; look at it again")
        raise Conflict(f"approval item {item_id} was already {current['status']}")

    def delete(self, item_id: str) -> None:
        """Remove an item from the queue."""
        self._delete(item_id)


def decided_since(
    conn: Connection, after_cursor: tuple[datetime, str] | None, limit: int = 100
) -> list[dict[str, Any]]:
    """SYSTEM read (all users): decided items after ``after_cursor``, ordered by ``(decided_at, id)``.

    Not user-scoped on purpose: the approval sensor acts on every user's decisions, then each use
    case runs as the item's owner. The condition leads with ``status`` and a ``decided_at`` range so
    that the ``(status, decided_at)`` index serves it.

    Args:
        conn: a connection.
        after_cursor: the last seen ``(decided_at, id)``, or None to start at the beginning.
        limit: items per page, 1..1000.

    Returns:
        Item rows as dicts, ``decided_at`` an aware UTC datetime; the last one's ``(decided_at, id)``
        is the next cursor.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= SYSTEM_PAGE_MAX:
        raise ValidationError("limit", f"must be a whole number from 1 to {SYSTEM_PAGE_MAX}, got {limit!r}")
    cross_tenant(conn)
    stmt = select(approval_items).where(approval_items.c.status.in_(DECISIONS), approval_items.c.decided_at.is_not(None))
    if after_cursor is not None:
        stamp, last_id = after_cursor
        stamp = as_utc(stamp)
        stmt = stmt.where(
            approval_items.c.decided_at >= stamp,
            or_(approval_items.c.decided_at > stamp, approval_items.c.id > last_id),
        )
    stmt = stmt.order_by(approval_items.c.decided_at, approval_items.c.id).limit(limit)
    return [{**row, "decided_at": as_utc(row["decided_at"])} for row in conn.execute(stmt).mappings()]
