"""The shared shape of a user-scoped store, and the small checks every store repeats.

Stores validate input here (a bad value raises :class:`ValidationError` naming the field) and page
through lists with :func:`paginate` (1 to 100 rows a page, offset >= 0), so that every list in the
project obeys the same limits.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import Select, Table, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from haven_pipelines.db.tenancy import act_as
from haven_pipelines.domain.errors import NotFound, ValidationError

MAX_PAGE_SIZE = 100
# Error texts from outside systems can be long; the database keeps the start, which names the cause.
MAX_ERROR_CHARS = 2000


class Page(NamedTuple):
    """One page of a list: the rows (newest first unless said otherwise) and the total that match."""

    rows: list[Any]
    total: int


def check_page(limit: int, offset: int) -> tuple[int, int]:
    """Validate paging: ``limit`` 1..100 and ``offset`` >= 0, both whole numbers."""
    if not _is_int(limit) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_PAGE_SIZE}, got {limit!r}")
    if not _is_int(offset) or offset < 0:
        raise ValidationError("offset", f"must be a whole number >= 0, got {offset!r}")
    return limit, offset


def paginate(conn: Connection, stmt: Select, limit: int, offset: int) -> Page:
    """Run an ordered ``stmt`` for one page, and count every row it would return.

    Args:
        conn: the connection (the caller's transaction).
        stmt: a SELECT with its WHERE and ORDER BY; the count ignores the ordering.
        limit: rows per page, 1..100.
        offset: rows to skip, >= 0.

    Returns:
        A :class:`Page` of row mappings and the total.
    """
    check_page(limit, offset)
    total = conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = list(conn.execute(stmt.limit(limit).offset(offset)).mappings())
    return Page(rows, int(total))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require_text(field: str, value: Any, *, max_len: int, min_len: int = 1) -> str:
    """A stripped string of ``min_len``..``max_len`` characters."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    value = value.strip()
    if len(value) < min_len:
        raise ValidationError(field, "must not be empty" if min_len == 1 else f"must be at least {min_len} characters")
    if len(value) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters, got {len(value)}")
    return value


def optional_text(field: str, value: Any, *, max_len: int) -> str | None:
    """Like :func:`require_text`, but None or blank gives None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_text(field, value, max_len=max_len)


def require_choice(field: str, value: Any, choices: Collection[str]) -> str:
    """``value`` when it is one of ``choices``."""
    if value not in choices:
        raise ValidationError(field, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def require_positive_int(field: str, value: Any, *, allow_none: bool = False) -> int | None:
    """A whole number > 0 (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or value <= 0:
        raise ValidationError(field, f"must be a whole number > 0, got {value!r}")
    return value


def require_money(field: str, value: Any, *, allow_zero: bool = False) -> Decimal:
    """An exact amount with at most two decimal places, > 0 (or >= 0 when ``allow_zero``).

    Floats are refused: 0.1 + 0.2 is not money. Give a ``Decimal``, a string or an int.
    """
    if isinstance(value, float) or isinstance(value, bool) or value is None:
        raise ValidationError(field, f"must be a Decimal, string or int amount, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(field, f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValidationError(field, f"not an amount: {value!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(field, f"at most two decimal places, got {value}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError(field, f"must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return amount.quantize(Decimal("0.01"))


def require_json_object(field: str, value: Any) -> dict:
    """A dict (JSON object); None gives an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(field, f"must be an object (dict), got {type(value).__name__}")
    return dict(value)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clip_error(message: Any) -> str:
    """An error text for storage: a string, at most :data:`MAX_ERROR_CHARS` characters."""
    text = str(message) if message is not None else ""
    if not text.strip():
        raise ValidationError("error", "must not be empty")
    return text[:MAX_ERROR_CHARS]


class UserScopedStore:
    """Base for stores bound to ``(connection, user_id)``; subclasses set ``table`` and ``kind``.

    Binding a store scopes the connection's transaction to the user for PostgreSQL's row-level
    security too (:func:`~haven_pipelines.db.tenancy.act_as`): the store's filters and the
    database's policies are two independent walls.

    The caller owns the transaction (``with engine.begin() as conn``), so that a use case can
    change several aggregates atomically. The ``_..._in`` helpers do the same for a second table a
    store owns (quotes beside design assets, variants beside products); every one filters on the
    acting user, and every change goes through ``update()`` so that ``updated_at`` moves.
    """

    table: Table
    kind: str

    def __init__(self, conn: Connection, user_id: str):
        if not user_id:
            raise ValidationError("user_id", "an acting user is required")
        self.conn = conn
        self.user_id = user_id
        act_as(conn, user_id)

    def _owned(self, table: Table | None = None):
        """A WHERE clause matching the acting user's rows of ``table`` (default: this store's)."""
        return (table if table is not None else self.table).c.user_id == self.user_id

    def get(self, row_id: str) -> RowMapping:
        """The row with ``row_id`` owned by the acting user, else :class:`NotFound`."""
        return self._get_in(self.table, self.kind, row_id)

    def find(self, row_id: str) -> RowMapping | None:
        """The row with ``row_id`` owned by the acting user, or None."""
        return self._find_in(self.table, row_id)

    def _find_in(self, table: Table, row_id: str) -> RowMapping | None:
        stmt = select(table).where(table.c.id == row_id, self._owned(table))
        return self.conn.execute(stmt).mappings().first()

    def _get_in(self, table: Table, kind: str, row_id: str) -> RowMapping:
        row = self._find_in(table, row_id)
        if row is None:
            raise NotFound(kind, row_id)
        return row

    def _insert_in(self, table: Table, values: Mapping[str, Any]) -> RowMapping:
        """Insert a row owned by the acting user and return it as stored."""
        values = dict(values)
        values["user_id"] = self.user_id
        # RETURNING hands back the stored row (server defaults included) without a second query.
        return self.conn.execute(insert(table).values(**values).returning(*table.c)).mappings().one()

    def _update(self, row_id: str, values: Mapping[str, Any]) -> RowMapping:
        """Update the acting user's row and return it; NotFound when it is not theirs."""
        return self._update_in(self.table, self.kind, row_id, values)

    def _update_in(self, table: Table, kind: str, row_id: str, values: Mapping[str, Any], *conditions) -> RowMapping:
        """Update the acting user's row of ``table``; NotFound when no row of theirs matches."""
        row = self._update_returning(table, row_id, values, *conditions)
        if row is None:
            raise NotFound(kind, row_id)
        return row

    def _update_returning(self, table: Table, row_id: str, values: Mapping[str, Any], *conditions) -> RowMapping | None:
        """Update the acting user's row when ``conditions`` hold; the row as stored, or None when none changed.

        One statement (UPDATE ... RETURNING, on both backends) instead of an update and a read back.
        """
        stmt = update(table).where(table.c.id == row_id, self._owned(table), *conditions).values(**values)
        return self.conn.execute(stmt.returning(*table.c)).mappings().first()

    def _update_where(self, table: Table, row_id: str, values: Mapping[str, Any], *conditions) -> bool:
        """Update the acting user's row when ``conditions`` hold; True when a row changed.

        A conditional update is how a state change stays atomic under concurrency (for example
        ``status == 'pending'``): the database, not a read before the write, decides.
        """
        stmt = update(table).where(table.c.id == row_id, self._owned(table), *conditions).values(**values)
        return self.conn.execute(stmt).rowcount > 0

    def _delete(self, row_id: str) -> None:
        self._delete_in(self.table, self.kind, row_id)

    def _delete_in(self, table: Table, kind: str, row_id: str) -> None:
        result = self.conn.execute(table.delete().where(table.c.id == row_id, self._owned(table)))
        if result.rowcount == 0:
            raise NotFound(kind, row_id)
