"""Browse the acting user's mockups (``haven mockups list``); rendering them is :mod:`.render`."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.base import Page
from haven_pipelines.db.stores.mockups import MockupStore


def list_mockups(
    engine: Engine,
    user_id: str,
    *,
    scene: str | None = None,
    status: str | None = None,
    asset_id: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page:
    """One page of the user's mockups, newest first, each with its design's quote, collection and mood.

    Args:
        scene, status, asset_id: optional filters (``status`` one of the mockup statuses).
        limit: 1 to 100 a page.
        offset: rows to skip (0 or more).

    Raises:
        ValidationError: a bad status, limit or offset, named.
    """
    with engine.connect() as conn:
        page = MockupStore(conn, user_id).list(scene=scene, status=status, asset_id=asset_id, limit=limit, offset=offset)
    return Page([dict(r) for r in page.rows], page.total)
