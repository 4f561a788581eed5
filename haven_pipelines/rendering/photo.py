"""Photo scenes: a shop's own room photo as the room, the art framed and warped onto a quad in it.

A photo scene is a scene document (see :mod:`haven_pipelines.rendering.scenes`) whose room is a photo
instead of a drawn room. Its ``size`` is the photo's pixel size and ``frame.quad`` is the frame's
opening in the photo's pixels (top-left, top-right, bottom-right, bottom-left). Preparing it (once
per process and width, like a drawn room) does the expensive part:

* the photo, scaled to the output width (never up: the output is the photo's resolution, capped
  at the renderer's width);
* the moulding and mat drawn as the local renderer draws them (no moulding with ``style: none``,
  where the photo already shows an empty frame and only its opening is painted), with a soft
  contact shadow on the wall opposite the light;
* the light: the photo's own low-frequency luminance (a heavy blur of its brightness, so the wall's
  shading and not its texture) divided by the brightest wall near the frame; the moulding, the mat
  and every render's art are multiplied by it, so a wall lit from the left darkens the art's right
  side the same way. The photo itself is never relit;
* optional glare (``light.glare``): a soft diagonal sheen over the opening, pasted after the art.

Each render then goes through the local renderer's fast path unchanged: the art warped onto the
quad by the homography, multiplied by the light, pasted, encoded.

Building the document (:func:`photo_scene_document`) checks the photo and the quad; bad input is a
ValidationError naming the command-line option (``--photo``, ``--quad``, ``--frame``, ``--mat``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.rendering import geometry
from haven_pipelines.rendering.draw import Painter
from haven_pipelines.rendering.frame import draw_frame, frame_geometry, opening_shade
from haven_pipelines.rendering.images import ImageError, load_artwork
from haven_pipelines.rendering.scenes import FIT_MODES, SceneConfig

PHOTO_FRAME_STYLES = ("black", "white", "oak", "walnut", "gold", "none")
MIN_PHOTO_SIDE = 320
"""Smaller photos make mockups too small to sell with (and quads too coarse to place)."""
MAX_PHOTO_SIDE = 10000
MAX_PHOTO_PIXELS = 40_000_000
MAX_PHOTO_BYTES = 20 * 1024 * 1024
MIN_OPENING = 24
"""The opening's shortest side in photo pixels: below this the art is a smudge."""
MAX_MAT = 0.4
DEFAULT_MAT = 0.12
GLARE_COLOR = (255, 255, 255)

Point = tuple[float, float]
PhotoSource = Callable[[str], bytes]
"""Fetches a photo's bytes by its blob key (the blob store's ``get``)."""


# --- checking input ---------------------------------------------------------------------------

def decode_photo(data: bytes) -> Image.Image:
    """Decode a room photo to RGB and check its size.

    Raises:
        ImageError: field ``--photo``: not an image, truncated, too many bytes or pixels, a side
            below MIN_PHOTO_SIDE or above MAX_PHOTO_SIDE.
    """
    image = load_artwork(data, max_bytes=MAX_PHOTO_BYTES, max_pixels=MAX_PHOTO_PIXELS, field="--photo")
    w, h = image.size
    if min(w, h) < MIN_PHOTO_SIDE:
        raise ImageError("too_small", f"too small: {w}x{h} pixels; each side must be at least {MIN_PHOTO_SIDE}", "--photo")
    if max(w, h) > MAX_PHOTO_SIDE:
        raise ImageError("too_large", f"too large: {w}x{h} pixels; each side must be at most {MAX_PHOTO_SIDE}", "--photo")
    if image.mode != "RGB":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
        image = flat
    return image


