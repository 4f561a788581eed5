"""Helpers shared by the bad-input and security suites: a seeded tenant world on PostgreSQL,
row-count snapshots of every table, and a text dump of the whole database.

Kept apart from ``invariants.py`` (the faults helper's module) so that the two can land independently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from haven_pipelines.db import tables
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.domain.keys import design_key


def png_bytes(size: tuple[int, int] = (120, 150), color: tuple[int, int, int] = (180, 120, 90)) -> bytes:
    """A small real PNG artwork."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def row_counts(engine: Engine) -> dict[str, int]:
    """The number of rows of every table of the application schema."""
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables.metadata.sorted_tables}


def table_dump(engine: Engine) -> dict[str, list[dict]]:
    """Every row of every table (for before/after comparisons of a tenant's data)."""
    with engine.connect() as conn:
        return {
            t.name: sorted((dict(r) for r in conn.execute(select(t)).mappings()), key=lambda r: repr(sorted(r.items(), key=str)))
            for t in tables.metadata.sorted_tables
        }


def database_text(engine: Engine) -> str:
    """All of the database as one text (every column of every row, as its ``repr``): what an attacker
    with a dump would read."""
    parts = []
    for name, rows in table_dump(engine).items():
        for row in rows:
            parts.append(f"{name}: {row!r}")
    return "\n".join(parts)


def user_rows(engine: Engine, user_id: str) -> dict[str, list[dict]]:
    """Every row that belongs to ``user_id`` (tables with a ``user_id`` column), for change checks."""
    dump = table_dump(engine)
    return {name: [r for r in rows if r.get("user_id") == user_id] for name, rows in dump.items()
            if rows and "user_id" in rows[0]}


@dataclass
class Tenant:
    """A user with a design, its mockups and product (ids)."""

    user_id: str
    email: str
    design_id: str
    mockup_ids: list[str] = field(default_factory=list)
    product_id: str | None = None
    approval_ids: list[str] = field(default_factory=list)


def make_user(engine: Engine, email: str, **settings) -> str:
    """Create (or find) a user; apply settings; returns the id."""
    with engine.begin() as conn:
        user_id = get_or_create_user(conn, email)["id"]
        if settings:
            SettingsStore(conn, user_id).update(**settings)
    return user_id


def make_design(ctx, user_id: str, *, data: bytes | None = None, collection: str = "grounding", approved: bool = True) -> str:
    """A design whose artwork ``data`` (default: a real PNG) is in the context's blob store."""
    data = png_bytes() if data is None else data
    with ctx.engine.begin() as conn:
        store = DesignStore(conn, user_id)
        quote = store.create_quote("Quiet is a kind of strength", collection, mood="calm")
        asset = store.create_asset("pending://", "pending", "png", 120, 150, quote_id=quote["id"])
        key = design_key(user_id, asset["id"], data, "png")
        stored = ctx.blob_store.put(key, data, "image/png")
        conn.execute(update(tables.assets).where(tables.assets.c.id == asset["id"]).values(file_url=stored.url, file_key=key))
        if approved:
            store.approve_asset(asset["id"])
    return asset["id"]


def seed_tenant(ctx, email: str, *, mode: str = "supervised") -> Tenant:
    """A user with one design rendered in two scenes (in supervised mode the mockups approved by the
    user and the product waiting for approval) and its product built: rows in every user-scoped
    table that a request could name."""
    from haven_pipelines.services.approvals import decide
    from haven_pipelines.services.products import ProductService
    from haven_pipelines.services.render import RenderService, RenderTask

    user_id = make_user(ctx.engine, email, global_mode=mode)
    design_id = make_design(ctx, user_id)
    result = RenderService(ctx).render_batch(user_id, [RenderTask(design_id, "bedroom"), RenderTask(design_id, "reading_nook")])
    assert all(o.status in ("completed", "approved") for o in result.outcomes), [o.error for o in result.outcomes]
    # A supervised product opens its approval only once its mockups are decided: A decides them, so
    # that the tenant has decided mockup items and a pending product item for B to try to reach.
    for outcome in result.outcomes:
        if outcome.approval_item_id:
            decide(ctx.engine, user_id, outcome.approval_item_id, "approved")
    built = ProductService(ctx).build_for_design(user_id, design_id)
    with ctx.engine.connect() as conn:
        approvals = conn.execute(select(tables.approval_items.c.id).where(tables.approval_items.c.user_id == user_id)).scalars().all()
    return Tenant(user_id, email, design_id, [o.mockup_id for o in result.outcomes], built.product_id, list(approvals))


def small_local_renderer(workers: int = 2):
    """The local renderer drawing 400 px mockups (fast; the size rule is tested in rendering/)."""
    from haven_pipelines.services.renderers import LocalRendererAdapter

    return LocalRendererAdapter(width=400, workers=workers)


class PaidRenderer:
    """The local renderer charging one credit per render (as Dynamic Mockups does), so that
    reservations, commits and refunds are real amounts offline."""

    credits_per_render = 1

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


def money(value: str) -> Decimal:
    """Shorthand for a Decimal amount."""
    return Decimal(value)
