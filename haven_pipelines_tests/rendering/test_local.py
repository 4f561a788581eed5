"""The local renderer: sizes and formats, where the art lands, fit, orientation, modes, errors, caching."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.rendering import geometry
from haven_pipelines.rendering.images import ImageError, srgb_icc_bytes
from haven_pipelines.rendering.local import LocalRenderer, SceneCache
from haven_pipelines.rendering.scenes import SceneConfigError, UnknownScene, get_scene

from .conftest import TEST_WIDTH, encode_bytes
from .test_images import _mode_samples

SCENE_KEYS = [s.key for s in SYSTEM_SCENES]


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _window_point(key: str, width: int, u: float, v: float) -> tuple[int, int]:
    """The canvas pixel at (u, v) of the scene's mat window (0..1 each way, full window)."""
    scene = get_scene(key)
    fw, fh = geometry.flat_size(scene.frame.quad)
    m = scene.mat.width
    h = geometry.homography(geometry.rect(0, 0, fw, fh), scene.frame.quad)
    (x, y), = geometry.apply(h, [(m + (fw - 2 * m) * u, m + (fh - 2 * m) * v)])
    s = width / scene.width
    return round(x * s), round(y * s)


def _is_magenta(rgb) -> bool:
    r, g, b = rgb[:3]
    return r > 120 and b > 120 and g < 60


