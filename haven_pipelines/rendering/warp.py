"""A fast perspective warp for frames whose left and right edges are vertical in the picture.

Pillow's bilinear ``Image.transform(PERSPECTIVE)`` costs about 25-40 ns a pixel (a function call
and double arithmetic per pixel and band), more than the JPEG encode of the whole output for a
large window. Its ``resize`` is several times cheaper per pixel (separable, fixed point, with a
properly widened kernel when it reduces), but it only scales along the axes.

Most frames in perspective are on a wall photographed level: their left and right edges are
vertical. Then every vertical line of the art stays vertical, and the map from an output pixel
``(x, y)`` back to the art is

* ``u = U(x)``: the art column depends on the output column only (a 1-D projective map), and
* ``v = s(x) * y + t(x)``: down each output column, the art row is a linear function of ``y``.

So the warp is a row of ``resize`` calls, one per narrow band of output columns: each band is the
art's rectangle under it (the chord of ``U`` across the band, and the middle column's ``s, t`` down
it) resized straight from the source (the artwork, or its reduced working copy) into the band.
A band is narrow enough that no pixel in it lands more than :data:`V_TOLERANCE` output pixels
from where the exact map puts it (the lean of the frame's top and bottom edges sets the width:
a few pixels). The art is resampled once, with ``resize``'s antialiasing, instead of resized to
the window and then transformed, and the result matches the general path to within that
tolerance in position (tested) at a fraction of its cost. A frame whose sides are not vertical
has no :class:`ColumnWarp` and goes through the general path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

V_TOLERANCE = 0.2
"""Largest distance, in output pixels, between where a band puts an art pixel and where the exact map does."""
VERTICAL = 0.02
"""How far (output pixels) a vertical line of the art may lean over the window and still count as vertical."""
EDGE = 1.5
"""How far past the art's edge, in output pixels, a band still samples it (the edge pixel repeated)."""
PAD = 4
"""Source pixels of repeated edge around the artwork (:func:`pad`): what a band reads past its edge."""


@dataclass(frozen=True)
class ColumnWarp:
    """A window's warp as bands of output columns, planned once per window (see the module docstring).

    Each band is ``(xa, xb, y0, y1, u0, v0, u1, v1)``: output columns [xa, xb) and rows [y0, y1)
    are the resize of the art's rectangle from (u0, v0) to (u1, v1), in the target's pixels.
    """

    size: tuple[int, int]
    target: tuple[int, int]
    bands: tuple[tuple[int, int, int, int, float, float, float, float], ...]

    def apply(self, padded: Image.Image, box: tuple[float, float, float, float],
              paper: tuple[int, int, int], fill: tuple[int, int, int] | None) -> Image.Image:
        """The art warped into the window's box (RGB, ``size``).

        ``padded`` is the source (the artwork, or its reduced working copy) with :data:`PAD`
        pixels of repeated edge around it (:func:`pad`); ``box`` (x0, y0, x1, y1, in the unpadded
        source's pixels) is the region that fills the target rectangle: the whole source, or the
        crop a cover fit keeps. Transparent art is flattened onto ``paper``; output pixels off the
        art are ``fill`` (black for None).
        """
        tw, th = self.target
        kx, ky = (box[2] - box[0]) / tw, (box[3] - box[1]) / th
        ox, oy = box[0] + PAD, box[1] + PAD
        right, bottom = padded.width, padded.height
        out = Image.new("RGB", self.size, fill or (0, 0, 0))
        bilinear = Image.Resampling.BILINEAR
        for xa, xb, y0, y1, u0, v0, u1, v1 in self.bands:
            src = (max(0.0, ox + u0 * kx), max(0.0, oy + v0 * ky), min(right, ox + u1 * kx), min(bottom, oy + v1 * ky))
            piece = padded.resize((xb - xa, y1 - y0), bilinear, box=src)
            if piece.mode != "RGB":
                piece = _flat(piece, paper)
            out.paste(piece, (xa, y0))
        return out


