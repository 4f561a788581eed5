"""MockupStore: the render life cycle, decisions, listing with design and quote, on both backends."""

from __future__ import annotations

import time

import pytest

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.domain.errors import Conflict, NotFound, ValidationError


@pytest.fixture
def design(engine) -> dict:
    """A user with one approved design (quote in 'wholeness')."""
    with engine.begin() as conn:
        user_id = get_or_create_user(conn, "ada@example.com")["id"]
        store = DesignStore(conn, user_id)
        quote = store.create_quote("Whole, not perfect.", "wholeness", mood="gentle")
        asset = store.create_asset("file:///d.png", "designs/d.png", "png", 1600, 2000, quote["id"], "approved")
    return {"user_id": user_id, "asset_id": asset["id"], "quote_id": quote["id"]}


def _complete(store: MockupStore, mockup_id: str):
    return store.complete(mockup_id, "file:///m.png", "mockups/m.png", "file:///m.thumb.jpg", "mockups/m.thumb.jpg",
                          "r-1", {"width": 800})


def test_start_complete_approve(engine, design):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        started = store.start(design["asset_id"], "bedroom", {"fit": "cover"}, "local")
        done = _complete(store, started["id"])
        approved = store.set_status(started["id"], "approved")
        assert store.approved_for_design(design["asset_id"])[0]["id"] == started["id"]
    assert started["status"] == "generating" and started["quote_id"] == design["quote_id"]
    assert done["status"] == "completed" and done["render_count"] == 0 and done["renderer_metadata"] == {"width": 800}
    assert approved["approved_at"] is not None and approved["rejected_at"] is None


def test_start_again_resets_the_same_row(engine, design):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        first = store.start(design["asset_id"], "bedroom", {}, "local")
        store.fail(first["id"], "renderer timed out")
        again = store.start(design["asset_id"], "bedroom", {"v": 2}, "dynamic_mockups")
        assert store.list(limit=100).total == 1
    assert again["id"] == first["id"]
    assert again["status"] == "generating" and again["error_message"] is None
    assert again["renderer"] == "dynamic_mockups" and again["scene_config"] == {"v": 2}


def test_fail_records_clipped_error(engine, design):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        row = store.start(design["asset_id"], "bedroom", {}, "local")
        failed = store.fail(row["id"], "x" * 5000)
    assert failed["status"] == "failed" and len(failed["error_message"]) == 2000


@pytest.mark.parametrize("action", ["complete", "fail", "approve"])
def test_illegal_transitions_conflict(engine, design, action):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        row = store.start(design["asset_id"], "bedroom", {}, "local")
        if action != "approve":
            _complete(store, row["id"])  # complete or fail needs 'generating'
        with pytest.raises(Conflict):
            if action == "complete":
                _complete(store, row["id"])
            elif action == "fail":
                store.fail(row["id"], "late failure")
            else:
                store.set_status(row["id"], "approved")  # still generating


def test_set_status_validates_and_flips(engine, design):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        row = store.start(design["asset_id"], "bedroom", {}, "local")
        _complete(store, row["id"])
        with pytest.raises(ValidationError):
            store.set_status(row["id"], "completed")
        store.set_status(row["id"], "approved")
        rejected = store.set_status(row["id"], "rejected")
    assert rejected["rejected_at"] is not None and rejected["approved_at"] is None


def test_updated_at_moves_on_complete(engine, design):
    with engine.begin() as conn:
        row = MockupStore(conn, design["user_id"]).start(design["asset_id"], "bedroom", {}, "local")
    time.sleep(0.01)
    with engine.begin() as conn:
        done = _complete(MockupStore(conn, design["user_id"]), row["id"])
    assert done["updated_at"] > row["updated_at"]


def test_list_joins_design_and_quote_and_filters(engine, design):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        for scene in ("bedroom", "living_room", "reading_nook"):
            row = store.start(design["asset_id"], scene, {}, "local")
            time.sleep(0.002)  # distinct created_at, so newest-first is observable
        _complete(store, row["id"])
        page = store.list(limit=2)
        completed = store.list(status="completed")
        by_scene = store.list(scene="bedroom", asset_id=design["asset_id"])
    assert page.total == 3 and [r["scene"] for r in page.rows] == ["reading_nook", "living_room"]
    first = page.rows[0]
    assert (first["quote_text"], first["collection"], first["mood"]) == ("Whole, not perfect.", "wholeness", "gentle")
    assert first["design_url"] == "file:///d.png"
    assert [r["scene"] for r in completed.rows] == ["reading_nook"]
    assert by_scene.total == 1


@pytest.mark.parametrize(("kwargs", "field"), [({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                                               ({"offset": -1}, "offset"), ({"status": "done"}, "status")])
def test_list_validation(engine, design, kwargs, field):
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            MockupStore(conn, design["user_id"]).list(**kwargs)
    assert err.value.field == field


def test_start_needs_the_users_own_design(engine, design):
    with engine.begin() as conn:
        store = MockupStore(conn, design["user_id"])
        with pytest.raises(NotFound):
            store.start("00000000-0000-0000-0000-000000000000", "bedroom", {}, "local")
        with pytest.raises(ValidationError):
            store.start(design["asset_id"], "", {}, "local")
