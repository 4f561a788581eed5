"""The migrations build the same schema as the models, on SQLite and PostgreSQL, with exact seeds."""

from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from haven_pipelines.db.migrate import current_revision, head_revision, upgrade
from haven_pipelines.db.tables import metadata, mockup_scene_templates, product_pricing
from haven_pipelines.domain.pricing import SYSTEM_PRICING
from haven_pipelines.domain.scenes import SYSTEM_SCENES


def test_database_is_at_head(engine):
    assert current_revision(engine) == head_revision()


def test_upgrade_twice_is_a_no_op(engine):
    assert upgrade(engine=engine) == head_revision()
    with engine.connect() as conn:
        assert len(conn.execute(select(product_pricing)).all()) == len(SYSTEM_PRICING)


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_system_scenes_seeded_exactly(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(mockup_scene_templates).where(mockup_scene_templates.c.is_system)).mappings().all()
    seeded = {r["scene_key"]: (r["description"], tuple(r["recommended_collections"]), r["width"], r["height"]) for r in rows}
    expected = {s.key: (s.description, s.recommended_collections, s.width, s.height) for s in SYSTEM_SCENES}
    assert seeded == expected


def test_system_pricing_seeded_exactly(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(product_pricing).where(product_pricing.c.is_system)).mappings().all()
    seeded = {r["size"]: (Decimal(r["base_price"]), Decimal(r["framed_price"]), Decimal(r["digital_price"]), Decimal(r["cost"])) for r in rows}
    expected = {p.size: (p.base_price, p.framed_price, p.digital_price, p.cost) for p in SYSTEM_PRICING}
    assert seeded == expected
