"""Artwork decoded for rendering: reduced to what the scenes need before its colour conversion."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

from haven_pipelines.rendering.images import load_artwork, make_thumbnail
from haven_pipelines.rendering.local import LocalRenderer, SceneCache
from haven_pipelines.rendering.scenes import get_scene

from .conftest import encode_bytes


def _adobe_like_profile() -> bytes:
    # Any non-sRGB profile will do: the conversion must run (and run on the reduced pixels).
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def test_a_large_artwork_is_reduced_to_between_one_and_two_times_the_need():
    data = encode_bytes(Image.new("RGB", (4000, 5000), (10, 120, 200)), "JPEG", quality=90)
    image = load_artwork(data, min_size=(600, 700))
    assert 600 <= image.width < 1200 and 700 <= image.height < 1400
    assert abs(image.width / image.height - 0.8) < 0.01
    r, g, b = image.getpixel((image.width // 2, image.height // 2))
    assert abs(r - 10) <= 3 and abs(g - 120) <= 3 and abs(b - 200) <= 3


def test_no_need_or_a_small_image_keeps_every_pixel():
    data = encode_bytes(Image.new("RGB", (800, 1000), (1, 2, 3)), "PNG")
    assert load_artwork(data).size == (800, 1000)
    assert load_artwork(data, min_size=(900, 100)).size == (800, 1000)


def test_the_need_is_read_upright_for_a_rotated_jpeg():
    image = Image.new("RGB", (3000, 1000), (0, 0, 0))
    image.paste((255, 0, 0), (0, 0, 1000, 1000))  # red on the left as stored: the top once rotated
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    data = encode_bytes(image, "JPEG", exif=exif.tobytes(), quality=95)
    out = load_artwork(data, min_size=(200, 600))
    assert out.width < out.height and 200 <= out.width < 400 and 600 <= out.height < 1200
    r, g, b = out.getpixel((out.width // 2, 5))
    assert r > 200 and g < 40


def test_colour_conversion_runs_on_the_reduced_image_and_is_timed():
    lab = Image.new("RGB", (3000, 3000), (128, 128, 128))  # a LAB profile reads these as mid grey
    data = encode_bytes(lab, "PNG", icc_profile=_adobe_like_profile())
    timings: dict[str, float] = {}
    image = load_artwork(data, min_size=(500, 500), timings=timings)
    assert image.size == (500, 500)
    assert set(timings) == {"decode", "colour"} and all(v >= 0 for v in timings.values())
    full = load_artwork(data)
    small_from_full = full.reduce(6)
    a, b = image.getpixel((250, 250)), small_from_full.getpixel((250, 250))
    assert all(abs(x - y) <= 2 for x, y in zip(a, b, strict=True))


def test_the_renderer_loads_at_the_largest_window_of_the_scenes():
    renderer = LocalRenderer(width=600, cache=SceneCache())
    scenes = [get_scene("bedroom"), get_scene("living_room")]
    data = encode_bytes(Image.new("RGB", (4000, 5000), (200, 30, 30)), "PNG")
    image = renderer.load(data, scenes)
    targets = [renderer.prepare(s).window_plan(0.8).target for s in scenes]
    need_w, need_h = max(t[0] for t in targets), max(t[1] for t in targets)
    assert need_w <= image.width < 2 * need_w + 2 and need_h <= image.height < 2 * need_h + 2


def test_a_thumbnail_from_memory_matches_one_from_the_encoded_output():
    renderer = LocalRenderer(width=600, cache=SceneCache())
    out = renderer.render(Image.new("RGB", (400, 500), (230, 0, 230)), "bedroom", thumbnail=256)
    assert out.thumbnail is not None
    assert set(out.timings) == {"composite", "encode", "thumbnail"}
    from_bytes = make_thumbnail(out.data, max_side=256)
    assert (out.thumbnail.width, out.thumbnail.height) == (from_bytes.width, from_bytes.height)
    a = np.asarray(Image.open(io.BytesIO(out.thumbnail.data)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(from_bytes.data)).convert("RGB"), dtype=np.int16)
    assert np.abs(a - b).mean() < 4  # the same picture, up to JPEG noise


def test_a_render_thumbnail_is_the_whole_picture_thumbnail():
    """Only the pixels around the opening are recomputed; the rest is the room's own thumbnail."""
    renderer = LocalRenderer(width=2400, cache=SceneCache())
    for key in ("bedroom", "home_office"):
        art = Image.new("RGB", (800, 1000), (230, 0, 230))
        art.paste((0, 0, 0), (0, 0, 400, 500))
        png = Image.open(io.BytesIO(renderer.render(art, key, fmt="PNG").data)).convert("RGB")
        prepared = renderer.prepare(key)
        fast = prepared.thumbnail(png, 512)
        whole = png.resize(fast.size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        diff = np.abs(np.asarray(fast, dtype=np.int16) - np.asarray(whole, dtype=np.int16))
        assert diff.max() <= 1, key
        assert (np.asarray(fast) != np.asarray(prepared.thumbnail(prepared.background, 512))).any()  # the art is in it
