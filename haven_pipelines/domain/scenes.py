"""The five system room scenes shared by all users (ported from Haven Hub's seed data)."""

from __future__ import annotations

from dataclasses import dataclass

COLLECTIONS: tuple[str, ...] = ("grounding", "wholeness", "growth")


@dataclass(frozen=True)
class SystemScene:
    """A system scene: key, display name, description, collections it suits, default size."""

    key: str
    name: str
    description: str
    recommended_collections: tuple[str, ...]
    width: int
    height: int

    @property
    def default_size(self) -> str:
        """The size as the source wrote it, ``800x1000``."""
        return f"{self.width}x{self.height}"


SYSTEM_SCENES: tuple[SystemScene, ...] = (
    SystemScene("bedroom", "Bedroom", "Cozy bedroom setting with natural light", ("grounding", "wholeness"), 800, 1000),
    SystemScene("therapy_office", "Therapy Office", "Professional office with warm tones", ("wholeness", "growth"), 600, 800),
    SystemScene("living_room", "Living Room", "Modern living space with natural elements", ("grounding", "growth"), 900, 1200),
    SystemScene("reading_nook", "Reading Nook", "Intimate corner with soft lighting", ("grounding", "wholeness"), 500, 700),
    SystemScene("home_office", "Home Office", "Productive workspace with inspiring decor", ("growth",), 600, 800),
)

SCENES_BY_KEY: dict[str, SystemScene] = {s.key: s for s in SYSTEM_SCENES}


def scenes_for_collection(collection: str | None) -> list[str]:
    """Scene keys whose recommended collections include ``collection`` (all scenes when unknown)."""
    if not collection:
        return [s.key for s in SYSTEM_SCENES]
    keys = [s.key for s in SYSTEM_SCENES if collection in s.recommended_collections]
    return keys or [s.key for s in SYSTEM_SCENES]
