"""Photo scenes on photos the tests draw: where the art lands, how the photo lights it, what stays
untouched, the output size, and the refusals (each naming its option)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.rendering.images import ImageError
from haven_pipelines.rendering.local import LocalRenderer, SceneCache
from haven_pipelines.rendering.photo import decode_photo, parse_quad, photo_digest, photo_scene_document
from haven_pipelines.rendering.scenes import SceneConfigError, parse_scene


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def gradient_wall(width: int = 800, height: int = 600, left: float = 235, right: float = 95) -> bytes:
    """A plain wall lit from one side: brightness falls linearly from ``left`` to ``right``."""
    row = np.linspace(left, right, width, dtype=np.float32)
    arr = np.repeat(np.repeat(row[None, :, None], height, 0), 3, 2) * np.array([1.0, 0.98, 0.94], dtype=np.float32)
    return _png(Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB"))


def empty_frame_room(width: int = 800, height: int = 600, opening=(300, 150, 500, 420)) -> bytes:
    """A wall and a floor with an empty dark frame on the wall; ``opening`` is its inside edge."""
    image = Image.new("RGB", (width, height), (214, 206, 192))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 3 // 4, width, height), fill=(122, 96, 72))  # the floor
    for y in range(0, height * 3 // 4, 7):  # some wall texture, so that "untouched" means something
        draw.line((0, y, width, y), fill=(208 + y % 5, 200, 186))
    x0, y0, x1, y1 = opening
    draw.rectangle((x0 - 18, y0 - 18, x1 + 17, y1 + 17), fill=(38, 34, 33))  # the moulding
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(236, 233, 226))  # the empty opening's backing
    return _png(image)


def _scene(data: bytes, quad: str, **options):
    photo = decode_photo(data)
    doc = photo_scene_document("photo_test", "Photo test", photo, photo_key="scenes/u/photo_test.png",
                               sha256=photo_digest(data), quad=parse_quad(quad, *photo.size), **options)
    return parse_scene(doc)


def _renderer(data: bytes, width: int = 2400, fmt: str = "PNG") -> LocalRenderer:
    return LocalRenderer(width=width, fmt=fmt, cache=SceneCache(), photos={"scenes/u/photo_test.png": data}.__getitem__)


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def _signed_distance(quad, width: int, height: int) -> np.ndarray:
    """Per pixel centre: distance to the convex quad's edges, positive inside, negative outside."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    dist = np.full((height, width), np.inf)
    for i in range(4):
        (ax, ay), (bx, by) = quad[i], quad[(i + 1) % 4]
        nx, ny = -(by - ay), bx - ax  # inward normal for corners listed clockwise on screen (y down)
        norm = np.hypot(nx, ny)
        dist = np.minimum(dist, ((xs - ax) * nx + (ys - ay) * ny) / norm)
    return dist


GREEN = Image.new("RGB", (300, 400), (0, 255, 0))


def test_the_art_corners_land_within_one_pixel_of_the_quad():
    data = gradient_wall(left=210, right=190)
    quad = [(250.0, 120.0), (560.0, 150.0), (555.0, 430.0), (245.0, 462.0)]
    scene = _scene(data, ",".join(f"{v:g}" for p in quad for v in p), frame="none", mat=0, fit="cover")
    assert_green_art_fills_quad(_decode(_renderer(data).render(GREEN, scene).data), quad)


def assert_green_art_fills_quad(out: np.ndarray, quad) -> None:
    """The green art of a render lies on ``quad`` to within a pixel, and its corners on the quad's."""
    art = (out[:, :, 1] - out[:, :, 0] > 60) & (out[:, :, 1] - out[:, :, 2] > 60)
    dist = _signed_distance(quad, out.shape[1], out.shape[0])
    # Every art pixel lies inside the quad or within a pixel of it; every pixel a pixel inside is art.
    assert dist[art].min() >= -1.0
    assert art[dist >= 1.0].all()
    ys, xs = np.nonzero(art)
    for cx, cy in quad:
        nearest = np.hypot(xs + 0.5 - cx, ys + 0.5 - cy).min()
        assert nearest <= 1.0 + 0.71, (cx, cy, nearest)  # a pixel centre is 0.71 from its corner


