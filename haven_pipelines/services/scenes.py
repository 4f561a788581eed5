"""The scenes a user renders into (``haven scenes list``), the user's photo scenes (``haven scenes
add/remove/preview``), and the system scenes' Dynamic Mockups templates (``haven scenes sync``).

A photo scene is a private scene made from the user's own room photo: the photo goes to the blob
store (``scenes/<user>/<scene>-<hash>.<ext>``) and the scene row's ``config`` is its complete scene
document (see :mod:`haven_pipelines.rendering.photo`). It renders with the local renderer, free.
Every check runs before anything is stored: a refused photo, quad, frame or key stores nothing.

A template matches a scene when its name contains the scene key or the scene's name (case and
``_``/space folded), e.g. "Bedroom frame 8x10" for ``bedroom``. The first smart object of the
template receives the artwork. Explicit ``--map scene=mockup_uuid`` choices win over names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.scenes import SceneStore, check_scene_key, update_system_scene
from haven_pipelines.db.tables import COLLECTIONS
from haven_pipelines.db.tables import mockup_scene_templates as scenes_t
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.keys import scene_photo_key
from haven_pipelines.domain.scenes import SCENES_BY_KEY
from haven_pipelines.integrations.blobstore import BlobStore
from haven_pipelines.services.renderers import OUTPUT_WIDTH


@dataclass(frozen=True)
class SceneSync:
    """One scene's outcome: the template found (or why not) and whether the row changed."""

    scene_key: str
    mockup_uuid: str | None
    smart_object_uuid: str | None
    status: str  # set | unchanged | missing | no_smart_object | would_set


def visible_scenes(engine: Engine, user_id: str) -> list[dict]:
    """The active scenes ``user_id`` can render into, by key: the system scenes and the user's own
    (which replaces a system scene of the same key), each with its Dynamic Mockups template ids and
    its ``source``: ``system``, ``photo:<blob key>`` for a photo scene, or ``config`` for another
    user scene.

    ``width`` and ``height`` are the scene's own pixel space (where its frame is drawn; a photo
    scene's is its photo); ``output_width`` and ``output_height`` the size of the mockups rendered from it.
    """
    with engine.connect() as conn:
        rows = [{**dict(r), "source": scene_source(r)} for r in SceneStore(conn, user_id).visible()]
    for row in rows:
        photo = row["source"].startswith("photo:")
        row["output_width"], row["output_height"] = output_size(row["width"], row["height"], photo=photo)
    return rows


def output_size(scene_width: int, scene_height: int, *, photo: bool = False) -> tuple[int, int]:
    """The pixel size of a mockup rendered from a scene of this size: :data:`OUTPUT_WIDTH` wide, the
    height in the scene's aspect (as the local renderer draws it; a Dynamic Mockups export is made
    that wide too, its height following the template). A photo scene is never enlarged: it renders
    at its photo's width when that is smaller."""
    width = min(scene_width, OUTPUT_WIDTH) if photo else OUTPUT_WIDTH
    return width, round(scene_height * width / scene_width)

def scene_source(row) -> str:
    """Where a scene row's room comes from: ``system``, ``photo:<blob key>`` or ``config``."""
    if row["is_system"]:
        return "system"
    photo = (row["config"] or {}).get("photo")
    return f"photo:{photo.get('key')}" if isinstance(photo, dict) else "config"


@dataclass(frozen=True)
class PhotoSceneRequest:
    """What ``haven scenes add`` asks for; option names are the fields errors report."""

    key: str
    name: str
    photo: bytes
    quad: str
    collections: tuple[str, ...] = ()
    frame: str = "black"
    mat: float | None = None
    fit: str = "contain"
    glare: float = 0.0
    description: str = ""


