"""Draws a room from a scene's ``background`` description: wall, floor, side wall and furniture.

The description is data (see ``docs/rendering.md``): a wall and floor spec and a list of props,
each ``{"type": ..., "box": [x0, y0, x1, y1], "color": ...}`` in scene pixels, drawn in order. Each
prop type is a small function below; they share a look: a vertical shade from lit top to darker
bottom, and a soft contact shadow where the piece meets the floor or the wall.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image

from haven_pipelines.rendering.draw import Color, Painter, hex_color, mix, scale_color, value_noise

Prop = Mapping[str, Any]


def draw_room(background: Mapping[str, Any], width: int, height: int, scale: float, seed: int = 11) -> Image.Image:
    """The room without frame and art, ``round(width*scale)`` x ``round(height*scale)`` pixels."""
    cw, ch = round(width * scale), round(height * scale)
    wall = background.get("wall", {})
    floor = background.get("floor", {})
    rng = np.random.default_rng(seed)
    image = Image.fromarray(_wall_pixels(wall, cw, ch, scale, rng), "RGB")
    painter = Painter(image, scale, seed)
    line = _floor_line(floor, width, height)
    side = background.get("side_wall")
    if side:
        _side_wall(painter, side, line, height)
    _wainscot(painter, wall, line, width)
    _floor(painter, floor, line, width, height)
    _baseboard(painter, wall, line, width)
    for prop in background.get("props", []):
        DRAWERS[prop["type"]](painter, prop, line)
    return image


# --- architecture ---------------------------------------------------------------------------


def _wall_pixels(wall: Mapping[str, Any], cw: int, ch: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Painted plaster: the base colour, a gentle vertical gradient, mottling and a fine grain."""
    color = np.asarray(hex_color(wall.get("color"), (230, 224, 214)), dtype=np.float32)
    top, bottom = wall.get("gradient", [1.03, 0.95])
    factor = np.linspace(top, bottom, ch, dtype=np.float32)[:, None]
    mottling = float(wall.get("texture", 0.025))
    factor = factor + mottling * value_noise(cw, ch, 90 * scale, rng) + mottling * 0.5 * value_noise(cw, ch, 18 * scale, rng)
    grain = rng.normal(0, 1.3, (ch, cw)).astype(np.float32)
    rgb = color[None, None, :] * factor[:, :, None] + grain[:, :, None]
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _floor_line(floor: Mapping[str, Any], width: int, height: int) -> list[tuple[float, float]]:
    """The wall/floor boundary as a polyline from left to right (a single y means level)."""
    if "line" in floor:
        return [(float(x), float(y)) for x, y in floor["line"]]
    y = float(floor.get("y", height * 0.8))
    return [(0.0, y), (float(width), y)]


