"""Quotes and design assets (the approved artwork the pipeline starts from).

:class:`DesignStore` is the acting user's view. :func:`approved_designs_page` is a SYSTEM read
across all users, for the approved-designs sensor only: it pages by the cursor
``(approved_at, id)`` over the index on ``(approval_status, approved_at)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from haven_pipelines.db.stores.base import (
    Page,
    UserScopedStore,
    as_utc,
    optional_text,
    paginate,
    require_choice,
    require_positive_int,
    require_text,
)
from haven_pipelines.db.tenancy import cross_tenant
from haven_pipelines.db.tables import ASSET_APPROVAL_STATUSES, COLLECTIONS, assets, new_id, quotes, utcnow
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.labels import design_partition_key_candidates

MAX_QUOTE_CHARS = 1000
IMAGE_FORMATS = ("png", "jpg", "jpeg", "webp")


class DesignStore(UserScopedStore):
    """The acting user's quotes and design assets."""

    table = assets
    kind = "design asset"

    # -- quotes -----------------------------------------------------------------------------

    def create_quote(
        self,
        text: str,
        collection: str,
        mood: str | None = None,
        attribution: str | None = None,
        *,
        quote_id: str | None = None,
    ) -> RowMapping:
        """Add a quote.

        Args:
            text: the quote, 1..1000 characters.
            collection: grounding, wholeness or growth.
            mood: an optional word or two (50 characters at most).
            attribution: who said it, if anyone (200 characters at most).
            quote_id: a caller-chosen id (the demo loader uses stable ids); default a new UUID.
        """
        values = {
            "id": quote_id or new_id(),
            "text": require_text("text", text, max_len=MAX_QUOTE_CHARS),
            "collection": require_choice("collection", collection, COLLECTIONS),
            "mood": optional_text("mood", mood, max_len=50),
            "attribution": optional_text("attribution", attribution, max_len=200),
        }
        return self._insert_in(quotes, values)

    def get_quote(self, quote_id: str) -> RowMapping:
        """The acting user's quote, else :class:`NotFound`."""
        return self._get_in(quotes, "quote", quote_id)

    def find_quote(self, quote_id: str) -> RowMapping | None:
        """The acting user's quote, or None."""
        return self._find_in(quotes, quote_id)

    def list_quotes(self, collection: str | None = None, limit: int = 20, offset: int = 0) -> Page:
        """The user's quotes, newest first, optionally of one collection."""
        stmt = select(quotes).where(self._owned(quotes))
        if collection is not None:
            stmt = stmt.where(quotes.c.collection == require_choice("collection", collection, COLLECTIONS))
        return paginate(self.conn, stmt.order_by(quotes.c.created_at.desc(), quotes.c.id.desc()), limit, offset)

    def update_quote(self, quote_id: str, **values: str | None) -> RowMapping:
        """Change a quote's text, collection, mood or attribution (each checked as on create)."""
        checked = {}
        for key, value in values.items():
            if key == "text":
                checked[key] = require_text("text", value, max_len=MAX_QUOTE_CHARS)
            elif key == "collection":
                checked[key] = require_choice("collection", value, COLLECTIONS)
            elif key == "mood":
                checked[key] = optional_text("mood", value, max_len=50)
            elif key == "attribution":
                checked[key] = optional_text("attribution", value, max_len=200)
            else:
                raise ValidationError(key, "not a quote field")
        if not checked:
            return self.get_quote(quote_id)
        return self._update_in(quotes, "quote", quote_id, checked)

    def delete_quote(self, quote_id: str) -> None:
        """Delete a quote (its assets keep existing, without a quote)."""
        self._delete_in(quotes, "quote", quote_id)

    # -- design assets ----------------------------------------------------------------------

    def create_asset(
        self,
        file_url: str,
        file_key: str,
        format: str,  # noqa: A002 - the column's name
        width: int | None,
        height: int | None,
        quote_id: str | None = None,
        approval_status: str = "pending",
        *,
        asset_id: str | None = None,
    ) -> RowMapping:
        """Record a design image already stored in the blob store.

        Args:
            file_url: where people can see it.
            file_key: its blob-store key.
            format: png, jpg, jpeg or webp.
            width, height: pixel size (positive), if known.
            quote_id: the acting user's quote it sets, if any (another user's quote: NotFound).
            approval_status: pending, approved (``approved_at`` is set now) or rejected.
            asset_id: a caller-chosen id; default a new UUID.
        """
        quote = self.get_quote(quote_id) if quote_id is not None else None
        status = require_choice("approval_status", approval_status, ASSET_APPROVAL_STATUSES)
        values = {
            "id": asset_id or new_id(),
            "file_url": require_text("file_url", file_url, max_len=4000),
            "file_key": require_text("file_key", file_key, max_len=1000),
            "format": require_choice("format", (format or "").lower(), IMAGE_FORMATS),
            "width": require_positive_int("width", width, allow_none=True),
            "height": require_positive_int("height", height, allow_none=True),
            "quote_id": quote_id,
            "approval_status": status,
            "approved_at": utcnow() if status == "approved" else None,
        }
        return self._insert_keyed(values, quote["text"] if quote is not None else None)

    def _insert_keyed(self, values: dict[str, Any], quote_text: str | None) -> RowMapping:
        """Insert the asset with the shortest free partition key of :func:`design_partition_key_candidates`.

        The unique index decides, not a read first: it sees every user's keys (row-level security
        hides them from a read) and holds under concurrent inserts. Each try is a savepoint, so a
        taken key costs one rolled-back statement and leaves the caller's transaction usable.
        """
        error: IntegrityError | None = None
        for key in design_partition_key_candidates(quote_text, values["id"]):
            try:
                with self.conn.begin_nested():
                    return self._insert_in(assets, {**values, "partition_key": key})
            except IntegrityError as exc:
                if "partition_key" not in str(exc.orig):
                    raise  # another constraint (a caller-chosen id that exists): not ours to retry
                error = exc
        raise error  # type: ignore[misc]  # every candidate taken: only with a duplicated id

    def get_asset(self, asset_id: str) -> RowMapping:
        """The acting user's design asset, else :class:`NotFound`."""
        return self.get(asset_id)

    def find_asset(self, asset_id: str) -> RowMapping | None:
        """The acting user's design asset, or None."""
        return self.find(asset_id)

    def approve_asset(self, asset_id: str) -> RowMapping:
        """Approve a design and stamp ``approved_at``; approving it again changes nothing.

        Keeping the first ``approved_at`` matters: the approved-designs sensor pages by it, and a
        moved stamp would make it see the same design twice.
        """
        self._update_where(assets, asset_id, {"approval_status": "approved", "approved_at": utcnow()},
                           assets.c.approval_status != "approved")
        return self.get(asset_id)  # NotFound when the asset is not the acting user's

    def reject_asset(self, asset_id: str) -> RowMapping:
        """Reject a design (clears ``approved_at``)."""
        return self._update(asset_id, {"approval_status": "rejected", "approved_at": None})

    def list_assets(self, status: str | None = None, limit: int = 20, offset: int = 0) -> Page:
        """The user's design assets, newest first, optionally with one approval status."""
        stmt = select(assets).where(self._owned())
        if status is not None:
            stmt = stmt.where(assets.c.approval_status == require_choice("status", status, ASSET_APPROVAL_STATUSES))
        return paginate(self.conn, stmt.order_by(assets.c.created_at.desc(), assets.c.id.desc()), limit, offset)

    def delete_asset(self, asset_id: str) -> None:
        """Delete a design asset (its mockups go with it; products keep existing without it)."""
        self._delete(asset_id)

    def get_design(self, asset_id: str) -> RowMapping:
        """The asset with its quote's ``quote_text``, ``collection`` and ``mood`` (None without a quote)."""
        row = self.conn.execute(self._design_query().where(assets.c.id == asset_id)).mappings().first()
        if row is None:
            raise NotFound(self.kind, asset_id)
        return row

    def get_designs(self, asset_ids: Iterable[str]) -> dict[str, RowMapping]:
        """:meth:`get_design` of several assets in one query: asset id -> row, the user's only
        (an id that is not theirs, or unknown, is simply absent)."""
        ids = list(dict.fromkeys(asset_ids))
        found: dict[str, RowMapping] = {}
        for begin in range(0, len(ids), SYSTEM_PAGE_MAX):
            stmt = self._design_query().where(assets.c.id.in_(ids[begin : begin + SYSTEM_PAGE_MAX]))
            found.update({row["id"]: row for row in self.conn.execute(stmt).mappings()})
        return found

    def _design_query(self) -> Select:
        return (
            select(
                assets,
                quotes.c.text.label("quote_text"),
                quotes.c.collection.label("collection"),
                quotes.c.mood.label("mood"),
                quotes.c.attribution.label("attribution"),
            )
            .select_from(assets.outerjoin(quotes, and_(quotes.c.id == assets.c.quote_id, quotes.c.user_id == self.user_id)))
            .where(self._owned())
        )


