"""Plane geometry for the renderer: homographies between the frame's flat plane and the picture.

A frame is modelled flat, in its own rectangle ``[0, fw] x [0, fh]`` (``fw``, ``fh`` the mean
lengths of the opening quad's edges). One homography maps that rectangle onto the opening quad,
so the moulding outside it, the mat inside it and the art window all land in consistent
perspective.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]


def homography(src: Sequence[Point], dst: Sequence[Point]) -> np.ndarray:
    """The 3x3 matrix H with ``H @ (x, y, 1) ~ (x', y', 1)`` for four point pairs."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    coeffs = np.linalg.solve(np.asarray(rows, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    return np.append(coeffs, 1.0).reshape(3, 3)


def apply(h: np.ndarray, points: Sequence[Point]) -> list[Point]:
    """Map points through ``h``."""
    pts = np.asarray(points, dtype=np.float64)
    ones = np.ones((pts.shape[0], 1))
    mapped = np.hstack([pts, ones]) @ h.T
    return [(float(x / w), float(y / w)) for x, y, w in mapped]


def pil_coefficients(h_out_to_in: np.ndarray) -> tuple[float, ...]:
    """The eight numbers ``Image.transform(..., PERSPECTIVE, data)`` wants (output -> input mapping)."""
    m = h_out_to_in / h_out_to_in[2, 2]
    return tuple(float(c) for c in m.ravel()[:8])


def rect(x0: float, y0: float, x1: float, y1: float) -> list[Point]:
    """Corners of an axis-aligned rectangle as TL, TR, BR, BL."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def flat_size(quad: Sequence[Point]) -> tuple[float, float]:
    """Mean width and height of a TL, TR, BR, BL quad: the size of its flat rectangle."""
    tl, tr, br, bl = quad
    w = (math.dist(tl, tr) + math.dist(bl, br)) / 2
    h = (math.dist(tl, bl) + math.dist(tr, br)) / 2
    return w, h


def bbox(points: Sequence[Point], pad: int = 0) -> tuple[int, int, int, int]:
    """Integer bounding box (x0, y0, x1, y1), exclusive end, grown by ``pad``."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (
        math.floor(min(xs)) - pad,
        math.floor(min(ys)) - pad,
        math.ceil(max(xs)) + pad,
        math.ceil(max(ys)) + pad,
    )


def is_axis_aligned(quad: Sequence[Point], tolerance: float = 0.5) -> bool:
    """True when the quad is an upright rectangle within ``tolerance`` pixels."""
    tl, tr, br, bl = quad
    return (
        abs(tl[1] - tr[1]) <= tolerance and abs(bl[1] - br[1]) <= tolerance
        and abs(tl[0] - bl[0]) <= tolerance and abs(tr[0] - br[0]) <= tolerance
    )