def pad(image: Image.Image) -> Image.Image:
    """``image`` with :data:`PAD` pixels of its edge repeated around it (what bands read past the art)."""
    w, h = image.size
    out = Image.new(image.mode, (w + 2 * PAD, h + 2 * PAD))
    out.paste(image, (PAD, PAD))
    nearest = Image.Resampling.NEAREST
    out.paste(image.crop((0, 0, w, 1)).resize((w, PAD), nearest), (PAD, 0))
    out.paste(image.crop((0, h - 1, w, h)).resize((w, PAD), nearest), (PAD, h + PAD))
    out.paste(out.crop((PAD, 0, PAD + 1, h + 2 * PAD)).resize((PAD, h + 2 * PAD), nearest), (0, 0))
    out.paste(out.crop((w + PAD - 1, 0, w + PAD, h + 2 * PAD)).resize((PAD, h + 2 * PAD), nearest), (w + PAD, 0))
    return out


def _flat(image: Image.Image, paper: tuple[int, int, int]) -> Image.Image:
    base = Image.new("RGB", image.size, paper)
    base.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    return base


def plan_column_warp(to_art: np.ndarray, size: tuple[int, int], target: tuple[int, int]) -> ColumnWarp | None:
    """The column warp for a window, or None when the art's vertical lines do not stay vertical.

    ``to_art`` maps the box's continuous pixel coordinates (x, y) to the target rectangle's
    ``[0, tw] x [0, th]`` (as the general path's perspective coefficients do); ``size`` is the
    box's, ``target`` the art's size in the general path.
    """
    h = np.asarray(to_art, dtype=np.float64)
    bw, bh = size
    tw, th = target
    if bw < 2 or bh < 2 or tw < 1 or th < 1:
        return None

    def uv(x, y):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
        return (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w

    xs = np.arange(bw + 1, dtype=np.float64)
    u_top, _ = uv(xs, 0.0)
    u_bottom, _ = uv(xs, float(bh))
    if not (np.isfinite(u_top).all() and np.isfinite(u_bottom).all()) or (np.diff(u_top) <= 0).any():
        return None
    # How far a vertical line of the art leans, in output pixels (du/dx converts art pixels to output).
    slope = np.gradient(u_top)
    if (np.abs(u_top - u_bottom) / slope).max() > VERTICAL:
        return None
    u = (u_top + u_bottom) / 2  # the art column at each output column edge
    # Down each output column (at its centre) the art row is s * y + t, y a continuous coordinate.
    _, v_top = uv(xs[:-1] + 0.5, 0.0)
    _, v_bottom = uv(xs[:-1] + 0.5, float(bh))
    s, t = (v_bottom - v_top) / bh, v_top
    if (s <= 0).any():
        return None
    # The columns within EDGE output pixels of the art.
    reach = np.nonzero((u[:-1] >= -EDGE * slope[:-1]) & (u[1:] <= tw + EDGE * slope[1:]))[0]
    if reach.size == 0:
        return None
    first, end = int(reach[0]), int(reach[-1]) + 1
    # Plain floats: the loop below runs once per column, and the maps are smooth and monotonic,
    # so a band's worst columns are its ends.
    top, bottom = t.tolist(), (t + s * bh).tolist()
    sl, ul, slope_l = s.tolist(), u.tolist(), slope.tolist()
    bands = []
    xa = first
    while xa < end:
        xb = xa + 1
        while xb < end:
            # Would [xa, xb] still be one band: its end columns against the middle one's rows, top and bottom?
            mid = (xa + xb) // 2
            err = max(abs(top[xa] - top[mid]), abs(top[xb] - top[mid]),
                      abs(bottom[xa] - bottom[mid]), abs(bottom[xb] - bottom[mid])) / sl[mid]
            chord = ul[xa] + (ul[xb + 1] - ul[xa]) * (mid - xa) / (xb + 1 - xa)
            if err > V_TOLERANCE or abs(chord - ul[mid]) > V_TOLERANCE * slope_l[mid]:
                break
            xb += 1
        mid = (xa + xb - 1) / 2
        sm = float(np.interp(mid, np.arange(bw), s))
        tm = float(np.interp(mid, np.arange(bw), t))
        y0 = max(0, math.ceil((-EDGE * sm - tm) / sm - 1e-9))
        y1 = min(bh, math.floor((th + EDGE * sm - tm) / sm + 1e-9))
        if y1 > y0:
            bands.append((xa, xb, y0, y1, float(u[xa]), sm * y0 + tm, float(u[xb]), sm * y1 + tm))
        xa = xb
    return ColumnWarp((bw, bh), (tw, th), tuple(bands))
