"""The shared shape of a user-scoped store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Connection, RowMapping

from haven_pipelines.domain.errors import NotFound, ValidationError


class UserScopedStore:
    """Base for stores bound to ``(connection, user_id)``; subclasses set ``table`` and ``kind``.

    The caller owns the transaction (``with engine.begin() as conn``), so that a use case can
    change several aggregates atomically.
    """

    table: Table
    kind: str

    def __init__(self, conn: Connection, user_id: str):
        if not user_id:
            raise ValidationError("user_id", "an acting user is required")
        self.conn = conn
        self.user_id = user_id

    def _owned(self):
        """A WHERE clause matching the acting user's rows of this table."""
        return self.table.c.user_id == self.user_id

    def get(self, row_id: str) -> RowMapping:
        """The row with ``row_id`` owned by the acting user, else :class:`NotFound`."""
        row = self.find(row_id)
        if row is None:
            raise NotFound(self.kind, row_id)
        return row

    def find(self, row_id: str) -> RowMapping | None:
        """The row with ``row_id`` owned by the acting user, or None."""
        stmt = select(self.table).where(self.table.c.id == row_id, self._owned())
        return self.conn.execute(stmt).mappings().first()

    def _update(self, row_id: str, values: Mapping[str, Any]) -> RowMapping:
        """Update the acting user's row and return it; NotFound when it is not theirs."""
        result = self.conn.execute(
            update(self.table).where(self.table.c.id == row_id, self._owned()).values(**values)
        )
        if result.rowcount == 0:
            raise NotFound(self.kind, row_id)
        return self.get(row_id)

    def _delete(self, row_id: str) -> None:
        result = self.conn.execute(self.table.delete().where(self.table.c.id == row_id, self._owned()))
        if result.rowcount == 0:
            raise NotFound(self.kind, row_id)
