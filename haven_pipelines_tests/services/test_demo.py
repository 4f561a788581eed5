"""The demo loader: idempotent, topping up, autopilot settings, drawn images that differ by collection."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.db.tables import assets, quotes, users
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.demo import DEMO_EMAIL, DEMO_QUOTES, draw_design, load_demo


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(users)).scalar_one(),
                conn.execute(select(func.count()).select_from(quotes)).scalar_one(),
                conn.execute(select(func.count()).select_from(assets)).scalar_one())


def test_load_twice_adds_nothing_twice_and_tops_up(engine, tmp_path):
    blobs = LocalBlobStore(tmp_path / "images")
    first = load_demo(engine, blobs, designs=3)
    second = load_demo(engine, blobs, designs=3)
    third = load_demo(engine, blobs, designs=5)

    assert first.user_created and first.quotes_created == len(DEMO_QUOTES) and len(first.designs_created) == 3
    assert not second.changed and second.designs_existing == 3 and second.quotes_existing == len(DEMO_QUOTES)
    assert len(third.designs_created) == 2 and third.designs_existing == 3
    assert _counts(engine) == (1, len(DEMO_QUOTES), 5)
    with engine.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.email == DEMO_EMAIL)).scalar_one()
        settings = SettingsStore(conn, user_id).get()
        page = DesignStore(conn, user_id).list_assets(status="approved", limit=100)
        design = DesignStore(conn, user_id).get_design(first.designs_created[0])
        first_collections = {DesignStore(conn, user_id).get_design(a)["collection"] for a in first.designs_created}
    assert settings["global_mode"] == "autopilot" and settings["annual_mockup_budget"] == 3500
    assert page.total == 5 and all(r["approved_at"] is not None for r in page.rows)
    assert design["quote_text"] == DEMO_QUOTES[0][0] and design["collection"] == DEMO_QUOTES[0][1]
    assert first_collections == {"grounding", "wholeness", "growth"}
    for row in page.rows:
        image = Image.open(io.BytesIO(blobs.get(row["file_key"])))
        assert (image.format, image.size) == ("PNG", (1600, 2000))
        assert row["file_key"].startswith(f"designs/{user_id}/{row['id']}-")


def test_existing_demo_user_keeps_operator_settings(sqlite_engine, tmp_path):
    blobs = LocalBlobStore(tmp_path / "images")
    summary = load_demo(sqlite_engine, blobs, designs=1)
    with sqlite_engine.begin() as conn:
        SettingsStore(conn, summary.user_id).update(global_mode="supervised")
    again = load_demo(sqlite_engine, blobs, designs=1)
    assert again.global_mode == "supervised" and not again.user_created


def test_missing_image_is_redrawn(sqlite_engine, tmp_path):
    blobs = LocalBlobStore(tmp_path / "images")
    summary = load_demo(sqlite_engine, blobs, designs=1)
    key = summary.design_keys[0]
    original = blobs.get(key)
    blobs.delete(key)
    again = load_demo(sqlite_engine, blobs, designs=1)
    assert again.images_restored == 1 and blobs.get(key) == original


@pytest.mark.parametrize("designs", [0, 201, "3", True])
def test_design_count_is_validated(sqlite_engine, tmp_path, designs):
    with pytest.raises(ValidationError) as err:
        load_demo(sqlite_engine, LocalBlobStore(tmp_path / "images"), designs=designs)
    assert err.value.field == "designs"
    assert _counts(sqlite_engine) == (0, 0, 0)


def _mean_rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32).reshape(-1, 3).mean(axis=0)


def test_drawing_is_deterministic_and_differs_by_collection():
    grounding = draw_design(0, "Roots before branches.", "grounding")
    assert draw_design(0, "Roots before branches.", "grounding") == grounding
    assert draw_design(1, "Roots before branches.", "grounding") != grounding
    means = {c: _mean_rgb(draw_design(0, "Same words.", c)) for c in ("grounding", "wholeness", "growth")}
    # Grounding is warm (red over green), growth is green (green over red), wholeness is light.
    assert means["grounding"][0] > means["grounding"][1] + 15
    assert means["growth"][1] > means["growth"][0] + 15
    assert means["wholeness"].mean() > means["grounding"].mean() + 20
    with pytest.raises(ValidationError):
        draw_design(0, "x", "joy")