def parse_quad(value: str | Sequence[float], width: int, height: int) -> tuple[Point, Point, Point, Point]:
    """The four corners of ``--quad`` (``X1,Y1,...,X4,Y4``: TL, TR, BR, BL in photo pixels), checked.

    Raises:
        ValidationError: field ``--quad``: not eight numbers, a corner outside the photo, corners
            not forming a convex quad in that order, or an opening too small.
    """
    parts = value.split(",") if isinstance(value, str) else list(value)
    if len(parts) != 8:
        raise ValidationError("--quad", f"needs 8 numbers X1,Y1,X2,Y2,X3,Y3,X4,Y4 (top-left, top-right, bottom-right, bottom-left), got {len(parts)}")
    try:
        nums = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise ValidationError("--quad", f"every value must be a number, got {value!r}") from None
    if not all(math.isfinite(n) for n in nums):
        raise ValidationError("--quad", "every value must be a finite number")
    pts = [(nums[i], nums[i + 1]) for i in range(0, 8, 2)]
    names = ("top-left", "top-right", "bottom-right", "bottom-left")
    for name, (x, y) in zip(names, pts, strict=True):
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError("--quad", f"the {name} corner ({x:g}, {y:g}) leaves the photo ({width}x{height})")
    for i in range(4):
        a, b, c = pts[i], pts[(i + 1) % 4], pts[(i + 2) % 4]
        if (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]) <= 0:
            raise ValidationError("--quad", "the corners do not form a convex quad listed top-left, top-right, bottom-right, bottom-left")
    if min(math.dist(pts[0], pts[1]), math.dist(pts[1], pts[2]), math.dist(pts[2], pts[3]), math.dist(pts[3], pts[0])) < MIN_OPENING:
        raise ValidationError("--quad", f"the opening is smaller than {MIN_OPENING} pixels on a side")
    return tuple(pts)  # type: ignore[return-value]


def photo_scene_document(
    key: str,
    name: str,
    photo: Image.Image,
    *,
    photo_key: str,
    sha256: str,
    quad: Sequence[Point],
    frame: str = "black",
    mat: float | None = None,
    fit: str = "contain",
    collections: Sequence[str] = (),
    description: str = "",
    glare: float = 0.0,
) -> dict[str, Any]:
    """The scene document of a photo scene (what the scene row's ``config`` records).

    The moulding is 7 % of the opening's shorter side; the mat is ``mat`` times that side (default
    0.12 with a frame drawn, 0 with ``frame='none'``). The light's direction is read off the photo
    (the brightness gradient around the quad) and drives the bevels and the contact shadow.

    Raises:
        ValidationError: ``--frame``, ``--mat``, ``--fit`` or ``--glare`` out of range.
    """
    if frame not in PHOTO_FRAME_STYLES:
        raise ValidationError("--frame", f"must be one of {', '.join(PHOTO_FRAME_STYLES)}, got {frame!r}")
    if fit not in FIT_MODES:
        raise ValidationError("--fit", f"must be one of {', '.join(FIT_MODES)}, got {fit!r}")
    if mat is None:
        mat = 0.0 if frame == "none" else DEFAULT_MAT
    if not isinstance(mat, (int, float)) or not math.isfinite(mat) or not 0 <= mat <= MAX_MAT:
        raise ValidationError("--mat", f"must be a fraction of the opening from 0 to {MAX_MAT}, got {mat!r}")
    if not 0 <= glare <= 0.5:
        raise ValidationError("--glare", f"must be from 0 to 0.5, got {glare!r}")
    w, h = photo.size
    fw, fh = geometry.flat_size(quad)
    short = min(fw, fh)
    moulding = 0.0 if frame == "none" else round(short * 0.07, 2)
    cx, cy = sum(p[0] for p in quad) / 4, sum(p[1] for p in quad) / 4
    dx, dy = light_direction(photo, quad)
    reach = math.hypot(w, h)
    depth = max(2.0, moulding * 0.3)
    return {
        "key": key,
        "name": name,
        "description": description,
        "recommended_collections": list(collections),
        "size": [w, h],
        "photo": {"key": photo_key, "sha256": sha256, "width": w, "height": h},
        # A frame of style none still throws a thin shade into its opening: its width is that depth.
        "frame": {"quad": [[round(x, 3), round(y, 3)] for x, y in quad], "style": frame,
                  "width": moulding if frame != "none" else round(max(2.0, short * 0.02), 2)},
        "mat": {"width": round(mat * short, 3)},
        "fit": fit,
        "light": {"source": [round(cx + dx * reach, 1), round(cy + dy * reach, 1)], "glare": glare},
        # The contact shadow falls away from the light; none where the photo's own frame is.
        "shadow": {"offset": [round(-dx * depth, 2), round(-dy * depth, 2)], "blur": round(max(1.5, moulding * 0.45), 2),
                   "opacity": 0.0 if frame == "none" else 0.5},
    }


