"""The column warp (frames with vertical sides): when it is used, and that it puts the art where the
general path (fit, then Pillow's bilinear perspective transform) does."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from haven_pipelines.rendering import warp
from haven_pipelines.rendering.local import LocalRenderer, SceneCache, _fit_source, _fitted
from haven_pipelines.rendering.scenes import get_scene

from .test_photo import GREEN, _decode, _renderer, _scene, assert_green_art_fills_quad, gradient_wall


def _smooth_art(size=(900, 1200)) -> Image.Image:
    """Gradients and soft shapes: what two good resamplers should agree on to within a few levels."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    arr = np.dstack([40 + 180 * xs / w, 60 + 150 * ys / h, 128 + 90 * np.sin(xs / 37.0) * np.cos(ys / 53.0)])
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((w * 0.2, h * 0.2, w * 0.6, h * 0.5), fill=(230, 30, 60))
    draw.rectangle((w * 0.5, h * 0.6, w * 0.9, h * 0.8), fill=(20, 40, 200))
    return image.filter(ImageFilter.GaussianBlur(3))


def _both(key: str, art: Image.Image, width: int = 1200):
    """(general path, column warp, interior mask) for ``art`` in ``key``'s window."""
    scene = get_scene(key)
    prepared = LocalRenderer(width=width, cache=SceneCache()).prepare(scene)
    plan = prepared.window_plan(art.width / art.height if scene.fit == "contain" else None)
    assert plan.columns is not None
    size = (plan.box[2] - plan.box[0], plan.box[3] - plan.box[1])
    general = _fitted(art, 0, plan.target, scene, None).transform(
        size, Image.Transform.PERSPECTIVE, plan.coeffs, Image.Resampling.BILINEAR, fillcolor=plan.fill)
    source, box = _fit_source(art, 0, plan.target, scene, None)
    fast = plan.columns.apply(warp.pad(source), box, scene.mat.color, plan.fill)
    inner = np.asarray(plan.mask.filter(ImageFilter.MinFilter(5))) == 255  # two pixels in from the edge
    return np.asarray(general, dtype=np.int16), np.asarray(fast, dtype=np.int16), inner


@pytest.mark.parametrize("key", ["reading_nook", "home_office"])
def test_the_column_warp_matches_the_general_path(key):
    general, fast, inner = _both(key, _smooth_art())
    diff = np.abs(general - fast).max(axis=2)[inner]
    assert diff.mean() < 1.0 and np.percentile(diff, 99.9) <= 6, (diff.mean(), np.percentile(diff, 99.9))


@pytest.mark.parametrize("key", ["reading_nook", "home_office"])
def test_the_column_warp_puts_a_sharp_line_where_the_general_path_does(key):
    # A grid of lines about three output pixels wide: a shift of a pixel or more (or a band in the
    # wrong place) moves them off the general path's.
    art = Image.new("RGB", (900, 1200), (255, 255, 255))
    draw = ImageDraw.Draw(art)
    for i in range(40, 900, 80):
        draw.line((i, 0, i, 1200), fill=(0, 0, 0), width=8)
    for j in range(40, 1200, 80):
        draw.line((0, j, 900, j), fill=(0, 0, 0), width=8)
    general, fast, inner = _both(key, art)
    dark_g, dark_f = general.mean(axis=2) < 128, fast.mean(axis=2) < 128
    # Where the general path draws a line, the warp draws it too, give or take a pixel.
    near_f = np.asarray(Image.fromarray((dark_f * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3))) > 0
    near_g = np.asarray(Image.fromarray((dark_g * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3))) > 0
    assert dark_g[inner].sum() > 1000
    assert (dark_g & inner & ~near_f).sum() == 0
    assert (dark_f & inner & ~near_g).sum() == 0
    # About as many line pixels (the warp resamples once, so its lines are a little sharper).
    assert abs(int(dark_g[inner].sum()) - int(dark_f[inner].sum())) < 0.15 * dark_g[inner].sum()


