"""Room "photos" drawn here, for the photo-scene benchmark and the README's example (not a benchmark).

Nothing is downloaded: each picture is drawn with numpy and Pillow the way a phone photo of a room
looks at a glance: a wall lit by a window on the left (soft fall-off, warm), a wooden floor in
perspective, a sofa, a side table, a plant, optionally an empty frame on the wall, then lens blur,
vignette and sensor grain. ``room_photo`` returns the image and the quad of the wall's frame spot
(the opening of the empty frame when ``empty_frame`` is set).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def room_photo(size: tuple[int, int] = (3000, 2000), *, seed: int = 1, empty_frame: bool = False,
               tilt: float = 0.0) -> tuple[Image.Image, list[tuple[float, float]]]:
    """A drawn room photo of ``size`` and the quad (TL, TR, BR, BL) where a print hangs.

    ``tilt`` (0..0.15) turns the wall away from the camera: the quad's right side gets shorter.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    horizon = int(h * 0.72)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # The wall: a window at the left lights it; brightness falls off with distance, warm to cool.
    d = np.hypot((xs - w * -0.05) / w, (ys - h * 0.25) / h)
    light = 0.55 + 0.5 * np.exp(-1.6 * d)
    wall_tint = np.array([236, 228, 214], np.float32) / 255
    img = light[:, :, None] * wall_tint[None, None, :] * 235
    # The floor: planks converging to a vanishing point, darker away from the window.
    floor = ys >= horizon
    fy = (ys - horizon) / max(1, h - horizon)
    vx = w * 0.55
    plank = ((xs - vx) / np.maximum(fy, 0.02) / (w * 0.09)).astype(np.int32)
    shade = 0.82 + 0.12 * ((plank * 7919) % 13) / 13.0
    wood = np.array([150, 108, 74], np.float32) * (0.6 + 0.45 * np.exp(-1.2 * d))[:, :, None] * shade[:, :, None]
    img[floor] = wood[floor]
    image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    # Skirting board, a sofa, its cushions, a side table, a plant.
    draw.rectangle((0, horizon - h * 0.018, w, horizon), fill=(226, 220, 208))
    sx0, sx1, sy0 = w * 0.18, w * 0.78, h * 0.56
    draw.rounded_rectangle((sx0, sy0, sx1, h * 0.84), radius=h * 0.04, fill=(92, 104, 112))
    draw.rounded_rectangle((sx0 - w * 0.03, sy0 + h * 0.07, sx0 + w * 0.04, h * 0.86), radius=h * 0.03, fill=(84, 95, 103))
    draw.rounded_rectangle((sx1 - w * 0.04, sy0 + h * 0.07, sx1 + w * 0.03, h * 0.86), radius=h * 0.03, fill=(78, 89, 97))
    for i, colour in enumerate(((196, 160, 112), (222, 212, 196), (176, 128, 98))):
        cx = sx0 + (sx1 - sx0) * (0.2 + 0.3 * i)
        draw.rounded_rectangle((cx - w * 0.06, sy0 - h * 0.05, cx + w * 0.06, sy0 + h * 0.09), radius=h * 0.03, fill=colour)
    draw.rectangle((w * 0.84, h * 0.66, w * 0.95, h * 0.68), fill=(120, 86, 58))
    draw.rectangle((w * 0.885, h * 0.68, w * 0.905, h * 0.86), fill=(110, 78, 52))
    draw.ellipse((w * 0.05, h * 0.78, w * 0.13, h * 0.9), fill=(168, 120, 92))
    for _ in range(40):
        a = rng.uniform(-2.6, -0.5)
        ln = rng.uniform(0.08, 0.2) * h
        bx, by = w * 0.09, h * 0.8
        draw.line((bx, by, bx + np.cos(a) * ln, by + np.sin(a) * ln), fill=(54 + int(rng.integers(0, 40)), 96, 58), width=max(2, w // 300))
    # The frame spot on the wall above the sofa (in perspective when tilted).
    fx0, fx1, fy0, fy1 = w * 0.39, w * 0.61, h * 0.08, h * 0.45
    shrink = (fy1 - fy0) * tilt
    quad = [(fx0, fy0), (fx1, fy0 + shrink / 2), (fx1, fy1 - shrink / 2), (fx0, fy1)]
    if empty_frame:
        m = w * 0.012
        outer = [(quad[0][0] - m, quad[0][1] - m), (quad[1][0] + m, quad[1][1] - m * (1 - tilt)),
                 (quad[2][0] + m, quad[2][1] + m * (1 - tilt)), (quad[3][0] - m, quad[3][1] + m)]
        shadow = Image.new("L", image.size, 0)
        ImageDraw.Draw(shadow).polygon([(x + m * 0.5, y + m * 0.8) for x, y in outer], fill=110)
        image.paste((30, 24, 20), (0, 0), shadow.filter(ImageFilter.GaussianBlur(m * 0.6)))
        draw.polygon(outer, fill=(44, 40, 38))
        draw.polygon(quad, fill=(238, 235, 228))
    # Lens softness, vignette and grain: what makes a drawing read as a photo.
    image = image.filter(ImageFilter.GaussianBlur(max(0.6, w / 2400)))
    arr = np.asarray(image, np.float32)
    vignette = 1 - 0.22 * (((xs / w - 0.5) * 2) ** 2 + ((ys / h - 0.5) * 2) ** 2) / 2
    arr = arr * vignette[:, :, None] + rng.normal(0, 3.2, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB"), quad


def main() -> int:
    """Write the README's photo-scene example: a drawn room photo with a demo print in its own frame.

    Run: ``.venv/bin/python bench/room_photos.py docs/images/photo_scene.jpg``
    """
    import io
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from haven_pipelines.rendering.local import LocalRenderer
    from haven_pipelines.rendering.photo import decode_photo, photo_digest, photo_scene_document
    from haven_pipelines.rendering.scenes import parse_scene
    from haven_pipelines.services.demo import draw_design

    out_path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images/photo_scene.jpg")
    photo, quad = room_photo((2400, 1600), seed=2, tilt=0.06)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    doc = photo_scene_document("example", "Example", decode_photo(data), photo_key="example.jpg",
                               sha256=photo_digest(data), quad=quad, frame="oak", glare=0.08)
    art = draw_design(1, "Grow gently, in your own time.", "growth")
    image = LocalRenderer(width=1200, quality=85, photos={"example.jpg": data}.__getitem__).render(art, parse_scene(doc))
    out_path.write_bytes(image.data)
    print(f"wrote {out_path} ({image.width}x{image.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
