"""Shopify bulk publishes of one user: what was sent in which line order, and whether its result was applied.

A row is written before Shopify is asked (``starting``), gets Shopify's operation GID as soon as
Shopify answers (``running``), and ends ``collected`` once every result line was applied to the
products, or ``abandoned`` when Shopify never started it. Unfinished rows are what the next run
collects before it sends anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from haven_pipelines.db.stores.base import UserScopedStore, clip_error, require_text
from haven_pipelines.db.tables import new_id, shopify_bulk_operations, utcnow
from haven_pipelines.domain.errors import ValidationError

UNFINISHED = ("starting", "running")


class BulkOperationStore(UserScopedStore):
    """The acting user's rows of ``shopify_bulk_operations``."""

    table = shopify_bulk_operations
    kind = "bulk operation"

    def create(self, shop: str, lines: Sequence[dict[str, Any]]) -> RowMapping:
        """Record a bulk publish about to start: ``lines`` is ``[{"product_id", "digest"}, ...]`` in file order."""
        if not lines:
            raise ValidationError("lines", "a bulk publish needs at least one line")
        for i, line in enumerate(lines):
            if not isinstance(line, dict) or not line.get("product_id") or not line.get("digest"):
                raise ValidationError(f"lines[{i}]", "needs product_id and digest")
        return self._insert_in(self.table, {
            "id": new_id(), "shop": require_text("shop", shop, max_len=255), "status": "starting",
            "lines": [dict(line) for line in lines], "line_count": len(lines),
        })

    def set_started(self, row_id: str, operation_gid: str, shopify_status: str) -> RowMapping:
        """Shopify accepted the operation: store its GID (before anyone waits for it)."""
        return self._update(row_id, {"operation_gid": require_text("operation_gid", operation_gid, max_len=128),
                                     "status": "running", "shopify_status": shopify_status[:16]})

    def set_shopify_status(self, row_id: str, shopify_status: str) -> RowMapping:
        """The status Shopify last reported (for people reading the table)."""
        return self._update(row_id, {"shopify_status": shopify_status[:16]})

    def mark_collected(self, row_id: str, shopify_status: str, error: str | None = None) -> RowMapping:
        """Every result line was applied (``error`` says why some lines had no result, if any)."""
        return self._update(row_id, {"status": "collected", "shopify_status": shopify_status[:16],
                                     "error": clip_error(error) if error else None, "collected_at": utcnow()})

    def mark_abandoned(self, row_id: str, error: str) -> RowMapping:
        """Shopify never started the operation; nothing of it reached the shop."""
        return self._update(row_id, {"status": "abandoned", "error": clip_error(error)})

    def unfinished(self, shop: str) -> list[RowMapping]:
        """Rows for ``shop`` whose result was not applied yet, oldest first."""
        stmt = (select(self.table)
                .where(self._owned(), self.table.c.shop == shop, self.table.c.status.in_(UNFINISHED))
                .order_by(self.table.c.created_at, self.table.c.id))
        return list(self.conn.execute(stmt).mappings())

    def for_user(self) -> list[RowMapping]:
        """Every row of the acting user, oldest first."""
        stmt = select(self.table).where(self._owned()).order_by(self.table.c.created_at, self.table.c.id)
        return list(self.conn.execute(stmt).mappings())
