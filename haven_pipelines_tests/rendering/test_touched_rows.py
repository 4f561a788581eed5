"""A JPEG render re-encodes only the segments its window touched (a rectangle of runs of MCUs, fewer
rows than the opening's when a contain window is shorter than it), and is still byte for byte the
whole picture encoded with the same restart markers; a layout it does not expect falls back to the
whole encode."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.rendering import jpeg_rows as jpeg_rows_module
from haven_pipelines.rendering.images import encode
from haven_pipelines.rendering.jpeg_rows import JpegRows, segment_blocks
from haven_pipelines.rendering.local import LocalRenderer, SceneCache

from .test_photo import _renderer, _scene, empty_frame_room, gradient_wall


def _wide_art() -> Image.Image:
    art = Image.new("RGB", (1600, 700), (230, 0, 230))
    art.paste((0, 90, 200), (100, 100, 700, 300))
    return art


def _picture(renderer: LocalRenderer, art: Image.Image, scene) -> Image.Image:
    """The same render losslessly (PNG goes through the whole-picture encoder)."""
    return Image.open(io.BytesIO(renderer.render(art, scene, fmt="PNG").data)).convert("RGB")


def _noise(size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize("key", [s.key for s in SYSTEM_SCENES])
def test_a_wide_artwork_is_still_the_whole_picture_encoded(key):
    renderer = LocalRenderer(width=1200, cache=SceneCache())
    art = _wide_art()
    jpeg = renderer.render(art, key)
    picture = _picture(renderer, art, key)
    prepared = renderer.prepare(key)
    segments = prepared.jpeg_rows(renderer.quality)
    assert segments is not None and segments.per_row > 1  # segments across, not whole rows
    assert jpeg.data == encode(picture, "JPEG", renderer.quality, restart_marker_blocks=segments.blocks)
    # Everything outside the touched box is the room itself.
    plan = prepared.window_plan(art.width / art.height if prepared.scene.fit == "contain" else None)
    x0, top, x1, bottom = plan.touched
    room = prepared.background
    for box in ((0, 0, room.width, top), (0, bottom, room.width, room.height), (0, top, x0, bottom), (x1, top, room.width, bottom)):
        assert picture.crop(box).tobytes() == room.crop(box).tobytes(), box


def test_the_spliced_rectangle_lies_away_from_the_left_edge():
    """The home office's window starts several segments in: a render re-encodes neither the
    segments left of it nor those right of it, and the file is still the whole encode."""
    renderer = LocalRenderer(width=2400, cache=SceneCache())
    prepared = renderer.prepare("home_office")
    segments = prepared.jpeg_rows(renderer.quality)
    x0, _, x1, _ = prepared.window_plan(None).touched
    assert x0 // segments.segment_width >= 2 and -(-x1 // segments.segment_width) <= segments.per_row - 2
    art = _wide_art()
    assert renderer.render(art, "home_office").data == encode(
        _picture(renderer, art, "home_office"), "JPEG", renderer.quality, restart_marker_blocks=segments.blocks)


@pytest.mark.parametrize("options,quad", [
    (dict(frame="oak"), "300,150,620,150,620,420,300,420"),  # square-on
    (dict(frame="black", glare=0.3), "300,150,640,170,630,400,310,430"),  # in perspective, with glare
    (dict(frame="none", mat=0, fit="cover"), "300,150,640,170,630,400,310,430"),  # the photo's own frame
])
def test_a_photo_scene_render_is_the_whole_picture_encoded(options, quad):
    # 1000 px wide: 62.5 MCUs, so the last MCU of a row is partial; 700 high: so is the last row.
    data = empty_frame_room(1000, 700) if options["frame"] == "none" else gradient_wall(1000, 700)
    scene = _scene(data, quad, **options)
    renderer = _renderer(data, fmt="JPEG")
    jpeg = renderer.render(_wide_art(), scene)
    segments = renderer.prepare(scene).jpeg_rows(renderer.quality)
    assert segments is not None and segments.per_row > 1
    assert jpeg.data == encode(_picture(renderer, _wide_art(), scene), "JPEG", renderer.quality,
                               restart_marker_blocks=segments.blocks)


@pytest.mark.parametrize("size", [(1000, 700), (960, 640), (1203, 517)])
@pytest.mark.parametrize("box", [(331, 97, 602, 410), (0, 0, 40, 20), (700, 300, 5000, 5000), (17, 250, 18, 251)])
def test_any_touched_box_splices_to_the_whole_encode(size, box):
    """Noise everywhere (every byte of every segment differs between the two pictures), changed
    inside ``box`` only: in the middle, at the top-left corner, reaching the right and bottom
    edges (partial MCUs there for some sizes), one pixel."""
    room, other = _noise(size, 1), _noise(size, 2)
    segments = JpegRows.from_image(room, 88)
    assert segments is not None
    canvas = room.copy()
    clipped = (box[0], box[1], min(box[2], size[0]), min(box[3], size[1]))
    canvas.paste(other.crop(clipped), clipped[:2])
    assert segments.encode(canvas, box) == encode(canvas, "JPEG", 88, restart_marker_blocks=segments.blocks)
    # The room's own encode is the layout asked for: its segments are the ones spliced around.
    assert segments.header + segments.body + b"\xff\xd9" == encode(room, "JPEG", 88, restart_marker_blocks=segments.blocks)


def test_the_segment_width_divides_the_row():
    assert segment_blocks(150) == 10  # 2400 px
    assert segment_blocks(63) == 9  # 1000 px: 62.5 MCUs
    assert segment_blocks(151) == 151  # a prime: one segment a row rather than one a MCU
    assert segment_blocks(4) == 4  # a narrow picture: one segment a row
    for across in range(1, 400):
        assert across % segment_blocks(across) == 0


def test_a_layout_it_does_not_expect_falls_back_to_the_whole_encode(monkeypatch):
    renderer = LocalRenderer(width=1200, cache=SceneCache())
    prepared = renderer.prepare("home_office")
    segments = prepared.jpeg_rows(renderer.quality)
    art = _wide_art()
    picture = _picture(renderer, art, "home_office")
    real = jpeg_rows_module.encode

    def other_interval(image, fmt, quality, restart_marker_blocks=0):
        return real(image, fmt, quality, restart_marker_blocks=restart_marker_blocks + 1)

    # The rectangle comes back with other restart intervals: not spliced, the picture encoded whole.
    monkeypatch.setattr(jpeg_rows_module, "encode", other_interval)
    assert segments.encode(picture, prepared.window_plan(None).touched) is None
    assert renderer.render(art, "home_office").data == encode(picture, "JPEG", renderer.quality)

    def progressive(image, fmt, quality, restart_marker_blocks=0):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, progressive=True)
        return out.getvalue()

    monkeypatch.setattr(jpeg_rows_module, "encode", progressive)
    assert segments.encode(picture, prepared.window_plan(None).touched) is None
    assert JpegRows.from_image(picture, 88) is None
    assert JpegRows.from_image(picture.convert("L"), 88) is None


def test_a_wide_artwork_in_a_tall_window_touches_fewer_rows_than_the_opening():
    prepared = LocalRenderer(width=1200, cache=SceneCache()).prepare("bedroom")
    _, top, _, bottom = prepared.window_plan(1600 / 700).touched
    o_top, o_bottom = prepared.opening_box[1], prepared.opening_box[3]
    assert o_top < top < bottom < o_bottom
    assert bottom - top < 0.6 * (o_bottom - o_top)


def test_a_box_as_wide_as_the_picture_re_encodes_whole_rows_of_segments():
    """A box across the whole width re-encodes those rows whole, still the whole encode."""
    renderer = LocalRenderer(width=1200, cache=SceneCache())
    prepared = renderer.prepare("living_room")
    segments = prepared.jpeg_rows(renderer.quality)
    canvas = prepared.background.copy()
    canvas.paste((10, 200, 30), (3, 500, 1197, 540))  # reaches into the first and last segments
    assert prepared.encode(canvas, "JPEG", renderer.quality, (0, 500, 1200, 540)) == encode(
        canvas, "JPEG", renderer.quality, restart_marker_blocks=segments.blocks)