def add_photo_scene(engine: Engine, blob_store: BlobStore, user_id: str, request: PhotoSceneRequest) -> dict:
    """Add a private photo scene: check everything, store the photo, then insert the scene row.

    Returns:
        The new scene row (with ``source``).

    Raises:
        ValidationError: naming the option (``--key``, ``--name``, ``--photo``, ``--quad``,
            ``--frame``, ``--mat``, ``--fit``, ``--glare``, ``--collections``); nothing is stored.
    """
    from haven_pipelines.rendering.photo import decode_photo, parse_quad, photo_digest, photo_scene_document
    from haven_pipelines.rendering.scenes import SceneConfigError, parse_scene

    try:
        key = check_scene_key(request.key)
    except ValidationError as exc:
        raise ValidationError("--key", exc.reason) from None
    if key in SCENES_BY_KEY:
        raise ValidationError("--key", f"{key!r} is a system scene; choose another key")
    name = (request.name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("--name", "must be 1 to 200 characters")
    for c in request.collections:
        if c not in COLLECTIONS:
            raise ValidationError("--collections", f"unknown collection {c!r}; use {', '.join(COLLECTIONS)}")
    image = decode_photo(request.photo)
    quad = parse_quad(request.quad, image.width, image.height)
    fmt = (Image.open(io.BytesIO(request.photo)).format or "JPEG").upper()
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(fmt, "img")
    photo_key = scene_photo_key(user_id, key, request.photo, ext)
    doc = photo_scene_document(
        key, name, image, photo_key=photo_key, sha256=photo_digest(request.photo), quad=quad, frame=request.frame,
        mat=request.mat, fit=request.fit, collections=request.collections, description=request.description,
        glare=request.glare,
    )
    try:
        parse_scene(doc)
    except SceneConfigError as exc:  # a combination the per-option checks let through (a mat too wide)
        raise ValidationError(_OPTION_OF.get(exc.field, "--quad"), exc.reason) from None
    with engine.connect() as conn:
        if SceneStore(conn, user_id).own(key) is not None:
            raise ValidationError("--key", f"you already have a scene {key!r}; remove it first or choose another key")
    blob_store.put(photo_key, request.photo, f"image/{'jpeg' if ext == 'jpg' else ext}")
    try:
        with engine.begin() as conn:
            row = SceneStore(conn, user_id).create_user_scene(
                key, name, request.description or None, list(request.collections), image.width, image.height, doc)
    except BaseException:
        blob_store.delete(photo_key)  # the row was refused (a racing add of the same key): keep nothing
        raise
    return {**dict(row), "source": scene_source(row)}


_OPTION_OF = {"scene.mat.width": "--mat", "scene.frame.width": "--quad", "scene.frame.quad": "--quad", "scene.fit": "--fit"}


def remove_user_scene(engine: Engine, blob_store: BlobStore, user_id: str, key: str) -> dict:
    """Delete the user's own scene and its photo (mockups already rendered from it stay).

    Raises:
        NotFound: the user has no scene ``key`` (a system scene cannot be removed).
    """
    with engine.begin() as conn:
        store = SceneStore(conn, user_id)
        row = store.own(key)
        if row is None:
            raise NotFound("scene", key)
        store.delete_user_scene(key)
    photo = (row["config"] or {}).get("photo")
    if isinstance(photo, dict) and photo.get("key"):
        blob_store.delete(photo["key"])
    return {**dict(row), "source": scene_source(row)}


def preview_scene(engine: Engine, blob_store: BlobStore, user_id: str, key: str, out: str | Path,
                  *, design_id: str | None = None, width: int = 2400) -> dict:
    """Render one mockup of scene ``key`` to the file ``out`` with the local renderer.

    Nothing is charged, stored in the blob store or written to a table: only ``out``. The art is
    the user's design ``design_id`` when given, else a sample drawn here. The format follows the
    file's suffix (``.png``, ``.webp``, else JPEG).

    Raises:
        NotFound: no such scene or design for the user. SceneConfigError, ImageError: a bad scene
            or design image.
    """
    from haven_pipelines.rendering.local import LocalRenderer, SceneCache
    from haven_pipelines.rendering.scenes import scene_from_template

    with engine.connect() as conn:
        row = SceneStore(conn, user_id).get(key)
        design = DesignStore(conn, user_id).get_asset(design_id) if design_id else None
    scene = scene_from_template(row)
    artwork = blob_store.get(design["file_key"]) if design is not None else sample_artwork()
    path = Path(out)
    fmt = {".png": "PNG", ".webp": "WEBP"}.get(path.suffix.lower(), "JPEG")
    renderer = LocalRenderer(width=width, fmt=fmt, cache=SceneCache(maxsize=1), photos=blob_store.get)
    image = renderer.render(artwork, scene)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image.data)
    return {"scene": key, "path": str(path), "width": image.width, "height": image.height,
            "design": design_id, "bytes": len(image.data)}


def sample_artwork() -> bytes:
    """A stand-in print for previews without a design: a quote card drawn with Pillow."""
    from haven_pipelines.services.demo import draw_design

    return draw_design(0, "Rooted, and still growing.", "grounding")


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def sync_scenes(engine: Engine, templates, *, explicit: dict[str, str] | None = None, check_only: bool = False) -> list[SceneSync]:
    """Fill (or, with ``check_only``, only compare) the system scenes' template ids from ``templates``.

    Args:
        templates: ``MockupTemplate`` values from ``GET /mockups``.
        explicit: scene key -> mockup uuid chosen by the operator.
        check_only: report what would change; write nothing.
    """
    by_uuid = {t.uuid: t for t in templates}
    explicit = explicit or {}
    with engine.begin() as conn:
        rows = conn.execute(select(scenes_t).where(scenes_t.c.is_system).order_by(scenes_t.c.scene_key)).mappings().all()
        keys = {r["scene_key"] for r in rows}
        for key, uuid in explicit.items():
            if key not in keys:
                raise ValidationError("map", f"unknown system scene {key!r}")
            if uuid not in by_uuid:
                raise ValidationError("map", f"no template {uuid!r} in the Dynamic Mockups account")
        results = []
        for row in rows:
            key = row["scene_key"]
            template = by_uuid.get(explicit[key]) if key in explicit else next(
                (t for t in templates if _fold(key) in _fold(t.name) or _fold(row["name"]) in _fold(t.name)), None)
            if template is None:
                results.append(SceneSync(key, None, None, "missing"))
                continue
            if not template.smart_objects:
                results.append(SceneSync(key, template.uuid, None, "no_smart_object"))
                continue
            smart = template.smart_objects[0].uuid
            same = row["dm_mockup_uuid"] == template.uuid and row["dm_smart_object_uuid"] == smart
            if not same and not check_only:
                update_system_scene(conn, key, dm_mockup_uuid=template.uuid, dm_smart_object_uuid=smart)
            results.append(SceneSync(key, template.uuid, smart, "unchanged" if same else ("would_set" if check_only else "set")))
    return results
