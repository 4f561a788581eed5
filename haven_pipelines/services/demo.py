"""Demo data: a demo user, quotes in the three collections, and approved typographic designs.

:func:`load_demo` is idempotent. Rows get stable ids (UUID5 of the user and an index), so loading
twice adds nothing twice and ``designs=5`` after ``designs=3`` adds the two missing designs. A
design whose image has gone missing from the blob store (a wiped image folder) is drawn again.

The demo user is created with the default guardrails (3500 credits a year, soft limit 292 a month)
and ``global_mode='autopilot'``, so that the main job runs unattended: finished mockups are
approved at once instead of waiting in the approval queue. A demo user that already exists keeps
the settings an operator gave it.

The artwork is drawn here with Pillow: a quote set in a serif face on a textured gradient, portrait
4:5 (1600 x 2000 PNG), with a motif and palette per collection (grounding: clay and layered hills;
wholeness: sage and a closed ring; growth: greens and a rising arc with a sprout). The same index
gives the same image.
"""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import users
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.keys import design_key
from haven_pipelines.integrations.blobstore import BlobStore

DEMO_EMAIL = "demo@haven.local"
DEMO_NAME = "Demo Studio"
MAX_DESIGNS = 200
SIZE = (1600, 2000)  # portrait 4:5, prints cleanly at 8x10 and 16x20

# Written for this demo: (text, collection, mood). Four grounding, three wholeness, three growth.
DEMO_QUOTES: tuple[tuple[str, str, str], ...] = (
    ("Roots before branches.", "grounding", "steady"),
    ("Slow down. The ground is holding you.", "grounding", "calm"),
    ("Breathe in here. Breathe out now.", "grounding", "present"),
    ("Home is the quiet you carry.", "grounding", "warm"),
    ("You were never broken, only becoming.", "wholeness", "tender"),
    ("Every part of you is welcome at this table.", "wholeness", "gentle"),
    ("Soft is also strong.", "wholeness", "kind"),
    ("Small steps still cross mountains.", "growth", "hopeful"),
    ("Bloom where the light finds you.", "growth", "bright"),
    ("Today's seed is tomorrow's shade.", "growth", "patient"),
)



def _round_robin() -> tuple[int, ...]:
    """Quote indexes taking the collections in turn, so that even three designs show all three."""
    by_collection: dict[str, list[int]] = {}
    for index, (_text, collection, _mood) in enumerate(DEMO_QUOTES):
        by_collection.setdefault(collection, []).append(index)
    order: list[int] = []
    while any(by_collection.values()):
        for indexes in by_collection.values():
            if indexes:
                order.append(indexes.pop(0))
    return tuple(order)


# The quote the n-th design sets: DESIGN_QUOTES[n % 10].
DESIGN_QUOTES = _round_robin()

# Palette per collection: gradient top, gradient bottom, motif, text, small print.
_PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "grounding": ((222, 200, 172), (150, 104, 78), (124, 80, 58), (62, 40, 30), (96, 66, 50)),
    "wholeness": ((240, 234, 224), (176, 192, 178), (146, 168, 150), (48, 62, 56), (84, 100, 92)),
    "growth": ((232, 238, 210), (104, 142, 96), (72, 112, 70), (36, 58, 36), (60, 88, 58)),
}
_ID_NAMESPACE = uuid.UUID("0f9c6a1e-3f0b-4a3e-9a6f-5e1d2c7b8a40")


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`load_demo` created and what was already there."""

    user_id: str
    email: str
    user_created: bool
    global_mode: str
    quotes_created: int
    quotes_existing: int
    designs_created: tuple[str, ...] = ()
    designs_existing: int = 0
    images_restored: int = 0
    design_keys: tuple[str, ...] = field(default=(), repr=False)

    @property
    def changed(self) -> bool:
        """Whether this load added or repaired anything."""
        return self.user_created or bool(self.quotes_created or self.designs_created or self.images_restored)


def demo_id(user_id: str, kind: str, index: int) -> str:
    """The stable id of the demo's ``index``-th ``kind`` (quote or design) for ``user_id``."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{user_id}:{kind}:{index}"))


