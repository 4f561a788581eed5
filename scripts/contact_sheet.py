"""Draw a sample print and render it into the five system scenes as one contact sheet.

Run: ``.venv/bin/python scripts/contact_sheet.py [--out docs/images/contact_sheet.jpg]``

The sheet (about 1600 px wide, two rows, each scene labelled) is what the README shows; rerun this
after changing a scene file to see the change.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haven_pipelines.domain.scenes import SYSTEM_SCENES  # noqa: E402
from haven_pipelines.rendering.local import LocalRenderer  # noqa: E402

SHEET_WIDTH = 1600
PAPER = (246, 243, 236)
INK = (70, 62, 54)


def sample_print(width: int = 1600, height: int = 2000) -> Image.Image:
    """A calm arch-and-hills print with a line of text, drawn at twice the size for smooth edges."""
    ss = 2
    w, h = width * ss, height * ss
    image = Image.new("RGB", (w, h), (238, 226, 206))
    draw = ImageDraw.Draw(image)
    cx = w // 2
    for i, color in enumerate([(201, 124, 88), (220, 160, 118), (232, 192, 150)]):
        r = int(w * (0.34 - i * 0.08))
        draw.pieslice((cx - r, int(h * 0.52) - r, cx + r, int(h * 0.52) + r), 180, 360, fill=color)
    draw.ellipse((int(w * 0.62), int(h * 0.14), int(w * 0.74), int(h * 0.14) + int(w * 0.12)), fill=(196, 96, 64))
    hills = [((104, 128, 104), 0.56, 0.10), ((134, 156, 126), 0.62, 0.08), ((80, 102, 86), 0.7, 0.06)]
    for color, top, amp in hills:
        pts = [(x, int(h * top + h * amp * ((x / w - 0.5) ** 2) * 4 - h * amp * 0.5)) for x in range(0, w + 1, w // 40)]
        draw.polygon([*pts, (w, h), (0, h)], fill=color)
    font = ImageFont.load_default(size=int(w * 0.05))
    text = "grow through what you go through"
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((w - (box[2] - box[0])) / 2, h * 0.86), text, font=font, fill=(244, 236, 222))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def contact_sheet(render_width: int = 1200) -> Image.Image:
    """The five scenes for one artwork: three on the first row, two on the second, labelled."""
    renderer = LocalRenderer(width=render_width)
    art = sample_print()
    shots = []
    for scene in SYSTEM_SCENES:
        out = renderer.render(art, scene.key)
        shots.append((scene.name, Image.open(io.BytesIO(out.data)).convert("RGB")))
    gutter, label_h = 16, 34
    rows = [shots[:3], shots[3:]]
    row_images = []
    for row in rows:
        # Scale the row to a common height so that together they fill the sheet's width.
        ratio_sum = sum(img.width / img.height for _, img in row)
        height = int((SHEET_WIDTH - gutter * (len(row) + 1)) / ratio_sum) if len(row) == 3 else row_images[0][1]
        row_images.append((row, height))
    total_h = gutter + sum(h + label_h + gutter for _, h in row_images)
    sheet = Image.new("RGB", (SHEET_WIDTH, total_h), PAPER)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=20)
    y = gutter
    for row, height in row_images:
        widths = [round(img.width * height / img.height) for _, img in row]
        x = (SHEET_WIDTH - sum(widths) - gutter * (len(row) - 1)) // 2
        for (name, img), w in zip(row, widths, strict=True):
            sheet.paste(img.resize((w, height), Image.Resampling.LANCZOS), (x, y))
            box = draw.textbbox((0, 0), name, font=font)
            draw.text((x + (w - (box[2] - box[0])) / 2, y + height + 6), name, font=font, fill=INK)
            x += w + gutter
        y += height + label_h + gutter
    return sheet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "images" / "contact_sheet.jpg"))
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet()
    sheet.save(out, "JPEG", quality=84, optimize=True, progressive=True)
    print(f"wrote {out} ({sheet.width}x{sheet.height}, {out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
