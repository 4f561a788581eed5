"""Who is acting: resolve the user a request names (by id or email)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.users import resolve_user


def resolve_user_id(engine: Engine, ref: str) -> str:
    """The id of the user named by id or email; NotFound or ValidationError naming ``user`` otherwise."""
    with engine.connect() as conn:
        return resolve_user(conn, ref)["id"]
