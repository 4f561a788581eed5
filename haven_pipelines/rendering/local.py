"""The local renderer: composites artwork into a framed print on a wall, with Pillow only.

Work is split so that each render does as little as possible:

* once per process, per (scene, width): draw the room, the frame's shadow, moulding and mat, and
  the light, into one background image; keep the light over the opening as a small image
  (:class:`SceneCache`, :class:`PreparedScene`);
* once per batch, per artwork: the artwork reduced by a whole factor to between one and two
  times the largest window it goes into (``load`` while it decodes a file, ``render_batch`` for
  one handed over decoded);
* per render: the artwork into the window's bounding box only: resized when the window is
  upright, warped by bands of resizes straight from the artwork when the frame's sides are
  vertical (:mod:`haven_pipelines.rendering.warp`), Pillow's perspective transform of the resized
  artwork otherwise; multiplied by the light, pasted onto a copy of the background kept for
  the scene (in perspective, plainly, then only the edge strips where the window's mask and bevel
  or seam show, folded once per window), the upright mat's bevel drawn, encoded (a JPEG only in
  the segments of MCUs the window touched), and the touched box of the copy put back.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from haven_pipelines.domain.errors import HavenError, ValidationError
from haven_pipelines.rendering import geometry
from haven_pipelines.rendering.draw import Painter
from haven_pipelines.rendering.frame import FrameGeometry, draw_frame, frame_geometry, light_field, opening_shade, side_brightness
from haven_pipelines.rendering.images import (
    FORMATS,
    EncodedImage,
    encode,
    load_artwork,
    normalise_format,
    normalise_image,
    reduce_to,
    thumbnail_size,
)
from haven_pipelines.rendering.jpeg_rows import JpegRows
from haven_pipelines.rendering.room import draw_room
from haven_pipelines.rendering.room_store import RoomStore, StoredRoom
from haven_pipelines.rendering.scenes import SceneConfig, get_scene
from haven_pipelines.rendering.warp import ColumnWarp, pad, plan_column_warp

MIN_WIDTH, MAX_WIDTH = 200, 6000
THUMBNAIL_QUALITY = 82  # as make_thumbnail's default
BEVEL_WHITE = (250, 248, 243)


@dataclass(frozen=True)
class RenderedImage:
    """One finished mockup."""

    data: bytes
    content_type: str
    ext: str
    width: int
    height: int
    scene: str
    renderer: str = "local"
    elapsed_ms: float = 0.0
    thumbnail: EncodedImage | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds: composite, encode, thumbnail


@dataclass(frozen=True)
class BatchItem:
    """One (artwork, scene) of a batch: the image, or the error that stopped it."""

    artwork_index: int
    scene: str
    image: RenderedImage | None = None
    error: HavenError | None = None


@dataclass(frozen=True)
class WindowPlan:
    """Where one art window lands on the canvas, and what a render needs to fill it."""

    target: tuple[int, int]
    box: tuple[int, int, int, int]
    coeffs: tuple[float, ...] | None
    mask: Image.Image | None
    light: Image.Image
    bevel: tuple[tuple[tuple[int, int, int, int], tuple[int, int, int]], ...]
    overlay: tuple[Image.Image, Image.Image, tuple[int, int]] | None
    fill: tuple[int, int, int] | None = None
    columns: ColumnWarp | None = None
    edges: tuple[tuple[Image.Image, Image.Image, tuple[int, int]], ...] | None = None
    touched: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The pixel box a render of this window changes (x0, y0, x1, y1 exclusive; the glare included):
    the part to encode again."""


