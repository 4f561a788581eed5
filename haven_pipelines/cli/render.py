"""``haven render`` and ``haven mockups list``: render mockups and browse them."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import acting_user, app_context, echo_json, handle_errors, json_option, paging_options, user_option
from haven_pipelines.domain.scenes import SYSTEM_SCENES


@click.command("render")
@user_option
@click.option("--design", "designs", multiple=True, required=True, help="Design asset id (repeat for several, 1 to 20).")
@click.option("--scene", "scenes", multiple=True, help="Scene key (repeat, 1 to 5).")
@click.option("--all-scenes", is_flag=True, help="Render all five system scenes.")
@click.option("--regenerate", is_flag=True, help="Render again even when a mockup exists (charged as a regeneration).")
@click.option("--skip-approval", is_flag=True, help="Approve at once instead of queueing for review.")
@json_option
@handle_errors
def render(user_ref, designs, scenes, all_scenes, regenerate, skip_approval, as_json):
    """Render mockups of designs in room scenes with the configured renderer (HAVEN_RENDERER)."""
    from haven_pipelines.services.render import RenderService, check_budget, validate_request

    if all_scenes:
        scenes = tuple(s.key for s in SYSTEM_SCENES)
    tasks = validate_request(list(designs), list(scenes))
    ctx = app_context()
    try:
        user_id = acting_user(ctx.engine, user_ref)
        service = RenderService(ctx)
        to_render, _done = service.plan(user_id, tasks, regenerate=regenerate)
        check_budget(ctx.ledger, user_id, len(to_render), ctx.renderer.credits_per_render)
        result = service.render_batch(user_id, tasks, regenerate=regenerate, skip_approval=skip_approval)
    finally:
        ctx.close()
    if as_json:
        echo_json(result.as_dict())
    else:
        for o in result.outcomes:
            where = o.url or o.error or ""
            click.echo(f"{o.status:9} {o.scene:15} {o.asset_id}  {where}")
        click.echo(f"rendered {result.rendered}, skipped {result.skipped}, failed {result.failed}, refused {result.refused}; "
                   f"credits charged {result.credits_charged}; remaining this year {result.usage.remaining_annual}")
    if result.failed or result.refused:
        raise SystemExit(1)


@click.group("mockups")
def mockups() -> None:
    """Browse mockups."""


@mockups.command("list")
@user_option
@click.option("--scene")
@click.option("--status", type=click.Choice(["pending", "generating", "completed", "failed", "approved", "rejected"]))
@click.option("--design", "asset_id")
@paging_options
@json_option
@handle_errors
def list_mockups(user_ref, scene, status, asset_id, limit, offset, as_json):
    """List mockups newest first, with the design's quote, collection and mood, and the total."""
    from haven_pipelines.cli.common import engine
    from haven_pipelines.services.mockups import list_mockups

    eng = engine()
    try:
        page = list_mockups(eng, acting_user(eng, user_ref), scene=scene, status=status, asset_id=asset_id,
                            limit=limit, offset=offset)
    finally:
        eng.dispose()
    rows = page.rows
    if as_json:
        echo_json({"total": page.total, "limit": limit, "offset": offset, "mockups": rows})
        return
    for r in rows:
        click.echo(f"{r['id']}  {r['status']:10} {r['scene']:15} {r.get('collection') or '-':10} {r.get('file_url') or r.get('error_message') or ''}")
    click.echo(f"{len(rows)} of {page.total}")