def test_frames_whose_sides_lean_take_the_general_path():
    data = gradient_wall(left=210, right=190)
    leaning = _scene(data, "250,120,560,150,555,430,245,462", frame="none", mat=0, fit="cover")
    renderer = _renderer(data)
    assert renderer.prepare(leaning).window_plan(None).columns is None
    level = _scene(data, "250,120,560,150,560,430,250,462", frame="none", mat=0, fit="cover")
    assert renderer.prepare(level).window_plan(None).columns is not None
    assert LocalRenderer(width=600, cache=SceneCache()).prepare("bedroom").window_plan(0.8).columns is None  # upright: a paste


def test_the_column_warp_lands_the_art_corners_within_one_pixel_of_the_quad():
    data = gradient_wall(left=210, right=190)
    quad = [(250.0, 120.0), (560.0, 150.0), (560.0, 430.0), (250.0, 462.0)]
    scene = _scene(data, ",".join(f"{v:g}" for p in quad for v in p), frame="none", mat=0, fit="cover")
    renderer = _renderer(data)
    assert renderer.prepare(scene).window_plan(None).columns is not None
    assert_green_art_fills_quad(_decode(renderer.render(GREEN, scene).data), quad)


def test_pad_repeats_the_edge():
    image = Image.fromarray(np.arange(5 * 7 * 3, dtype=np.uint8).reshape(7, 5, 3), "RGB")
    padded = np.asarray(warp.pad(image))
    p = warp.PAD
    inner = np.asarray(image)
    assert padded.shape == (7 + 2 * p, 5 + 2 * p, 3)
    assert (padded[p:-p, p:-p] == inner).all()
    assert (padded[:p, p:-p] == inner[0]).all() and (padded[-p:, p:-p] == inner[-1]).all()
    assert (padded[p:-p, :p] == inner[:, :1]).all() and (padded[p:-p, -p:] == inner[:, -1:]).all()
    assert (padded[:p, :p] == inner[0, 0]).all() and (padded[-p:, -p:] == inner[-1, -1]).all()


@pytest.mark.parametrize("key,aspect", [("reading_nook", 0.8), ("reading_nook", 1.6), ("home_office", None)])
def test_the_folded_edge_gives_what_the_mask_and_overlay_give(key, aspect):
    """A window in perspective pastes its art plainly and a few edge strips: the same picture as
    pasting through the window's mask and then its bevel or seam, to within rounding."""
    prepared = LocalRenderer(width=1200, cache=SceneCache()).prepare(key)
    plan = prepared.window_plan(aspect)
    assert plan.edges is not None and plan.overlay is not None
    bw, bh = plan.box[2] - plan.box[0], plan.box[3] - plan.box[1]
    strip_pixels = sum(p.width * p.height for p, _, _ in plan.edges)
    assert strip_pixels < 0.5 * bw * bh  # the point: most of the box is pasted plainly
    piece = Image.fromarray(np.random.default_rng(5).integers(0, 256, (bh, bw, 3), dtype=np.uint8), "RGB")
    two_step = prepared.background.copy()
    two_step.paste(piece, plan.box[:2], plan.mask)
    patch, alpha, origin = plan.overlay
    two_step.paste(patch, origin, alpha)
    folded = prepared.background.copy()
    folded.paste(piece, plan.box[:2])
    for patch, alpha, origin in plan.edges:
        folded.paste(patch, origin, alpha)
    diff = np.abs(np.asarray(two_step, dtype=np.int16) - np.asarray(folded, dtype=np.int16))
    assert diff.max() <= 2


def test_a_batch_reduces_a_decoded_artwork_once_and_a_bad_scene_fails_only_its_own_items():
    data = gradient_wall()
    photo_scene = _scene(data, "300,150,500,150,500,420,300,420")  # and this renderer has no photo store
    renderer = LocalRenderer(width=600, cache=SceneCache())
    big = Image.new("RGB", (3000, 3750), (230, 0, 230))
    reduced = renderer.reduce(big, [get_scene("bedroom")])
    need = renderer.prepare("bedroom").window_plan(0.8).target
    # By a whole factor, to between one and two times the window.
    factor = round(big.width / reduced.width)
    assert reduced.size == (-(-big.width // factor), -(-big.height // factor))
    assert need[0] <= reduced.width < 2 * need[0] + factor
    items = renderer.render_batch([big], ["bedroom", photo_scene], workers=1)
    assert items[0].image is not None and items[0].error is None
    assert items[1].image is None and "photo store" in str(items[1].error)
