"""Mockups: one row per design asset and scene, re-rendered in place on regeneration.

Life of a row::

    start ──► generating ──complete──► completed ──set_status──► approved | rejected
                  │                                                  ▲        │
                  └──fail──► failed        (start again resets any row to generating)

Credits are not this store's business: the credit ledger charges and refunds, and records the
``credits_used`` on the mockup, and its ``render_count`` (the renders paid for by a committed
reservation): :meth:`CreditLedger.commit` is the one writer of both, so they always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, RowMapping

from haven_pipelines.db.stores.base import (
    Page,
    UserScopedStore,
    clip_error,
    optional_text,
    paginate,
    require_choice,
    require_json_object,
    require_text,
)
from haven_pipelines.db.tables import MOCKUP_STATUSES, assets, mockups, new_id, quotes, utcnow
from haven_pipelines.domain.errors import Conflict

DECISIONS = ("approved", "rejected")
# A decision may be changed later (an approved mockup rejected after all), but only on a finished render.
_DECIDABLE = ("completed", "approved", "rejected")
# ``start``'s default: the caller did not read the existing mockup, so start reads it.
_UNREAD = object()
# Ids per IN list: well inside both backends' limits on bound parameters.
_IDS_PER_QUERY = 1000


# The statements a render runs, built once at import (building one cost more CPU than running it).
def _start_statement(insert_for_dialect):
    """Insert a new ``generating`` mockup, or nothing when a concurrent start inserted the row first
    (ON CONFLICT DO NOTHING: SQLite and PostgreSQL spell it alike); returns the row inserted."""
    columns = ("id", "user_id", "asset_id", "scene", "status", "scene_config", "renderer", "quote_id",
               "error_message", "approved_at", "rejected_at")
    return (
        insert_for_dialect(mockups)
        .values(**{c: bindparam(f"p_{c}") for c in columns})
        .on_conflict_do_nothing(index_elements=[mockups.c.asset_id, mockups.c.scene])
        .returning(*mockups.c)
    )


_START_SQLITE = _start_statement(sqlite_insert)
_START_POSTGRES = _start_statement(postgres_insert)
_OWN_ROW = (mockups.c.id == bindparam("p_id"), mockups.c.user_id == bindparam("p_user_id"))
_COMPLETE = (
    update(mockups)
    .where(*_OWN_ROW, mockups.c.status == "generating")
    .values(**{c: bindparam(f"p_{c}") for c in ("status", "file_url", "file_key", "thumbnail_url", "thumbnail_key",
                                                 "render_id", "renderer_metadata", "error_message")})
    .returning(*mockups.c)
)
# Approve or reject a finished mockup that does not have that status yet.
_DECIDE = {
    status: update(mockups)
    .where(*_OWN_ROW, mockups.c.status.in_(_DECIDABLE), mockups.c.status != status)
    .values(status=status,
            approved_at=bindparam("p_now") if status == "approved" else None,
            rejected_at=bindparam("p_now") if status == "rejected" else None)
    .returning(*mockups.c)
    for status in DECISIONS
}


class MockupStore(UserScopedStore):
    """The acting user's mockups."""

    table = mockups
    kind = "mockup"

    def get_by_design_scene(self, asset_id: str, scene: str) -> RowMapping | None:
        """The mockup of ``asset_id`` in ``scene``, or None."""
        stmt = select(mockups).where(self._owned(), mockups.c.asset_id == asset_id, mockups.c.scene == scene)
        return self.conn.execute(stmt).mappings().first()

    def by_design_scene(self, asset_ids: Iterable[str]) -> dict[tuple[str, str], RowMapping]:
        """The acting user's mockups of ``asset_ids``, by ``(asset id, scene)``: one query for a batch."""
        ids = list(dict.fromkeys(asset_ids))
        found: dict[tuple[str, str], RowMapping] = {}
        for begin in range(0, len(ids), _IDS_PER_QUERY):
            stmt = select(mockups).where(self._owned(), mockups.c.asset_id.in_(ids[begin : begin + _IDS_PER_QUERY]))
            found.update({(r["asset_id"], r["scene"]): r for r in self.conn.execute(stmt).mappings()})
        return found

    def start(
        self,
        asset_id: str,
        scene: str,
        scene_config: dict[str, Any] | None = None,
        renderer: str = "local",
        quote_id: str | None = None,
        *,
        asset: Mapping[str, Any] | None = None,
        existing: Mapping[str, Any] | None | object = _UNREAD,
    ) -> RowMapping:
        """Create the mockup of ``asset_id`` in ``scene``, or reset the existing one, to ``generating``.

        A reset keeps the previous render's file fields (they stay viewable until a new render
        completes) and clears the error and any decision.

        Args:
            asset_id: the acting user's design asset (another user's: NotFound).
            scene: the scene key.
            scene_config: the scene settings used for this render.
            renderer: ``local`` or ``dynamic_mockups``.
            quote_id: the design's quote; default the asset's own quote.
            asset: the asset's row as the caller read it through this user's stores (the render
                service reads a batch's designs at once); spares reading it again.
            existing: the mockup of ``(asset_id, scene)`` as the caller read it, or None for none
                (a batch reads them at once); by default it is read here. A row that a concurrent
                run inserted since is found all the same (the insert does nothing on the conflict).
        """
        if asset is None or asset["id"] != asset_id or asset["user_id"] != self.user_id:
            asset = self._get_in(assets, "design asset", asset_id)
        if quote_id is not None and quote_id != asset["quote_id"]:
            self._get_in(quotes, "quote", quote_id)
        reset = {
            "status": "generating",
            "scene_config": require_json_object("scene_config", scene_config),
            "renderer": require_text("renderer", renderer, max_len=32),
            "quote_id": quote_id or asset["quote_id"],
            "error_message": None,
            "approved_at": None,
            "rejected_at": None,
        }
        scene = require_text("scene", scene, max_len=64)
        if existing is _UNREAD:
            existing = self.get_by_design_scene(asset_id, scene)
        if existing is None:
            # ON CONFLICT DO NOTHING: losing a race to a concurrent start inserts nothing and leaves
            # the transaction usable (no savepoint needed); the row that won is then reset below.
            statement = _START_POSTGRES if self.conn.dialect.name == "postgresql" else _START_SQLITE
            row = self.conn.execute(statement, {"p_id": new_id(), "p_user_id": self.user_id, "p_asset_id": asset_id,
                                                "p_scene": scene, **{f"p_{k}": v for k, v in reset.items()}}).mappings().first()
            if row is not None:
                return row
            existing = self.get_by_design_scene(asset_id, scene)
            if existing is None:
                raise Conflict(f"mockup of {asset_id} in {scene} could not be started; try again")
        return self._update(existing["id"], reset)

    def complete(
        self,
        mockup_id: str,
        file_url: str,
        file_key: str,
        thumbnail_url: str | None,
        thumbnail_key: str | None,
        render_id: str | None,
        renderer_metadata: dict[str, Any] | None = None,
    ) -> RowMapping:
        """Record a finished render on a ``generating`` mockup (else :class:`Conflict`)."""
        values = {
            "status": "completed",
            "file_url": require_text("file_url", file_url, max_len=4000),
            "file_key": require_text("file_key", file_key, max_len=1000),
            "thumbnail_url": optional_text("thumbnail_url", thumbnail_url, max_len=4000),
            "thumbnail_key": optional_text("thumbnail_key", thumbnail_key, max_len=1000),
            "render_id": optional_text("render_id", render_id, max_len=128),
            "renderer_metadata": require_json_object("renderer_metadata", renderer_metadata),
            "error_message": None,
        }
        row = self.conn.execute(_COMPLETE, {"p_id": mockup_id, "p_user_id": self.user_id,
                                            **{f"p_{k}": v for k, v in values.items()}}).mappings().first()
        return row if row is not None else self._transition(mockup_id, values, ("generating",))  # the Conflict

    def fail(self, mockup_id: str, error: str) -> RowMapping:
        """Mark a ``generating`` mockup failed with the (clipped) error text."""
        return self._transition(mockup_id, {"status": "failed", "error_message": clip_error(error)}, ("generating",))

    def set_status(self, mockup_id: str, status: str) -> RowMapping:
        """Approve or reject a finished mockup, stamping ``approved_at`` or ``rejected_at``.

        Setting the status it already has changes nothing (the first stamp stays).
        """
        require_choice("status", status, DECISIONS)
        now = utcnow()
        values = {"status": status, "approved_at": now if status == "approved" else None,
                  "rejected_at": now if status == "rejected" else None}
        # One statement when the status changes: the update skips a row that already has it, and
        # only then is the row read, to tell "already so" (returned as it is) from a conflict.
        row = self.conn.execute(_DECIDE[status], {"p_id": mockup_id, "p_user_id": self.user_id, "p_now": now}).mappings().first()
        if row is not None:
            return row
        current = self.get(mockup_id)  # NotFound when the mockup is not the acting user's
        if current["status"] == status:
            return current
        return self._transition(mockup_id, values, _DECIDABLE)

    def _transition(self, mockup_id: str, values: dict[str, Any], allowed_from: tuple[str, ...]) -> RowMapping:
        row = self._update_returning(mockups, mockup_id, values, mockups.c.status.in_(allowed_from))
        if row is not None:
            return row
        current = self.get(mockup_id)  # NotFound when the mockup is not the acting user's
        raise Conflict(
            f"mockup {mockup_id} is {current['status']}; {values['status']} needs one of {', '.join(allowed_from)}"
        )

    def list(
        self,
        scene: str | None = None,
        status: str | None = None,
        asset_id: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Page:
        """The user's mockups, newest first, with their design and quote.

        Each row has the mockup's columns plus ``design_url``, ``design_key``, ``partition_key`` (the
        design's partition key in Dagster, None for a design stored before keys), ``quote_text``,
        ``collection`` and ``mood``. ``limit`` is 1..100 and ``offset`` >= 0.
        """
        stmt = (
            select(
                mockups,
                assets.c.file_url.label("design_url"),
                assets.c.file_key.label("design_key"),
                assets.c.partition_key.label("partition_key"),
                quotes.c.text.label("quote_text"),
                quotes.c.collection.label("collection"),
                quotes.c.mood.label("mood"),
            )
            .select_from(
                mockups.join(assets, assets.c.id == mockups.c.asset_id).outerjoin(
                    quotes, and_(quotes.c.id == mockups.c.quote_id, quotes.c.user_id == self.user_id)
                )
            )
            .where(self._owned())
        )
        if scene is not None:
            stmt = stmt.where(mockups.c.scene == scene)
        if status is not None:
            stmt = stmt.where(mockups.c.status == require_choice("status", status, MOCKUP_STATUSES))
        if asset_id is not None:
            stmt = stmt.where(mockups.c.asset_id == asset_id)
        return paginate(self.conn, stmt.order_by(mockups.c.created_at.desc(), mockups.c.id.desc()), limit, offset)

    def approved_for_design(self, asset_id: str) -> list[RowMapping]:
        """The approved mockups of a design, by scene key (the product's images come from these)."""
        stmt = (
            select(mockups)
            .where(self._owned(), mockups.c.asset_id == asset_id, mockups.c.status == "approved")
            .order_by(mockups.c.scene)
        )
        return list(self.conn.execute(stmt).mappings())

    def delete(self, mockup_id: str) -> None:
        """Delete a mockup (the ledger keeps its rows; their link to the mockup is cleared)."""
        self._delete(mockup_id)



def mockup_statuses(conn: Connection, asset_ids: Iterable[str]) -> dict[tuple[str, str, str], str]:
    """SYSTEM read (all users): ``(user id, design id, scene) -> status`` of the mockups of ``asset_ids``.

    Not user-scoped on purpose: render planning reads the mockups of many designs (a sensor tick's
    page, of many owners) in one query instead of one per design and scene. The owner is part of
    every key, so a caller acting for a user matches that user's rows only.
    """
    ids = list(dict.fromkeys(asset_ids))
    found: dict[tuple[str, str, str], str] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        stmt = select(mockups.c.user_id, mockups.c.asset_id, mockups.c.scene, mockups.c.status).where(
            mockups.c.asset_id.in_(ids[start : start + _IDS_PER_QUERY]))
        found.update({(r.user_id, r.asset_id, r.scene): r.status for r in conn.execute(stmt)})
    return found