@pytest.mark.parametrize("left,right", [(240, 90), (90, 240)])
def test_the_photo_lights_the_art_in_the_same_order(left, right):
    data = gradient_wall(left=left, right=right)
    scene = _scene(data, "250,150,550,150,550,450,250,450", frame="none", mat=0, fit="cover")
    out = _decode(_renderer(data).render(Image.new("RGB", (300, 300), (225, 225, 225)), scene).data)
    lum = out[160:440, 260:540].mean(axis=(0, 2))
    bands = [lum[i * 56:(i + 1) * 56].mean() for i in range(5)]
    steps = np.diff(bands)
    assert (steps < -1).all() if left > right else (steps > 1).all(), bands
    # The same art on a flat wall is lit evenly: the ordering comes from the photo.
    flat = gradient_wall(left=200, right=200)
    even = _decode(_renderer(flat).render(Image.new("RGB", (300, 300), (225, 225, 225)),
                                          _scene(flat, "250,150,550,150,550,450,250,450", frame="none", mat=0, fit="cover")).data)
    flat_lum = even[160:440, 260:540].mean(axis=(0, 2))
    assert np.ptp([flat_lum[i * 56:(i + 1) * 56].mean() for i in range(5)]) < 1.0


def test_a_drawn_frame_is_lit_by_the_photo_too():
    data = gradient_wall(left=240, right=90)
    scene = _scene(data, "250,150,550,150,550,450,250,450", frame="white", mat=0.15)
    out = _decode(_renderer(data).render(GREEN, scene).data)
    # The white moulding's left and right sides: the photo's light falls off to the right.
    left_side, right_side = out[250:350, 236:246].mean(), out[250:350, 554:564].mean()
    assert left_side > right_side + 20


def test_frame_none_leaves_every_pixel_outside_the_opening_untouched():
    data = empty_frame_room()
    photo = _decode(data)
    scene = _scene(data, "300,150,500,150,500,420,300,420", frame="none", mat=0.1, glare=0.2)
    out = _decode(_renderer(data).render(GREEN, scene).data)
    assert out.shape == photo.shape
    inside = np.zeros(photo.shape[:2], dtype=bool)
    inside[150:420, 300:500] = True
    assert (out[~inside] == photo[~inside]).all()
    assert (out[inside] != photo[inside]).any(axis=1).mean() > 0.9  # and the opening did change


def test_frame_none_in_perspective_leaves_everything_a_pixel_away_untouched():
    data = empty_frame_room()
    photo = _decode(data)
    quad = [(302.3, 152.8), (497.6, 160.1), (494.2, 411.7), (305.5, 418.4)]
    scene = _scene(data, ",".join(f"{v:g}" for p in quad for v in p), frame="none", mat=0, fit="contain")
    out = _decode(_renderer(data).render(GREEN, scene).data)
    outside = _signed_distance(quad, photo.shape[1], photo.shape[0]) < -1.0
    assert (out[outside] == photo[outside]).all()


def test_the_output_is_the_photo_size_capped_at_the_renderer_width():
    data = gradient_wall(900, 600)
    scene = _scene(data, "300,150,600,150,600,450,300,450")
    assert _renderer(data, width=2400).render(GREEN, scene).width == 900
    small = _renderer(data, width=600, fmt="JPEG").render(GREEN, scene)
    assert (small.width, small.height) == (600, 400)
    assert Image.open(io.BytesIO(small.data)).size == (600, 400)


