"""Design partition keys: set once when a design is created, unique across users (row-level security
hides the other users' keys, the unique index does not), backfilled by migration 0009, and mapped
both ways by ``services.designs``."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine, make_url

from haven_pipelines import settings
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import head_revision, upgrade
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tables import assets, mockups, quotes, users
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.services.designs import designs_for_keys, partition_keys, resolve_design
from haven_pipelines_tests.conftest import admin_execute, create_pg_database, drop_pg_database
from haven_pipelines_tests.db.test_migrations import empty_url  # noqa: F401 - fixture
from haven_pipelines_tests.db.test_row_level_security import _as_role, login_factory  # noqa: F401 - fixture

# Three ids sharing their first 8 hex digits, the first two their first 12 as well.
TWINS = ("6e714a3a-9f0c-4b8e-a1d2-000000000001", "6e714a3a-9f0c-4b8e-a1d2-000000000002",
         "6e714a3a-1111-4b8e-a1d2-000000000003")


def _user(engine: Engine, email: str) -> str:
    with engine.begin() as conn:
        return get_or_create_user(conn, email)["id"]


def _design(engine: Engine, user_id: str, quote_text: str | None, asset_id: str | None = None) -> dict:
    with engine.begin() as conn:
        store = DesignStore(conn, user_id)
        quote_id = store.create_quote(quote_text, "growth")["id"] if quote_text else None
        return dict(store.create_asset("file:///a.png", "designs/a.png", "png", 80, 100, quote_id, "approved",
                                       asset_id=asset_id))


def test_a_design_gets_its_key_when_created_and_keeps_it_when_the_quote_changes(engine):
    user = _user(engine, "ada@example.com")
    design = _design(engine, user, "Roots before branches.", TWINS[0])
    assert design["partition_key"] == "roots-before-branches-6e714a3a"
    with engine.begin() as conn:
        store = DesignStore(conn, user)
        store.update_quote(design["quote_id"], text="Branches after roots.")
        store.approve_asset(design["id"])
        assert store.get_asset(design["id"])["partition_key"] == "roots-before-branches-6e714a3a"
    assert _design(engine, user, None)["partition_key"].startswith("design-")


def test_colliding_keys_take_more_of_the_id_across_users(engine):
    ada, bob = _user(engine, "ada@example.com"), _user(engine, "bob@example.com")
    keys = [_design(engine, owner, "Roots before branches.", asset_id)["partition_key"]
            for owner, asset_id in zip((ada, bob, ada), TWINS)]
    assert keys == ["roots-before-branches-6e714a3a", "roots-before-branches-6e714a3a9f0c",
                    "roots-before-branches-6e714a3a1111"]


@pytest.mark.postgres
def test_a_collision_with_a_key_row_level_security_hides_is_still_avoided(pg_url):
    """As the application role, a user cannot read another user's key; the insert still finds a free one."""
    admin = create_engine(pg_url)
    app = _as_role(pg_url, settings.db_roles().app)
    try:
        ada, bob = _user(admin, "ada@example.com"), _user(admin, "bob@example.com")
        first = _design(app, ada, "Roots before branches.", TWINS[0])
        second = _design(app, bob, "Roots before branches.", TWINS[1])
        with app.connect() as conn:  # no user setting: nothing visible
            assert conn.execute(select(assets.c.id)).all() == []
    finally:
        app.dispose()
        admin.dispose()
    assert (first["partition_key"], second["partition_key"]) == (
        "roots-before-branches-6e714a3a", "roots-before-branches-6e714a3a9f0c")


def test_the_mapping_goes_both_ways_and_accepts_the_old_bare_id_keys(engine):
    user = _user(engine, "ada@example.com")
    one = _design(engine, user, "Roots before branches.", TWINS[0])
    two = _design(engine, user, "Grow slowly.")
    keys = partition_keys(engine, [two["id"], one["id"], "00000000-0000-0000-0000-00000000dead"])
    assert keys == {two["id"]: two["partition_key"], one["id"]: "roots-before-branches-6e714a3a"}

    found = designs_for_keys(engine, ["roots-before-branches-6e714a3a", two["id"], one["id"], "gone-12345678"])
    assert found.ids == [one["id"], two["id"]]  # in the keys' order; the old id key of `one` adds nothing
    assert found.key_of == {one["id"]: "roots-before-branches-6e714a3a", two["id"]: two["id"]}
    assert found.design_of[one["id"]] == one["id"] and found.unknown == ["gone-12345678"]

    assert resolve_design(engine, "roots-before-branches-6e714a3a") == one["id"]
    assert resolve_design(engine, " ROOTS-before-branches-6E714A3A ") == one["id"]
    assert resolve_design(engine, one["id"].upper()) == one["id"]
    with pytest.raises(NotFound, match="design with key roots-before-branches-00000000 not found"):
        resolve_design(engine, "roots-before-branches-00000000")
    with pytest.raises(ValidationError, match="^design: 'roots' is neither a design id"):
        resolve_design(engine, "roots")


