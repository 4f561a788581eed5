"""PricingStore (system rows read-only, user overrides) and SceneStore (system + own scenes)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.scenes import SceneStore, update_system_scene
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tables import product_pricing
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.pricing import SYSTEM_BY_SIZE, SizePrice, resolve_price


@pytest.fixture
def user_id(engine) -> str:
    with engine.begin() as conn:
        return get_or_create_user(conn, "ada@example.com")["id"]


def test_system_rows_are_the_seeded_prices(engine, user_id):
    with engine.connect() as conn:
        assert PricingStore(conn, user_id).system_rows() == SYSTEM_BY_SIZE


def test_override_upserts_and_resolves(engine, user_id):
    with engine.begin() as conn:
        store = PricingStore(conn, user_id)
        store.set_override("8x10", "19.99", "39.99", "4.99", "7.00")
        row = store.set_override("8x10", Decimal("21.00"), "41.00", "5.00", "0")
        user_rows, system_rows = store.user_rows(), store.system_rows()
        count = len(conn.execute(select(product_pricing).where(product_pricing.c.user_id == user_id)).all())
    assert row == SizePrice("8x10", Decimal("21.00"), Decimal("41.00"), Decimal("5.00"), Decimal("0.00"))
    assert count == 1
    assert resolve_price("8x10", user_rows=user_rows, system_rows=system_rows) == Decimal("21.00")
    assert resolve_price("11x14", frame_style="black", user_rows=user_rows, system_rows=system_rows) == Decimal("69.99")


def test_override_updated_at_moves(engine, user_id):
    with engine.begin() as conn:
        PricingStore(conn, user_id).set_override("A4", "10", "20", "5", "1")
        before = conn.execute(select(product_pricing.c.updated_at).where(product_pricing.c.user_id == user_id)).scalar_one()
    time.sleep(0.01)
    with engine.begin() as conn:
        PricingStore(conn, user_id).set_override("A4", "11", "20", "5", "1")
        after = conn.execute(select(product_pricing.c.updated_at).where(product_pricing.c.user_id == user_id)).scalar_one()
    assert after > before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("8 by 10", "1", "1", "1", "1"), "size"),
        (("8x10", "0", "1", "1", "1"), "base_price"),
        (("8x10", "1", 2.5, "1", "1"), "framed_price"),
        (("8x10", "1", "1", "abc", "1"), "digital_price"),
        (("8x10", "1", "1", "1", "-1"), "cost"),
    ],
)
def test_override_validation(engine, user_id, args, field):
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            PricingStore(conn, user_id).set_override(*args)
    assert err.value.field == field


def test_system_rows_cannot_be_changed_or_deleted(engine, user_id):
    with engine.begin() as conn:
        store = PricingStore(conn, user_id)
        system_id = conn.execute(select(product_pricing.c.id).where(product_pricing.c.size == "8x10")).scalar_one()
        with pytest.raises(ValidationError) as changed:
            store.update_row(system_id, "1", "1", "1", "1")
        with pytest.raises(ValidationError):
            store.delete_row(system_id)
        assert store.system_rows()["8x10"] == SYSTEM_BY_SIZE["8x10"]
    assert changed.value.field == "row_id"


def test_delete_override_restores_system_price(engine, user_id):
    with engine.begin() as conn:
        store = PricingStore(conn, user_id)
        store.set_override("8x10", "1.00", "2.00", "3.00", "0")
        store.delete_override("8x10")
        assert store.user_rows() == {}
        with pytest.raises(NotFound):
            store.delete_override("8x10")


def test_scenes_visible_get_and_shadow(engine, user_id):
    with engine.begin() as conn:
        store = SceneStore(conn, user_id)
        assert [s["scene_key"] for s in store.visible()] == ["bedroom", "home_office", "living_room", "reading_nook", "therapy_office"]
        assert store.get("bedroom")["is_system"]
        own = store.create_user_scene("bedroom", "My bedroom", "mine", ["grounding"], 640, 800, {"fit": "cover"})
        studio = store.create_user_scene("studio", "Studio", None, [], 500, 600)
        assert store.get("bedroom")["id"] == own["id"]
        keys = {s["scene_key"]: s["id"] for s in store.visible()}
        with pytest.raises(ValidationError):
            store.create_user_scene("studio", "Again", None, [], 1, 1)
        store.update_user_scene("studio", is_active=False, width=700)
        with pytest.raises(NotFound):
            store.get("studio")
        store.delete_user_scene("bedroom")
        assert store.get("bedroom")["is_system"]
        with pytest.raises(NotFound):
            store.delete_user_scene("living_room")  # a system scene is not the user's to delete
    assert keys["bedroom"] == own["id"] and keys["studio"] == studio["id"] and len(keys) == 6


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scene_key": "Bad Key"}, "scene_key"),
        ({"name": ""}, "name"),
        ({"recommended_collections": ["joy"]}, "recommended_collections[0]"),
        ({"width": 0}, "width"),
        ({"config": [1]}, "config"),
    ],
)
def test_user_scene_validation(engine, user_id, kwargs, field):
    args = {"scene_key": "studio", "name": "Studio", "description": None, "recommended_collections": [],
            "width": 10, "height": 10, "config": {}, **kwargs}
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            SceneStore(conn, user_id).create_user_scene(**args)
    assert err.value.field == field


def test_update_system_scene_changes_only_what_is_given(engine, user_id):
    with engine.begin() as conn:
        row = update_system_scene(conn, "bedroom", dm_mockup_uuid="m-1", dm_smart_object_uuid="s-1")
        row2 = update_system_scene(conn, "bedroom", config={"quad": [0, 0, 1, 1]})
        with pytest.raises(NotFound):
            update_system_scene(conn, "nowhere", dm_mockup_uuid="x")
        seen = SceneStore(conn, user_id).get("bedroom")
    assert (row["dm_mockup_uuid"], row["dm_smart_object_uuid"]) == ("m-1", "s-1")
    assert row2["dm_mockup_uuid"] == "m-1" and row2["config"] == {"quad": [0, 0, 1, 1]}
    assert seen["dm_mockup_uuid"] == "m-1"
