"""The frame on the wall: drop shadow, moulding with its bevels, the mat, and the room's light.

Everything here runs once when a scene is prepared. The frame is modelled flat (its opening is the
rectangle ``[0, fw] x [0, fh]`` in scene pixels) and mapped onto the wall by the homography
``to_scene``, so a frame in perspective keeps its proportions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from haven_pipelines.rendering import geometry
from haven_pipelines.rendering.draw import Color, Painter, scale_color
from haven_pipelines.rendering.scenes import SceneConfig

STYLE_COLORS: dict[str, Color] = {
    "black": (40, 38, 37),
    "white": (240, 238, 232),
    "wood": (150, 108, 72),
    "oak": (192, 152, 106),
    "walnut": (98, 68, 48),
    "gold": (186, 152, 88),
}
# How strongly each style shows its bevels: metal and lacquer catch more light than raw wood.
STYLE_CONTRAST: dict[str, float] = {"black": 0.9, "white": 0.45, "wood": 0.45, "oak": 0.4, "walnut": 0.5, "gold": 0.9}


@dataclass(frozen=True)
class FrameGeometry:
    """The frame's plane: flat size of the opening and the map from flat to scene pixels."""

    to_scene: np.ndarray
    flat_w: float
    flat_h: float
    light_dir: tuple[float, float]

    def scene_points(self, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Flat frame points to scene pixels."""
        return geometry.apply(self.to_scene, pts)


def frame_geometry(scene: SceneConfig) -> FrameGeometry:
    """The homography from the opening's flat rectangle to its quad, and where the light comes from."""
    quad = list(scene.frame.quad)
    fw, fh = geometry.flat_size(quad)
    to_scene = geometry.homography(geometry.rect(0, 0, fw, fh), quad)
    cx = sum(p[0] for p in quad) / 4
    cy = sum(p[1] for p in quad) / 4
    lx, ly = scene.light.source[0] - cx, scene.light.source[1] - cy
    norm = math.hypot(lx, ly) or 1.0
    return FrameGeometry(to_scene, fw, fh, (lx / norm, ly / norm))


def side_brightness(normal: tuple[float, float], light_dir: tuple[float, float], contrast: float) -> float:
    """Brightness factor of a face whose outward normal is ``normal`` under light from ``light_dir``."""
    return 1.0 + contrast * 0.35 * (normal[0] * light_dir[0] + normal[1] * light_dir[1])


_SIDES = (  # (name, outward normal, index pairs into the rect corners TL, TR, BR, BL)
    ("top", (0.0, -1.0), (0, 1)),
    ("right", (1.0, 0.0), (1, 2)),
    ("bottom", (0.0, 1.0), (2, 3)),
    ("left", (-1.0, 0.0), (3, 0)),
)


def _band(outer: list, inner: list, i: int, j: int) -> list:
    return [outer[i], outer[j], inner[j], inner[i]]


def draw_frame(painter: Painter, scene: SceneConfig, geo: FrameGeometry) -> None:
    """Drop shadow, mat and moulding onto the room (before the room's light is applied)."""
    frame, mat = scene.frame, scene.mat
    fw, fh, fwid = geo.flat_w, geo.flat_h, frame.width
    outer = geo.scene_points(geometry.rect(-fwid, -fwid, fw + fwid, fh + fwid))
    opening = geo.scene_points(geometry.rect(0, 0, fw, fh))
    shadow = scene.shadow
    if shadow.opacity > 0:
        # Two shadows: a tight contact one and a wide soft one, as a real frame throws.
        painter.soft_shadow("polygon", outer, blur=max(1.0, shadow.blur * 0.25), opacity=shadow.opacity * 0.55,
                            offset=(shadow.offset[0] * 0.3, shadow.offset[1] * 0.3))
        painter.soft_shadow("polygon", outer, blur=shadow.blur, opacity=shadow.opacity * 0.75, offset=shadow.offset)
    painter.polygon(opening, mat.color, texture=0.012, grain=2)
    if frame.style == "none" or fwid <= 0:
        return
    color = frame.color or STYLE_COLORS.get(frame.style, STYLE_COLORS["black"])
    contrast = STYLE_CONTRAST.get(frame.style, 0.6)
    texture = 0.05 if frame.style in ("wood", "oak", "walnut") else 0.015
    rings = [
        geometry.rect(-fwid, -fwid, fw + fwid, fh + fwid),
        geometry.rect(-fwid * 0.8, -fwid * 0.8, fw + fwid * 0.8, fh + fwid * 0.8),
        geometry.rect(-fwid * 0.22, -fwid * 0.22, fw + fwid * 0.22, fh + fwid * 0.22),
        geometry.rect(0, 0, fw, fh),
    ]
    rings = [geo.scene_points(r) for r in rings]
    for _name, normal, (i, j) in _SIDES:
        lit_out = side_brightness(normal, geo.light_dir, contrast)
        lit_in = side_brightness((-normal[0], -normal[1]), geo.light_dir, contrast * 1.3)
        face = side_brightness(normal, geo.light_dir, contrast * 0.25)
        painter.polygon(_band(rings[0], rings[1], i, j), scale_color(color, lit_out * 0.96), texture=texture, grain=3)
        painter.polygon(_band(rings[1], rings[2], i, j), scale_color(color, face * 1.04), texture=texture, grain=3)
        painter.polygon(_band(rings[2], rings[3], i, j), scale_color(color, lit_in * 0.88), texture=texture, grain=3)
    # A fine highlight on the outer edge where the moulding turns toward the light.
    for _name, normal, (i, j) in _SIDES:
        if normal[0] * geo.light_dir[0] + normal[1] * geo.light_dir[1] > 0.2:
            painter.line(rings[1][i], rings[1][j], max(0.6, fwid * 0.05), scale_color(color, 1.0 + contrast * 0.5), opacity=0.7)


def light_field(scene: SceneConfig, width: int, height: int) -> np.ndarray:
    """The room's light as a factor per pixel and channel (float32, at most 1).

    Brightest near ``light.source``, falling off with distance to ``ambient``, tinted, with a
    gentle vignette. Computed on a grid 1/8 of the size and enlarged: light has no fine detail.
    """
    light = scene.light
    gw, gh = max(8, width // 8), max(8, height // 8)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    sx, sy = scene.width / gw, scene.height / gh
    px, py = (xs + 0.5) * sx, (ys + 0.5) * sy
    diag = math.hypot(scene.width, scene.height)
    d = np.hypot(px - light.source[0], py - light.source[1]) / diag
    lit = light.ambient + (1 - light.ambient) * np.exp(-light.falloff * 2.2 * d)
    vx = (px / scene.width - 0.5) * 2
    vy = (py / scene.height - 0.5) * 2
    vignette = 1 - 0.07 * (vx**2 + vy**2)
    base = (lit * vignette).astype(np.float32)
    tint = np.asarray(light.tint, dtype=np.float32) / 255.0
    channels = []
    for c in range(3):
        grid = Image.fromarray(base * tint[c], "F")
        channels.append(np.asarray(grid.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32))
    return np.clip(np.dstack(channels), 0, 1)


def opening_shade(scene: SceneConfig, geo: FrameGeometry, scale: float,
                  box: tuple[int, int, int, int]) -> np.ndarray:
    """Factor (float32, box-sized) for the shadow the moulding casts into its opening.

    The sides between the light and the opening throw a soft band onto the mat (or the art when
    there is no mat); outside the opening the factor is 1.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    fw, fh = geo.flat_w, geo.flat_h
    depth = max(2.0, scene.frame.width * 0.35)
    down = 2
    sw, sh = max(1, w // down), max(1, h // down)
    alpha = Image.new("L", (sw, sh), 0)
    draw = ImageDraw.Draw(alpha)

    def to_small(pts):
        return [((x * scale - x0) / down, (y * scale - y0) / down) for x, y in geo.scene_points(pts)]

    bands = {
        "top": geometry.rect(-depth, -depth, fw + depth, depth),
        "right": geometry.rect(fw - depth, -depth, fw + depth, fh + depth),
        "bottom": geometry.rect(-depth, fh - depth, fw + depth, fh + depth),
        "left": geometry.rect(-depth, -depth, depth, fh + depth),
    }
    for name, normal, _ in _SIDES:
        strength = normal[0] * geo.light_dir[0] + normal[1] * geo.light_dir[1]
        if strength > 0:
            draw.polygon(to_small(bands[name]), fill=round(255 * min(1.0, 0.35 + strength)))
    alpha = alpha.filter(ImageFilter.GaussianBlur(depth * scale / down * 0.6))
    inside = Image.new("L", (sw, sh), 0)
    ImageDraw.Draw(inside).polygon(to_small(geometry.rect(0, 0, fw, fh)), fill=255)
    a = np.asarray(alpha, dtype=np.float32) / 255 * (np.asarray(inside, dtype=np.float32) / 255)
    a_img = Image.fromarray(a.astype(np.float32), "F").resize((w, h), Image.Resampling.BILINEAR)
    return 1 - 0.32 * np.asarray(a_img, dtype=np.float32)