@pytest.mark.parametrize("key", SCENE_KEYS)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_scene_renders_in_every_format(renderer, magenta_png, key, fmt):
    out = renderer.render(magenta_png, key, fmt=fmt)
    scene = get_scene(key)
    expected = (TEST_WIDTH, round(scene.height * TEST_WIDTH / scene.width))
    image = _decode(out.data)
    assert (out.width, out.height) == image.size == expected
    assert image.format == fmt and image.mode == "RGB"
    assert image.info.get("icc_profile") == srgb_icc_bytes()
    assert (out.scene, out.renderer, out.ext) == (key, "local", {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt])
    assert out.content_type == f"image/{fmt.lower()}"
    # The art is in the opening, and not on the wall.
    assert _is_magenta(image.getpixel(_window_point(key, TEST_WIDTH, 0.5, 0.5)))
    assert not _is_magenta(image.getpixel((4, 4)))
    assert not _is_magenta(image.getpixel((TEST_WIDTH - 5, expected[1] // 2)))


def test_default_width_is_2400_jpeg(scene_cache, magenta_png):
    out = LocalRenderer(cache=scene_cache).render(magenta_png, "bedroom")
    assert (out.width, out.height) == (2400, 3000)
    assert out.data.startswith(b"\xff\xd8")
    assert _is_magenta(_decode(out.data).getpixel(_window_point("bedroom", 2400, 0.5, 0.5)))


def test_the_frame_and_mat_surround_the_art(renderer, magenta_png):
    image = _decode(renderer.render(magenta_png, "bedroom", fmt="PNG").data)
    scene = get_scene("bedroom")
    s = TEST_WIDTH / scene.width
    (x0, y0), _, (x1, _y1), _ = scene.frame.quad
    mid_y = round((y0 + _y1) / 2 * s)
    mat = image.getpixel((round((x0 + scene.mat.width / 2) * s), mid_y))
    moulding = image.getpixel((round((x0 - scene.frame.width / 2) * s), mid_y))
    assert not _is_magenta(mat) and min(mat) > 180  # off-white mat board
    assert moulding != mat and not _is_magenta(moulding)


@pytest.mark.parametrize("key", ["bedroom", "reading_nook"])  # upright and in perspective
def test_contain_keeps_aspect_and_leaves_mat_on_one_axis(renderer, key):
    wide = encode_bytes(Image.new("RGB", (800, 200), (230, 0, 230)))
    image = _decode(renderer.render(wide, key, fmt="PNG").data)
    assert _is_magenta(image.getpixel(_window_point(key, TEST_WIDTH, 0.5, 0.5)))
    # Across the full width the art reaches the sides; above and below it the mat shows.
    assert _is_magenta(image.getpixel(_window_point(key, TEST_WIDTH, 0.05, 0.5)))
    assert not _is_magenta(image.getpixel(_window_point(key, TEST_WIDTH, 0.5, 0.1)))
    assert not _is_magenta(image.getpixel(_window_point(key, TEST_WIDTH, 0.5, 0.9)))


def test_cover_fills_the_window_by_cropping(renderer):
    assert get_scene("home_office").fit == "cover"
    wide = Image.new("RGB", (800, 200), (0, 0, 220))
    wide.paste((230, 0, 230), (300, 0, 500, 200))  # a magenta band in the middle
    image = _decode(renderer.render(wide, "home_office", fmt="PNG").data)
    for v in (0.1, 0.5, 0.9):
        assert _is_magenta(image.getpixel(_window_point("home_office", TEST_WIDTH, 0.5, v)))


def test_exif_orientation_is_honoured_in_the_render(renderer):
    stored = Image.new("RGB", (500, 400), (220, 0, 0))
    stored.paste((0, 0, 220), (250, 0, 500, 400))
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise: red on top, blue below
    data = encode_bytes(stored, "JPEG", quality=95, exif=exif.tobytes())
    image = _decode(renderer.render(data, "bedroom", fmt="PNG").data)
    top = image.getpixel(_window_point("bedroom", TEST_WIDTH, 0.5, 0.25))
    bottom = image.getpixel(_window_point("bedroom", TEST_WIDTH, 0.5, 0.75))
    assert top[0] > 120 and top[2] < 60
    assert bottom[2] > 120 and bottom[0] < 60


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK", "I;16"])
def test_each_input_mode_renders(renderer, mode):
    out = renderer.render(_mode_samples()[mode], "living_room")
    assert _decode(out.data).mode == "RGB"


def test_a_transparent_artwork_shows_the_mat_through(renderer):
    clear = encode_bytes(Image.new("RGBA", (400, 500), (230, 0, 230, 0)))
    image = _decode(renderer.render(clear, "bedroom", fmt="PNG").data)
    pixel = image.getpixel(_window_point("bedroom", TEST_WIDTH, 0.5, 0.5))
    assert not _is_magenta(pixel) and min(pixel) > 170


def test_bad_inputs_give_named_errors(renderer):
    with pytest.raises(ImageError, match="not an image"):
        renderer.render(b"GIF89a-ish nonsense", "bedroom")
    with pytest.raises(UnknownScene, match="unknown scene key 'garage'"):
        renderer.render(Image.new("RGB", (10, 10)), "garage")
    with pytest.raises(ValidationError) as err:
        renderer.render(Image.new("RGB", (10, 10)), "bedroom", fmt="TIFF")
    assert err.value.field == "fmt"
    with pytest.raises(SceneConfigError) as err:
        renderer.render(Image.new("RGB", (10, 10)), get_scene("bedroom", {"frame": {"quad": [[0, 0], [1, 1]]}}))
    assert err.value.field == "scene.frame.quad"
    with pytest.raises(ValidationError, match="width"):
        LocalRenderer(width=50)


def test_preparing_a_scene_twice_reuses_it():
    cache = SceneCache()
    renderer = LocalRenderer(width=300, cache=cache)
    art = Image.new("RGB", (40, 50), (230, 0, 230))
    first = renderer.prepare("reading_nook")
    renderer.render(art, "reading_nook")
    renderer.render(art, "reading_nook", fmt="PNG")
    assert renderer.prepare("reading_nook") is first
    assert cache.preparations == 1
    renderer.render(art, "reading_nook", width=320)  # another width is another preparation
    renderer.render(art, get_scene("reading_nook", {"frame": {"style": "black"}}))  # and another config
    assert cache.preparations == 3


def test_batch_renders_each_pair_and_isolates_failures(renderer):
    arts = [Image.new("RGB", (300, 400), (230, 0, 230)), b"not an image", Image.new("RGB", (400, 300), (0, 200, 0))]
    items = renderer.render_batch(arts, ["bedroom", "nowhere", "home_office"], workers=2)
    assert [(i.artwork_index, i.scene) for i in items] == [(a, s) for a in range(3) for s in ("bedroom", "nowhere", "home_office")]
    by_pair = {(i.artwork_index, i.scene): i for i in items}
    assert by_pair[(0, "bedroom")].image is not None and by_pair[(2, "home_office")].image is not None
    assert isinstance(by_pair[(1, "bedroom")].error, ImageError)
    assert isinstance(by_pair[(0, "nowhere")].error, UnknownScene)
    ok = [i for i in items if i.image is not None]
    assert len(ok) == 4
    assert all(i.error is None for i in ok)


@pytest.mark.parametrize("key", SCENE_KEYS)
def test_a_jpeg_render_is_the_whole_picture_encoded_with_restart_markers(key):
    """Only the opening's segments are encoded per render; the spliced file is byte for byte the full encode."""
    from haven_pipelines.rendering.images import encode

    renderer = LocalRenderer(width=2400, cache=SceneCache())
    art = Image.new("RGB", (900, 1200), (230, 0, 230))
    art.paste((0, 90, 200), (100, 100, 800, 300))
    jpeg = renderer.render(art, key)
    rows = renderer.prepare(key).jpeg_rows(renderer.quality)
    # 150 MCUs across at 2400 px: rows of 15 segments of 10 MCUs.
    assert rows is not None and (rows.blocks, rows.per_row) == (10, 15)
    # The same picture losslessly (PNG goes through the whole-picture encoder), then encoded whole.
    picture = _decode(renderer.render(art, key, fmt="PNG").data).convert("RGB")
    assert jpeg.data == encode(picture, "JPEG", renderer.quality, restart_marker_blocks=rows.blocks)
    assert len(rows.starts) == rows.per_row * -(-picture.height // rows.mcu_height)
    # A second render of other art starts from the room again (nothing of the first is left).
    other = Image.new("RGB", (900, 1200), (0, 200, 0))
    assert renderer.render(other, key).data == encode(
        _decode(renderer.render(other, key, fmt="PNG").data).convert("RGB"), "JPEG", renderer.quality,
        restart_marker_blocks=rows.blocks)


def test_a_scene_keeps_one_canvas_per_render_at_once_and_reuses_them(scene_cache):
    """Two renders at once get two copies of the background; handed back, they are reused, not copied again."""
    prepared = LocalRenderer(width=TEST_WIDTH, cache=SceneCache(maxsize=4)).prepare("bedroom")
    a, b = prepared.take_canvas(), prepared.take_canvas()
    assert a is not b
    assert a.tobytes() == b.tobytes() == prepared.background.tobytes()
    prepared.give_back(a)
    prepared.give_back(b)
    again = {id(prepared.take_canvas()), id(prepared.take_canvas())}
    assert again == {id(a), id(b)}


def test_renders_on_kept_canvases_match_fresh_ones_across_threads_and_batches():
    """Artworks of other shapes in a contain scene (each leaves the mat at other places) render the
    same in batches on new threads, on kept canvases, as alone on a fresh cache."""
    scene = get_scene("bedroom")
    arts = [encode_bytes(Image.new("RGB", size, colour))
            for size, colour in (((800, 300), (230, 0, 230)), ((300, 900), (0, 120, 40)), ((500, 500), (20, 20, 200)))]
    alone = [LocalRenderer(width=TEST_WIDTH, cache=SceneCache(maxsize=4)).render(a, scene).data for a in arts]
    renderer = LocalRenderer(width=TEST_WIDTH, cache=SceneCache(maxsize=4))
    for _ in range(2):  # the second batch runs on new threads, on the first one's canvases
        items = renderer.render_batch(arts * 2, [scene], workers=2)
        assert [i.image.data for i in items] == alone * 2
    assert 1 <= len(renderer.prepare(scene)._canvases) <= 2


def test_a_failed_render_gives_back_a_clean_canvas(monkeypatch):
    """A render that fails after drawing on its canvas hands it back restored: the next is unaffected."""
    renderer = LocalRenderer(width=TEST_WIDTH, cache=SceneCache(maxsize=4))
    scene = get_scene("bedroom")
    tall = encode_bytes(Image.new("RGB", (300, 900), (0, 120, 40)))
    expected = renderer.render(tall, scene).data
    prepared = renderer.prepare(scene)

    def broken(*_args, **_kwargs):
        raise ImageError("unsupported", "encoder broke")

    monkeypatch.setattr(prepared, "encode", broken)
    with pytest.raises(ImageError):  # a wide artwork: it covers mat that the tall one leaves showing
        renderer.render(encode_bytes(Image.new("RGB", (900, 300), (0, 0, 0))), scene)
    monkeypatch.undo()
    assert len(prepared._canvases) == 1
    assert renderer.render(tall, scene).data == expected
