"""``haven scenes add|list|remove|preview`` and rendering into a photo scene, as a person types them:
a photo the test draws, its frame's quad, a free photographic mockup, and refusals that store nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tables import metadata, mockup_credit_usage, mockup_scene_templates, mockups, quotes
from haven_pipelines.services.designs import scenes_for_design

QUAD = "300,150,500,150,500,420,300,420"


def room_photo(path: Path, size=(800, 600), fmt: str = "JPEG") -> Path:
    """A drawn room: a wall lit from the left, a floor, an empty frame whose opening is QUAD."""
    w, h = size
    row = np.linspace(232, 150, w, dtype=np.float32)
    wall = np.repeat(np.repeat(row[None, :, None], h, 0), 3, 2) * np.array([1.0, 0.97, 0.9], dtype=np.float32)
    image = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, h * 3 // 4, w, h), fill=(120, 92, 66))
    draw.rectangle((282, 132, 517, 437), fill=(40, 36, 34))
    draw.rectangle((300, 150, 499, 419), fill=(236, 233, 226))
    image.save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def _photo_blobs(haven_dir: Path) -> list[Path]:
    root = haven_dir / "data" / "images" / "scenes"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _format_and_size(path: Path) -> tuple[str, tuple[int, int]]:
    with Image.open(path) as image:
        return image.format, image.size


def _counts(haven) -> dict[str, int]:
    return {t.name: haven.query(select(func.count()).select_from(t))[0]["count_1"] for t in metadata.sorted_tables}


def test_add_then_render_makes_a_photographic_mockup_charged_nothing(haven, tmp_path):
    photo = room_photo(tmp_path / "room.jpg")
    added = haven.json("scenes", "add", "--key", "my_lounge", "--name", "My lounge", "--photo", str(photo),
                       "--quad", QUAD, "--frame", "none", "--collections", "grounding,growth")
    assert added["source"].startswith("photo:scenes/") and (added["width"], added["height"]) == (800, 600)
    assert [p.name for p in _photo_blobs(tmp_path)] == [Path(added["source"].removeprefix("photo:")).name]
    listed = {r["scene_key"]: r for r in haven.json("scenes", "list")}
    assert listed["my_lounge"]["source"] == added["source"] and listed["bedroom"]["source"] == "system"
    assert "photo:scenes/" in haven("scenes", "list").output

    design = haven.designs()[0]["id"]
    rendered = haven.json("render", "--design", design, "--scene", "my_lounge")
    assert rendered["rendered"] == 1 and rendered["creditsCharged"] == 0
    row = haven.query(select(mockups).where(mockups.c.scene == "my_lounge"))[0]
    assert row["credits_used"] == 0
    assert haven.query(select(func.sum(mockup_credit_usage.c.credits)))[0]["sum_1"] in (0, None)
    image = Image.open(tmp_path / "data" / "images" / row["file_key"]).convert("RGB")
    assert image.size == (800, 600)  # the photo's resolution (under the 2400 px cap)
    out, src = np.asarray(image, dtype=np.int16), np.asarray(Image.open(photo).convert("RGB"), dtype=np.int16)
    # Photographic: outside the frame it is the photo (up to JPEG), inside it is the design.
    assert np.abs(out[20:120, 20:250] - src[20:120, 20:250]).mean() < 3
    assert np.abs(out[170:400, 320:480] - src[170:400, 320:480]).mean() > 20


def test_a_user_scene_joins_the_recommended_scenes_of_its_collections(haven_sqlite, tmp_path):
    haven = haven_sqlite
    design = haven.designs()[0]
    collection = haven.query(select(quotes.c.collection).where(quotes.c.id == design["quote_id"]))[0]["collection"]
    other = next(c for c in ("grounding", "wholeness", "growth") if c != collection)
    photo = room_photo(tmp_path / "room.png", fmt="PNG")
    haven("scenes", "add", "--key", "mine", "--name", "Mine", "--photo", str(photo), "--quad", QUAD, "--collections", collection)
    haven("scenes", "add", "--key", "elsewhere", "--name", "Else", "--photo", str(photo), "--quad", QUAD, "--collections", other)
    engine = create_engine(haven.url)
    try:
        keys = scenes_for_design(engine, design["id"])
    finally:
        engine.dispose()
    assert keys[-1] == "mine" and "elsewhere" not in keys and len(keys) >= 2


def test_preview_writes_a_file_and_changes_no_table(haven_sqlite, tmp_path):
    haven = haven_sqlite
    photo = room_photo(tmp_path / "room.jpg")
    haven("scenes", "add", "--key", "hall", "--name", "Hall", "--photo", str(photo), "--quad", QUAD, "--frame", "oak")
    before, blobs = _counts(haven), sorted((tmp_path / "data" / "images").rglob("*"))
    design = haven.designs()[1]["id"]
    out = tmp_path / "previews" / "hall.png"
    shown = haven.json("scenes", "preview", "--key", "hall", "--design", design, "--out", str(out))
    assert shown["path"] == str(out) and _format_and_size(out) == ("PNG", (800, 600))
    sample = tmp_path / "sample.jpg"
    haven("scenes", "preview", "--key", "bedroom", "--out", str(sample))  # a system scene, the sample print
    assert _format_and_size(sample)[0] == "JPEG"
    assert _counts(haven) == before
    assert sorted((tmp_path / "data" / "images").rglob("*")) == blobs


def test_remove_deletes_the_row_and_the_photo(haven_sqlite, tmp_path):
    haven = haven_sqlite
    haven("scenes", "add", "--key", "hall", "--name", "Hall", "--photo", str(room_photo(tmp_path / "r.jpg")), "--quad", QUAD)
    assert len(_photo_blobs(tmp_path)) == 1
    assert "removed scene hall" in haven("scenes", "remove", "hall").output
    assert _photo_blobs(tmp_path) == []
    assert not haven.query(select(mockup_scene_templates).where(mockup_scene_templates.c.scene_key == "hall"))
    gone = haven("scenes", "remove", "bedroom", ok=False)
    assert gone.exit_code == 1 and "scene bedroom not found" in gone.output


def _bad_photo(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.png"
    if kind == "garbage":
        path.write_bytes(b"this is not an image")
    elif kind == "small":
        Image.new("RGB", (300, 200), (200, 200, 200)).save(path)
    elif kind == "large":
        Image.new("L", (10001, 400), 200).save(path)
    return path


@pytest.mark.parametrize("args,option,reason", [
    (["--photo", "garbage"], "--photo", "not an image"),
    (["--photo", "small"], "--photo", "too small"),
    (["--photo", "large"], "--photo", "too large"),
    (["--quad", "300,150,500,150,500,420"], "--quad", "needs 8 numbers"),
    (["--quad", "300,150,500,150,500,420,300,420,1,2"], "--quad", "needs 8 numbers"),
    (["--quad", "300,150,900,150,500,420,300,420"], "--quad", "leaves the photo"),
    (["--quad", "300,150,500,420,500,150,300,420"], "--quad", "convex"),
    (["--frame", "chrome"], "--frame", "chrome"),
    (["--mat", "0.7"], "--mat", "fraction"),
    (["--key", "Bad Key"], "--key", "lower-case"),
    (["--key", "bedroom"], "--key", "system scene"),
    (["--collections", "calm"], "--collections", "unknown collection"),
])
def test_bad_input_is_refused_naming_the_option_and_stores_nothing(haven_sqlite, tmp_path, args, option, reason):
    haven = haven_sqlite
    options = {"--key": "hall", "--name": "Hall", "--photo": str(room_photo(tmp_path / "room.jpg")), "--quad": QUAD}
    flag, value = args
    options[flag] = str(_bad_photo(tmp_path, value)) if flag == "--photo" else value
    before = _counts(haven)
    result = haven("scenes", "add", *[x for kv in options.items() for x in kv], ok=False)
    assert result.exit_code in (1, 2) and option in result.output and reason in result.output, result.output
    assert "Traceback" not in result.output
    assert _counts(haven) == before and _photo_blobs(tmp_path) == []


def test_a_duplicate_key_is_refused_and_keeps_the_first(haven_sqlite, tmp_path):
    haven = haven_sqlite
    photo = room_photo(tmp_path / "room.jpg")
    haven("scenes", "add", "--key", "hall", "--name", "Hall", "--photo", str(photo), "--quad", QUAD)
    again = haven("scenes", "add", "--key", "hall", "--name", "Hall 2", "--photo", str(room_photo(tmp_path / "r2.png", fmt="PNG")),
                  "--quad", QUAD, ok=False)
    assert again.exit_code == 1 and "--key" in again.output and "already have a scene 'hall'" in again.output
    rows = haven.query(select(mockup_scene_templates.c.name).where(mockup_scene_templates.c.scene_key == "hall"))
    assert rows == [{"name": "Hall"}] and len(_photo_blobs(tmp_path)) == 1


def test_another_user_does_not_see_or_preview_my_photo_scene(haven_sqlite, tmp_path):
    haven = haven_sqlite
    haven("scenes", "add", "--key", "hall", "--name", "Hall", "--photo", str(room_photo(tmp_path / "r.jpg")), "--quad", QUAD)
    engine = create_engine(haven.url)
    try:
        with engine.begin() as conn:
            get_or_create_user(conn, "other@haven.test")
    finally:
        engine.dispose()
    assert "hall" not in [r["scene_key"] for r in haven.json("scenes", "list", "--user", "other@haven.test")]
    preview = haven("scenes", "preview", "--key", "hall", "--user", "other@haven.test", "--out", str(tmp_path / "x.jpg"), ok=False)
    assert preview.exit_code == 1 and "scene hall not found" in preview.output and not (tmp_path / "x.jpg").exists()
