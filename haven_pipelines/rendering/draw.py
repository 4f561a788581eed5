"""Drawing primitives for the rooms: anti-aliased shapes, shaded fills, soft shadows and glows.

:class:`Painter` takes coordinates in the scene's own pixel space and scales them to the canvas.
Shapes are rasterised at ``SUPERSAMPLE`` times the resolution inside their own bounding box and
reduced, which anti-aliases edges without ever allocating a supersampled full canvas. These run
once per scene and width (when a scene is prepared), never per render.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

Color = tuple[int, int, int]
Point = tuple[float, float]
SUPERSAMPLE = 3


def hex_color(value: str | Sequence[int] | None, default: Color = (128, 128, 128)) -> Color:
    """``"#a1b2c3"`` or an (r, g, b) sequence to a tuple; ``default`` for None."""
    if value is None:
        return default
    if isinstance(value, str):
        return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
    r, g, b = value[:3]
    return (int(r), int(g), int(b))


def scale_color(color: Color, factor: float) -> Color:
    """The colour made lighter (factor > 1) or darker (< 1), clipped to 0..255."""
    return tuple(max(0, min(255, round(c * factor))) for c in color)  # type: ignore[return-value]


def mix(a: Color, b: Color, t: float) -> Color:
    """Linear mix of two colours, ``t`` = 0 gives ``a``."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def value_noise(width: int, height: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in about -1..1 with features ``cell`` pixels across (float32, height x width)."""
    gw = max(2, math.ceil(width / cell) + 2)
    gh = max(2, math.ceil(height / cell) + 2)
    grid = Image.fromarray(rng.uniform(-1, 1, (gh, gw)).astype(np.float32), "F")
    big = grid.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32)


