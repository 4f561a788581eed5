"""``haven demo``: load demo data (a demo user, quotes and approved designs) into the database."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.cli.common import blob_store, handle_errors
from haven_pipelines.services.database import schema_status
from haven_pipelines.services.demo import DEMO_EMAIL, MAX_DESIGNS, load_demo


@click.command("demo")
@click.option("--load", "load", is_flag=True, help="Create the demo user, quotes and designs (idempotent).")
@click.option("--designs", type=click.IntRange(1, MAX_DESIGNS), default=3, show_default=True,
              help="How many approved designs the demo user should have.")
@handle_errors
def demo(load: bool, designs: int) -> None:
    """Demo data for trying the pipeline: user demo@haven.local in autopilot mode.

    Images go to $HAVEN_DATA_DIR/images. Loading again adds only what is missing.
    """
    if not load:
        raise click.UsageError("nothing to do: pass --load to create the demo data")
    eng = make_engine()
    try:
        if not schema_status(eng).at_head:
            raise click.ClickException("the database is not at the newest schema: run `haven db upgrade` first")
        summary = load_demo(eng, blob_store(), designs=designs)
    finally:
        eng.dispose()
    user_state = "created" if summary.user_created else "existed"
    click.echo(f"user {DEMO_EMAIL} ({summary.user_id}): {user_state}, mode {summary.global_mode}")
    click.echo(f"quotes: {summary.quotes_created} created, {summary.quotes_existing} existed")
    click.echo(f"approved designs: {len(summary.designs_created)} created, {summary.designs_existing} existed"
               + (f", {summary.images_restored} image(s) redrawn" if summary.images_restored else ""))
    for asset_id in summary.designs_created:
        click.echo(f"  + design {asset_id}")
    if not summary.changed:
        click.echo("nothing to add: the demo data was already loaded")