def load_demo(engine: Engine, blob_store: BlobStore, designs: int = 3) -> DemoSummary:
    """Create (or complete) the demo user, quotes and ``designs`` approved design images.

    Args:
        engine: the application database (migrated).
        blob_store: where the design images go, under :func:`~haven_pipelines.domain.keys.design_key`.
        designs: how many approved designs the demo user should have, 1..200.

    Returns:
        A :class:`DemoSummary` naming what was created and what existed.
    """
    if not isinstance(designs, int) or isinstance(designs, bool) or not 1 <= designs <= MAX_DESIGNS:
        raise ValidationError("designs", f"must be a whole number from 1 to {MAX_DESIGNS}, got {designs!r}")
    with engine.begin() as conn:
        user_created = conn.execute(select(users.c.id).where(users.c.email == DEMO_EMAIL)).first() is None
        user_id = get_or_create_user(conn, DEMO_EMAIL, DEMO_NAME)["id"]
        settings = SettingsStore(conn, user_id)
        if user_created:
            settings.update(global_mode="autopilot")
        global_mode = settings.get()["global_mode"]
        store = DesignStore(conn, user_id)
        quotes_created = 0
        for index, (text, collection, mood) in enumerate(DEMO_QUOTES):
            if store.find_quote(demo_id(user_id, "quote", index)) is None:
                store.create_quote(text, collection, mood, quote_id=demo_id(user_id, "quote", index))
                quotes_created += 1

    created: list[str] = []
    keys: list[str] = []
    existing = restored = 0
    for index in range(designs):
        asset_id = demo_id(user_id, "design", index)
        quote_index = DESIGN_QUOTES[index % len(DESIGN_QUOTES)]
        text, collection, _mood = DEMO_QUOTES[quote_index]
        with engine.connect() as conn:
            asset = DesignStore(conn, user_id).find_asset(asset_id)
        if asset is not None:
            existing += 1
            keys.append(asset["file_key"])
            if not blob_store.exists(asset["file_key"]):
                blob_store.put(asset["file_key"], draw_design(index, text, collection), "image/png")
                restored += 1
            continue
        # Draw and store before the row exists, so that a row never points at a missing image.
        data = draw_design(index, text, collection)
        stored = blob_store.put(design_key(user_id, asset_id, data, "png"), data, "image/png")
        with engine.begin() as conn:
            DesignStore(conn, user_id).create_asset(
                stored.url, stored.key, "png", SIZE[0], SIZE[1], demo_id(user_id, "quote", quote_index),
                "approved", asset_id=asset_id,
            )
        created.append(asset_id)
        keys.append(stored.key)

    summary = DemoSummary(
        user_id=user_id, email=DEMO_EMAIL, user_created=user_created, global_mode=global_mode,
        quotes_created=quotes_created, quotes_existing=len(DEMO_QUOTES) - quotes_created,
        designs_created=tuple(created), designs_existing=existing, images_restored=restored, design_keys=tuple(keys),
    )
    if summary.changed:
        with engine.begin() as conn:
            ActivityStore(conn, user_id).log("demo.loaded", "user", user_id, {
                "quotes_created": quotes_created, "designs_created": len(created), "images_restored": restored,
            })
    return summary


# -- drawing ---------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Serif where the system has it (Pillow searches the font folders), else Pillow's own face."""
    name = "DejaVuSerif-Bold.ttf" if bold else "DejaVuSerif.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _background(rng: np.random.Generator, top: tuple[int, ...], bottom: tuple[int, ...]) -> Image.Image:
    """A vertical gradient with a soft, paper-like mottle (low-frequency noise, so the PNG stays small)."""
    width, height = SIZE
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    gradient = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    mottle = Image.fromarray(((rng.standard_normal((25, 20)) * 40) + 128).clip(0, 255).astype(np.uint8))
    mottle = np.asarray(mottle.resize(SIZE, Image.Resampling.BICUBIC), np.float32)[:, :, None]
    pixels = gradient + (mottle - 128.0) * 0.09
    return Image.fromarray(np.broadcast_to(pixels, (height, width, 3)).clip(0, 255).astype(np.uint8), "RGB")