@dataclass
class PreparedScene:
    """A scene drawn at one width: background, opening geometry and light, ready for renders."""

    scene: SceneConfig
    width: int
    height: int
    background: Image.Image
    geo: FrameGeometry
    scale: float
    opening_box: tuple[int, int, int, int]
    light: np.ndarray
    _restore: Image.Image
    _windows: dict[tuple, WindowPlan] = field(default_factory=dict)
    _jpeg: dict[int, JpegRows | None] = field(default_factory=dict)
    _thumbs: dict[int, tuple[tuple[int, int], Image.Image, Image.Image]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _canvases: list[Image.Image] = field(default_factory=list)
    glare: tuple[Image.Image, tuple[int, int, int, int]] | None = None

    @property
    def upright(self) -> bool:
        """True when the frame faces the camera square-on (renders paste instead of transforming)."""
        return geometry.is_axis_aligned(self.scene.frame.quad, tolerance=0.01)

    def window_plan(self, aspect: float | None) -> WindowPlan:
        """The plan for an art window of ``aspect`` (width/height), or the full window for None."""
        key = None if aspect is None else round(aspect, 3)
        plan = self._windows.get(key)
        if plan is None:
            plan = self._plan(key)
            with self._lock:
                if len(self._windows) > 64:
                    self._windows.clear()
                self._windows[key] = plan
        return plan

    def _plan(self, aspect: float | None) -> WindowPlan:
        fw, fh, m, s = self.geo.flat_w, self.geo.flat_h, self.scene.mat.width, self.scale
        x0, y0, x1, y1 = m, m, fw - m, fh - m
        if aspect is not None:
            # Contain: the mat window is cut to the art's shape, so the mat shows more on one axis.
            ww, wh = x1 - x0, y1 - y0
            if ww / wh > aspect:
                nw = wh * aspect
                x0, x1 = x0 + (ww - nw) / 2, x0 + (ww + nw) / 2
            else:
                nh = ww / aspect
                y0, y1 = y0 + (wh - nh) / 2, y0 + (wh + nh) / 2
        quad = [(x * s, y * s) for x, y in self.geo.scene_points(geometry.rect(x0, y0, x1, y1))]
        bevel_w = max(1.2, min(m * 0.05, 3.0)) if m > 0 else 0.0
        if self.upright:
            qx0, qy0 = round(quad[0][0]), round(quad[0][1])
            qx1, qy1 = round(quad[2][0]), round(quad[2][1])
            box = (qx0, qy0, qx1, qy1)
            target = (max(1, qx1 - qx0), max(1, qy1 - qy0))
            coeffs, mask, columns = None, None, None
        else:
            # Without a mat the art meets the moulding: it is pasted a little past its edge, and a
            # thin anti-aliased ring of the moulding goes back over the seam (``overlay`` below).
            grow = 0.0 if m > 0 else 1.5 / s
            pasted = [(x * s, y * s) for x, y in self.geo.scene_points(geometry.rect(x0 - grow, y0 - grow, x1 + grow, y1 + grow))]
            box = geometry.bbox(pasted)
            bw, bh = box[2] - box[0], box[3] - box[1]
            target = (max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s)))
            local = [(x - box[0], y - box[1]) for x, y in quad]
            to_art = geometry.homography(local, geometry.rect(0, 0, target[0], target[1]))
            coeffs = geometry.pil_coefficients(to_art)
            # A frame with vertical sides (the usual wall photographed level) warps by resizes.
            columns = plan_column_warp(to_art, (bw, bh), target)
            mask = _aa_polygon((bw, bh), [[(x - box[0], y - box[1]) for x, y in pasted]])
        ox0, oy0 = self.opening_box[:2]
        light = self.light[box[1] - oy0 : box[3] - oy0, box[0] - ox0 : box[2] - ox0]
        light_img = Image.fromarray(np.clip(light * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
        bevel: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]] = []
        overlay = None
        fill = None
        if not self.upright and bevel_w == 0:
            overlay, fill = self._moulding_seam(x0, y0, x1, y1)
        if bevel_w > 0:
            outer = geometry.rect(x0 - bevel_w, y0 - bevel_w, x1 + bevel_w, y1 + bevel_w)
            outer_px = [(x * s, y * s) for x, y in self.geo.scene_points(outer)]
            # The bevel reaches a little into the window, over the art's anti-aliased edge, so no
            # hairline of mat shows between the two.
            e = 0.0 if self.upright else 0.8 / s
            inner_px = [(x * s, y * s) for x, y in self.geo.scene_points(geometry.rect(x0 + e, y0 + e, x1 - e, y1 - e))]
            cx = int(sum(p[0] for p in quad) / 4) - ox0
            cy = int(sum(p[1] for p in quad) / 4) - oy0
            lit = self.light[min(max(cy, 0), self.light.shape[0] - 1), min(max(cx, 0), self.light.shape[1] - 1)]
            strips = []
            for normal, (i, j) in (((0, 1), (0, 1)), ((-1, 0), (1, 2)), ((0, -1), (2, 3)), ((1, 0), (3, 0))):
                # A bevel faces into the window: its normal is the opposite of the side's outward one.
                b = side_brightness(normal, self.geo.light_dir, 0.7)
                color = tuple(int(min(255, c * b * lc)) for c, lc in zip(BEVEL_WHITE, lit, strict=True))
                strips.append(([outer_px[i], outer_px[j], inner_px[j], inner_px[i]], color))
            if self.upright:
                # Upright: four pixel-aligned rectangles, drawn directly at render time.
                bx0, by0, bx1, by1 = box
                bw_px = max(1, round(bevel_w * s))
                rects = [(bx0 - bw_px, by0 - bw_px, bx1 + bw_px - 1, by0 - 1), (bx1, by0 - bw_px, bx1 + bw_px - 1, by1 + bw_px - 1),
                         (bx0 - bw_px, by1, bx1 + bw_px - 1, by1 + bw_px - 1), (bx0 - bw_px, by0, bx0 - 1, by1 - 1)]
                bevel = [(r, c) for r, (_, c) in zip(rects, strips, strict=True)]
            else:
                # In perspective: one anti-aliased patch, drawn once here and pasted per render.
                ob = geometry.bbox(outer_px, pad=1)
                size = (ob[2] - ob[0], ob[3] - ob[1])
                patch = Image.new("RGB", size, BEVEL_WHITE)
                alpha = Image.new("L", size, 0)
                for polygon, color in strips:
                    sb = geometry.bbox(polygon, pad=1)
                    local_poly = [(x - sb[0], y - sb[1]) for x, y in polygon]
                    piece = _aa_polygon((sb[2] - sb[0], sb[3] - sb[1]), [local_poly])
                    at = (sb[0] - ob[0], sb[1] - ob[1])
                    patch.paste(color, at + (at[0] + piece.width, at[1] + piece.height), piece)
                    region = (at[0], at[1], at[0] + piece.width, at[1] + piece.height)
                    alpha.paste(ImageChops.lighter(alpha.crop(region), piece), at)
                overlay = (patch, alpha, (ob[0], ob[1]))
        edges = None if mask is None else self._edges(box, mask, overlay)
        # A contain window smaller than the opening leaves the mat around it as the room has it:
        # that part need not be encoded again. The glare is the same for every render: added here.
        lefts, tops, rights, bottoms = [box[0]], [box[1]], [box[2]], [box[3]]
        for rect, _ in bevel:
            lefts.append(rect[0])
            tops.append(rect[1])
            rights.append(rect[2] + 1)  # ImageDraw's rectangle includes its last column and row
            bottoms.append(rect[3] + 1)
        if overlay is not None:
            lefts.append(overlay[2][0])
            tops.append(overlay[2][1])
            rights.append(overlay[2][0] + overlay[1].width)
            bottoms.append(overlay[2][1] + overlay[1].height)
        if self.glare is not None:
            gx0, gy0, gx1, gy1 = self.glare[1]
            lefts.append(gx0)
            tops.append(gy0)
            rights.append(gx1)
            bottoms.append(gy1)
        touched = (max(0, min(lefts)), max(0, min(tops)), min(self.width, max(rights)), min(self.height, max(bottoms)))
        return WindowPlan(target, box, coeffs, mask, light_img, tuple(bevel), overlay, fill, columns, edges, touched)

    def _edges(self, box, mask: Image.Image, overlay) -> tuple[tuple[Image.Image, Image.Image, tuple[int, int]], ...] | None:
        """The window's edge as patches to paste over an art box pasted without its mask.

        A render in perspective pastes the art through the window's anti-aliased mask and then the
        overlay (bevel, or the moulding's seam) over it: two passes over the whole box, though only
        a few pixels along the edge are not simply the art. Both are folded here, once per window,
        into patches (colour ``p`` and alpha ``a``, with ``out = art * (1 - a) + p * a``) around the
        largest upright rectangle where the result is the art itself; a render then pastes the
        art's box plainly and these strips over it. None when there is no such rectangle.
        """
        x0, y0, x1, y1 = box
        if overlay is not None:
            o_img, o_alpha, (ox, oy) = overlay
            ux0, uy0 = min(x0, ox), min(y0, oy)
            ux1, uy1 = max(x1, ox + o_alpha.width), max(y1, oy + o_alpha.height)
        else:
            ux0, uy0, ux1, uy1 = x0, y0, x1, y1
        if ux0 < 0 or uy0 < 0 or ux1 > self.width or uy1 > self.height:
            return None
        size = (ux1 - ux0, uy1 - uy0)
        m_img = Image.new("L", size, 0)
        m_img.paste(mask, (x0 - ux0, y0 - uy0))
        o_alpha_img = Image.new("L", size, 0)
        o_color_img = Image.new("RGB", size, 0)
        if overlay is not None:
            o_alpha_img.paste(o_alpha, (ox - ux0, oy - uy0))
            o_color_img.paste(o_img, (ox - ux0, oy - uy0))
        m8, o8 = np.asarray(m_img), np.asarray(o_alpha_img)
        # The art-only rectangle: for each row, the clear run through the middle column; then the
        # rows whose run is nearly the widest, narrowed to what all of them share.
        clear = (m8 == 255) & (o8 == 0)
        cx = min(max((x0 + x1) // 2 - ux0, 0), size[0] - 1)
        idx = np.arange(size[0])
        blocked_left = np.maximum.accumulate(np.where(clear, -1, idx), axis=1)[:, cx]
        blocked_right = np.minimum.accumulate(np.where(clear, size[0], idx)[:, ::-1], axis=1)[:, ::-1][:, cx]
        lefts, rights = blocked_left + 1, blocked_right
        widths = np.where(clear[:, cx], rights - lefts, 0)
        if widths.max() <= 0:
            return None
        rows = np.nonzero(widths >= 0.9 * widths.max())[0]
        iy0, iy1 = int(rows[0]), int(rows[-1]) + 1
        ix0, ix1 = int(lefts[iy0:iy1].max()), int(rights[iy0:iy1].min())
        if ix1 <= ix0 or not clear[iy0:iy1, ix0:ix1].all():
            return None
        bg_img = self.background.crop((ux0, uy0, ux1, uy1))
        # Around it, four strips that tile the rest of the union: out = art * (1 - a) + p * a with
        # a = 1 - (1 - o) * m and p = (o * overlay + (1 - o) * (1 - m) * room) / a.
        patches = []
        for sx0, sy0, sx1, sy1 in ((0, 0, size[0], iy0), (0, iy1, size[0], size[1]), (0, iy0, ix0, iy1), (ix1, iy0, size[0], iy1)):
            if sx1 <= sx0 or sy1 <= sy0:
                continue
            m = m8[sy0:sy1, sx0:sx1, None].astype(np.float64) / 255
            o = o8[sy0:sy1, sx0:sx1, None].astype(np.float64) / 255
            a = 1 - (1 - o) * m
            if not (a > 0.5 / 255).any():
                continue
            oc = np.asarray(o_color_img.crop((sx0, sy0, sx1, sy1)), dtype=np.float64)
            bg = np.asarray(bg_img.crop((sx0, sy0, sx1, sy1)), dtype=np.float64)
            p = (o * oc + (1 - o) * (1 - m) * bg) / np.maximum(a, 1e-9)
            patches.append((Image.fromarray(np.clip(np.rint(p), 0, 255).astype(np.uint8), "RGB"),
                            Image.fromarray(np.clip(np.rint(a[:, :, 0] * 255), 0, 255).astype(np.uint8), "L"),
                            (ux0 + sx0, uy0 + sy0)))
        return tuple(patches)

    def _moulding_seam(self, x0: float, y0: float, x1: float, y1: float):
        """The moulding's innermost band as a patch whose inner edge is anti-aliased, and its colour."""
        s = self.scale
        inner = [(x * s, y * s) for x, y in self.geo.scene_points(geometry.rect(x0, y0, x1, y1))]
        g = 3.0 / s
        outer = [(x * s, y * s) for x, y in self.geo.scene_points(geometry.rect(x0 - g, y0 - g, x1 + g, y1 + g))]
        ob = geometry.bbox(outer, pad=1)
        size = (ob[2] - ob[0], ob[3] - ob[1])
        shift = lambda pts: [(x - ob[0], y - ob[1]) for x, y in pts]  # noqa: E731
        alpha = ImageChops.subtract(_aa_polygon(size, [shift(outer)]), _aa_polygon(size, [shift(inner)]))
        patch = self.background.crop(ob)
        (mx, my), = self.geo.scene_points([((x0 + x1) / 2, y0 - 1.5 / s)])
        fill = self.background.getpixel((min(max(round(mx * s), 0), self.width - 1), min(max(round(my * s), 0), self.height - 1)))
        return (patch, alpha, (ob[0], ob[1])), fill

    def jpeg_rows(self, quality: int) -> JpegRows | None:
        """The background encoded in segments (runs of MCUs) at ``quality`` (once), for renders to splice into."""
        if quality not in self._jpeg:
            rows = JpegRows.from_image(self.background, quality)
            with self._lock:
                self._jpeg.setdefault(quality, rows)
        return self._jpeg[quality]

    def encode(self, canvas: Image.Image, fmt: str, quality: int, touched: tuple[int, int, int, int] | None = None) -> bytes:
        """Encode a render of this scene: a JPEG re-encodes only the segments the render touched
        (``touched``: the pixel box x0, y0, x1, y1; the opening's box by default; see ``jpeg_rows``)."""
        if fmt == "JPEG":
            rows = self.jpeg_rows(quality)
            data = rows.encode(canvas, touched or self.opening_box) if rows is not None else None
            if data is not None:
                return data
        return encode(canvas, fmt, quality)

    def thumbnail(self, canvas: Image.Image, max_side: int) -> Image.Image:
        """The thumbnail of a render (longest side ``max_side``), recomputing only around the opening.

        A thumbnail is the picture box-reduced by whole factors (as ``reducing_gap=2`` picks them)
        and then resized with Lanczos. The room's reduced copy and thumbnail are made once; a render
        reduces only the opening's blocks and resizes only the thumbnail pixels whose Lanczos window
        reaches them, reading the same source pixels: what a whole-picture thumbnail gives, to within
        one level of rounding (tested).
        """
        (fx, fy), reduced, base = self._thumb_base(max_side)
        size = base.size
        # The reduced picture's extent in exact units (its last block may be partial), as Pillow's own.
        sx, sy = self.background.width / fx / size[0], self.background.height / fy / size[1]
        ox0, oy0, ox1, oy1 = self.opening_box
        rx0, ry0 = ox0 // fx, oy0 // fy
        rx1, ry1 = min(reduced.width, -(-ox1 // fx)), min(reduced.height, -(-oy1 // fy))
        # reduce() reads the box straight from the canvas: no copy of the opening first.
        changed = canvas.reduce((fx, fy), box=(rx0 * fx, ry0 * fy, min(canvas.width, rx1 * fx), min(canvas.height, ry1 * fy)))
        # Thumbnail pixels whose window (3 source pixels of Lanczos, scaled) reaches the changed blocks.
        tx0 = max(0, math.floor(rx0 / sx - 3.5) - 1)
        ty0 = max(0, math.floor(ry0 / sy - 3.5) - 1)
        tx1 = min(size[0], math.ceil(rx1 / sx + 3.5) + 1)
        ty1 = min(size[1], math.ceil(ry1 / sy + 3.5) + 1)
        # The reduced pixels those read (their windows end inside this crop, or at the picture's edge).
        wx0, wy0 = max(0, math.floor((tx0 - 3) * sx) - 2), max(0, math.floor((ty0 - 3) * sy) - 2)
        wx1 = min(reduced.width, math.ceil((tx1 + 3) * sx) + 2)
        wy1 = min(reduced.height, math.ceil((ty1 + 3) * sy) + 2)
        window = reduced.crop((wx0, wy0, wx1, wy1))
        window.paste(changed, (rx0 - wx0, ry0 - wy0))
        piece = window.resize((tx1 - tx0, ty1 - ty0), Image.Resampling.LANCZOS,
                              box=(tx0 * sx - wx0, ty0 * sy - wy0, tx1 * sx - wx0, ty1 * sy - wy0))
        thumb = base.copy()
        thumb.paste(piece, (tx0, ty0))
        return thumb

    def _thumb_base(self, max_side: int) -> tuple[tuple[int, int], Image.Image, Image.Image]:
        """(reduce factors, the room reduced by them, the room's thumbnail) for ``max_side``, made once."""
        if max_side not in self._thumbs:
            size = thumbnail_size(self.background.size, max_side)
            # Pillow's own choice for reducing_gap=2.0: reduce while at least twice the size remains.
            fx = int(self.background.width / size[0] / 2.0) or 1
            fy = int(self.background.height / size[1] / 2.0) or 1
            reduced = self.background.reduce((fx, fy))
            extent = (0, 0, self.background.width / fx, self.background.height / fy)
            base = reduced.resize(size, Image.Resampling.LANCZOS, box=extent)
            with self._lock:
                self._thumbs.setdefault(max_side, ((fx, fy), reduced, base))
        return self._thumbs[max_side]

    def take_canvas(self) -> Image.Image:
        """A working copy of the background for one render, to hand back with :meth:`give_back`.

        Copies are kept between renders (and between batches and threads) rather than one per
        thread: a fresh 2400 x 3000 copy costs about 50 ms, nearly all of it the first touch of new
        memory, which a batch on new threads used to pay again for every scene. The pool holds at
        most as many copies as renders of this scene have ever run at once.
        """
        with self._lock:
            if self._canvases:
                return self._canvases.pop()
        return self.background.copy()

    def give_back(self, canvas: Image.Image) -> None:
        """Put the opening's box back as the background has it, and keep the copy for the next render."""
        canvas.paste(self._restore, self.opening_box[:2])
        with self._lock:
            self._canvases.append(canvas)


def prepare_scene(scene: SceneConfig, width: int, photos=None) -> PreparedScene:
    """Draw ``scene`` at ``width`` pixels: the expensive part of rendering, once per room (see :class:`SceneCache`).

    A photo scene is prepared from its photo (fetched by ``photos``, the blob store's ``get``)
    by :func:`haven_pipelines.rendering.photo.prepare_photo_scene`.
    """
    if scene.photo is not None:
        from haven_pipelines.rendering.photo import prepare_photo_scene

        return prepare_photo_scene(scene, width, photos)
    scale = width / scene.width
    height = round(scene.height * scale)
    image = draw_room(scene.background, scene.width, scene.height, scale)
    geo = frame_geometry(scene)
    draw_frame(Painter(image, scale, seed=3), scene, geo)
    field_ = light_field(scene, width, height)
    outer = [(x * scale, y * scale) for x, y in geo.scene_points(geometry.rect(0, 0, geo.flat_w, geo.flat_h))]
    ox0, oy0, ox1, oy1 = geometry.bbox(outer, pad=4)
    ox0, oy0, ox1, oy1 = max(0, ox0), max(0, oy0), min(width, ox1), min(height, oy1)
    field_[oy0:oy1, ox0:ox1] *= opening_shade(scene, geo, scale, (ox0, oy0, ox1, oy1))[:, :, None]
    arr = np.asarray(image, dtype=np.float32) * field_
    # Dither before rounding: smooth light on a plain wall would otherwise band in 8 bits.
    arr += np.random.default_rng(1).uniform(-0.5, 0.5, arr.shape[:2]).astype(np.float32)[:, :, None]
    background = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")
    light = field_[oy0:oy1, ox0:ox1].copy()
    return assemble_scene(scene, width, background, light, (ox0, oy0, ox1, oy1))


def assemble_scene(scene: SceneConfig, width: int, background: Image.Image, light: np.ndarray,
                   opening_box: tuple[int, int, int, int]) -> PreparedScene:
    """A :class:`PreparedScene` from its drawn parts (just drawn, or read back from a :class:`RoomStore`)."""
    scale = width / scene.width
    restore = background.crop(opening_box)
    return PreparedScene(scene, width, background.height, background, frame_geometry(scene), scale,
                         opening_box, light, restore)


class SceneCache:
    """Prepared scenes by (scene fingerprint, width), least recently used dropped past ``maxsize``.

    On a miss, a scene is read from the :class:`RoomStore` passed to :meth:`get` when it has it, and
    drawn (and then stored there) otherwise. ``preparations`` counts scenes actually drawn and
    ``loads`` scenes read back from a store, for tests and metrics.
    """

    def __init__(self, maxsize: int = 12):
        self.maxsize = maxsize
        self.preparations = 0
        self.loads = 0
        self._items: OrderedDict[tuple[str, str, int], PreparedScene] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str, int], threading.Lock] = {}

    def get(self, scene: SceneConfig, width: int, store: RoomStore | None = None, photos=None) -> PreparedScene:
        """The prepared scene, read or drawn on first use (one thread does it; others wait for it).

        ``photos`` fetches a photo scene's photo by its blob key (unused for drawn rooms).
        """
        key = (scene.key, scene.fingerprint, width)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            prepared, drawn = _load_or_prepare(scene, width, store, photos)
            with self._lock:
                if drawn:
                    self.preparations += 1
                else:
                    self.loads += 1
                self._items[key] = prepared
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
                self._key_locks.pop(key, None)
            return prepared

    def clear(self) -> None:
        """Forget every prepared scene."""
        with self._lock:
            self._items.clear()


def _load_or_prepare(scene: SceneConfig, width: int, store: RoomStore | None, photos=None) -> tuple[PreparedScene, bool]:
    """(the prepared scene, whether it had to be drawn): from ``store`` when it has it, else drawn and kept there.

    A photo scene is prepared from its photo every time (well under a second; its glare layer is
    not one of the arrays a stored room holds).
    """
    if scene.photo is not None:
        return prepare_scene(scene, width, photos), True
    height = round(scene.height * width / scene.width)
    if store is not None:
        stored = store.load(scene.key, scene.fingerprint, width, height)
        if stored is not None:
            background = Image.fromarray(stored.background, "RGB")
            return assemble_scene(scene, width, background, stored.light, stored.opening_box), False
    prepared = prepare_scene(scene, width)
    if store is not None:
        store.save(scene.key, scene.fingerprint, width,
                   StoredRoom(np.asarray(prepared.background), prepared.light, prepared.opening_box))
    return prepared, True


DEFAULT_CACHE = SceneCache()
"""The process-wide cache every :class:`LocalRenderer` shares unless given its own."""


class _FitCache:
    """Resized artworks for one batch, by (artwork, target size, fit), and each one's reduced copy."""

    def __init__(self) -> None:
        self._items: dict[tuple, Image.Image] = {}
        self._working: dict[int, Image.Image] = {}
        self._padded: dict[int, tuple[Image.Image, Image.Image]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Image.Image | None:
        return self._items.get(key)

    def put(self, key: tuple, image: Image.Image) -> None:
        with self._lock:
            self._items[key] = image

    def padded(self, source: Image.Image) -> Image.Image:
        """``source`` with its edge repeated around it (:func:`warp.pad`), made once per batch."""
        with self._lock:
            kept = self._padded.get(id(source))
        if kept is not None and kept[0] is source:
            return kept[1]
        padded = pad(source)
        with self._lock:
            self._padded[id(source)] = (source, padded)  # the source is kept, so its id stays its own
        return padded

    def working(self, index: int, image: Image.Image, factor: int) -> Image.Image:
        """``image`` reduced by ``factor`` or less: a kept copy when it is large enough."""
        with self._lock:
            kept = self._working.get(index)
        if kept is not None and image.width / kept.width <= factor:
            return kept
        reduced = image.reduce(factor)
        with self._lock:
            self._working[index] = reduced
        return reduced


class LocalRenderer:
    """Renders mockups on this machine: no account, no network, no credits.

    Args:
        width: output width in pixels (the height follows the scene's aspect).
        fmt: JPEG, PNG or WEBP.
        quality: JPEG/WebP quality.
        cache: where prepared scenes live in memory (default: shared by the whole process).
        rooms: where prepared scenes are kept across processes (default: nowhere, drawn per process).
        photos: fetches a photo scene's photo by its blob key (the blob store's ``get``); without
            it a photo scene fails with a SceneConfigError.

    A photo scene renders at its photo's width when that is less than ``width``.
    """

    name = "local"

    def __init__(self, width: int = 2400, fmt: str = "JPEG", quality: int = 88, cache: SceneCache | None = None,
                 rooms: RoomStore | None = None, photos=None):
        self.width = _check_width(width)
        self.photos = photos
        self.fmt = normalise_format(fmt)
        if not 1 <= quality <= 100:
            raise ValidationError("quality", f"must be between 1 and 100, got {quality}")
        self.quality = quality
        self.cache = cache or DEFAULT_CACHE
        self.rooms = rooms

    def prepare(self, scene: str | SceneConfig, width: int | None = None) -> PreparedScene:
        """The prepared scene (drawn once per process and width, or once ever with a room store)."""
        config = scene if isinstance(scene, SceneConfig) else get_scene(scene)
        return self.cache.get(config, _check_width(width or self.width), self.rooms, self.photos)

    def load(self, data: bytes, scenes: Sequence[SceneConfig], *, width: int | None = None,
             timings: dict[str, float] | None = None) -> Image.Image:
        """Decode an artwork for rendering into ``scenes``: no larger than the largest window they need.

        The image is reduced (by whole factors) to between one and two times the largest art
        window of those scenes before its colour conversion, so a print file is converted at
        about twice the size it is shown at, not at print resolution. ``timings`` collects the
        ``decode`` and ``colour`` seconds (see :func:`load_artwork`).

        Raises:
            ImageError: the artwork is not a usable image.
        """
        prepared = [self.cache.get(c, _check_width(width or self.width), self.rooms, self.photos) for c in scenes]
        return load_artwork(data, min_size=_need(prepared) if prepared else None, timings=timings)

    def reduce(self, image: Image.Image, scenes: Sequence[SceneConfig], *, width: int | None = None) -> Image.Image:
        """An artwork handed over already decoded, reduced as :meth:`load` reduces a file: by a whole
        factor to between one and two times the largest art window of ``scenes`` (once per batch,
        rather than by the first render that needs it)."""
        if not scenes or image.mode not in ("RGB", "RGBA"):
            return image
        prepared = []
        for config in scenes:
            try:
                prepared.append(self.cache.get(config, _check_width(width or self.width), self.rooms, self.photos))
            except HavenError:
                continue  # that scene's own renders report it; the others still get their artwork
        if not prepared:
            return image
        nw, nh = _need(prepared)(image.size)
        return reduce_to(image, (max(1, nw), max(1, nh)))

    def render(self, artwork: bytes | Image.Image, scene: str | SceneConfig, *,
               fmt: str | None = None, width: int | None = None, thumbnail: int | None = None) -> RenderedImage:
        """One mockup of ``artwork`` in ``scene``; with ``thumbnail`` (a longest side in pixels), also
        its JPEG thumbnail, made from the picture in memory rather than by decoding the output again.

        Raises:
            ImageError: the artwork is not a usable image.
            UnknownScene, SceneConfigError: the scene is unknown or its config is malformed.
        """
        start = time.perf_counter()
        config = scene if isinstance(scene, SceneConfig) else get_scene(scene)
        image = _as_image(artwork)
        return self._render(image, 0, config, fmt, width, None, start, thumbnail)

    def render_batch(self, artworks: Sequence[bytes | Image.Image], scenes: Sequence[str | SceneConfig], *,
                     workers: int | None = None, fmt: str | None = None, width: int | None = None) -> list[BatchItem]:
        """Every artwork in every scene, artwork-major; a bad artwork or scene fails only its items.

        Each artwork is decoded once and resized once per target size for the whole batch.
        ``workers`` threads share the work (Pillow releases the GIL while it resizes and encodes);
        default the machine's cores, at most 8.
        """
        workers = workers or min(8, os.cpu_count() or 1)
        configs: list[SceneConfig | HavenError] = []
        for s in scenes:
            try:
                configs.append(s if isinstance(s, SceneConfig) else get_scene(s))
            except HavenError as exc:
                configs.append(exc)
        fits = _FitCache()

        def run_artwork(index: int) -> list[BatchItem]:
            try:
                artwork = artworks[index]
                valid = [c for c in configs if isinstance(c, SceneConfig)]
                if isinstance(artwork, (bytes, bytearray)):
                    image = self.load(artwork, valid, width=width)
                else:
                    image = self.reduce(_as_image(artwork), valid, width=width)
            except HavenError as exc:
                return [BatchItem(index, _scene_key(s), error=exc) for s in scenes]
            items = []
            for s, config in zip(scenes, configs, strict=True):
                if isinstance(config, HavenError):
                    items.append(BatchItem(index, _scene_key(s), error=config))
                    continue
                start = time.perf_counter()
                try:
                    rendered = self._render(image, index, config, fmt, width, fits, start)
                except HavenError as exc:
                    items.append(BatchItem(index, config.key, error=exc))
                else:
                    items.append(BatchItem(index, config.key, image=rendered))
            return items

        if workers <= 1 or len(artworks) <= 1:
            groups = [run_artwork(i) for i in range(len(artworks))]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
                groups = list(pool.map(run_artwork, range(len(artworks))))
        return [item for group in groups for item in group]

    # --- internals ------------------------------------------------------------------------

    def _render(self, image: Image.Image, index: int, config: SceneConfig, fmt: str | None,
                width: int | None, fits: _FitCache | None, start: float, thumbnail: int | None = None) -> RenderedImage:
        name = normalise_format(fmt) if fmt else self.fmt
        prepared = self.cache.get(config, _check_width(width or self.width), self.rooms, self.photos)
        aspect = image.width / image.height if config.fit == "contain" else None
        plan = prepared.window_plan(aspect)
        if plan.columns is not None:
            # Straight from the (reduced) artwork into the window: no fit-to-window resize first.
            source, box = _fit_source(image, index, plan.target, config, fits)
            padded = fits.padded(source) if fits is not None else pad(source)
            piece = plan.columns.apply(padded, box, config.mat.color, plan.fill)
        else:
            fitted = _fitted(image, index, plan.target, config, fits)
            piece = fitted if plan.coeffs is None else fitted.transform(
                (plan.box[2] - plan.box[0], plan.box[3] - plan.box[1]), Image.Transform.PERSPECTIVE,
                plan.coeffs, Image.Resampling.BILINEAR, fillcolor=plan.fill,
            )
        piece = ImageChops.multiply(piece, plan.light)
        canvas = prepared.take_canvas()
        try:
            if plan.edges is not None:
                # The art's box pasted plainly, then its edge (mask and overlay, folded per window).
                canvas.paste(piece, plan.box[:2])
                for patch, alpha, origin in plan.edges:
                    canvas.paste(patch, origin, alpha)
            else:
                canvas.paste(piece, plan.box[:2], plan.mask)
                if plan.overlay is not None:
                    patch, alpha, origin = plan.overlay
                    canvas.paste(patch, origin, alpha)
            if plan.bevel:
                draw = ImageDraw.Draw(canvas)
                for rect, color in plan.bevel:
                    draw.rectangle(rect, fill=color)
            if prepared.glare is not None:
                canvas.paste((255, 255, 255), prepared.glare[1], prepared.glare[0])
            composed = time.perf_counter()
            data = prepared.encode(canvas, name, self.quality, plan.touched)
            encoded = thumbed = time.perf_counter()
            thumb = None
            if thumbnail:
                small = prepared.thumbnail(canvas, thumbnail)
                thumb = EncodedImage(encode(small, "JPEG", THUMBNAIL_QUALITY), "image/jpeg", "jpg", small.width, small.height)
                thumbed = time.perf_counter()
        finally:
            prepared.give_back(canvas)
        done = time.perf_counter()
        content_type, ext = FORMATS[name]
        elapsed = (encoded - start) * 1000  # the mockup itself; a thumbnail is timed apart
        # Handing the canvas back (restoring the opening) is part of compositing, not of the thumbnail.
        timings = {"composite": composed - start + done - thumbed, "encode": encoded - composed}
        if thumb is not None:
            timings["thumbnail"] = thumbed - encoded
        return RenderedImage(data, content_type, ext, prepared.width, prepared.height, config.key, "local",
                             round(elapsed, 2), thumb, timings)


def _need(prepared: Sequence[PreparedScene]):
    """The size an artwork of a given size must keep for the largest window of ``prepared``."""

    def need(size: tuple[int, int]) -> tuple[int, int]:
        targets = [p.window_plan(size[0] / size[1] if p.scene.fit == "contain" else None).target for p in prepared]
        return (max((t[0] for t in targets), default=size[0]), max((t[1] for t in targets), default=size[1]))

    return need


def _aa_polygon(size: tuple[int, int], polygons: list[list[tuple[float, float]]], ss: int = 4) -> Image.Image:
    """An anti-aliased L mask of the polygons (drawn at ``ss`` times and box-reduced)."""
    big = Image.new("L", (size[0] * ss, size[1] * ss), 0)
    draw = ImageDraw.Draw(big)
    for polygon in polygons:
        draw.polygon([(x * ss, y * ss) for x, y in polygon], fill=255)
    return big.reduce(ss)


def _scene_key(scene: str | SceneConfig) -> str:
    return scene.key if isinstance(scene, SceneConfig) else str(scene)


def _check_width(width: int) -> int:
    if not isinstance(width, int) or isinstance(width, bool) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ValidationError("width", f"must be an integer from {MIN_WIDTH} to {MAX_WIDTH}, got {width!r}")
    return width


def _as_image(artwork: bytes | Image.Image) -> Image.Image:
    if isinstance(artwork, Image.Image):
        if artwork.mode in ("RGB", "RGBA"):
            return artwork
        # An image handed over already decoded still goes through the same normalisation.
        return normalise_image(artwork)
    return load_artwork(artwork)


def _flat_rgb(image: Image.Image, paper: tuple[int, int, int]) -> Image.Image:
    if image.mode == "RGB":
        return image
    base = Image.new("RGB", image.size, paper)
    base.paste(image, mask=image.getchannel("A"))
    return base


def _fitted(image: Image.Image, index: int, target: tuple[int, int], config: SceneConfig,
            fits: _FitCache | None) -> Image.Image:
    """The artwork at exactly ``target`` pixels: scaled to fill (cover crops the overflow)."""
    key = (index, target, config.fit, config.mat.color if image.mode == "RGBA" else None)
    if fits is not None:
        cached = fits.get(key)
        if cached is not None:
            return cached
    source, box = _fit_source(image, index, target, config, fits)
    resized = source.resize(target, Image.Resampling.BILINEAR, box=box)
    resized = _flat_rgb(resized, config.mat.color)
    if fits is not None:
        fits.put(key, resized)
    return resized


def _fit_source(image: Image.Image, index: int, target: tuple[int, int], config: SceneConfig,
                fits: _FitCache | None) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """(the image to resample from, the box of it that fills ``target``): the whole artwork for
    contain, its centred crop of the target's shape for cover, in a reduced working copy's pixels."""
    tw, th = target
    if config.fit == "cover":
        ratio = max(tw / image.width, th / image.height)
        cw, ch = tw / ratio, th / ratio
        left, top = (image.width - cw) / 2, (image.height - ch) / 2
        crop = (left, top, left + cw, top + ch)
    else:
        crop = (0, 0, image.width, image.height)
    source = _working_copy(image, index, target, fits)
    fx, fy = source.width / image.width, source.height / image.height
    return source, (crop[0] * fx, crop[1] * fy, crop[2] * fx, crop[3] * fy)


def _working_copy(image: Image.Image, index: int, target: tuple[int, int], fits: _FitCache | None) -> Image.Image:
    """A box-reduced copy no smaller than the target, shared across a batch's scenes.

    A large artwork (print resolution) is reduced once by an integer factor, which is cheap and
    exact (it averages whole pixel blocks); each scene's bicubic resize then starts from a copy at
    most twice its target instead of from the full original. This is Pillow's ``reducing_gap``
    idea, with the reduced copy kept for the other scenes.
    """
    factor = math.floor(min(image.width / target[0], image.height / target[1]))
    if factor < 2:
        return image
    return image.reduce(factor) if fits is None else fits.working(index, image, factor)
