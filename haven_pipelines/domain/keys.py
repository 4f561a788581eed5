"""Blob storage keys, named like Haven Hub's: ``mockups/<user>/<design asset>/<scene>-<hash>.<ext>``."""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def content_hash(data: bytes, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of ``data``: same bytes, same key."""
    return hashlib.sha256(data).hexdigest()[:length]


def _part(name: str, value: str) -> str:
    if not value or not _SAFE.match(value) or value in (".", ".."):
        raise ValueError(f"{name} is not safe in a storage key: {value!r}")
    return value


def mockup_key(user_id: str, asset_id: str, scene: str, data: bytes, ext: str, *, sha256: str | None = None) -> str:
    """Key of a rendered mockup; the content hash makes a regeneration a new object.

    ``sha256``: the hex SHA-256 of ``data`` when the caller has it already (the render service
    digests every output for its approval), so the bytes are not hashed twice.
    """
    digest = sha256[:16] if sha256 is not None else content_hash(data)
    return f"mockups/{_part('user_id', user_id)}/{_part('asset_id', asset_id)}/{_part('scene', scene)}-{digest}.{_part('ext', ext)}"


def thumbnail_key(full_key: str) -> str:
    """Key of the thumbnail beside a mockup: ``...-<hash>.thumb.jpg``."""
    stem = full_key.rsplit(".", 1)[0]
    return f"{stem}.thumb.jpg"


def design_key(user_id: str, asset_id: str, data: bytes, ext: str) -> str:
    """Key of an uploaded design image."""
    return f"designs/{_part('user_id', user_id)}/{_part('asset_id', asset_id)}-{content_hash(data)}.{_part('ext', ext)}"


def scene_photo_key(user_id: str, scene_key: str, data: bytes, ext: str) -> str:
    """Key of a photo scene's room photo: ``scenes/<user>/<scene>-<hash>.<ext>``."""
    return f"scenes/{_part('user_id', user_id)}/{_part('scene', scene_key)}-{content_hash(data)}.{_part('ext', ext)}"
