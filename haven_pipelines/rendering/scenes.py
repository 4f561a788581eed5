"""Scene configurations as data: the five bundled system scenes and user scenes from the database.

A scene is one JSON document (``scenes/<key>.json``; layout in ``docs/rendering.md``). All
coordinates are in the scene's own pixel space, ``size`` wide and high; the renderer scales them to
the output width. A user scene is a ``mockup_scene_templates`` row whose ``config`` is either a
complete document or an override of a system scene named by ``"base"``; no code is needed. A photo
scene (``haven scenes add --photo``) is a complete document with a ``photo`` object: the room is
that photo (kept in the blob store under ``photo.key``), ``size`` is its pixel size, and the quad is
in its pixels (see :mod:`haven_pipelines.rendering.photo`).

    ValidationError (haven_pipelines.domain.errors)
     └── SceneConfigError     a field of a scene document is missing or wrong; ``field`` is its path
          └── UnknownScene    no such scene key (and no config to build one from)
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.domain.scenes import SCENES_BY_KEY

FIT_MODES = ("contain", "cover")
FRAME_STYLES = ("wood", "black", "white", "gold", "oak", "walnut", "none")
PROP_TYPES = (
    "window", "curtain", "bed", "nightstand", "table_lamp", "floor_lamp", "sofa", "armchair",
    "desk", "chair", "shelves", "plant", "rug", "books", "vase", "monitor", "pendant", "cushion",
    "throw", "side_table", "mug",
)
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_PACKAGE = "haven_pipelines.rendering"

Color = tuple[int, int, int]
Point = tuple[float, float]


class SceneConfigError(ValidationError):
    """A scene document that cannot be used; ``field`` is the dotted path (``scene.frame.quad``)."""


class UnknownScene(SceneConfigError):
    """No scene has this key."""

    def __init__(self, key: str, known: tuple[str, ...] = ()):
        self.key = key
        hint = f"; known scenes: {', '.join(known)}" if known else ""
        super().__init__("scene", f"unknown scene key {key!r}{hint}")


@dataclass(frozen=True)
class FrameSpec:
    """The frame: ``quad`` is its opening (inside edge of the moulding) as TL, TR, BR, BL corners."""

    quad: tuple[Point, Point, Point, Point]
    style: str = "black"
    color: Color | None = None
    width: float = 20.0


@dataclass(frozen=True)
class MatSpec:
    """The mat board filling the opening; the art sits in a window ``width`` in from the opening."""

    width: float = 0.0
    color: Color = (244, 241, 234)


@dataclass(frozen=True)
class LightSpec:
    """The room's key light: where it comes from, its colour, and how strongly it falls off."""

    source: Point
    tint: Color = (255, 247, 235)
    ambient: float = 0.82
    falloff: float = 1.0
    glare: float = 0.0


@dataclass(frozen=True)
class ShadowSpec:
    """The frame's drop shadow on the wall: offset and blur in scene pixels, opacity 0..1."""

    offset: Point = (4.0, 8.0)
    blur: float = 10.0
    opacity: float = 0.45


@dataclass(frozen=True)
class PhotoSpec:
    """The room photo of a photo scene: its blob key, SHA-256 and pixel size (the scene's size)."""

    key: str
    sha256: str
    width: int
    height: int


@dataclass(frozen=True)
class SceneConfig:
    """One scene, validated. ``background`` is the room description the renderer draws."""

    key: str
    name: str
    description: str
    recommended_collections: tuple[str, ...]
    width: int
    height: int
    frame: FrameSpec
    mat: MatSpec
    fit: str
    light: LightSpec
    shadow: ShadowSpec
    background: Mapping[str, Any] = field(hash=False, compare=False)
    fingerprint: str = ""
    photo: PhotoSpec | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the scene's pixel space."""
        return (self.width, self.height)


