"""The migrations build the same schema as the models, on SQLite and PostgreSQL, with exact seeds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import alembic_config, current_revision, head_revision, upgrade
from haven_pipelines.db.tables import (
    credit_month_balances,
    metadata,
    mockup_credit_usage,
    mockup_scene_templates,
    product_pricing,
    users,
)
from haven_pipelines_tests.conftest import create_pg_database, drop_pg_database
from haven_pipelines.domain.pricing import SYSTEM_PRICING
from haven_pipelines.domain.scenes import SYSTEM_SCENES


def test_database_is_at_head(engine):
    assert current_revision(engine) == head_revision()


def test_upgrade_twice_is_a_no_op(engine):
    assert upgrade(engine=engine) == head_revision()
    with engine.connect() as conn:
        assert len(conn.execute(select(product_pricing)).all()) == len(SYSTEM_PRICING)


def test_models_and_migrations_agree(engine):
    """Tables, columns, indexes and column types: what the migrations built is what the models say."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> Iterator[str]:
    """An empty database, not migrated, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def test_0002_backfills_month_totals_from_an_existing_ledger_and_downgrades(empty_url):
    upgrade(empty_url, revision="0001")
    engine = create_engine(empty_url)
    try:
        now = datetime(2025, 6, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(insert(users).values(id="u1", email="old@haven.test", created_at=now, updated_at=now))
            rows = [(1, 5, 0, 5), (2, 2, 5, 7), (3, -5, 7, 2), (4, 1, 2, 3)]
            months = {1: 5, 2: 6, 3: 5, 4: 6}
            for seq, credits, before, after in rows:
                conn.execute(insert(mockup_credit_usage).values(
                    user_id="u1", credits=credits, operation="refund" if credits < 0 else "generation",
                    balance_before=before, balance_after=after, seq=seq, year=2025, month=months[seq], created_at=now,
                ))
        assert upgrade(engine=engine) == head_revision()
        with engine.connect() as conn:
            totals = dict(conn.execute(select(credit_month_balances.c.month, credit_month_balances.c.used)).all())
            functions = _reserve_functions(conn)
        assert totals == {5: 0, 6: 3}
        assert functions == (1 if engine.dialect.name == "postgresql" else 0)

        downgrade_to(engine, "0001")
        with engine.connect() as conn:
            assert "credit_month_balances" not in inspect(conn).get_table_names()
            assert _reserve_functions(conn) == 0
            assert "ix_mockup_credit_usage_user_id" in {i["name"] for i in inspect(conn).get_indexes("mockup_credit_usage")}
        assert upgrade(engine=engine) == head_revision()
    finally:
        engine.dispose()


def downgrade_to(engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _reserve_functions(conn) -> int:
    if conn.dialect.name != "postgresql":
        return 0
    return conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'haven_reserve_credits'")).scalar_one()


def test_0003_gives_product_states_their_meaning_adds_digests_and_downgrades(empty_url):
    upgrade(empty_url, revision="0002")
    engine = create_engine(empty_url)
    stamp = "CURRENT_TIMESTAMP"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO users (id, email, created_at, updated_at) VALUES ('u1', 'old@haven.test', {stamp}, {stamp})"))
            for pid, status, error in [("p1", "pending", "throttled"), ("p2", "pending", None), ("p3", "draft", None),
                                       ("p4", "draft", None), ("p5", "active", None), ("p6", "draft", None)]:
                conn.execute(text(
                    "INSERT INTO products (id, user_id, title, handle, status, tags, sync_error, created_at, updated_at) "
                    f"VALUES (:id, 'u1', 'T', :handle, :status, '[]', :error, {stamp}, {stamp})"
                ), {"id": pid, "handle": f"h-{pid}", "status": status, "error": error})
            for item, ref, status in [("a3", "p3", "pending"), ("a4", "p4", "approved")]:
                conn.execute(text(
                    "INSERT INTO approval_items (id, user_id, type, reference_id, status, payload, created_at, updated_at) "
                    f"VALUES (:id, 'u1', 'product', :ref, :status, '{{}}', {stamp}, {stamp})"
                ), {"id": item, "ref": ref, "status": status})
        assert upgrade(engine=engine) == head_revision()
        with engine.connect() as conn:
            states = dict(conn.execute(text("SELECT id, status FROM products")).all())
            digests = conn.execute(text("SELECT count(*) FROM approval_items WHERE content_digest IS NULL")).scalar_one()
        assert states == {"p1": "sync_error", "p2": "awaiting_approval", "p3": "awaiting_approval", "p4": "approved",
                          "p5": "active", "p6": "draft"}
        assert digests == 2  # decided before digests: they match no content, so the next run asks again
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE products SET status = 'pending' WHERE id = 'p1'"))

        downgrade_to(engine, "0002")
        with engine.connect() as conn:
            states = dict(conn.execute(text("SELECT id, status FROM products")).all())
            assert "content_digest" not in {c["name"] for c in inspect(conn).get_columns("approval_items")}
            assert "published_digest" not in {c["name"] for c in inspect(conn).get_columns("products")}
        assert states == {"p1": "pending", "p2": "pending", "p3": "pending", "p4": "draft", "p5": "active", "p6": "draft"}
        assert upgrade(engine=engine) == head_revision()
    finally:
        engine.dispose()


def test_0004_keeps_what_the_shop_has_and_forgets_old_content_digests(empty_url):
    upgrade(empty_url, revision="0003")
    engine = create_engine(empty_url)
    stamp = "CURRENT_TIMESTAMP"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO users (id, email, created_at, updated_at) VALUES ('u1', 'old@haven.test', {stamp}, {stamp})"))
            conn.execute(text(
                "INSERT INTO products (id, user_id, title, handle, status, tags, published_digest, created_at, updated_at) "
                f"VALUES ('p1', 'u1', 'T', 'h-p1', 'active', '[]', :digest, {stamp}, {stamp})"
            ), {"digest": "a" * 64})
        assert upgrade(engine=engine) == head_revision()
        with engine.connect() as conn:
            # An approval content digest never equals an input digest: the first run sends once.
            assert conn.execute(text("SELECT published_digest FROM products")).scalar_one() is None
            columns = {c["name"] for c in inspect(conn).get_columns("products")}
            assert {"published_mode", "shopify_deleted_at"} <= columns
            assert "shopify_media_digest" in {c["name"] for c in inspect(conn).get_columns("product_images")}
        downgrade_to(engine, "0003")
        with engine.connect() as conn:
            assert "published_mode" not in {c["name"] for c in inspect(conn).get_columns("products")}
            assert "shopify_media_digest" not in {c["name"] for c in inspect(conn).get_columns("product_images")}
        assert upgrade(engine=engine) == head_revision()
    finally:
        engine.dispose()