def test_a_photo_that_changed_since_it_was_added_is_refused():
    data = gradient_wall()
    scene = _scene(data, "300,150,500,150,500,420,300,420")
    with pytest.raises(SceneConfigError, match="digest"):
        _renderer(gradient_wall(left=200)).render(GREEN, scene)


def test_a_photo_scene_without_a_photo_store_is_a_clear_error():
    data = gradient_wall()
    scene = _scene(data, "300,150,500,150,500,420,300,420")
    with pytest.raises(SceneConfigError, match="photo store"):
        LocalRenderer(width=600, cache=SceneCache()).render(GREEN, scene)


@pytest.mark.parametrize("quad,reason", [
    ("1,2,3,4,5,6,7", "needs 8 numbers"),
    ("1,2,3,4,5,6,7,8,9,10", "needs 8 numbers"),
    ("a,2,300,2,300,300,2,300", "must be a number"),
    ("100,100,900,100,700,500,100,500", "leaves the photo"),
    ("100,100,700,500,700,100,100,500", "not form a convex quad"),
    ("100,100,100,500,700,500,700,100", "not form a convex quad"),  # counter-clockwise
    ("100,100,110,100,110,110,100,110", "smaller than"),
])
def test_a_bad_quad_is_refused_naming_the_option(quad, reason):
    with pytest.raises(ValidationError, match=reason) as info:
        parse_quad(quad, 800, 600)
    assert info.value.field == "--quad"


@pytest.mark.parametrize("data,kind", [
    (b"not a photo at all", "not_an_image"),
    (_png(Image.new("RGB", (200, 600), (200, 200, 200))), "too_small"),
    (_png(Image.new("L", (10001, 320), 200)), "too_large"),
    (_png(Image.new("RGB", (800, 600), (200, 200, 200)))[:300], "truncated"),
])
def test_a_bad_photo_is_refused_naming_the_option(data, kind):
    with pytest.raises(ImageError) as info:
        decode_photo(data)
    assert info.value.field == "--photo" and info.value.kind == kind


@pytest.mark.parametrize("options,field", [
    ({"frame": "chrome"}, "--frame"),
    ({"mat": 0.6}, "--mat"),
    ({"mat": -0.1}, "--mat"),
    ({"fit": "stretch"}, "--fit"),
    ({"glare": 0.9}, "--glare"),
])
def test_bad_frame_options_are_refused_naming_the_option(options, field):
    data = gradient_wall()
    with pytest.raises(ValidationError) as info:
        _scene(data, "300,150,500,150,500,420,300,420", **options)
    assert info.value.field == field


def test_the_photos_own_dark_frame_does_not_darken_the_art_edges():
    # An evenly lit wall with a dark empty frame: the moulding must not bleed into the light.
    data = empty_frame_room()
    scene = _scene(data, "300,150,500,150,500,420,300,420", frame="none", mat=0, fit="cover")
    out = _decode(_renderer(data).render(Image.new("RGB", (200, 270), (225, 225, 225)), scene).data)
    lum = out[:, :, :].mean(axis=2)
    centre = lum[265:305, 380:420].mean()
    edges = [lum[160:175, 330:470].mean(), lum[395:410, 330:470].mean(), lum[200:370, 310:325].mean(), lum[200:370, 475:490].mean()]
    assert max(abs(e - centre) for e in edges) < 4, (centre, edges)


def test_glare_brightens_the_glass_only():
    data = empty_frame_room()
    plain = _decode(_renderer(data).render(GREEN, _scene(data, "300,150,500,150,500,420,300,420", frame="black")).data)
    shiny = _decode(_renderer(data).render(GREEN, _scene(data, "300,150,500,150,500,420,300,420", frame="black", glare=0.3)).data)
    inside = np.zeros(plain.shape[:2], dtype=bool)
    inside[150:420, 300:500] = True
    assert (shiny[~inside] == plain[~inside]).all()
    assert (shiny[inside] >= plain[inside]).all() and shiny[inside].mean() > plain[inside].mean() + 5
