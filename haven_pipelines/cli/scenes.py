"""``haven scenes``: list the scenes and map them to Dynamic Mockups templates."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import (
    acting_user,
    echo_json,
    echo_table,
    engine,
    handle_errors,
    json_option,
    settings,
    user_option,
)


@click.group("scenes")
def scenes() -> None:
    """Room scenes: the five system scenes and users' own."""


@scenes.command("list")
@user_option
@json_option
@handle_errors
def list_scenes(user_ref, as_json):
    """The scenes the user can render into: the size of the mockups each makes, and its Dynamic Mockups template id."""
    from haven_pipelines.services.scenes import visible_scenes

    eng = engine()
    try:
        rows = visible_scenes(eng, acting_user(eng, user_ref))
    finally:
        eng.dispose()
    if as_json:
        echo_json(rows)
        return
    echo_table(["scene", "kind", "output px", "dynamic mockups template", "description"],
               [(r["scene_key"], "system" if r["is_system"] else "user", f"{r['output_width']}x{r['output_height']}",
                 r["dm_mockup_uuid"], r["description"] or "") for r in rows])


@scenes.command("sync")
@click.option("--map", "mappings", multiple=True, metavar="SCENE=MOCKUP_UUID", help="Choose a template for a scene.")
@click.option("--check", is_flag=True, help="Only report; change nothing.")
@json_option
@handle_errors
def sync(mappings, check, as_json):
    """Read GET /mockups and fill (or check) each system scene's template and smart object."""
    from haven_pipelines.domain.errors import ValidationError
    from haven_pipelines.integrations.dynamic_mockups.client import DynamicMockupsClient
    from haven_pipelines.services.scenes import sync_scenes

    explicit = {}
    for item in mappings:
        key, sep, uuid = item.partition("=")
        if not sep or not key or not uuid:
            raise ValidationError("map", f"expected SCENE=MOCKUP_UUID, got {item!r}")
        explicit[key.strip()] = uuid.strip()
    resolved = settings()
    if not resolved.dynamic_mockups_api_key:
        raise ValidationError("DYNAMIC_MOCKUPS_API_KEY", "set it to read your Dynamic Mockups templates")
    with DynamicMockupsClient(resolved.dynamic_mockups_api_key, base_url=resolved.dynamic_mockups_base_url) as client:
        templates = client.list_mockups()
    eng = engine()
    try:
        results = sync_scenes(eng, templates, explicit=explicit, check_only=check)
    finally:
        eng.dispose()
    if as_json:
        echo_json([r.__dict__ for r in results])
    else:
        echo_table(["scene", "status", "mockup template", "smart object"],
                   [(r.scene_key, r.status, r.mockup_uuid, r.smart_object_uuid) for r in results])
    if any(r.status in ("missing", "no_smart_object") for r in results):
        raise SystemExit(1)
