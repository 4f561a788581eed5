"""``haven demo``: load demo data (a demo user, quotes and approved designs) into the database."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.cli.common import blob_store, handle_errors
from haven_pipelines.services.analytics import rebuild_tables
from haven_pipelines.services.database import schema_status
from haven_pipelines.services.demo import DEMO_EMAIL, MAX_DESIGNS, load_demo
from haven_pipelines.services.demo_history import MAX_DAYS as MAX_HISTORY_DAYS
from haven_pipelines.services.demo_history import load_demo_history


@click.command("demo")
@click.option("--load", "load", is_flag=True, help="Create the demo user, quotes and designs (idempotent).")
@click.option("--designs", type=click.IntRange(1, MAX_DESIGNS), default=3, show_default=True,
              help="How many approved designs the demo user should have.")
@click.option("--history", "history_days", type=click.IntRange(1, MAX_HISTORY_DAYS), default=None,
              help="Also book a demo history of this many days before today: Dynamic Mockups renders with "
                   "charges, regenerations and refunds, marked demo in the analyst tables (idempotent).")
@handle_errors
def demo(load: bool, designs: int, history_days: int | None) -> None:
    """Demo data for trying the pipeline: user demo@haven.local in autopilot mode.

    Images go to $HAVEN_DATA_DIR/images. Loading again adds only what is missing. With --history N,
    the demo user also gets N days of past renders (real ledger entries, counted against its annual
    budget) and the analyst tables are rebuilt so that they show them.
    """
    if not load:
        raise click.UsageError("nothing to do: pass --load to create the demo data")
    eng = make_engine()
    try:
        if not schema_status(eng).at_head:
            raise click.ClickException("the database is not at the newest schema: run `haven db upgrade` first")
        store = blob_store()
        summary = load_demo(eng, store, designs=designs)
        history = load_demo_history(eng, store, days=history_days) if history_days else None
        if history is not None:
            rebuild_tables(eng)
    finally:
        eng.dispose()
    user_state = "created" if summary.user_created else "existed"
    click.echo(f"user {DEMO_EMAIL} ({summary.user_id}): {user_state}, mode {summary.global_mode}")
    click.echo(f"quotes: {summary.quotes_created} created, {summary.quotes_existing} existed")
    click.echo(f"approved designs: {len(summary.designs_created)} created, {summary.designs_existing} existed"
               + (f", {summary.images_restored} image(s) redrawn" if summary.images_restored else ""))
    for asset_id in summary.designs_created:
        click.echo(f"  + design {asset_id}")
    if history is not None:
        click.echo(
            f"demo history {history.first_day} to {history.last_day} ({history.days} days, marked demo): "
            f"{history.designs_created} design(s) created, {history.designs_existing} existed; "
            f"{history.renders} render(s) booked ({history.regenerations} regeneration(s), "
            f"{history.failures_refunded} failed and refunded), {history.credits_charged} credit(s) charged; "
            f"{history.events_existing} render(s) already booked"
        )
        if history.refused:
            click.echo(f"  stopped early: {history.refused}")
        click.echo("analyst tables rebuilt: see `haven credits report --by month`")
    if not summary.changed and (history is None or not history.changed):
        click.echo("nothing to add: the demo data was already loaded")