def parse_scene(doc: Mapping[str, Any]) -> SceneConfig:
    """Validate a complete scene document and build its :class:`SceneConfig`.

    Raises:
        SceneConfigError: naming the first field that is missing or wrong.
    """
    if not isinstance(doc, Mapping):
        raise SceneConfigError("scene", f"must be an object, got {type(doc).__name__}")
    key = _req(doc, "key", str, "scene.key")
    if not _KEY_RE.match(key):
        raise SceneConfigError("scene.key", f"must be 1-64 lower-case letters, digits, '_' or '-', got {key!r}")
    name = _req(doc, "name", str, "scene.name")
    description = doc.get("description") or ""
    if not isinstance(description, str):
        raise SceneConfigError("scene.description", "must be a string")
    collections = doc.get("recommended_collections", [])
    if not isinstance(collections, (list, tuple)) or not all(isinstance(c, str) for c in collections):
        raise SceneConfigError("scene.recommended_collections", "must be a list of strings")
    size = _req(doc, "size", (list, tuple), "scene.size")
    if len(size) != 2 or not all(_is_int(v) and 16 <= v <= 10000 for v in size):
        raise SceneConfigError("scene.size", f"must be [width, height], integers 16..10000, got {size!r}")
    width, height = int(size[0]), int(size[1])

    frame_doc = _req(doc, "frame", Mapping, "scene.frame")
    quad = _quad(frame_doc.get("quad"), width, height)
    style = frame_doc.get("style", "black")
    if style not in FRAME_STYLES:
        raise SceneConfigError("scene.frame.style", f"must be one of {', '.join(FRAME_STYLES)}, got {style!r}")
    frame = FrameSpec(
        quad=quad,
        style=style,
        color=_color(frame_doc.get("color"), "scene.frame.color") if frame_doc.get("color") is not None else None,
        width=_number(frame_doc.get("width", 20), "scene.frame.width", 0, min(width, height) / 4),
    )

    mat_doc = doc.get("mat", {}) or {}
    if not isinstance(mat_doc, Mapping):
        raise SceneConfigError("scene.mat", "must be an object")
    opening_min = min(_edge(quad[0], quad[1]), _edge(quad[0], quad[3]))
    mat = MatSpec(
        width=_number(mat_doc.get("width", 0), "scene.mat.width", 0, opening_min / 2.5),
        color=_color(mat_doc.get("color", "#f4f1ea"), "scene.mat.color"),
    )

    fit = doc.get("fit", "contain")
    if fit not in FIT_MODES:
        raise SceneConfigError("scene.fit", f"must be 'contain' or 'cover', got {fit!r}")

    light_doc = doc.get("light", {}) or {}
    if not isinstance(light_doc, Mapping):
        raise SceneConfigError("scene.light", "must be an object")
    light = LightSpec(
        source=_point(light_doc.get("source", [width * 0.2, 0]), "scene.light.source"),
        tint=_color(light_doc.get("tint", "#fff7eb"), "scene.light.tint"),
        ambient=_number(light_doc.get("ambient", 0.82), "scene.light.ambient", 0.3, 1.0),
        falloff=_number(light_doc.get("falloff", 1.0), "scene.light.falloff", 0.0, 5.0),
        glare=_number(light_doc.get("glare", 0.0), "scene.light.glare", 0.0, 0.5),
    )

    shadow_doc = doc.get("shadow", {}) or {}
    if not isinstance(shadow_doc, Mapping):
        raise SceneConfigError("scene.shadow", "must be an object")
    shadow = ShadowSpec(
        offset=_point(shadow_doc.get("offset", [4, 8]), "scene.shadow.offset"),
        blur=_number(shadow_doc.get("blur", 10), "scene.shadow.blur", 0, 200),
        opacity=_number(shadow_doc.get("opacity", 0.45), "scene.shadow.opacity", 0, 1),
    )

    background = doc.get("background", {}) or {}
    _check_background(background)
    photo = _photo(doc.get("photo"), width, height) if doc.get("photo") is not None else None
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return SceneConfig(
        key=key,
        name=name,
        description=description,
        recommended_collections=tuple(collections),
        width=width,
        height=height,
        frame=frame,
        mat=mat,
        fit=fit,
        light=light,
        shadow=shadow,
        background=copy.deepcopy(dict(background)),
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest()[:16],
        photo=photo,
    )


