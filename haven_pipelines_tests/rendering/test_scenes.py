"""Scene configs: the bundled system scenes, user scenes from data, and malformed documents."""

from __future__ import annotations

import pytest

from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.rendering.scenes import (
    SceneConfigError,
    UnknownScene,
    get_scene,
    parse_scene,
    scene_from_template,
    system_scene_document,
    system_scenes,
)


def test_the_five_system_scenes_carry_the_domain_data():
    scenes = system_scenes()
    assert list(scenes) == [s.key for s in SYSTEM_SCENES]
    for system in SYSTEM_SCENES:
        scene = scenes[system.key]
        assert (scene.name, scene.description) == (system.name, system.description)
        assert scene.recommended_collections == system.recommended_collections
        assert scene.size == (system.width, system.height)
        assert scene.fit in ("contain", "cover")
        assert len(scene.frame.quad) == 4


def test_unknown_scene_key_names_the_known_ones():
    with pytest.raises(UnknownScene, match="unknown scene key 'kitchen'; known scenes: bedroom") as err:
        get_scene("kitchen")
    assert err.value.field == "scene"


def test_a_user_scene_overrides_a_system_scene_without_code():
    scene = get_scene("my_bedroom", {"base": "bedroom", "frame": {"style": "black", "width": 10}, "fit": "cover"})
    base = get_scene("bedroom")
    assert scene.key == "my_bedroom"
    assert (scene.frame.style, scene.frame.width, scene.fit) == ("black", 10.0, "cover")
    assert scene.frame.quad == base.frame.quad  # untouched fields come from the base
    assert scene.fingerprint != base.fingerprint


def test_a_complete_user_document_needs_no_base():
    doc = system_scene_document("home_office")
    doc.update(name="Studio", size=[600, 800])
    scene = get_scene("studio", doc)
    assert (scene.key, scene.name) == ("studio", "Studio")


def test_scene_from_a_template_row_uses_its_columns():
    row = {"scene_key": "bedroom", "name": "Bedroom (warm)", "description": "d", "recommended_collections": ["growth"],
           "width": 800, "height": 1000, "config": {"light": {"tint": "#ffe0c0"}}}
    scene = scene_from_template(row)
    assert scene.name == "Bedroom (warm)"
    assert scene.recommended_collections == ("growth",)
    assert scene.light.tint == (255, 224, 192)


def _doc(**changes):
    doc = system_scene_document("bedroom")
    for path, value in changes.items():
        target = doc
        parts = path.split("__")
        for part in parts[:-1]:
            target = target[part]
        if value is None:
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"frame__quad": None}, "scene.frame.quad", "four"),
        ({"frame__quad": [[0, 0], [100, 0], [100, 100]]}, "scene.frame.quad", "four"),
        ({"frame__quad": [[100, 100], [300, 100], [120, 130], [300, 400]]}, "scene.frame.quad", "convex"),
        ({"frame__quad": [[0, 0], [900, 0], [900, 100], [0, 100]]}, "scene.frame.quad[1]", "outside the scene"),
        ({"frame__style": "plastic"}, "scene.frame.style", "must be one of"),
        ({"mat__color": "beige"}, "scene.mat.color", "colour"),
        ({"fit": "stretch"}, "scene.fit", "contain"),
        ({"light__ambient": 2}, "scene.light.ambient", "between"),
        ({"size": [800]}, "scene.size", "[width, height]"),
        ({"name": None}, "scene.name", "required"),
        ({"background__props": [{"type": "spaceship", "box": [0, 0, 1, 1]}]}, "scene.background.props[0].type", "must be one of"),
        ({"background__props": [{"type": "bed", "box": [10, 10, 5, 20]}]}, "scene.background.props[0].box", "x1 > x0"),
    ],
)
def test_malformed_scene_config_names_the_field(changes, field, reason):
    with pytest.raises(SceneConfigError) as err:
        parse_scene(_doc(**changes))
    assert err.value.field == field
    assert reason in err.value.reason


def test_a_malformed_override_is_refused_with_its_field():
    with pytest.raises(SceneConfigError) as err:
        get_scene("bedroom", {"shadow": {"opacity": "dark"}})
    assert err.value.field == "scene.shadow.opacity"
    with pytest.raises(SceneConfigError, match="unknown base scene"):
        get_scene("mine", {"base": "attic"})
