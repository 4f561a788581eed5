"""Benchmark: the local renderer against a naive compositor, per mockup at 2400 px JPEG.

Run: ``.venv/bin/python bench/render.py [--width 2400] [--naive-renders 10]``

Ten generated artworks (print ratios 4:5, 3:4, 2:3, 11:14, A-series, square and landscape, about
3000 px on the long side, decoded once beforehand) go into the five system scenes, one thread:

- ``fast``: :meth:`LocalRenderer.render_batch` with ``workers=1``. Scenes are prepared first (the
  once-per-process cost, printed apart). The batch first reduces each artwork by a whole factor to
  between one and two times the largest window it goes into (as ``LocalRenderer.load`` does while
  it decodes a file; outside the per-mockup times, inside the batch totals); each mockup's time is
  then its own resize or warp into the window, the light, the paste, the bevel and the JPEG encode.
- ``naive``: written here, the way a first compositor would: per render, draw the scene again
  (nothing cached), transform the artwork over the *full canvas*, multiply the full canvas by the
  light, composite it through a full-canvas mask, encode.
- ``naive, room cached``: the same but with the room, frame and light drawn once, so only the
  full-canvas transform and composite run per render: the part the fast path's box-only work replaces.
- ``floor``: JPEG-encoding one output-sized image, which every render must do.
- per scene, the fast path's median per mockup against the median encode floor of that scene's
  mockups, in wall time and in thread CPU time (:class:`MockupCpu`): on a shared machine the wall
  figures move with the other processes' load, the CPU ones much less.
- ``encode floor per mockup``: each steady-batch mockup decoded and JPEG-encoded whole again (same
  quality, no restart markers): "the time to encode that output". The goal is the fast path's
  median per mockup at most 1.3x the median of these, in the same run, overall and per scene.
- ``rooms``: the five rooms kept in a room store (a temporary folder) and read back by a fresh
  cache, which is what a new process pays instead of drawing them.
- photo scenes (``photo_scenes``): three room photos drawn by ``bench/room_photos.py`` (3000x2000,
  so the output is capped at the width): an oak frame drawn square-on, a black frame drawn in
  perspective with glare, and the photo's own empty frame (``--frame none``) in perspective. Each
  scene's median per mockup (the same ten artworks, ``render_batch`` with one worker, a warm-up
  batch first) against the time to JPEG-encode that scene's own output, in the same run; the goal
  is at most 1.3x.

Figures are wall-clock milliseconds (median and p95) and, because this machine is shared, the
thread's CPU time too (``time.thread_time``), which is what one core would take unloaded.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # room_photos, beside this file

from haven_pipelines.domain.scenes import SYSTEM_SCENES  # noqa: E402
from haven_pipelines.rendering import geometry  # noqa: E402
from haven_pipelines.rendering.frame import frame_geometry, light_field  # noqa: E402
from haven_pipelines.rendering.images import encode  # noqa: E402
from haven_pipelines.rendering.local import LocalRenderer, SceneCache, prepare_scene  # noqa: E402
from haven_pipelines.rendering.room_store import RoomStore  # noqa: E402
from haven_pipelines.rendering.scenes import SceneConfig, get_scene  # noqa: E402

SIZES = [(2400, 3000), (2250, 3000), (2000, 3000), (2357, 3000), (2121, 3000),
         (3000, 2400), (3000, 3000), (2400, 3000), (1800, 2400), (3000, 2000)]


def make_artwork(i: int, size: tuple[int, int]) -> Image.Image:
    """A different generated print each time: gradient ground, shapes, a line of 'quote' text, grain."""
    w, h = size
    rng = np.random.default_rng(100 + i)
    c0, c1 = rng.integers(40, 240, 3), rng.integers(40, 240, 3)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    ground = (c0 * (1 - t) + c1 * t).astype(np.float32) * np.ones((1, w, 1), np.float32)
    ground += rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(ground, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(6 + i):
        x, y = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(w // 12, w // 3))
        color = tuple(int(v) for v in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), outline=color, width=int(rng.integers(8, 40)))
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=color)
    draw.text((w * 0.12, h * 0.8), f"Print number {i + 1}: breathe in, breathe out", fill=(250, 248, 240), font_size=w // 22)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def naive_render(art: Image.Image, scene: SceneConfig, width: int, cached=None) -> bytes:
    """Full-canvas compositing with nothing reused (or only the room, when ``cached`` is given)."""
    if cached is None:
        prepared = prepare_scene(scene, width)
        light = Image.fromarray((light_field(scene, prepared.width, prepared.height) * 255).astype(np.uint8), "RGB")
    else:
        prepared, light = cached
    background = prepared.background
    geo = frame_geometry(scene)
    fw, fh, m = geo.flat_w, geo.flat_h, scene.mat.width
    x0, y0, x1, y1 = m, m, fw - m, fh - m
    if scene.fit == "contain":
        aspect = art.width / art.height
        ww, wh = x1 - x0, y1 - y0
        if ww / wh > aspect:
            x0, x1 = x0 + (ww - wh * aspect) / 2, x0 + (ww + wh * aspect) / 2
        else:
            y0, y1 = y0 + (wh - ww / aspect) / 2, y0 + (wh + ww / aspect) / 2
    s = prepared.scale
    quad = [(x * s, y * s) for x, y in geo.scene_points(geometry.rect(x0, y0, x1, y1))]
    if scene.fit == "cover":
        ratio = max((x1 - x0) / art.width, (y1 - y0) / art.height)
        cw, ch = (x1 - x0) / ratio, (y1 - y0) / ratio
        src = geometry.rect((art.width - cw) / 2, (art.height - ch) / 2, (art.width + cw) / 2, (art.height + ch) / 2)
    else:
        src = geometry.rect(0, 0, art.width, art.height)
    coeffs = geometry.pil_coefficients(geometry.homography(quad, src))
    size = background.size
    warped = art.convert("RGB").transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    mask = Image.new("L", art.size, 255).transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    lit = ImageChops.multiply(warped, light)
    out = Image.composite(lit, background, mask)
    return encode(out, "JPEG", 88)


class MockupCpu:
    """Thread CPU time of each mockup of a batch, by scene: the renderer's per-mockup step, timed.

    A wall-clock median on a shared machine moves with the other processes' load; CPU time barely
    does. Wraps ``LocalRenderer._render`` (the step ``elapsed_ms`` times) while it is active.
    """

    def __init__(self) -> None:
        self.by_scene: dict[str, list[float]] = {}

    def __enter__(self) -> MockupCpu:
        self._original = original = LocalRenderer._render
        by_scene = self.by_scene

        def timed_render(renderer, image, index, config, *args, **kwargs):
            c0 = time.thread_time()
            try:
                return original(renderer, image, index, config, *args, **kwargs)
            finally:
                by_scene.setdefault(config.key, []).append((time.thread_time() - c0) * 1000)

        LocalRenderer._render = timed_render
        return self

    def __exit__(self, *exc) -> None:
        LocalRenderer._render = self._original


def timed(fn):
    """(result, wall ms, cpu ms) of one call."""
    w0, c0 = time.perf_counter(), time.thread_time()
    result = fn()
    return result, (time.perf_counter() - w0) * 1000, (time.thread_time() - c0) * 1000


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2400)
    parser.add_argument("--naive-renders", type=int, default=10, help="renders for each naive variant (they are slow)")
    args = parser.parse_args()
    keys = [s.key for s in SYSTEM_SCENES]
    scenes = [get_scene(k) for k in keys]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; single thread; {args.width} px JPEG q88")

    arts = [make_artwork(i, size) for i, size in enumerate(SIZES)]

    rooms = RoomStore(tempfile.mkdtemp(prefix="haven-rooms-"))
    renderer = LocalRenderer(width=args.width, cache=SceneCache(), rooms=rooms)
    for scene in scenes:
        _, wall, cpu = timed(lambda scene=scene: renderer.prepare(scene))
        print(f"prepare {scene.key:15s} {wall:7.0f} ms wall {cpu:7.0f} ms cpu   (drawn once, then kept in the room store)")
    fresh = LocalRenderer(width=args.width, cache=SceneCache(), rooms=rooms)
    for scene in scenes:
        _, wall, cpu = timed(lambda scene=scene: fresh.prepare(scene))
        print(f"load    {scene.key:15s} {wall:7.0f} ms wall {cpu:7.0f} ms cpu   (what a fresh process pays instead)")

    # A warm-up batch: the first render of each scene copies its canvas for this thread and
    # plans its windows; a long-running worker pays that once. Both batches are printed.
    rounds = {}
    for label in ("first batch", "steady batch"):
        c0, w0 = time.thread_time(), time.perf_counter()
        with MockupCpu() as mockup_cpu:
            items = renderer.render_batch(arts, scenes, workers=1)
        batch_cpu, batch_wall = (time.thread_time() - c0) * 1000, (time.perf_counter() - w0) * 1000
        failed = [i for i in items if i.error]
        if failed:
            print(f"FAILED: {failed[0].error}")
            return 1
        walls = [i.image.elapsed_ms for i in items]
        rounds[label] = walls
        print(f"fast {label:13s}: {len(items)} mockups, median {statistics.median(walls):6.1f} ms, p95 {pct(walls, 95):6.1f} ms wall; "
              f"batch {batch_wall / len(items):6.1f} ms wall / {batch_cpu / len(items):6.1f} ms cpu per mockup")
    steady = rounds["steady batch"]
    per_scene = {k: statistics.median([w for w, i in zip(steady, items, strict=True) if i.scene == k]) for k in keys}
    print("fast steady median by scene: " + ", ".join(f"{k} {v:.1f}" for k, v in per_scene.items()) + " ms")

    # The goal's yardstick: encoding each of these outputs whole (decoded first, outside the timing).
    enc_wall, enc_cpu = [], []
    for item in items:
        picture = Image.open(io.BytesIO(item.image.data)).convert("RGB")
        _, wall, cpu = timed(lambda picture=picture: encode(picture, "JPEG", 88))
        enc_wall.append(wall)
        enc_cpu.append(cpu)
    # CPU per mockup of the fast path, batch by batch (one artwork in every scene: 5 renders).
    fast_cpu_per = []
    for art in arts:
        _, _, cpu = timed(lambda art=art: renderer.render_batch([art], scenes, workers=1))
        fast_cpu_per.append(cpu / len(scenes))
    floor_by_scene = {k: statistics.median([w for w, i in zip(enc_wall, items, strict=True) if i.scene == k]) for k in keys}
    floor_cpu_by_scene = {k: statistics.median([c for c, i in zip(enc_cpu, items, strict=True) if i.scene == k]) for k in keys}
    cpu_by_scene = {k: statistics.median(mockup_cpu.by_scene[k]) for k in keys}
    print("encode floor per mockup      : median " f"{statistics.median(enc_wall):6.1f} ms wall, {statistics.median(enc_cpu):6.1f} ms cpu")
    print("fast / encode floor by scene : " + ", ".join(f"{k} {per_scene[k] / floor_by_scene[k]:.2f}x" for k in keys) + " (wall)")
    print("fast / encode floor by scene : " + ", ".join(f"{k} {cpu_by_scene[k] / floor_cpu_by_scene[k]:.2f}x" for k in keys)
          + " (cpu: " + ", ".join(f"{cpu_by_scene[k]:.1f}/{floor_cpu_by_scene[k]:.1f}" for k in keys) + " ms)")
    goal_wall = statistics.median(steady) / statistics.median(enc_wall)
    goal_cpu = statistics.median(fast_cpu_per) / statistics.median(enc_cpu)
    print(f"GOAL fast / encode floor     : {goal_wall:4.2f}x wall, {goal_cpu:4.2f}x cpu "
          f"(fast {statistics.median(fast_cpu_per):.1f} ms cpu per mockup); goal <= 1.3x")

    # CPU time per render for the steady state (single renders, same renderer, caches warm).
    cpu_times = []
    for art in arts:
        for scene in scenes:
            _, _, cpu = timed(lambda art=art, scene=scene: renderer.render(art, scene))
            cpu_times.append(cpu)
    print(f"fast single renders         : median {statistics.median(cpu_times):6.1f} ms, p95 {pct(cpu_times, 95):6.1f} ms cpu "
          "(includes each artwork's resize: no batch cache here)")

    pairs = [(arts[i % len(arts)], scenes[i % len(scenes)]) for i in range(args.naive_renders)]
    naive_wall, naive_cpu = [], []
    for art, scene in pairs:
        _, wall, cpu = timed(lambda art=art, scene=scene: naive_render(art, scene, args.width))
        naive_wall.append(wall)
        naive_cpu.append(cpu)
    print(f"naive (nothing cached)      : median {statistics.median(naive_wall):6.1f} ms wall, {statistics.median(naive_cpu):6.1f} ms cpu ({len(pairs)} renders)")
    cached = {}
    for scene in scenes:
        prepared = renderer.prepare(scene)
        cached[scene.key] = (prepared, Image.fromarray((light_field(scene, prepared.width, prepared.height) * 255).astype(np.uint8), "RGB"))
    room_wall, room_cpu = [], []
    for art, scene in pairs:
        _, wall, cpu = timed(lambda art=art, scene=scene: naive_render(art, scene, args.width, cached[scene.key]))
        room_wall.append(wall)
        room_cpu.append(cpu)
    print(f"naive (room cached)         : median {statistics.median(room_wall):6.1f} ms wall, {statistics.median(room_cpu):6.1f} ms cpu ({len(pairs)} renders)")

    floor_wall, floor_cpu = [], []
    background = renderer.prepare(scenes[0]).background
    for _ in range(9):
        _, wall, cpu = timed(lambda: encode(background, "JPEG", 88))
        floor_wall.append(wall)
        floor_cpu.append(cpu)
    print(f"floor (encode one output)   : median {statistics.median(floor_wall):6.1f} ms wall, {statistics.median(floor_cpu):6.1f} ms cpu")

    fast, fast_cpu = statistics.median(steady), statistics.median(cpu_times)
    print(f"ratio naive/fast (nothing cached): {statistics.median(naive_wall) / fast:5.1f}x wall, "
          f"{statistics.median(naive_cpu) / fast_cpu:5.1f}x cpu")
    print(f"ratio naive/fast (room cached)   : {statistics.median(room_wall) / fast:5.1f}x wall, "
          f"{statistics.median(room_cpu) / fast_cpu:5.1f}x cpu")
    print(f"fast / floor: {fast / statistics.median(floor_wall):4.2f}x wall, {fast_cpu / statistics.median(floor_cpu):4.2f}x cpu; "
          "goals: median <= 40 ms on one core, >= 4x naive")
    photo_scenes(arts, args.width)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


def photo_scenes(arts: list[Image.Image], width: int) -> None:
    """Photo scenes: per scene, median ms per mockup against the JPEG encode of its own output."""
    import io

    from room_photos import room_photo

    from haven_pipelines.rendering.photo import decode_photo, photo_digest, photo_scene_document
    from haven_pipelines.rendering.scenes import parse_scene

    variants = [("photo_oak", dict(frame="oak"), dict(tilt=0.0)),
                ("photo_black_glare", dict(frame="black", glare=0.12), dict(tilt=0.1)),
                ("photo_own_frame", dict(frame="none"), dict(tilt=0.1, empty_frame=True))]
    blobs, scenes = {}, []
    for i, (key, options, drawing) in enumerate(variants):
        image, quad = room_photo((3000, 2000), seed=i + 1, **drawing)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
        data = out.getvalue()
        blobs[f"bench/{key}.jpg"] = data
        doc = photo_scene_document(key, key, decode_photo(data), photo_key=f"bench/{key}.jpg", sha256=photo_digest(data),
                                   quad=quad, **options)
        scenes.append(parse_scene(doc))
    renderer = LocalRenderer(width=width, cache=SceneCache(), photos=blobs.__getitem__)
    for scene in scenes:
        _, wall, cpu = timed(lambda scene=scene: renderer.prepare(scene))
        print(f"prepare {scene.key:17s} {wall:7.0f} ms wall {cpu:7.0f} ms cpu   (once per process and width)")
    renderer.render_batch(arts, scenes, workers=1)  # warm-up, as for the system scenes
    with MockupCpu() as mockup_cpu:
        items = renderer.render_batch(arts, scenes, workers=1)
    failed = [i for i in items if i.error]
    if failed:
        print(f"FAILED: {failed[0].error}")
        return
    ratios, cpu_ratios = [], []
    for scene in scenes:
        walls = [i.image.elapsed_ms for i in items if i.scene == scene.key]
        prepared = renderer.prepare(scene)
        floors = [timed(lambda p=prepared: encode(p.background, "JPEG", 88)) for _ in range(9)]
        floor, floor_cpu = statistics.median(f[1] for f in floors), statistics.median(f[2] for f in floors)
        cpu = statistics.median(mockup_cpu.by_scene[scene.key])
        ratio = statistics.median(walls) / floor
        ratios.append(ratio)
        cpu_ratios.append(cpu / floor_cpu)
        print(f"photo {scene.key:17s} {prepared.width}x{prepared.height}: median {statistics.median(walls):6.1f} ms, "
              f"p95 {pct(walls, 95):6.1f} ms; encode floor {floor:6.1f} ms; ratio {ratio:4.2f}x wall, "
              f"{cpu:.1f}/{floor_cpu:.1f} ms = {cpu / floor_cpu:4.2f}x cpu (goal <= 1.3x)")
    print(f"photo scenes: worst ratio to the encode floor {max(ratios):4.2f}x wall, {max(cpu_ratios):4.2f}x cpu (goal <= 1.3x)")


if __name__ == "__main__":
    raise SystemExit(main())