def _photo(v: Any, width: int, height: int) -> PhotoSpec:
    """The ``photo`` object of a photo scene; its size must be the scene's size."""
    if not isinstance(v, Mapping):
        raise SceneConfigError("scene.photo", "must be an object")
    key = _req(v, "key", str, "scene.photo.key")
    sha = _req(v, "sha256", str, "scene.photo.sha256")
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise SceneConfigError("scene.photo.sha256", "must be 64 lower-case hex digits")
    pw, ph = v.get("width"), v.get("height")
    if (pw, ph) != (width, height):
        raise SceneConfigError("scene.photo", f"photo size {pw}x{ph} differs from the scene size {width}x{height}")
    return PhotoSpec(key=key, sha256=sha, width=width, height=height)


def _check_background(background: Any) -> None:
    if not isinstance(background, Mapping):
        raise SceneConfigError("scene.background", "must be an object")
    for part in ("wall", "floor"):
        if part in background and not isinstance(background[part], Mapping):
            raise SceneConfigError(f"scene.background.{part}", "must be an object")
    for name in ("color", "color2"):
        for part in ("wall", "floor", "side_wall"):
            value = (background.get(part) or {}).get(name) if isinstance(background.get(part), Mapping) else None
            if value is not None:
                _color(value, f"scene.background.{part}.{name}")
    props = background.get("props", [])
    if not isinstance(props, list):
        raise SceneConfigError("scene.background.props", "must be a list")
    for i, prop in enumerate(props):
        where = f"scene.background.props[{i}]"
        if not isinstance(prop, Mapping):
            raise SceneConfigError(where, "must be an object")
        if prop.get("type") not in PROP_TYPES:
            raise SceneConfigError(f"{where}.type", f"must be one of {', '.join(PROP_TYPES)}, got {prop.get('type')!r}")
        box = prop.get("box")
        if (not isinstance(box, (list, tuple)) or len(box) != 4 or not all(_is_number(v) for v in box)
                or box[2] <= box[0] or box[3] <= box[1]):
            raise SceneConfigError(f"{where}.box", f"must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {box!r}")
        for name in ("color", "color2", "accent"):
            if prop.get(name) is not None:
                _color(prop[name], f"{where}.{name}")


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` onto ``base``: objects merge key by key; lists and values replace."""
    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge_config(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@lru_cache(maxsize=1)
def _system_documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    folder = resources.files(_PACKAGE).joinpath("scenes")
    for key, system in SCENES_BY_KEY.items():
        raw = json.loads(folder.joinpath(f"{key}.json").read_text(encoding="utf-8"))
        # The domain module is the one source of names, descriptions, collections and sizes.
        raw.update(
            key=key,
            name=system.name,
            description=system.description,
            recommended_collections=list(system.recommended_collections),
            size=[system.width, system.height],
        )
        docs[key] = raw
    return docs


def system_scene_document(key: str) -> dict[str, Any]:
    """A copy of the bundled JSON document of a system scene (for the seeds and for ``base``)."""
    docs = _system_documents()
    if key not in docs:
        raise UnknownScene(key, tuple(docs))
    return copy.deepcopy(docs[key])


@lru_cache(maxsize=None)
def _system_scene(key: str) -> SceneConfig:
    return parse_scene(_system_documents()[key])


def system_scenes() -> dict[str, SceneConfig]:
    """The five bundled system scenes by key, each parsed once per process."""
    return {key: _system_scene(key) for key in _system_documents()}


def get_scene(key: str, config: Mapping[str, Any] | None = None) -> SceneConfig:
    """The scene for ``key``, with ``config`` applied when given.

    ``config`` (the ``mockup_scene_templates.config`` column) overrides a system scene of the same
    key, or the system scene it names in ``"base"``; without a base it must be a complete document.

    Raises:
        UnknownScene: ``key`` is neither a system scene nor described by ``config``.
        SceneConfigError: the resulting document is malformed.
    """
    if config:
        if not isinstance(config, Mapping):
            raise SceneConfigError("scene.config", f"must be an object, got {type(config).__name__}")
        base_key = config.get("base") or (key if key in _system_documents() else None)
        if base_key is not None:
            if base_key not in _system_documents():
                raise SceneConfigError("scene.base", f"unknown base scene {base_key!r}")
            doc = merge_config(system_scene_document(base_key), {k: v for k, v in config.items() if k != "base"})
        else:
            doc = dict(config)
        doc["key"] = key
        return parse_scene(doc)
    docs = _system_documents()
    if key not in docs:
        raise UnknownScene(key, tuple(docs))
    return _system_scene(key)


def scene_from_template(row: Mapping[str, Any]) -> SceneConfig:
    """Build the scene of a ``mockup_scene_templates`` row (system or user).

    The row's own columns (name, description, recommended_collections, width, height) win over
    the document's, so what the UI shows and what is rendered agree.
    """
    key = row.get("scene_key")
    if not isinstance(key, str):
        raise SceneConfigError("scene.key", "the template row has no scene_key")
    config = dict(row.get("config") or {})
    for column in ("name", "description"):
        if row.get(column) is not None:
            config[column] = row[column]
    if row.get("recommended_collections") is not None:
        config["recommended_collections"] = list(row["recommended_collections"])
    if row.get("width") and row.get("height"):
        config["size"] = [row["width"], row["height"]]
    return get_scene(key, config)


# --- small validators -------------------------------------------------------------------------

def _req(doc: Mapping[str, Any], name: str, kind: Any, where: str) -> Any:
    if name not in doc or doc[name] is None:
        raise SceneConfigError(where, "is required")
    value = doc[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise SceneConfigError(where, f"must be {expected}, got {type(value).__name__}")
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any, where: str, lo: float, hi: float) -> float:
    if not _is_number(v):
        raise SceneConfigError(where, f"must be a number, got {v!r}")
    if not lo <= v <= hi:
        raise SceneConfigError(where, f"must be between {lo:g} and {hi:g}, got {v!r}")
    return float(v)


def _point(v: Any, where: str) -> Point:
    if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(_is_number(c) for c in v):
        raise SceneConfigError(where, f"must be [x, y], got {v!r}")
    return (float(v[0]), float(v[1]))


def _color(v: Any, where: str) -> Color:
    if not isinstance(v, str) or not _HEX_RE.match(v):
        raise SceneConfigError(where, f"must be a colour like '#a1b2c3', got {v!r}")
    return (int(v[1:3], 16), int(v[3:5], 16), int(v[5:7], 16))


def _edge(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def _quad(v: Any, width: int, height: int) -> tuple[Point, Point, Point, Point]:
    where = "scene.frame.quad"
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise SceneConfigError(where, f"must be four [x, y] corners (top-left, top-right, bottom-right, bottom-left), got {v!r}")
    pts = tuple(_point(p, f"{where}[{i}]") for i, p in enumerate(v))
    for i, (x, y) in enumerate(pts):
        if not (0 <= x <= width and 0 <= y <= height):
            raise SceneConfigError(f"{where}[{i}]", f"corner ({x:g}, {y:g}) lies outside the scene ({width}x{height})")
    # Convex and clockwise on screen (y down): every turn has the same, positive sign.
    for i in range(4):
        a, b, c = pts[i], pts[(i + 1) % 4], pts[(i + 2) % 4]
        cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
        if cross <= 0:
            raise SceneConfigError(where, "corners must form a convex quad listed top-left, top-right, bottom-right, bottom-left")
    if min(_edge(pts[0], pts[1]), _edge(pts[0], pts[3])) < 8:
        raise SceneConfigError(where, "the opening is smaller than 8 scene pixels on a side")
    return pts  # type: ignore[return-value]