def floor_y(line: list[tuple[float, float]], x: float) -> float:
    """The floor line's y at ``x`` (linear between its points)."""
    for (x0, y0), (x1, y1) in zip(line, line[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return line[0][1] if x < line[0][0] else line[-1][1]


def _side_wall(p: Painter, side: Mapping[str, Any], line, height: int) -> None:
    """A wall receding to the left of a corner at ``x``: darker, with a soft shadow into the corner."""
    x = float(side["x"])
    color = hex_color(side.get("color"), (200, 192, 180))
    top = float(side.get("top_y", -height))
    p.polygon([(0, top), (x, 0), (x, floor_y(line, x)), (0, floor_y(line, 0))], color,
              hshade=(side.get("shade", [0.92, 0.8])), texture=0.02, grain=60)
    p.soft_shadow("rect", (x - 6, 0, x + 14, floor_y(line, x)), blur=22, opacity=0.18)


def _wainscot(p: Painter, wall: Mapping[str, Any], line, width: int) -> None:
    """Optional panelled lower wall: a rail and recessed panels, up to ``wainscot.top``."""
    spec = wall.get("wainscot")
    if not spec:
        return
    top = float(spec["top"])
    x0 = float(spec.get("x0", 0))
    color = hex_color(spec.get("color"), (235, 230, 220))
    bottom = max(floor_y(line, x0), floor_y(line, width))
    p.rect((x0, top, width, bottom), color, shade=(1.0, 0.93))
    p.rect((x0, top - 6, width, top + 2), scale_color(color, 1.06), shade=(1.05, 0.9))
    p.soft_shadow("rect", (x0, top + 2, width, top + 5), blur=3, opacity=0.25)
    panel_w = float(spec.get("panel", 120))
    n = max(1, round((width - x0) / panel_w))
    step = (width - x0) / n
    for i in range(n):
        px0, px1 = x0 + i * step + 14, x0 + (i + 1) * step - 14
        py0, py1 = top + 18, bottom - 30
        if py1 - py0 < 20:
            continue
        p.rect((px0, py0, px1, py0 + 2.5), scale_color(color, 0.86))
        p.rect((px0, py0, px0 + 2.5, py1), scale_color(color, 0.9))
        p.rect((px0, py1 - 2.5, px1, py1), scale_color(color, 1.05))
        p.rect((px1 - 2.5, py0, px1, py1), scale_color(color, 1.04))


def _floor(p: Painter, floor: Mapping[str, Any], line, width: int, height: int) -> None:
    """Wood boards converging on the vanishing point, or carpet; darker toward the wall."""
    color = hex_color(floor.get("color"), (168, 128, 92))
    kind = floor.get("type", "wood")
    poly = [*line, (float(width), float(height)), (0.0, float(height))]
    p.polygon(poly, color, shade=(0.82, 1.04), texture=0.05 if kind == "carpet" else 0.03,
              grain=3 if kind == "carpet" else 40)
    if kind != "wood":
        return
    vx = float(floor.get("vanish_x", width / 2))
    vy = float(floor.get("vanish_y", min(y for _, y in line) - height * 0.45))
    board = float(floor.get("board", 42))
    rng = np.random.default_rng(5)
    # Boards run toward the wall, so their seams radiate from the vanishing point through the
    # floor line at equal spacing; alternate boards get a slightly different tone.
    x = -width * 1.5
    while x < width * 2.5:
        y_line = floor_y(line, min(max(x, 0), width))
        a = (x, y_line)
        t = (height - vy) / (y_line - vy)
        b = (vx + (x - vx) * t, float(height))
        a2 = (x + board, y_line)
        b2 = (vx + (x + board - vx) * t, float(height))
        tone = float(rng.uniform(0.93, 1.06))
        p.polygon([a, a2, b2, b], scale_color(color, tone), shade=(0.84, 1.02), texture=0.035, grain=30, opacity=0.55)
        p.line(a, b, 1.1, scale_color(color, 0.7), opacity=0.55)
        x += board


def _baseboard(p: Painter, wall: Mapping[str, Any], line, width: int) -> None:
    h = float(wall.get("baseboard", 14))
    if h <= 0:
        return
    color = hex_color(wall.get("baseboard_color"), (240, 237, 230))
    for (x0, y0), (x1, y1) in zip(line, line[1:]):
        p.polygon([(x0, y0 - h), (x1, y1 - h), (x1, y1), (x0, y0)], color, shade=(1.02, 0.9))
        p.line((x0, y0 - h), (x1, y1 - h), 1.2, scale_color(color, 1.05))
    p.soft_shadow("polygon", [(a[0], a[1]) for a in line] + [(b[0], b[1] + 10) for b in reversed(line)],
                  blur=5, opacity=0.2)


# --- furniture and objects ----------------------------------------------------------------


def _box(prop: Prop) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = prop["box"]
    return float(x0), float(y0), float(x1), float(y1)


def _color(prop: Prop, name: str, default: Color) -> Color:
    return hex_color(prop.get(name), default)


def _contact(p: Painter, x0: float, x1: float, y: float, depth: float = 10, opacity: float = 0.35) -> None:
    p.soft_shadow("ellipse", (x0 - 6, y - depth * 0.6, x1 + 6, y + depth), blur=depth * 0.9, opacity=opacity)


def window(p: Painter, prop: Prop, line) -> None:
    """A window with mullions and daylight, plus the light it throws on the wall."""
    x0, y0, x1, y1 = _box(prop)
    frame = _color(prop, "color", (246, 244, 238))
    sky = _color(prop, "color2", (214, 228, 236))
    p.soft_shadow("rect", (x0, y0, x1, y1), blur=10, opacity=0.25, offset=(3, 5))
    p.rect((x0, y0, x1, y1), frame, shade=(1.02, 0.95))
    inset = (x1 - x0) * 0.07
    p.rect((x0 + inset, y0 + inset, x1 - inset, y1 - inset), sky, shade=(1.08, 0.94), hshade=(0.97, 1.03), texture=0.05, grain=40)
    # Soft foliage outside, out of focus.
    rng = np.random.default_rng(int(x0 + y0))
    for _ in range(int(prop.get("foliage", 6))):
        cx = float(rng.uniform(x0 + inset, x1 - inset))
        cy = float(rng.uniform(y0 + (y1 - y0) * 0.45, y1 - inset))
        r = float(rng.uniform(0.12, 0.25)) * (x1 - x0)
        p.ellipse((cx - r, cy - r * 0.8, cx + r, cy + r * 0.8), mix(sky, (120, 150, 110), 0.35), opacity=0.35)
    mid_x = (x0 + x1) / 2
    bar = max(3.0, (x1 - x0) * 0.03)
    p.rect((mid_x - bar / 2, y0 + inset, mid_x + bar / 2, y1 - inset), frame)
    for frac in (0.5,):
        y = y0 + (y1 - y0) * frac
        p.rect((x0 + inset, y - bar / 2, x1 - inset, y + bar / 2), frame)
    p.rect((x0 - inset * 0.4, y1 - inset * 0.2, x1 + inset * 0.4, y1 + inset * 0.5), scale_color(frame, 1.02), shade=(1.05, 0.88))


def curtain(p: Painter, prop: Prop, line) -> None:
    """A linen curtain hanging in soft vertical folds."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (232, 226, 214))
    p.soft_shadow("rect", (x0, y0, x1, y1), blur=12, opacity=0.22, offset=(4, 2))
    folds = max(3, int((x1 - x0) / 16))
    step = (x1 - x0) / folds
    for i in range(folds):
        fx0 = x0 + i * step
        light = 0.92 + 0.1 * math.sin(i * 2.1)
        p.rect((fx0, y0, fx0 + step + 0.6, y1), scale_color(color, light), hshade=(1.04, 0.9), shade=(1.0, 0.94), texture=0.02, grain=4)
    p.rect((x0 - 8, y0 - 6, x1 + 8, y0), _color(prop, "accent", (80, 70, 60)))


def bed(p: Painter, prop: Prop, line) -> None:
    """Upholstered headboard, duvet in perspective, pillows and a throw."""
    x0, y0, x1, y1 = _box(prop)
    head = _color(prop, "color", (206, 196, 180))
    linen = _color(prop, "color2", (244, 241, 235))
    accent = _color(prop, "accent", (150, 120, 96))
    w = x1 - x0
    head_bottom = y0 + (y1 - y0) * 0.38
    p.soft_shadow("rect", (x0 + 4, y0 + 4, x1 - 4, head_bottom), blur=16, opacity=0.35, offset=(0, 6))
    p.rrect((x0, y0, x1, head_bottom + 30), 14, head, shade=(1.04, 0.86), texture=0.015, grain=2)
    for i in range(1, 8):
        x = x0 + w * i / 8
        p.line((x, y0 + 10), (x, head_bottom + 20), 1.6, scale_color(head, 0.82), opacity=0.7)
    # The duvet widens toward the viewer.
    top = head_bottom - 10
    spread = w * 0.1
    duvet = [(x0 + 10, top), (x1 - 10, top), (x1 + spread, y1), (x0 - spread, y1)]
    p.polygon(duvet, linen, shade=(0.93, 1.03), texture=0.012, grain=30)
    # The duvet's sides fall away from the light; a turned-down fold runs under the pillows.
    for side in (-1, 1):
        edge_top = x0 + 10 if side < 0 else x1 - 10
        edge_bottom = x0 - spread if side < 0 else x1 + spread
        inner = 0.07 * w * -side
        p.polygon([(edge_top, top), (edge_top + inner, top), (edge_bottom + inner * 1.3, y1), (edge_bottom, y1)],
                  scale_color(linen, 0.93), hshade=(0.94, 1.0) if side < 0 else (1.0, 0.94), opacity=0.6)
    fold_y = top + (y1 - top) * 0.22
    fold_t = (fold_y - top) / (y1 - top)
    p.soft_shadow("rect", (x0 + 10 - spread * fold_t, fold_y, x1 - 10 + spread * fold_t, fold_y + 6), blur=5, opacity=0.22)
    p.polygon([(x0 + 10, top), (x1 - 10, top), (x1 - 10 + spread * fold_t, fold_y), (x0 + 10 - spread * fold_t, fold_y)],
              scale_color(linen, 1.02), shade=(0.96, 1.04), texture=0.01, grain=30)
    for i in range(4):
        yy = top + (y1 - top) * (0.3 + i * 0.17)
        p.soft_shadow("ellipse", (x0 + w * (0.15 + 0.1 * i), yy - 3, x0 + w * (0.55 + 0.1 * i), yy + 5), blur=7, opacity=0.1)
    pw = w * 0.36
    for px in (x0 + w * 0.1, x1 - w * 0.1 - pw):
        p.soft_shadow("rect", (px + 6, top - 18, px + pw - 6, top + 40), blur=9, opacity=0.28, offset=(0, 8))
        p.rrect((px, top - 36, px + pw, top + 34), 18, linen, shade=(1.04, 0.88), texture=0.02, grain=8)
    cw = w * 0.22
    p.rrect(((x0 + x1) / 2 - cw / 2, top - 6, (x0 + x1) / 2 + cw / 2, top + 42), 12, accent, shade=(1.08, 0.82), texture=0.02, grain=2)
    band_top = top + (y1 - top) * 0.55
    band_bottom = top + (y1 - top) * 0.8
    t0 = (band_top - top) / (y1 - top)
    t1 = (band_bottom - top) / (y1 - top)
    throw_pts = [
        (x0 + 10 - (spread + 10) * t0, band_top), (x1 - 10 + (spread + 10) * t0, band_top),
        (x1 - 10 + (spread + 10) * t1, band_bottom), (x0 + 10 - (spread + 10) * t1, band_bottom),
    ]
    p.soft_shadow("polygon", throw_pts, blur=6, opacity=0.2, offset=(0, 4))
    p.polygon(throw_pts, mix(accent, linen, 0.35), shade=(1.05, 0.9), texture=0.025, grain=1.5)


def nightstand(p: Painter, prop: Prop, line) -> None:
    """A small cabinet with a drawer and short legs."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (170, 130, 94))
    _contact(p, x0, x1, y1, depth=8)
    leg = (y1 - y0) * 0.12
    p.rect((x0 + 6, y1 - leg, x0 + 11, y1), scale_color(color, 0.6))
    p.rect((x1 - 11, y1 - leg, x1 - 6, y1), scale_color(color, 0.6))
    p.rect((x0, y0, x1, y1 - leg), color, shade=(1.05, 0.82), texture=0.025, grain=1.50)
    p.rect((x0 - 2, y0 - 5, x1 + 2, y0 + 2), scale_color(color, 1.1), shade=(1.1, 0.9))
    mid = y0 + (y1 - leg - y0) * 0.42
    p.line((x0 + 4, mid), (x1 - 4, mid), 1.2, scale_color(color, 0.62))
    p.rrect(((x0 + x1) / 2 - 9, (y0 + mid) / 2 - 2, (x0 + x1) / 2 + 9, (y0 + mid) / 2 + 2), 2, (196, 170, 120))


side_table = nightstand


def table_lamp(p: Painter, prop: Prop, line) -> None:
    """A ceramic lamp with a linen shade and the warm pool of light it casts on the wall."""
    x0, y0, x1, y1 = _box(prop)
    base = _color(prop, "color", (214, 205, 190))
    shade = _color(prop, "color2", (246, 238, 222))
    cx, w, h = (x0 + x1) / 2, x1 - x0, y1 - y0
    if prop.get("lit", True):
        p.glow((cx, y0 + h * 0.25), w * 2.6, (255, 214, 160), 0.85, squash=1.2)
    shade_bottom = y0 + h * 0.45
    p.rect((cx - 1.5, shade_bottom - 2, cx + 1.5, y0 + h * 0.6), (120, 110, 95))
    p.ellipse((cx - w * 0.28, y0 + h * 0.55, cx + w * 0.28, y1), base, shade=(1.1, 0.8), hshade=(1.1, 0.85))
    p.polygon([(cx - w * 0.32, y0), (cx + w * 0.32, y0), (x1, shade_bottom), (x0, shade_bottom)], shade,
              shade=(1.02, 0.92), hshade=(1.0, 0.92), texture=0.02, grain=3)


def floor_lamp(p: Painter, prop: Prop, line) -> None:
    """A tall lamp: weighted base, thin pole, drum shade and its glow."""
    x0, y0, x1, y1 = _box(prop)
    metal = _color(prop, "color", (60, 55, 50))
    shade = _color(prop, "color2", (243, 234, 216))
    cx, w = (x0 + x1) / 2, x1 - x0
    shade_h = w * 0.75
    if prop.get("lit", True):
        p.glow((cx, y0 + shade_h * 0.5), w * 2.8, (255, 212, 158), 0.8, squash=1.3)
    _contact(p, cx - w * 0.3, cx + w * 0.3, y1, depth=6, opacity=0.4)
    p.ellipse((cx - w * 0.3, y1 - 8, cx + w * 0.3, y1 + 2), metal, shade=(1.3, 0.8))
    p.rect((cx - 1.8, y0 + shade_h - 4, cx + 1.8, y1 - 4), metal, hshade=(1.4, 0.7))
    p.polygon([(cx - w * 0.42, y0), (cx + w * 0.42, y0), (x1, y0 + shade_h), (x0, y0 + shade_h)], shade,
              shade=(1.03, 0.93), hshade=(1.02, 0.9), texture=0.02, grain=3)


def pendant(p: Painter, prop: Prop, line) -> None:
    """A ceiling pendant: cord and dome shade."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (40, 38, 36))
    cx, w = (x0 + x1) / 2, x1 - x0
    dome_top = y1 - w * 0.45
    p.line((cx, y0), (cx, dome_top), 1.4, (50, 48, 45))
    p.glow((cx, y1), w * 1.6, (255, 210, 150), 0.35)
    p.ellipse((x0, dome_top, x1, y1 + w * 0.45), color, shade=(1.3, 0.7), hshade=(1.2, 0.8))


def sofa(p: Painter, prop: Prop, line) -> None:
    """A three-seat sofa seen from the front: back cushions, seat, rolled arms and legs."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (140, 150, 140))
    w, h = x1 - x0, y1 - y0
    arm = w * 0.08
    seats = int(prop.get("seats", 3))
    _contact(p, x0, x1, y1, depth=12, opacity=0.45)
    p.soft_shadow("rect", (x0 + 8, y0, x1 - 8, y0 + h * 0.5), blur=14, opacity=0.3, offset=(0, -2))
    leg = h * 0.08
    for lx in (x0 + arm * 0.5, x1 - arm * 0.5):
        p.rect((lx - 3, y1 - leg, lx + 3, y1), (70, 52, 38))
    p.rrect((x0 + arm * 0.6, y0, x1 - arm * 0.6, y1 - leg - h * 0.25), 14, scale_color(color, 0.92), shade=(1.02, 0.8), texture=0.015, grain=2)
    inner = (x1 - x0 - 2 * arm) / seats
    for i in range(seats):
        bx = x0 + arm + i * inner
        p.rrect((bx + 2, y0 + h * 0.06, bx + inner - 2, y0 + h * 0.55), 14, color, shade=(1.08, 0.86), texture=0.015, grain=2)
        p.rrect((bx + 1, y0 + h * 0.52, bx + inner - 1, y1 - leg - h * 0.06), 10, scale_color(color, 1.03), shade=(1.12, 0.84), texture=0.015, grain=2)
    p.rrect((x0 + arm, y1 - leg - h * 0.12, x1 - arm, y1 - leg), 6, scale_color(color, 0.82), shade=(1.0, 0.78))
    for ax in (x0, x1 - arm):
        p.rrect((ax, y0 + h * 0.36, ax + arm, y1 - leg), 12, color, shade=(1.1, 0.8), hshade=(1.05, 0.9) if ax == x0 else (0.9, 1.02), texture=0.015, grain=2)


def armchair(p: Painter, prop: Prop, line) -> None:
    """A single armchair: a one-seat sofa with a taller back."""
    sofa(p, {**prop, "seats": 1}, line)


def cushion(p: Painter, prop: Prop, line) -> None:
    """A throw cushion leaning on a sofa back."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (200, 160, 120))
    p.soft_shadow("rect", (x0 + 4, y0 + 6, x1 - 4, y1), blur=6, opacity=0.3, offset=(2, 4))
    p.rrect((x0, y0, x1, y1), (x1 - x0) * 0.22, color, shade=(1.1, 0.82), hshade=(1.04, 0.94), texture=0.025, grain=1.5)


def throw(p: Painter, prop: Prop, line) -> None:
    """A folded blanket draped over an arm or a bed's foot."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (190, 170, 150))
    p.soft_shadow("rect", (x0, y0, x1, y1), blur=6, opacity=0.25, offset=(2, 4))
    p.rrect((x0, y0, x1, y1), 6, color, shade=(1.08, 0.85), texture=0.025, grain=1.5)
    for i in range(1, 4):
        y = y0 + (y1 - y0) * i / 4
        p.line((x0 + 2, y), (x1 - 2, y), 1.0, scale_color(color, 0.85), opacity=0.6)


def desk(p: Painter, prop: Prop, line) -> None:
    """A desk: thick top, slim legs, a drawer unit on one side."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (186, 150, 112))
    legs = _color(prop, "color2", (45, 42, 40))
    top_h = (y1 - y0) * 0.07
    _contact(p, x0, x1, y1, depth=10, opacity=0.32)
    for lx in (x0 + 10, x1 - 14):
        p.rect((lx, y0 + top_h, lx + 4, y1), legs, hshade=(1.3, 0.8))
    p.rect((x1 - (x1 - x0) * 0.28, y0 + top_h, x1 - 18, y0 + top_h + (y1 - y0) * 0.42), scale_color(color, 0.95), shade=(1.0, 0.85), texture=0.04, grain=20)
    for i in range(1, 3):
        y = y0 + top_h + (y1 - y0) * 0.42 * i / 3
        p.line((x1 - (x1 - x0) * 0.28 + 3, y), (x1 - 21, y), 1.0, scale_color(color, 0.7))
    p.soft_shadow("rect", (x0 + 10, y0 + top_h, x1 - 10, y0 + top_h + 8), blur=5, opacity=0.35)
    p.rect((x0, y0, x1, y0 + top_h), color, shade=(1.12, 0.86), texture=0.05, grain=30)


def chair(p: Painter, prop: Prop, line) -> None:
    """A desk chair seen from behind: backrest, seat edge and a five-star base."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (60, 58, 56))
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    _contact(p, x0, x1, y1, depth=8, opacity=0.4)
    p.rect((cx - 2.5, y0 + h * 0.6, cx + 2.5, y1 - h * 0.08), (90, 90, 92), hshade=(1.4, 0.7))
    p.polygon([(x0, y1 - 2), (cx, y1 - h * 0.1), (x1, y1 - 2), (cx, y1 - h * 0.05)], (70, 70, 72))
    p.rrect((x0 + w * 0.02, y0 + h * 0.52, x1 - w * 0.02, y0 + h * 0.62), 6, scale_color(color, 0.85), shade=(1.1, 0.8))
    p.rrect((x0 + w * 0.1, y0, x1 - w * 0.1, y0 + h * 0.55), 16, color, shade=(1.15, 0.8), hshade=(1.08, 0.88), texture=0.04, grain=2)


def shelves(p: Painter, prop: Prop, line) -> None:
    """Wall shelves with rows of books and the odd object."""
    x0, y0, x1, y1 = _box(prop)
    wood = _color(prop, "color", (190, 160, 125))
    rows = int(prop.get("rows", 3))
    rng = np.random.default_rng(int(x0 * 7 + y0))
    palette = [(120, 70, 60), (70, 90, 110), (200, 180, 150), (60, 80, 70), (180, 120, 80), (230, 220, 200), (90, 70, 90)]
    gap = (y1 - y0) / rows
    for r in range(rows):
        shelf_y = y0 + gap * (r + 1)
        x = x0 + 4
        while x < x1 - 12:
            if rng.random() < 0.12:
                x += float(rng.uniform(8, 20))
                continue
            bw = float(rng.uniform(5, 11))
            bh = gap * float(rng.uniform(0.55, 0.85))
            color = palette[int(rng.integers(len(palette)))]
            if x + bw > x1 - 4:
                break
            p.rect((x, shelf_y - bh, x + bw, shelf_y), color, hshade=(1.1, 0.85), shade=(1.05, 0.9))
            x += bw + 0.6
        p.soft_shadow("rect", (x0, shelf_y, x1, shelf_y + 4), blur=5, opacity=0.35, offset=(0, 3))
        p.rect((x0 - 3, shelf_y, x1 + 3, shelf_y + 6), wood, shade=(1.1, 0.8), texture=0.025, grain=1.50)


def plant(p: Painter, prop: Prop, line) -> None:
    """A potted plant: a tapered pot and a fan of pointed leaves in two greens."""
    x0, y0, x1, y1 = _box(prop)
    pot = _color(prop, "color", (196, 170, 140))
    green = _color(prop, "color2", (84, 118, 78))
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    pot_h = h * float(prop.get("pot", 0.24))
    pot_w = w * 0.42
    _contact(p, cx - pot_w * 0.6, cx + pot_w * 0.6, y1, depth=7, opacity=0.45)
    rng = np.random.default_rng(int(x0 * 13 + y0 * 3))
    leaves = int(prop.get("leaves", 26))
    base = (cx, y1 - pot_h + 4)
    for i in range(leaves):
        t = i / max(1, leaves - 1)
        angle = -90 + (t - 0.5) * float(prop.get("spread", 150)) + float(rng.uniform(-12, 12))
        length = (h - pot_h) * float(rng.uniform(0.45, 1.0)) * (1.0 - 0.35 * abs(t - 0.5))
        tone = mix(green, (40, 60, 40), float(rng.uniform(0, 0.45)))
        tone = mix(tone, (150, 170, 110), float(rng.uniform(0, 0.2)))
        p.leaf(base, angle, length, length * float(prop.get("leaf_width", 0.28)), tone, hshade=(1.1, 0.85))
    p.polygon([(cx - pot_w / 2, y1 - pot_h), (cx + pot_w / 2, y1 - pot_h), (cx + pot_w * 0.38, y1), (cx - pot_w * 0.38, y1)],
              pot, hshade=(1.1, 0.78), shade=(1.05, 0.9), texture=0.04, grain=4)
    p.rect((cx - pot_w / 2 - 1, y1 - pot_h, cx + pot_w / 2 + 1, y1 - pot_h + 4), scale_color(pot, 1.1))


def rug(p: Painter, prop: Prop, line) -> None:
    """A rug on the floor in perspective (narrower at the back) with a border."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (214, 200, 180))
    border = _color(prop, "accent", scale_color(color, 0.8))
    narrow = (x1 - x0) * float(prop.get("narrow", 0.1))
    pts = [(x0 + narrow, y0), (x1 - narrow, y0), (x1, y1), (x0, y1)]
    p.polygon(pts, color, shade=(0.9, 1.03), texture=0.025, grain=1.5)
    inset = 0.06
    inner = [
        (x0 + narrow + (x1 - x0) * inset, y0 + (y1 - y0) * 0.12), (x1 - narrow - (x1 - x0) * inset, y0 + (y1 - y0) * 0.12),
        (x1 - (x1 - x0) * inset, y1 - (y1 - y0) * 0.08), (x0 + (x1 - x0) * inset, y1 - (y1 - y0) * 0.08),
    ]
    for a, b in zip(inner, inner[1:] + inner[:1]):
        p.line(a, b, 2.5, border, opacity=0.8)


def books(p: Painter, prop: Prop, line) -> None:
    """A short stack of books lying flat."""
    x0, y0, x1, y1 = _box(prop)
    rng = np.random.default_rng(int(x0 + y1))
    palette = [(150, 90, 70), (60, 80, 100), (215, 205, 185), (90, 110, 90)]
    n = int(prop.get("count", 3))
    h = (y1 - y0) / n
    for i in range(n):
        inset = float(rng.uniform(0, (x1 - x0) * 0.12))
        by1 = y1 - i * h
        p.rect((x0 + inset, by1 - h + 0.5, x1 - inset * 0.5, by1), palette[i % len(palette)], shade=(1.1, 0.85))
        p.line((x0 + inset + 2, by1 - h * 0.5), (x1 - inset * 0.5 - 1, by1 - h * 0.5), 0.6, (235, 230, 220), opacity=0.6)


def vase(p: Painter, prop: Prop, line) -> None:
    """A vase with a few dried stems."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (226, 218, 204))
    stem = _color(prop, "color2", (176, 146, 104))
    cx, w, h = (x0 + x1) / 2, x1 - x0, y1 - y0
    body_top = y0 + h * 0.55
    for i, angle in enumerate((-110, -95, -80, -65)):
        a = math.radians(angle)
        tip = (cx + math.cos(a) * h * 0.55, body_top + math.sin(a) * h * 0.55)
        p.line((cx, body_top + 4), tip, 1.0, stem)
        p.leaf(tip, angle, h * 0.12, h * 0.05, mix(stem, (230, 210, 170), 0.2 * i))
    p.ellipse((cx - w * 0.45, body_top, cx + w * 0.45, y1), color, shade=(1.08, 0.82), hshade=(1.1, 0.85))
    p.rect((cx - w * 0.12, body_top - 4, cx + w * 0.12, body_top + 6), color, hshade=(1.1, 0.85))


def monitor(p: Painter, prop: Prop, line) -> None:
    """A slim monitor on a stand, its screen softly lit."""
    x0, y0, x1, y1 = _box(prop)
    body = _color(prop, "color", (38, 38, 40))
    screen = _color(prop, "color2", (170, 190, 205))
    w, h = x1 - x0, y1 - y0
    screen_bottom = y0 + h * 0.78
    cx = (x0 + x1) / 2
    p.soft_shadow("rect", (x0, y0, x1, screen_bottom), blur=8, opacity=0.3, offset=(3, 5))
    p.rect((cx - 3, screen_bottom, cx + 3, y1 - 3), (150, 150, 155), hshade=(1.3, 0.7))
    p.ellipse((cx - w * 0.16, y1 - 6, cx + w * 0.16, y1 + 1), (140, 140, 145), shade=(1.2, 0.8))
    p.rrect((x0, y0, x1, screen_bottom), 3, body)
    p.rect((x0 + 3, y0 + 3, x1 - 3, screen_bottom - 3), screen, shade=(1.08, 0.9), hshade=(1.05, 0.95))
    for i in range(5):
        yy = y0 + 10 + i * (screen_bottom - y0 - 20) / 5
        p.rect((x0 + 12, yy, x0 + 12 + w * (0.3 + 0.1 * (i % 3)), yy + 2.5), scale_color(screen, 0.8), opacity=0.6)


def mug(p: Painter, prop: Prop, line) -> None:
    """A mug on a surface."""
    x0, y0, x1, y1 = _box(prop)
    color = _color(prop, "color", (235, 230, 220))
    p.ellipse((x1 - (x1 - x0) * 0.35, y0 + (y1 - y0) * 0.2, x1 + (x1 - x0) * 0.2, y0 + (y1 - y0) * 0.7), scale_color(color, 0.85))
    p.rrect((x0, y0, x1, y1), 3, color, hshade=(1.08, 0.8))


DRAWERS: dict[str, Callable[[Painter, Prop, Any], None]] = {
    "window": window, "curtain": curtain, "bed": bed, "nightstand": nightstand, "side_table": side_table,
    "table_lamp": table_lamp, "floor_lamp": floor_lamp, "pendant": pendant, "sofa": sofa,
    "armchair": armchair, "cushion": cushion, "throw": throw, "desk": desk, "chair": chair,
    "shelves": shelves, "plant": plant, "rug": rug, "books": books, "vase": vase, "monitor": monitor,
    "mug": mug,
}
