"""DesignStore (quotes, design assets) and the system page of approved designs, on both backends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from haven_pipelines.db.stores.designs import DesignStore, approved_designs_page, approved_designs_query
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tables import assets, new_id
from haven_pipelines.domain.errors import NotFound, ValidationError


@pytest.fixture
def user_id(engine) -> str:
    with engine.begin() as conn:
        return get_or_create_user(conn, "ada@example.com")["id"]


def _asset(store: DesignStore, quote_id=None, status="pending"):
    return store.create_asset("file:///a.png", "designs/a.png", "PNG", 1600, 2000, quote_id, status)


def test_quote_and_asset_round_trip(engine, user_id):
    with engine.begin() as conn:
        store = DesignStore(conn, user_id)
        quote = store.create_quote("  Roots before branches.  ", "grounding", mood="calm")
        asset = _asset(store, quote["id"])
        design = store.get_design(asset["id"])
    assert quote["text"] == "Roots before branches."
    assert asset["format"] == "png" and asset["approval_status"] == "pending" and asset["approved_at"] is None
    assert (design["quote_text"], design["collection"], design["mood"]) == ("Roots before branches.", "grounding", "calm")
    assert design["file_key"] == "designs/a.png"


def test_design_without_quote_has_empty_quote_fields(engine, user_id):
    with engine.begin() as conn:
        store = DesignStore(conn, user_id)
        design = store.get_design(_asset(store)["id"])
    assert design["quote_text"] is None and design["collection"] is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "", "collection": "growth"}, "text"),
        ({"text": "x" * 1001, "collection": "growth"}, "text"),
        ({"text": "ok", "collection": "joy"}, "collection"),
        ({"text": "ok", "collection": "growth", "mood": "m" * 51}, "mood"),
    ],
)
def test_quote_validation_names_the_field(engine, user_id, kwargs, field):
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            DesignStore(conn, user_id).create_quote(**kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "k", "png", 1, 1), "file_url"),
        (("u", "k", "gif", 1, 1), "format"),
        (("u", "k", "png", 0, 1), "width"),
        (("u", "k", "png", 1, -5), "height"),
    ],
)
def test_asset_validation_names_the_field(engine, user_id, args, field):
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            DesignStore(conn, user_id).create_asset(*args)
    assert err.value.field == field


def test_asset_with_unknown_quote_is_not_found(engine, user_id):
    with engine.begin() as conn:
        with pytest.raises(NotFound):
            _asset(DesignStore(conn, user_id), quote_id=new_id())


def test_approve_stamps_once_and_updated_at_moves(engine, user_id):
    with engine.begin() as conn:
        store = DesignStore(conn, user_id)
        asset = _asset(store)
    time.sleep(0.01)
    with engine.begin() as conn:
        approved = DesignStore(conn, user_id).approve_asset(asset["id"])
    with engine.begin() as conn:
        again = DesignStore(conn, user_id).approve_asset(asset["id"])
    assert approved["approval_status"] == "approved" and approved["approved_at"] is not None
    assert approved["updated_at"] > asset["updated_at"]
    assert again["approved_at"] == approved["approved_at"]


def test_list_assets_filters_pages_and_counts(engine, user_id):
    with engine.begin() as conn:
        store = DesignStore(conn, user_id)
        ids = [_asset(store, status="approved" if i % 2 else "pending")["id"] for i in range(5)]
        page = store.list_assets(status="approved", limit=1, offset=1)
        everything = store.list_assets(limit=100)
    assert page.total == 2 and len(page.rows) == 1
    assert everything.total == 5 and {r["id"] for r in everything.rows} == set(ids)


@pytest.mark.parametrize(("limit", "offset", "field"), [(0, 0, "limit"), (101, 0, "limit"), (10, -1, "offset"), ("5", 0, "limit")])
def test_paging_limits(engine, user_id, limit, offset, field):
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            DesignStore(conn, user_id).list_assets(limit=limit, offset=offset)
    assert err.value.field == field


def test_update_and_delete_quote(engine, user_id):
    with engine.begin() as conn:
        store = DesignStore(conn, user_id)
        quote = store.create_quote("Grow slowly.", "growth")
        changed = store.update_quote(quote["id"], mood="patient")
        with pytest.raises(ValidationError):
            store.update_quote(quote["id"], colour="red")
        store.delete_quote(quote["id"])
        assert store.find_quote(quote["id"]) is None
    assert changed["mood"] == "patient" and changed["text"] == "Grow slowly."


def _bulk_approved(conn, user_id: str, count: int, start: datetime) -> list[tuple[datetime, str]]:
    """Insert ``count`` approved assets, several sharing each timestamp so ties are exercised."""
    rows = [
        {"id": new_id(), "user_id": user_id, "file_url": "u", "file_key": "k", "format": "png",
         "approval_status": "approved", "approved_at": start + timedelta(seconds=i // 3)}
        for i in range(count)
    ]
    conn.execute(insert(assets), rows)
    return sorted((r["approved_at"], r["id"]) for r in rows)


def test_approved_designs_page_walks_all_users_in_order(engine):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        a = get_or_create_user(conn, "a@example.com")["id"]
        b = get_or_create_user(conn, "b@example.com")["id"]
        expected = sorted(_bulk_approved(conn, a, 20, start) + _bulk_approved(conn, b, 17, start))
        DesignStore(conn, a).create_asset("u", "k", "png", 1, 1)  # pending: never listed
    seen, cursor = [], None
    with engine.connect() as conn:
        while page := approved_designs_page(conn, cursor, limit=7):
            seen.extend((r["approved_at"], r["id"]) for r in page)
            cursor = (page[-1]["approved_at"], page[-1]["id"])
    assert seen == expected
    assert all(stamp.tzinfo is not None for stamp, _ in seen)
    with pytest.raises(ValidationError):
        with engine.connect() as conn:
            approved_designs_page(conn, None, limit=0)


def test_approved_designs_page_uses_the_index_at_10000_rows(engine):
    with engine.begin() as conn:
        user = get_or_create_user(conn, "bulk@example.com")["id"]
        keys = _bulk_approved(conn, user, 10_000, datetime(2026, 1, 1, tzinfo=UTC))
    cursor = keys[5000]
    with engine.connect() as conn:
        page = approved_designs_page(conn, cursor, limit=100)
        assert [(r["approved_at"], r["id"]) for r in page] == keys[5001:5101]
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE assets"))
        compiled = approved_designs_query(cursor, 100).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(prefix + str(compiled)))
    assert "ix_assets_approval_status_approved_at" in plan, plan
