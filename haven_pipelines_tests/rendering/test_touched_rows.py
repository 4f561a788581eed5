"""A JPEG render re-encodes only the rows its window touched: fewer than the opening's when a contain
window is shorter than it, and still byte for byte the whole picture encoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.rendering.images import encode
from haven_pipelines.rendering.local import LocalRenderer, SceneCache


def _wide_art() -> Image.Image:
    art = Image.new("RGB", (1600, 700), (230, 0, 230))
    art.paste((0, 90, 200), (100, 100, 700, 300))
    return art


@pytest.mark.parametrize("key", [s.key for s in SYSTEM_SCENES])
def test_a_wide_artwork_is_still_the_whole_picture_encoded(key):
    renderer = LocalRenderer(width=1200, cache=SceneCache())
    art = _wide_art()
    jpeg = renderer.render(art, key)
    picture = Image.open(io.BytesIO(renderer.render(art, key, fmt="PNG").data)).convert("RGB")
    assert jpeg.data == encode(picture, "JPEG", renderer.quality, restart_marker_rows=1)
    # Everything outside the touched rows is the room itself.
    prepared = renderer.prepare(key)
    scene = prepared.scene
    plan = prepared.window_plan(art.width / art.height if scene.fit == "contain" else None)
    top, bottom = plan.rows
    room = prepared.background
    assert picture.crop((0, 0, room.width, top)).tobytes() == room.crop((0, 0, room.width, top)).tobytes()
    assert picture.crop((0, bottom, room.width, room.height)).tobytes() == room.crop((0, bottom, room.width, room.height)).tobytes()


def test_a_wide_artwork_in_a_tall_window_touches_fewer_rows_than_the_opening():
    prepared = LocalRenderer(width=1200, cache=SceneCache()).prepare("bedroom")
    top, bottom = prepared.window_plan(1600 / 700).rows
    o_top, o_bottom = prepared.opening_box[1], prepared.opening_box[3]
    assert o_top < top < bottom < o_bottom
    assert bottom - top < 0.6 * (o_bottom - o_top)
