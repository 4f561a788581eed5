"""System-level design lookups for the orchestration layer (partitions are keyed by design id only).

These cross user boundaries on purpose: a sensor acts for every user. They return the owner with each
design so that every later step runs as that user through the user-scoped stores.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.designs import approved_designs_page as _approved_page
from haven_pipelines.db.tables import assets, quotes
from haven_pipelines.domain.errors import NotFound
from haven_pipelines.domain.scenes import scenes_for_collection
from haven_pipelines.db.tenancy import cross_tenant_connection


def owner_of(engine: Engine, asset_id: str) -> str:
    """The id of the user who owns design ``asset_id``; NotFound when there is no such design."""
    with cross_tenant_connection(engine) as conn:
        user_id = conn.execute(select(assets.c.user_id).where(assets.c.id == asset_id)).scalar()
    if user_id is None:
        raise NotFound("design asset", asset_id)
    return user_id


def scenes_for_design(engine: Engine, asset_id: str) -> list[str]:
    """The system scene keys that the design's quote collection recommends (all five when unknown)."""
    with cross_tenant_connection(engine) as conn:
        collection = conn.execute(
            select(quotes.c.collection).select_from(assets.outerjoin(quotes, assets.c.quote_id == quotes.c.id))
            .where(assets.c.id == asset_id)
        ).scalar()
    return scenes_for_collection(collection)


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