def test_0009_backfills_keys_oldest_first_and_keeps_every_mockup(empty_url):  # noqa: F811
    upgrade(empty_url, revision="0008")
    engine = create_engine(empty_url)
    stamp = "2026-01-0{}T00:00:00+00:00"
    try:
        with engine.begin() as conn:
            conn.execute(insert(users).values(id="u1", email="old@haven.test"))
            conn.execute(insert(quotes).values(id="q1", user_id="u1", text="Café, s’il vous plaît!", collection="growth"))
            for n, asset_id in enumerate(reversed(TWINS)):  # inserted newest first: TWINS[0] is the oldest
                conn.execute(text(
                    "INSERT INTO assets (id, user_id, quote_id, file_url, file_key, format, approval_status, created_at, updated_at) "
                    "VALUES (:id, 'u1', :quote, 'u', 'k', 'png', 'approved', :at, :at)"),
                    {"id": asset_id, "quote": "q1" if asset_id != TWINS[2] else None, "at": stamp.format(3 - n)})
            conn.execute(insert(mockups).values(id="m1", user_id="u1", asset_id=TWINS[0], scene="bedroom", scene_config={}))
        assert upgrade(engine=engine) == head_revision()
        with engine.connect() as conn:
            keys = dict(conn.execute(select(assets.c.id, assets.c.partition_key)).all())
            assert conn.execute(select(mockups.c.id)).scalars().all() == ["m1"]
        assert keys == {TWINS[2]: "design-6e714a3a", TWINS[0]: "cafe-sil-vous-plait-6e714a3a",
                        TWINS[1]: "cafe-sil-vous-plait-6e714a3a9f0c"}
        # The store's rule and the migration's agree on a new design of the same quote.
        with engine.begin() as conn:
            made = DesignStore(conn, "u1").create_asset("u", "k", "png", None, None, "q1",
                                                        asset_id="6e714a3a-9f0c-4b8e-ffff-000000000004")
        assert made["partition_key"] == "cafe-sil-vous-plait-6e714a3a9f0c4b8e"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_0009_backfills_as_a_migrating_role_that_row_level_security_binds(login_factory):
    """A deployment's migrating login is no superuser: under forced row-level security it reads no
    tenant row by itself, so 0009 switches to the pipeline role for the backfill (and back)."""
    url = create_pg_database()
    owner = login_factory()
    admin_execute(f'CREATE ROLE "{owner}" LOGIN')
    try:
        upgrade(url, revision="0008")
        admin = create_engine(url)
        try:
            with admin.begin() as conn:
                conn.execute(insert(users).values(id="u1", email="old@haven.test"))
                conn.execute(insert(quotes).values(id="q1", user_id="u1", text="Roots before branches.", collection="growth"))
                conn.execute(insert(assets).values(id=TWINS[0], user_id="u1", quote_id="q1", file_url="u", file_key="k",
                                                   format="png"))
                conn.execute(text(f'ALTER TABLE assets OWNER TO "{owner}"'))
                conn.execute(text(f'GRANT "{settings.db_roles().app}" TO "{owner}"'))
                conn.execute(text(f'GRANT SELECT, UPDATE ON alembic_version TO "{owner}"'))
                conn.execute(text(f'GRANT CREATE ON SCHEMA public TO "{owner}"'))
        finally:
            admin.dispose()
        as_owner = create_engine(make_url(url).set(username=owner, password=None).render_as_string(hide_password=False))
        try:
            with as_owner.connect() as conn:  # the login alone sees no design
                assert conn.execute(select(assets.c.id)).all() == []
            assert upgrade(engine=as_owner) == head_revision()
        finally:
            as_owner.dispose()
        admin = create_engine(url)
        try:
            with admin.connect() as conn:
                assert conn.execute(select(assets.c.partition_key)).scalars().all() == ["roots-before-branches-6e714a3a"]
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        finally:
            admin.dispose()
    finally:
        drop_pg_database(url)


def test_0009_froze_the_same_key_rule_the_store_uses():
    """The migration keeps its own copy of the rule; on the day it was written the two agree, for
    narrow, wide and cut quotes alike."""
    import importlib.util
    from pathlib import Path

    import haven_pipelines.db as db
    from haven_pipelines.domain.labels import design_partition_key

    path = Path(db.__file__).parent / "migrations" / "versions" / "0009_design_partition_keys.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    quotes = ["You were never broken, only bending.", "Roots before branches.", "m" * 30, "i" * 30,
              "Wow, what a wonderful world we wander", "Café, s’il vous plaît!", "", "—"]
    for quote in quotes:
        asset_id = "8262dd8f-1b2c-4d5e-8f90-a1b2c3d4e5f6"
        assert migration._key(quote, asset_id, set()) == design_partition_key(quote, asset_id), quote
