"""System-level design lookups for the orchestration layer (partitions are keyed by design id only).

These cross user boundaries on purpose: a sensor acts for every user. They return the owner with each
design so that every later step runs as that user through the user-scoped stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.designs import approved_designs_page as _approved_page
from haven_pipelines.db.stores.scenes import SceneStore
from haven_pipelines.db.stores.designs import design_collections
from haven_pipelines.db.stores.mockups import mockup_statuses
from haven_pipelines.db.tables import assets, quotes
from haven_pipelines.domain.errors import NotFound
from haven_pipelines.domain.scenes import scenes_for_collection
from haven_pipelines.services.render import RenderTask, split_planned
from haven_pipelines.db.tenancy import cross_tenant_connection


def owner_of(engine: Engine, asset_id: str) -> str:
    """The id of the user who owns design ``asset_id``; NotFound when there is no such design."""
    with cross_tenant_connection(engine) as conn:
        user_id = conn.execute(select(assets.c.user_id).where(assets.c.id == asset_id)).scalar()
    if user_id is None:
        raise NotFound("design asset", asset_id)
    return user_id


def scenes_for_design(engine: Engine, asset_id: str) -> list[str]:
    """The scene keys the design's quote collection recommends: the system scenes (all five when the
    collection is unknown), then the design owner's own scenes (photo scenes) recommending it."""
    with cross_tenant_connection(engine) as conn:
        found = conn.execute(
            select(quotes.c.collection, assets.c.user_id)
            .select_from(assets.outerjoin(quotes, assets.c.quote_id == quotes.c.id))
            .where(assets.c.id == asset_id)
        ).first()
        collection, owner = (found[0], found[1]) if found is not None else (None, None)
        own = SceneStore(conn, owner).recommending(collection) if owner and collection else []
    keys = scenes_for_collection(collection)
    return keys + [k for k in own if k not in keys]


def encode_cursor(approved_at: datetime, asset_id: str) -> str:
    """A sensor cursor string for the last design seen."""
    return f"{approved_at.isoformat()}|{asset_id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (approved_at, asset id) a cursor string names, or None for the start."""
    if not cursor:
        return None
    stamp, _, asset_id = cursor.partition("|")
    return datetime.fromisoformat(stamp), asset_id


def approved_designs_page(engine: Engine, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Approved designs after ``cursor`` in approval order, at most ``limit``; returns (rows, next cursor)."""
    with engine.connect() as conn:
        rows = [dict(r) for r in _approved_page(conn, decode_cursor(cursor), limit)]
    if not rows:
        return [], cursor
    last = rows[-1]
    return rows, encode_cursor(last["approved_at"], last["id"] if "id" in last else last["asset_id"])


@dataclass(frozen=True)
class ApprovedDesignsTick:
    """What the approved-designs sensor decides a tick from: a page of newly approved designs, the
    next cursor, each owner's designs in approval order, and the renders each owner still needs."""

    rows: list[dict]
    cursor: str | None
    designs_by_user: dict[str, list[str]]
    to_render: dict[str, list[RenderTask]]


def approved_designs_tick(engine: Engine, cursor: str | None, limit: int) -> ApprovedDesignsTick:
    """The page after ``cursor`` (at most ``limit`` designs, all users) and the renders it still needs.

    Three set-based queries on one connection, whatever the number of designs, scenes or owners:
    the page, its designs' quote collections (which choose the scenes), and their existing mockups
    (a completed, approved or rejected one needs no render, as :meth:`RenderService.plan` decides).
    A read across users: the page read switches the transaction to the pipeline role (row-level
    security on PostgreSQL), and the other two reads share that transaction.
    """
    with engine.connect() as conn:
        rows = [dict(r) for r in _approved_page(conn, decode_cursor(cursor), limit)]
        if not rows:
            return ApprovedDesignsTick([], cursor, {}, {})
        by_user: dict[str, list[str]] = {}
        for row in rows:
            by_user.setdefault(row["user_id"], []).append(row["id"])
        ids = [row["id"] for row in rows]
        collections = design_collections(conn, ids)
        statuses = mockup_statuses(conn, ids)
    tasks = {user_id: [RenderTask(a, s) for a in asset_ids for s in scenes_for_collection(collections.get(a))]
             for user_id, asset_ids in by_user.items()}
    plans = split_planned(tasks, statuses)
    last = rows[-1]
    return ApprovedDesignsTick(rows, encode_cursor(last["approved_at"], last["id"]), by_user,
                               {user_id: to_render for user_id, (to_render, _done) in plans.items()})