SYSTEM_PAGE_MAX = 1000


def approved_designs_page(
    conn: Connection, after_cursor: tuple[datetime, str] | None, limit: int = 100
) -> list[dict[str, Any]]:
    """SYSTEM read (all users): approved designs after ``after_cursor``, ordered by ``(approved_at, id)``.

    Not user-scoped on purpose: it feeds the approved-designs sensor, which adds one partition per
    design whatever its owner. Each use case then acts through the owner's stores.

    The keyset condition is written as ``approved_at >= t AND (approved_at > t OR id > i)`` so that
    the leading range uses the ``(approval_status, approved_at)`` index; a page costs the same at
    row 10 as at row 10,000.

    Args:
        conn: a connection.
        after_cursor: the last seen ``(approved_at, id)``, or None to start at the beginning.
        limit: designs per page, 1..1000.

    Returns:
        The design asset rows as dicts, ``approved_at`` as an aware UTC datetime; the last row's
        ``(approved_at, id)`` is the next cursor.
    """
    stmt = approved_designs_query(after_cursor, limit)
    cross_tenant(conn)
    return [{**row, "approved_at": as_utc(row["approved_at"])} for row in conn.execute(stmt).mappings()]


def approved_designs_query(after_cursor: tuple[datetime, str] | None, limit: int = 100) -> Select:
    """The SELECT behind :func:`approved_designs_page` (exposed so that a test can EXPLAIN it)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= SYSTEM_PAGE_MAX:
        raise ValidationError("limit", f"must be a whole number from 1 to {SYSTEM_PAGE_MAX}, got {limit!r}")
    stmt = select(assets).where(assets.c.approval_status == "approved", assets.c.approved_at.is_not(None))
    if after_cursor is not None:
        stamp, last_id = after_cursor
        stamp = as_utc(stamp)
        stmt = stmt.where(
            assets.c.approved_at >= stamp,
            or_(assets.c.approved_at > stamp, assets.c.id > last_id),
        )
    return stmt.order_by(assets.c.approved_at, assets.c.id).limit(limit)


# Ids per IN list: well inside both backends' limits on bound parameters.
_IDS_PER_QUERY = 1000


def design_collections(conn: Connection, asset_ids: Iterable[str]) -> dict[str, str | None]:
    """SYSTEM read (all users): design id -> its quote's collection (None without a quote or collection).

    For the approved-designs sensor, which chooses each design's scenes by collection for a whole
    page at once. A design that does not exist gets no entry.
    """
    ids = list(dict.fromkeys(asset_ids))
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        stmt = (select(assets.c.id, quotes.c.collection)
                .select_from(assets.outerjoin(quotes, assets.c.quote_id == quotes.c.id))
                .where(assets.c.id.in_(ids[start : start + _IDS_PER_QUERY])))
        found.update({r.id: r.collection for r in conn.execute(stmt)})
    return found


def partition_keys_by_id(conn: Connection, asset_ids: Iterable[str]) -> dict[str, str | None]:
    """SYSTEM read (all users): design id -> its stored partition key (None when the row has none).

    A design that does not exist gets no entry. One statement per 1000 ids.
    """
    ids = list(dict.fromkeys(asset_ids))
    cross_tenant(conn)
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        stmt = select(assets.c.id, assets.c.partition_key).where(assets.c.id.in_(ids[start : start + _IDS_PER_QUERY]))
        found.update({r.id: r.partition_key for r in conn.execute(stmt)})
    return found


def designs_by_partition_key(conn: Connection, keys: Iterable[str]) -> dict[str, str]:
    """SYSTEM read (all users): partition key -> design id, for the keys that name a design.

    A key names a design when it is the design's stored key, or (the keys from before migration
    0009, and a row without a stored key) the design's bare id. Keys naming nothing get no entry.
    """
    wanted = list(dict.fromkeys(keys))
    cross_tenant(conn)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start : start + _IDS_PER_QUERY]
        stmt = select(assets.c.id, assets.c.partition_key).where(
            or_(assets.c.partition_key.in_(chunk), assets.c.id.in_(chunk)))
        for row in conn.execute(stmt):
            if row.partition_key in chunk:
                found[row.partition_key] = row.id
            if row.id in chunk:
                found.setdefault(row.id, row.id)
    return found
