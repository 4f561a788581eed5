"""``haven render`` and ``haven mockups list``: render mockups and browse them."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import (
    DESIGN_ID,
    acting_user,
    app_context,
    check_scenes,
    echo_json,
    echo_table,
    handle_errors,
    json_option,
    paging_options,
    user_option,
)
from haven_pipelines.domain.scenes import SYSTEM_SCENES


@click.command("render")
@user_option
@click.option("--design", "designs", type=DESIGN_ID, multiple=True, required=True,
              help="Design asset id (repeat for several, 1 to 20).")
@click.option("--scene", "scenes", multiple=True, help="Scene key (repeat, 1 to 5).")
@click.option("--all-scenes", is_flag=True, help="Render all five system scenes.")
@click.option("--regenerate", is_flag=True, help="Render again even when a mockup exists (charged as a regeneration).")
@click.option("--skip-approval", is_flag=True, help="Approve at once instead of queueing for review.")
@json_option
@handle_errors
def render(user_ref, designs, scenes, all_scenes, regenerate, skip_approval, as_json):
    """Render mockups of designs in room scenes with the configured renderer (HAVEN_RENDERER)."""
    from haven_pipelines.services.designs import partition_keys
    from haven_pipelines.services.render import RenderService, check_budget, validate_request

    if all_scenes:
        scenes = tuple(s.key for s in SYSTEM_SCENES)
    tasks = validate_request(list(designs), list(scenes))
    ctx = app_context()
    try:
        user_id = acting_user(ctx.engine, user_ref)
        check_scenes(ctx.engine, user_id, [t.scene for t in tasks])
        service = RenderService(ctx)
        to_render, _done = service.plan(user_id, tasks, regenerate=regenerate)
        check_budget(ctx.ledger, user_id, len(to_render), ctx.renderer.credits_per_render)
        result = service.render_batch(user_id, tasks, regenerate=regenerate, skip_approval=skip_approval)
        # Name each design by the key the Dagster UI and ``haven mockups list`` show.
        keys = partition_keys(ctx.engine, [o.asset_id for o in result.outcomes]) if not as_json else {}
    finally:
        ctx.close()
    if as_json:
        echo_json(result.as_dict())
    else:
        echo_table(["status", "scene", "design", "mockup url or error"],
                   [(o.status, o.scene, keys.get(o.asset_id, o.asset_id), o.url or o.error or "") for o in result.outcomes])
        click.echo(f"rendered {result.rendered}, skipped {result.skipped}, failed {result.failed}, refused {result.refused}; "
                   f"credits charged {result.credits_charged}; remaining this year {result.usage.remaining_annual}")
    if result.failed or result.refused:
        raise SystemExit(1)


@click.group("mockups")
def mockups() -> None:
    """Browse mockups."""


@mockups.command("list")
@user_option
@click.option("--scene", help="Only this scene key.")
@click.option("--status", type=click.Choice(["pending", "generating", "completed", "failed", "approved", "rejected"]))
@click.option("--design", "asset_id", type=DESIGN_ID, help="Only this design asset id.")
@paging_options
@json_option
@handle_errors
def list_mockups(user_ref, scene, status, asset_id, limit, offset, as_json):
    """List mockups newest first, with the design's quote, collection and mood, and the total."""
    from haven_pipelines.cli.common import engine
    from haven_pipelines.services.mockups import list_mockups

    eng = engine()
    try:
        user_id = acting_user(eng, user_ref)
        if scene is not None:
            check_scenes(eng, user_id, [scene])
        page = list_mockups(eng, user_id, scene=scene, status=status, asset_id=asset_id,
                            limit=limit, offset=offset)
    finally:
        eng.dispose()
    rows = page.rows
    if as_json:
        echo_json({"total": page.total, "limit": limit, "offset": offset, "mockups": rows})
        return
    # The design column is the partition key the Dagster UI lists, so a row here finds its partition there.
    echo_table(["mockup", "design", "status", "scene", "collection", "image url or error"],
               [(r["id"], r.get("partition_key") or r["asset_id"], r["status"], r["scene"], r.get("collection"),
                 r.get("file_url") or r.get("error_message") or "")
                for r in rows])
    click.echo(f"{len(rows)} of {page.total}")
