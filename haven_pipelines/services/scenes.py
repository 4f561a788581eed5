"""The scenes a user renders into (``haven scenes list``), and their Dynamic Mockups templates
(``haven scenes sync``).

A template matches a scene when its name contains the scene key or the scene's name (case and
``_``/space folded), e.g. "Bedroom frame 8x10" for ``bedroom``. The first smart object of the
template receives the artwork. Explicit ``--map scene=mockup_uuid`` choices win over names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.scenes import SceneStore, update_system_scene
from haven_pipelines.db.tables import mockup_scene_templates as scenes_t
from haven_pipelines.domain.errors import ValidationError
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
    (which replaces a system scene of the same key), each with its Dynamic Mockups template ids.

    ``width`` and ``height`` are the scene's own pixel space (where its frame is drawn);
    ``output_width`` and ``output_height`` the size of the mockups rendered from it.
    """
    with engine.connect() as conn:
        rows = [dict(r) for r in SceneStore(conn, user_id).visible()]
    for row in rows:
        row["output_width"], row["output_height"] = output_size(row["width"], row["height"])
    return rows


def output_size(scene_width: int, scene_height: int) -> tuple[int, int]:
    """The pixel size of a mockup rendered from a scene of this size: :data:`OUTPUT_WIDTH` wide, the
    height in the scene's aspect (as the local renderer draws it; a Dynamic Mockups export is made
    that wide too, its height following the template)."""
    return OUTPUT_WIDTH, round(scene_height * OUTPUT_WIDTH / scene_width)


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
