"""System-level design lookups for the orchestration layer, and the design <-> partition key mapping.

These cross user boundaries on purpose: a sensor acts for every user. They return the owner with each
design so that every later step runs as that user through the user-scoped stores.

Partition keys: a design's Dagster partition key is the readable key stored with it
(``roots-before-branches-6e714a3a``, see :mod:`haven_pipelines.domain.labels`). This module is the
one place that turns designs into keys (:func:`partition_keys`, :func:`partition_key_of`) and keys
into designs (:func:`designs_for_keys`, :func:`resolve_design`); sensors, assets, op jobs and the
CLI all go through it. Everything below the Dagster layer (services, stores) speaks design ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.designs import approved_designs_page as _approved_page
from haven_pipelines.db.stores.designs import design_collections, designs_by_partition_key, partition_keys_by_id
from haven_pipelines.db.stores.scenes import SceneStore
from haven_pipelines.db.stores.mockups import mockup_statuses
from haven_pipelines.db.tables import assets, quotes
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.labels import looks_like_partition_key
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


# -- partition keys ------------------------------------------------------------------------------------


def partition_key_of(row: dict) -> str:
    """The partition key of a design row (``assets`` columns): its stored key, else its id."""
    return row.get("partition_key") or row["id"]


def partition_keys(engine: Engine, asset_ids: Sequence[str]) -> dict[str, str]:
    """Design id -> partition key, for the designs that exist (one system read per 1000 ids)."""
    with engine.connect() as conn:  # a system read: the store switches to the pipeline role
        stored = partition_keys_by_id(conn, asset_ids)
    return {a: stored[a] or a for a in dict.fromkeys(asset_ids) if a in stored}


@dataclass(frozen=True)
class DesignPartitions:
    """The designs a set of partition keys names: ``ids`` in the keys' order, each id's key (the
    first key naming it), every key's design, and the keys that name no design."""

    ids: list[str]
    key_of: dict[str, str]
    design_of: dict[str, str]
    unknown: list[str]


def designs_for_keys(engine: Engine, keys: Sequence[str]) -> DesignPartitions:
    """The designs the partition ``keys`` name (stored keys, or bare ids from before migration 0009).

    One system read per 1000 keys. Two keys naming one design (its old id key and its new key, on
    an instance not yet migrated) give that design once, under the first of them.
    """
    ordered = list(dict.fromkeys(keys))
    with engine.connect() as conn:  # a system read: the store switches to the pipeline role
        found = designs_by_partition_key(conn, ordered)
    ids: list[str] = []
    key_of: dict[str, str] = {}
    for key in ordered:
        asset_id = found.get(key)
        if asset_id is not None and asset_id not in key_of:
            ids.append(asset_id)
            key_of[asset_id] = key
    return DesignPartitions(ids, key_of, {k: found[k] for k in ordered if k in found}, [k for k in ordered if k not in found])


def parse_design_ref(ref: str, field: str = "design") -> tuple[str | None, str]:
    """What ``ref`` is, without the database: ``(id, id)`` for a design id (a UUID, canonical form),
    ``(None, key)`` for the shape of a partition key (lower case).

    Raises:
        ValidationError: ``ref`` is neither shape (naming ``field``).
    """
    text = (ref or "").strip()
    try:
        asset_id = str(uuid.UUID(text))
        return asset_id, asset_id
    except ValueError:
        pass
    key = text.lower()
    if not looks_like_partition_key(key):
        raise ValidationError(field, f"{ref!r} is neither a design id (a UUID such as "
                                     "00000000-0000-0000-0000-000000000001) nor a design key "
                                     "(such as roots-before-branches-6e714a3a)")
    return None, key


def resolve_design(engine: Engine, ref: str, field: str = "design") -> str:
    """The id of the design ``ref`` names: a design id (a UUID) or a partition key.

    Raises:
        ValidationError: ``ref`` is neither shape (naming ``field``).
        NotFound: no design has that key.
    """
    asset_id, key = parse_design_ref(ref, field)
    if asset_id is not None:
        return asset_id
    found = designs_for_keys(engine, [key])
    if not found.ids:
        raise NotFound("design", f"with key {key}")
    return found.ids[0]
