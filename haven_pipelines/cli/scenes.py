"""``haven scenes``: list the scenes, add and remove photo scenes, preview one, and map the system
scenes to Dynamic Mockups templates."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import (
    DESIGN_ID,
    acting_user,
    blob_store,
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
    """The scenes the user can render into: the size of the mockups each makes, its source and its Dynamic Mockups template id."""
    from haven_pipelines.services.scenes import visible_scenes

    eng = engine()
    try:
        rows = visible_scenes(eng, acting_user(eng, user_ref))
    finally:
        eng.dispose()
    if as_json:
        echo_json(rows)
        return
    echo_table(["scene", "kind", "output px", "dynamic mockups template", "source", "description"],
               [(r["scene_key"], "system" if r["is_system"] else "user", f"{r['output_width']}x{r['output_height']}",
                 r["dm_mockup_uuid"], r["source"], r["description"] or "") for r in rows])

@scenes.command("add")
@user_option
@click.option("--key", required=True, help="Scene key: lower-case letters, digits and underscores.")
@click.option("--name", required=True, help="Display name.")
@click.option("--photo", "photo_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The room photo (JPEG, PNG or WebP; each side 320 to 10000 pixels).")
@click.option("--quad", required=True, metavar="X1,Y1,X2,Y2,X3,Y3,X4,Y4",
              help="The frame's opening in the photo's pixels: top-left, top-right, bottom-right, bottom-left.")
@click.option("--collections", default="", metavar="a,b", help="Collections that recommend this scene (grounding, wholeness, growth).")
@click.option("--frame", type=click.Choice(["black", "white", "oak", "walnut", "gold", "none"]), default="black", show_default=True,
              help="Moulding drawn around the opening; none when the photo already shows an empty frame.")
@click.option("--mat", type=float, default=None, metavar="FRACTION",
              help="Mat width as a fraction of the opening's shorter side, 0 to 0.4 (default 0.12, or 0 with --frame none).")
@click.option("--fit", type=click.Choice(["contain", "cover"]), default="contain", show_default=True)
@click.option("--glare", type=float, default=0.0, show_default=True, help="Glare on the glass, 0 to 0.5.")
@click.option("--description", default="", help="Description shown in lists.")
@json_option
@handle_errors
def add(user_ref, key, name, photo_path, quad, collections, frame, mat, fit, glare, description, as_json):
    """Add a scene made from your own room photo (rendered locally, free)."""
    from pathlib import Path

    from haven_pipelines.services.scenes import PhotoSceneRequest, add_photo_scene

    request = PhotoSceneRequest(
        key=key, name=name, photo=Path(photo_path).read_bytes(), quad=quad,
        collections=tuple(c.strip() for c in collections.split(",") if c.strip()),
        frame=frame, mat=mat, fit=fit, glare=glare, description=description,
    )
    eng = engine()
    try:
        row = add_photo_scene(eng, blob_store(), acting_user(eng, user_ref), request)
    finally:
        eng.dispose()
    if as_json:
        echo_json(row)
    else:
        click.echo(f"added scene {row['scene_key']} ({row['width']}x{row['height']}, {row['source']})")


@scenes.command("remove")
@user_option
@click.argument("key")
@json_option
@handle_errors
def remove(user_ref, key, as_json):
    """Remove one of your own scenes and its photo (mockups made from it stay)."""
    from haven_pipelines.services.scenes import remove_user_scene

    eng = engine()
    try:
        row = remove_user_scene(eng, blob_store(), acting_user(eng, user_ref), key)
    finally:
        eng.dispose()
    if as_json:
        echo_json(row)
    else:
        click.echo(f"removed scene {row['scene_key']}")


@scenes.command("preview")
@user_option
@click.option("--key", required=True, help="Scene key (yours or a system scene).")
@click.option("--design", "design_id", type=DESIGN_ID, default=None, help="Design asset id (default: a sample print).")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Output file; .png or .webp for those formats (default ./preview-KEY.jpg).")
@json_option
@handle_errors
def preview(user_ref, key, design_id, out, as_json):
    """Write one mockup of a scene to a file: nothing is charged, stored or recorded."""
    from haven_pipelines.services.scenes import preview_scene

    eng = engine()
    try:
        result = preview_scene(eng, blob_store(), acting_user(eng, user_ref), key, out or f"preview-{key}.jpg",
                               design_id=design_id)
    finally:
        eng.dispose()
    if as_json:
        echo_json(result)
    else:
        click.echo(f"wrote {result['path']} ({result['width']}x{result['height']})")


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