def photo_digest(data: bytes) -> str:
    """SHA-256 of the photo's bytes (recorded, and checked again when it is rendered)."""
    return hashlib.sha256(data).hexdigest()


# --- light ------------------------------------------------------------------------------------

def _luminance_grid(photo: Image.Image, quad: Sequence[Point], cells: int = 160,
                    inside_only: bool = False) -> tuple[np.ndarray, float]:
    """The photo's low-frequency luminance on a coarse grid, and the grid's pixels per photo pixel.

    The blur is a quarter of the opening's shorter side: wide enough to remove the wall's texture,
    narrow enough to keep a lamp's fall-off. With ``inside_only`` (the photo's own empty frame) the
    opening is blurred on its own (a normalised convolution over its inner part), so the dark
    moulding around it does not bleed in as a false vignette.
    """
    w, h = photo.size
    k = min(1.0, cells / max(w, h))
    small = np.asarray(photo.convert("L").resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX),
                       dtype=np.float32)
    fw, fh = geometry.flat_size(quad)
    sigma = max(1.0, min(fw, fh) * k * 0.25)
    blurred = _blur(small, sigma)
    if not inside_only:
        return blurred, k
    grid = [(x * k, y * k) for x, y in quad]
    cx, cy = sum(p[0] for p in grid) / 4, sum(p[1] for p in grid) / 4
    inner = [(cx + (x - cx) * 0.92, cy + (y - cy) * 0.92) for x, y in grid]
    mask_img = Image.new("L", (small.shape[1], small.shape[0]), 0)
    ImageDraw.Draw(mask_img).polygon(inner, fill=255)
    mask = np.asarray(mask_img, dtype=np.float32) / 255
    if mask.sum() < 4:  # an opening of a few grid cells: nothing to separate
        return blurred, k
    weight = _blur(mask, sigma)
    inside = _blur(small * mask, sigma) / np.maximum(weight, 1e-6)
    return np.where(weight > 0.05, inside, blurred).astype(np.float32), k


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur of a small float array (edges extended)."""
    radius = max(1, int(math.ceil(sigma * 3)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-(x**2) / (2 * sigma * sigma))
    kernel /= kernel.sum()
    padded = np.pad(a, radius, mode="edge")
    rows = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, padded)
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, rows).astype(np.float32)


def light_direction(photo: Image.Image, quad: Sequence[Point]) -> tuple[float, float]:
    """Unit vector from the quad toward the light: the mean brightness gradient around the quad.

    A flat photo gives light from above (0, -1), the usual ceiling or window light.
    """
    lum, k = _luminance_grid(photo, quad)
    x0, y0, x1, y1 = geometry.bbox([(x * k, y * k) for x, y in quad])
    gw, gh = (x1 - x0) // 2 + 1, (y1 - y0) // 2 + 1
    x0, y0 = max(0, x0 - gw), max(0, y0 - gh)
    x1, y1 = min(lum.shape[1], x1 + gw), min(lum.shape[0], y1 + gh)
    region = lum[y0:y1, x0:x1]
    if region.shape[0] < 2 or region.shape[1] < 2:
        return (0.0, -1.0)
    gy, gx = np.gradient(region)
    mx, my = float(gx.mean()), float(gy.mean())
    norm = math.hypot(mx, my)
    if norm < 0.05:  # under a twentieth of a grey level per cell: no direction worth drawing
        return (0.0, -1.0)
    return (mx / norm, my / norm)


def light_factor(photo: Image.Image, quad: Sequence[Point], *, inside_only: bool = False) -> np.ndarray:
    """The photo's light at every pixel of ``photo`` as a factor 0.2..1 (float32, height x width).

    The low-frequency luminance divided by the brightest of it near the quad (the wall around the
    frame), or by 200 when that is darker: a dim photo dims the art, a bright one keeps it, and
    the shading across the quad carries over. ``inside_only``: see :func:`_luminance_grid`.
    """
    lum, k = _luminance_grid(photo, quad, inside_only=inside_only)
    x0, y0, x1, y1 = geometry.bbox([(x * k, y * k) for x, y in quad], pad=2)
    gw, gh = (x1 - x0) // 2, (y1 - y0) // 2
    near = lum[max(0, y0 - gh):min(lum.shape[0], y1 + gh), max(0, x0 - gw):min(lum.shape[1], x1 + gw)]
    reference = max(float(near.max()) if near.size else 0.0, 200.0)
    grid = Image.fromarray(np.clip(lum / reference, 0.2, 1.0).astype(np.float32), "F")
    return np.asarray(grid.resize(photo.size, Image.Resampling.BICUBIC), dtype=np.float32).clip(0.2, 1.0)


# --- preparing ----------------------------------------------------------------------------------

def prepare_photo_scene(scene: SceneConfig, width: int, photos: PhotoSource | None):
    """The photo scene drawn at ``width`` (at most the photo's width): a ``PreparedScene``.

    Raises:
        SceneConfigError, ImageError: no photo source, a photo that no longer matches its digest
            or does not decode.
    """
    from haven_pipelines.rendering.local import PreparedScene
    from haven_pipelines.rendering.scenes import SceneConfigError

    spec = scene.photo
    if spec is None:
        raise SceneConfigError("scene.photo", "is required for a photo scene")
    if photos is None:
        raise SceneConfigError("scene.photo", f"scene {scene.key!r} is a photo scene and this renderer has no photo store")
    data = photos(spec.key)
    if photo_digest(data) != spec.sha256:
        raise SceneConfigError("scene.photo", f"the stored photo {spec.key} does not match its recorded digest")
    photo = decode_photo(data)
    width = min(width, scene.width)
    scale = width / scene.width
    height = round(scene.height * scale)
    base = photo if photo.size == (width, height) else photo.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    quad_px = [(x * scale, y * scale) for x, y in scene.frame.quad]
    factor = light_factor(base, quad_px, inside_only=scene.frame.style == "none")

    geo = frame_geometry(scene)
    painted = base.copy()
    draw_frame(Painter(painted, scale, seed=3), scene, geo)
    # With the photo's own frame (style none) only the opening is painted (its mat): the painter's
    # anti-aliased edge would reach a pixel past it, so the paste below through the exact mask is all.
    canvas = base.copy() if scene.frame.style == "none" else painted
    fwid = scene.frame.width if scene.frame.style != "none" else 0.0
    outer = [(x * scale, y * scale) for x, y in geo.scene_points(geometry.rect(-fwid, -fwid, geo.flat_w + fwid, geo.flat_h + fwid))]
    # The moulding and mat take the photo's light; the photo itself (and the shadow on it) keeps its own.
    bx0, by0, bx1, by1 = _clip(geometry.bbox(outer, pad=2), width, height)
    region = np.asarray(painted.crop((bx0, by0, bx1, by1)), dtype=np.float32) * factor[by0:by1, bx0:bx1, None]
    lit = Image.fromarray(np.clip(region + 0.5, 0, 255).astype(np.uint8), "RGB")
    mask = _polygon_mask((bx1 - bx0, by1 - by0), [(x - bx0, y - by0) for x, y in outer])
    canvas.paste(lit, (bx0, by0), mask)

    opening = [(x * scale, y * scale) for x, y in geo.scene_points(geometry.rect(0, 0, geo.flat_w, geo.flat_h))]
    ox0, oy0, ox1, oy1 = _clip(geometry.bbox(opening, pad=4), width, height)
    light = factor[oy0:oy1, ox0:ox1, None] * opening_shade(scene, geo, scale, (ox0, oy0, ox1, oy1))[:, :, None]
    light = np.repeat(light, 3, axis=2).astype(np.float32)
    glare = _glare(opening, (ox0, oy0, ox1, oy1), scene.light.glare) if scene.light.glare > 0 else None
    restore = canvas.crop((ox0, oy0, ox1, oy1))
    return PreparedScene(scene, width, height, canvas, geo, scale, (ox0, oy0, ox1, oy1), light, restore, glare=glare)


def _clip(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    return max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])


def _polygon_mask(size: tuple[int, int], polygon: list[Point], ss: int = 4) -> Image.Image:
    """An anti-aliased mask of a convex polygon (corners clockwise on screen) in which a pixel wholly
    outside the polygon stays 0.

    Pillow fills the samples from floor(left) to floor(right) of each span, so a polygon drawn as it
    is would reach one sample past its right and bottom edges; it is drawn with every edge moved
    half a sample inward instead.
    """
    big = Image.new("L", (size[0] * ss, size[1] * ss), 0)
    ImageDraw.Draw(big).polygon(_inset([(x * ss, y * ss) for x, y in polygon], 0.5), fill=255)
    return big.reduce(ss)


def _inset(polygon: list[Point], d: float) -> list[Point]:
    """The convex polygon with every edge moved ``d`` inward (corners clockwise on screen, y down)."""
    n = len(polygon)
    lines = []
    for i in range(n):
        (ax, ay), (bx, by) = polygon[i], polygon[(i + 1) % n]
        nx, ny = -(by - ay), bx - ax
        norm = math.hypot(nx, ny) or 1.0
        nx, ny = nx / norm, ny / norm
        lines.append(((ax + nx * d, ay + ny * d), (bx - ax, by - ay)))
    out = []
    for i in range(n):
        (p, r), (q, s) = lines[i - 1], lines[i]
        cross = r[0] * s[1] - r[1] * s[0]
        if abs(cross) < 1e-12:
            out.append(q)
            continue
        t = ((q[0] - p[0]) * s[1] - (q[1] - p[1]) * s[0]) / cross
        out.append((p[0] + t * r[0], p[1] + t * r[1]))
    return out


def _glare(opening: list[Point], box: tuple[int, int, int, int], strength: float):
    """A soft diagonal sheen over the opening: (alpha mask, box) to paste GLARE_COLOR with."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    to_flat = geometry.homography([(x - x0, y - y0) for x, y in opening], geometry.rect(0, 0, 1, 1))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    den = to_flat[2, 0] * xs + to_flat[2, 1] * ys + to_flat[2, 2]
    u = (to_flat[0, 0] * xs + to_flat[0, 1] * ys + to_flat[0, 2]) / den
    v = (to_flat[1, 0] * xs + to_flat[1, 1] * ys + to_flat[1, 2]) / den
    band = np.exp(-(((u + v) - 0.7) / 0.22) ** 2) + 0.35 * np.exp(-(((u + v) - 1.05) / 0.06) ** 2)
    alpha = np.clip(band * strength * 255, 0, 255).astype(np.uint8)
    inside = np.asarray(_polygon_mask((w, h), [(x - x0, y - y0) for x, y in opening]), dtype=np.float32) / 255
    return Image.fromarray((alpha * inside).astype(np.uint8), "L"), box