def _motif(draw: ImageDraw.ImageDraw, collection: str, colour: tuple[int, ...], rng: random.Random) -> None:
    width, height = SIZE
    if collection == "grounding":
        # Three layered hills along the bottom, each a little darker.
        for layer in range(3):
            base = height - 260 + layer * 90
            cx = rng.randint(200, width - 200)
            shade = tuple(max(0, c - 18 * layer) for c in colour) + (110 + 30 * layer,)
            draw.ellipse((cx - 1300, base - 120 + rng.randint(-30, 30), cx + 1300, base + 900), fill=shade)
    elif collection == "wholeness":
        # A closed ring behind the words: nothing missing.
        r = 560 + rng.randint(-40, 40)
        cx, cy = width // 2 + rng.randint(-60, 60), height // 2 - 60
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour + (150,), width=26)
    else:
        # A rising arc low on the page and a sprout climbing from it.
        cx = width // 2 + rng.randint(-180, 180)
        r = 520
        draw.ellipse((cx - r, height - 430, cx + r, height - 430 + 2 * r), fill=colour + (120,))
        stem_top = height - 700
        draw.line((cx, height - 430, cx, stem_top), fill=colour + (230,), width=12)
        for side in (-1, 1):
            y = stem_top + 90 + (40 if side > 0 else 0)
            draw.ellipse((cx + (0 if side > 0 else -150), y - 45, cx + (150 if side > 0 else 0), y + 45),
                         fill=colour + (230,))


def _wrap(text: str, font, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(trial) <= max_width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def draw_design(index: int, text: str, collection: str) -> bytes:
    """A typographic wall-art PNG (1600 x 2000) of ``text`` in ``collection``'s palette; same index, same bytes."""
    if collection not in _PALETTES:
        raise ValidationError("collection", f"must be one of {', '.join(_PALETTES)}, got {collection!r}")
    top, bottom, motif, ink, small = _PALETTES[collection]
    rng = random.Random(index)
    image = _background(np.random.default_rng(index), top, bottom)
    layer = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    _motif(ImageDraw.Draw(layer), collection, motif, rng)
    # Soften the motif so it reads as a printed wash, not a vector shape (down and up again: a cheap blur).
    soft = layer.resize((SIZE[0] // 4, SIZE[1] // 4), Image.Resampling.BOX).resize(SIZE, Image.Resampling.BICUBIC)
    image = Image.alpha_composite(image.convert("RGBA"), soft).convert("RGB")
    draw = ImageDraw.Draw(image)
    width, height = SIZE
    margin = 70
    draw.rectangle((margin, margin, width - margin, height - margin), outline=small, width=3)

    max_text_width = int(width * 0.72)
    for size in range(132, 40, -6):
        font = _font(size)
        lines = _wrap(text, font, max_text_width)
        line_height = int(size * 1.28)
        if len(lines) <= 6 and all(font.getlength(line) <= max_text_width for line in lines):
            break
    block = line_height * len(lines)
    y = (height - block) // 2 - 120
    for line in lines:
        draw.text((width // 2, y), line, font=font, fill=ink, anchor="ma")
        y += line_height
    rule_y = y + 50
    draw.line((width // 2 - 90, rule_y, width // 2 + 90, rule_y), fill=small, width=4)
    label = f"HAVEN & HOLD  \u00b7  {collection.upper()}"
    label_y = height - margin - 90
    # The label sits on the motif in some collections: pick light or dark ink by what is under it.
    under = image.crop((width // 2 - 300, label_y, width // 2 + 300, label_y + 40)).convert("L")
    label_ink = top if np.asarray(under).mean() < 128 else small
    draw.text((width // 2, label_y), label, font=_font(34, bold=True), fill=label_ink, anchor="ma")

    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()
