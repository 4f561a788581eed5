"""Scene templates: the five system scenes every user sees, and a user's own private scenes.

A user's scene with the same key as a system scene hides the system one for that user (their own
wins), in :meth:`SceneStore.get` and :meth:`SceneStore.visible` alike. :func:`update_system_scene`
is the SYSTEM write used by ``haven scenes sync`` to record Dynamic Mockups ids on system scenes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from haven_pipelines.db.stores.base import (
    UserScopedStore,
    optional_text,
    require_choice,
    require_json_object,
    require_positive_int,
    require_text,
)
from haven_pipelines.db.tenancy import cross_tenant
from haven_pipelines.db.tables import COLLECTIONS, mockup_scene_templates, new_id
from haven_pipelines.domain.errors import NotFound, ValidationError

_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_UNSET: Any = object()
scenes = mockup_scene_templates


def check_scene_key(scene_key: Any) -> str:
    """A scene key: lower-case letters, digits and underscores, 1..64 characters."""
    if not isinstance(scene_key, str) or not _KEY.match(scene_key):
        raise ValidationError("scene_key", f"must be lower-case letters, digits and underscores (1..64), got {scene_key!r}")
    return scene_key


class SceneStore(UserScopedStore):
    """Scenes as the acting user sees them."""

    table = mockup_scene_templates
    kind = "scene"

    def visible(self, *, include_inactive: bool = False) -> list[RowMapping]:
        """System scenes and the user's own, by key; the user's own replaces a system scene of that key."""
        stmt = select(scenes).where(or_(scenes.c.is_system, self._owned()))
        if not include_inactive:
            stmt = stmt.where(scenes.c.is_active)
        by_key: dict[str, RowMapping] = {}
        for row in self.conn.execute(stmt).mappings():
            if row["scene_key"] not in by_key or not row["is_system"]:
                by_key[row["scene_key"]] = row
        return [by_key[k] for k in sorted(by_key)]

    def get(self, scene_key: str) -> RowMapping:  # type: ignore[override]
        """The active scene ``scene_key``: the user's own, else the system one; else NotFound."""
        row = self.get_many([scene_key]).get(scene_key)
        if row is None:
            raise NotFound(self.kind, scene_key)
        return row

    def get_many(self, scene_keys: Iterable[str]) -> dict[str, RowMapping]:
        """:meth:`get` of several keys in one query: key -> the active scene (the user's own, else the
        system one); an unknown key is absent."""
        keys = list(dict.fromkeys(scene_keys))
        if not keys:
            return {}
        stmt = (
            select(scenes)
            .where(scenes.c.scene_key.in_(keys), or_(scenes.c.is_system, self._owned()), scenes.c.is_active)
            # False sorts first: the user's own row (is_system false) wins.
            .order_by(scenes.c.is_system)
        )
        found: dict[str, RowMapping] = {}
        for row in self.conn.execute(stmt).mappings():
            found.setdefault(row["scene_key"], row)  # the user's own row sorts first and wins
        return found

    def create_user_scene(
        self,
        scene_key: str,
        name: str,
        description: str | None,
        recommended_collections: list[str] | None,
        width: int,
        height: int,
        config: dict[str, Any] | None = None,
    ) -> RowMapping:
        """Add a private scene; a key the user already has is refused (a system key may be shadowed)."""
        values = self._scene_values(
            scene_key=scene_key, name=name, description=description,
            recommended_collections=recommended_collections, width=width, height=height, config=config,
        )
        if self._own(values["scene_key"]) is not None:
            raise ValidationError("scene_key", f"you already have a scene {values['scene_key']!r}")
        return self._insert_in(scenes, {"id": new_id(), "is_system": False, "is_active": True, **values})

    def update_user_scene(self, scene_key: str, **fields: Any) -> RowMapping:
        """Change the user's own scene (name, description, recommended_collections, width, height,
        config, is_active); a system scene, or another user's, is NotFound here."""
        row = self._own(scene_key)
        if row is None:
            raise NotFound(self.kind, scene_key)
        allowed = {"name", "description", "recommended_collections", "width", "height", "config", "is_active"}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ValidationError(unknown[0], "not a scene field that can be changed")
        values = self._scene_values(**{k: v for k, v in fields.items() if k != "is_active"})
        if "is_active" in fields:
            values["is_active"] = bool(fields["is_active"])
        return self._update(row["id"], values) if values else row

    def delete_user_scene(self, scene_key: str) -> None:
        """Delete the user's own scene; a system scene, or another user's, is NotFound here."""
        row = self._own(scene_key)
        if row is None:
            raise NotFound(self.kind, scene_key)
        self._delete(row["id"])

    def own(self, scene_key: str) -> RowMapping | None:
        """The user's own scene ``scene_key`` (active or not), or None; never a system scene."""
        return self._own(scene_key)

    def recommending(self, collection: str) -> list[str]:
        """Keys of the user's own active scenes that recommend ``collection``, in key order."""
        stmt = select(scenes).where(self._owned(), scenes.c.is_active).order_by(scenes.c.scene_key)
        return [r["scene_key"] for r in self.conn.execute(stmt).mappings() if collection in (r["recommended_collections"] or [])]

    def _own(self, scene_key: str) -> RowMapping | None:
        stmt = select(scenes).where(self._owned(), scenes.c.scene_key == scene_key)
        return self.conn.execute(stmt).mappings().first()

    @staticmethod
    def _scene_values(**fields: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "scene_key" in fields:
            values["scene_key"] = check_scene_key(fields["scene_key"])
        if "name" in fields:
            values["name"] = require_text("name", fields["name"], max_len=200)
        if "description" in fields:
            values["description"] = optional_text("description", fields["description"], max_len=2000)
        if "recommended_collections" in fields:
            cols = fields["recommended_collections"] or []
            if isinstance(cols, str):
                raise ValidationError("recommended_collections", "must be a list of collections, not one string")
            values["recommended_collections"] = [
                require_choice(f"recommended_collections[{i}]", c, COLLECTIONS) for i, c in enumerate(cols)
            ]
        for dim in ("width", "height"):
            if dim in fields:
                values[dim] = require_positive_int(dim, fields[dim])
        if "config" in fields:
            values["config"] = require_json_object("config", fields["config"])
        return values


def update_system_scene(
    conn: Connection,
    scene_key: str,
    *,
    dm_mockup_uuid: str | None = _UNSET,
    dm_smart_object_uuid: str | None = _UNSET,
    config: dict[str, Any] = _UNSET,
) -> RowMapping:
    """SYSTEM write (for ``haven scenes sync``): set a system scene's Dynamic Mockups ids or config.

    Only the arguments given change; pass None to clear an id. Not user-scoped: system scenes
    belong to no user. NotFound when no system scene has ``scene_key``.
    """
    values: dict[str, Any] = {}
    if dm_mockup_uuid is not _UNSET:
        values["dm_mockup_uuid"] = optional_text("dm_mockup_uuid", dm_mockup_uuid, max_len=64)
    if dm_smart_object_uuid is not _UNSET:
        values["dm_smart_object_uuid"] = optional_text("dm_smart_object_uuid", dm_smart_object_uuid, max_len=64)
    if config is not _UNSET:
        values["config"] = require_json_object("config", config)
    where = (scenes.c.scene_key == scene_key, scenes.c.is_system)
    cross_tenant(conn)  # the application role may only read system rows
    if values and conn.execute(update(scenes).where(*where).values(**values)).rowcount == 0:
        raise NotFound("system scene", scene_key)
    row = conn.execute(select(scenes).where(*where)).mappings().first()
    if row is None:
        raise NotFound("system scene", scene_key)
    return row