class Painter:
    """Draws on ``image`` (RGB) with coordinates in scene pixels multiplied by ``scale``."""

    def __init__(self, image: Image.Image, scale: float, seed: int = 7):
        self.image = image
        self.scale = scale
        self.rng = np.random.default_rng(seed)

    # --- geometry helpers ---------------------------------------------------------------------

    def px(self, v: float) -> float:
        """A length in scene pixels to canvas pixels."""
        return v * self.scale

    def _bbox(self, pts: Sequence[Point], pad: float = 1.0) -> tuple[int, int, int, int]:
        xs = [p[0] * self.scale for p in pts]
        ys = [p[1] * self.scale for p in pts]
        w, h = self.image.size
        x0 = max(0, math.floor(min(xs) - pad))
        y0 = max(0, math.floor(min(ys) - pad))
        x1 = min(w, math.ceil(max(xs) + pad))
        y1 = min(h, math.ceil(max(ys) + pad))
        return x0, y0, x1, y1

    def mask(
        self,
        extent: Sequence[Point],
        draw: Callable[[ImageDraw.ImageDraw, Callable[[Point], Point], float], None],
    ) -> tuple[Image.Image, tuple[int, int]] | None:
        """An anti-aliased L mask over the canvas box around ``extent``; ``draw`` paints it white.

        ``draw`` receives an ImageDraw, a function mapping scene points to mask pixels, and the
        mask's pixels per scene pixel.
        """
        x0, y0, x1, y1 = self._bbox(extent, pad=2)
        if x1 <= x0 or y1 <= y0:
            return None
        ss = SUPERSAMPLE
        big = Image.new("L", ((x1 - x0) * ss, (y1 - y0) * ss), 0)
        k = self.scale * ss

        def to_mask(p: Point) -> Point:
            return (p[0] * k - x0 * ss, p[1] * k - y0 * ss)

        draw(ImageDraw.Draw(big), to_mask, k)
        return big.reduce(ss), (x0, y0)

    # --- fills -----------------------------------------------------------------------------

    def _fill_image(
        self,
        size: tuple[int, int],
        color: Color,
        shade: tuple[float, float] | None,
        hshade: tuple[float, float] | None,
        texture: float,
        grain_cell: float,
    ) -> Image.Image:
        w, h = size
        if not shade and not hshade and not texture:
            return Image.new("RGB", size, color)
        factor = np.ones((h, w), dtype=np.float32)
        if shade:
            factor *= np.linspace(shade[0], shade[1], h, dtype=np.float32)[:, None]
        if hshade:
            factor *= np.linspace(hshade[0], hshade[1], w, dtype=np.float32)[None, :]
        if texture:
            factor *= 1 + texture * value_noise(w, h, max(2.0, self.px(grain_cell)), self.rng)
        rgb = np.asarray(color, dtype=np.float32)[None, None, :] * factor[:, :, None]
        return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")

    def _paint(self, mask_and_origin, color, shade, hshade, texture, grain_cell, opacity) -> None:
        if mask_and_origin is None:
            return
        mask, origin = mask_and_origin
        if opacity < 1:
            mask = mask.point(lambda v: round(v * opacity))
        fill = self._fill_image(mask.size, color, shade, hshade, texture, grain_cell)
        self.image.paste(fill, origin, mask)

    def polygon(self, pts: Sequence[Point], color: Color, *, shade=None, hshade=None,
                texture: float = 0.0, grain: float = 6.0, opacity: float = 1.0) -> None:
        """A filled polygon; ``shade``/``hshade`` are (start, end) brightness factors top-down / left-right."""
        m = self.mask(pts, lambda d, f, k: d.polygon([f(p) for p in pts], fill=255))
        self._paint(m, color, shade, hshade, texture, grain, opacity)

    def rect(self, box: Sequence[float], color: Color, **kw) -> None:
        """A filled axis-aligned rectangle (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = box
        self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color, **kw)

    def rrect(self, box: Sequence[float], radius: float, color: Color, *, shade=None, hshade=None,
              texture: float = 0.0, grain: float = 6.0, opacity: float = 1.0) -> None:
        """A filled rounded rectangle; ``radius`` in scene pixels."""
        x0, y0, x1, y1 = box

        def draw(d: ImageDraw.ImageDraw, f, k: float) -> None:
            a, b = f((x0, y0)), f((x1, y1))
            r = max(0.0, min(radius * k, (b[0] - a[0]) / 2, (b[1] - a[1]) / 2))
            d.rounded_rectangle([a, b], radius=r, fill=255)

        m = self.mask([(x0, y0), (x1, y1)], draw)
        self._paint(m, color, shade, hshade, texture, grain, opacity)

    def ellipse(self, box: Sequence[float], color: Color, *, shade=None, hshade=None,
                texture: float = 0.0, grain: float = 6.0, opacity: float = 1.0) -> None:
        """A filled ellipse inside ``box``."""
        x0, y0, x1, y1 = box
        m = self.mask([(x0, y0), (x1, y1)], lambda d, f, k: d.ellipse([f((x0, y0)), f((x1, y1))], fill=255))
        self._paint(m, color, shade, hshade, texture, grain, opacity)

    def line(self, p0: Point, p1: Point, width: float, color: Color, opacity: float = 1.0) -> None:
        """A straight stroke ``width`` scene pixels wide."""
        m = self.mask([p0, p1], lambda d, f, k: d.line([f(p0), f(p1)], fill=255, width=max(1, round(width * k))))
        self._paint(m, color, None, None, 0.0, 6.0, opacity)

    def leaf(self, base: Point, angle_deg: float, length: float, width: float, color: Color, **kw) -> None:
        """A pointed leaf from ``base`` toward ``angle_deg`` (0 = right, 90 = down)."""
        a = math.radians(angle_deg)
        ux, uy = math.cos(a), math.sin(a)
        nx, ny = -uy, ux
        pts = []
        for i in range(13):
            t = i / 12
            half = width / 2 * math.sin(math.pi * t) ** 0.8
            pts.append((base[0] + ux * length * t + nx * half, base[1] + uy * length * t + ny * half))
        for i in range(11, 0, -1):
            t = i / 12
            half = width / 2 * math.sin(math.pi * t) ** 0.8
            pts.append((base[0] + ux * length * t - nx * half, base[1] + uy * length * t - ny * half))
        self.polygon(pts, color, **kw)

    # --- light and shade ---------------------------------------------------------------------

    def soft_shadow(self, shape: str, geom: Sequence, blur: float, opacity: float,
                    color: Color = (28, 22, 18), offset: Point = (0.0, 0.0)) -> None:
        """Darken the canvas under a blurred ``shape`` ("ellipse", "rect" or "polygon").

        The blur runs at a quarter of the resolution (a soft shadow has no detail to lose), so even
        a wide blur on a 2400 px canvas costs milliseconds.
        """
        dx, dy = offset
        if shape == "polygon":
            pts = [(x + dx, y + dy) for x, y in geom]
        else:
            x0, y0, x1, y1 = geom
            pts = [(x0 + dx, y0 + dy), (x1 + dx, y1 + dy)]
        margin = blur * 2.5
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        bx0, by0, bx1, by1 = self._bbox([(min(xs) - margin, min(ys) - margin), (max(xs) + margin, max(ys) + margin)], 0)
        if bx1 <= bx0 or by1 <= by0:
            return
        down = 4
        sw, sh = max(1, (bx1 - bx0) // down), max(1, (by1 - by0) // down)
        small = Image.new("L", (sw, sh), 0)
        k = self.scale * sw / (bx1 - bx0)

        def f(p: Point) -> Point:
            return ((p[0] * self.scale - bx0) * sw / (bx1 - bx0), (p[1] * self.scale - by0) * sh / (by1 - by0))

        d = ImageDraw.Draw(small)
        if shape == "ellipse":
            d.ellipse([f(pts[0]), f(pts[1])], fill=255)
        elif shape == "rect":
            d.rectangle([f(pts[0]), f(pts[1])], fill=255)
        else:
            d.polygon([f(p) for p in pts], fill=255)
        if blur > 0:
            small = small.filter(ImageFilter.GaussianBlur(blur * k))
        mask = small.resize((bx1 - bx0, by1 - by0), Image.Resampling.BILINEAR)
        mask = mask.point(lambda v: round(v * opacity))
        self.image.paste(Image.new("RGB", mask.size, color), (bx0, by0), mask)

    def glow(self, center: Point, radius: float, color: Color, strength: float, squash: float = 1.0) -> None:
        """Brighten the canvas around ``center`` (a lamp's pool of light), screen-blended."""
        r = self.px(radius)
        cx, cy = center[0] * self.scale, center[1] * self.scale
        w, h = self.image.size
        x0, y0 = max(0, int(cx - r)), max(0, int(cy - r * squash))
        x1, y1 = min(w, int(cx + r) + 1), min(h, int(cy + r * squash) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.sqrt(((xs - cx) / r) ** 2 + ((ys - cy) / (r * squash)) ** 2)
        falloff = np.clip(1 - d, 0, 1) ** 2 * strength
        layer = np.asarray(color, dtype=np.float32)[None, None, :] * falloff[:, :, None]
        region = self.image.crop((x0, y0, x1, y1))
        lit = ImageChops.screen(region, Image.fromarray(np.clip(layer, 0, 255).astype(np.uint8), "RGB"))
        self.image.paste(lit, (x0, y0))
