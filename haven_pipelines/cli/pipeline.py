"""``haven pipeline run``: materialise the whole graph for every approved design, as the UI would.

This is the README's main command. It runs the Dagster jobs in this process against the instance in
``$DAGSTER_HOME`` (so the runs show in ``dagster dev`` afterwards), then prints a summary and exits
non-zero when anything failed.
"""

from __future__ import annotations

import os

import click

from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.cli.common import handle_errors, settings
from haven_pipelines.services.summary import catalogue_summary

# Dagster's console logger prints every step event at DEBUG; people want the asset logs (INFO).
# Every event is still stored in the instance and shown in the UI.
LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@click.group("pipeline")
def pipeline() -> None:
    """Run the Dagster graph from the command line."""


@pipeline.command("run")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Design partitions per run (each run fans renders out over a bounded pool).")
@handle_errors
def run(batch):
    """Materialise designs → mockups → products → listings for all approved designs, then the analyst tables."""
    import warnings

    import dagster as dg

    # Dagster flags some of the APIs we use (backfill policies, sensor owners) as beta; that is
    # for the people who write definitions, not for the person running them.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    from haven_pipelines.definitions import DESIGNS_PARTITION, defs, migrate_design_partitions
    from haven_pipelines.services.designs import approved_designs_page, partition_key_of

    engine = make_engine()
    try:
        keys, cursor = [], None
        while True:
            rows, cursor = approved_designs_page(engine, cursor, 1000)
            if not rows:
                break
            keys += [partition_key_of(r) for r in rows]
        if not keys:
            raise click.ClickException("no approved designs: load the demo first (`haven demo --load`)")
        before = catalogue_summary(engine)  # so that the summary can tell this run's work from the totals
        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
        try:
            # An instance from before readable keys would otherwise list every design twice.
            _echo_move(migrate_design_partitions(instance, engine))
            known = set(instance.get_dynamic_partitions(DESIGNS_PARTITION))
            new = [k for k in keys if k not in known]
            if new:
                instance.add_dynamic_partitions(DESIGNS_PARTITION, new)
            ordered = list(instance.get_dynamic_partitions(DESIGNS_PARTITION))
            wanted = [k for k in ordered if k in set(keys)]
            ok = True
            publishing: dict[str, float] = {}
            graph = defs.resolve_job_def("catalogue_job")
            for start in range(0, len(wanted), batch):
                chunk = wanted[start : start + batch]
                click.echo(f"materialising {len(chunk)} design(s): designs → mockups → products → shopify_listings")
                result = graph.execute_in_process(
                    instance=instance, raise_on_error=False, run_config=LOGS,
                    tags={"dagster/asset_partition_range_start": chunk[0], "dagster/asset_partition_range_end": chunk[-1]},
                )
                ok &= result.success
                _print_failures(result)
                for name, value in _listing_counts(instance, result).items():
                    publishing[name] = publishing.get(name, 0) + value
            click.echo("materialising the analyst tables: credit_usage_monthly, credit_usage_daily, credit_usage_by_scene, render_outcomes")
            report = defs.resolve_job_def("credit_report_job").execute_in_process(
                instance=instance, raise_on_error=False, run_config=LOGS)
            ok &= report.success
            _print_failures(report)
        finally:
            instance.dispose()
        _summary(engine, len(keys), before, publishing)
    finally:
        engine.dispose()
    if not ok:
        raise click.ClickException("some steps failed; see above (and the runs in the Dagster UI)")


@pipeline.command("migrate-partitions")
@click.option("--dry-run", is_flag=True, help="Only count the partitions that would move; change nothing.")
@handle_errors
def migrate_partitions(dry_run):
    """Move the instance's design partitions keyed by bare design ids to the readable keys.

    Dagster cannot rename a partition: each old partition's key is replaced by the design's key
    (``roots-before-branches-6e714a3a``), the latest materialisation of each design asset is carried
    to the new key, and the old key is deleted; the older events stay in the event log under it.
    Idempotent; `haven pipeline run` does the same before it runs. Uses the instance in $DAGSTER_HOME.
    """
    import dagster as dg

    from haven_pipelines.definitions import migrate_design_partitions

    if not os.environ.get("DAGSTER_HOME"):
        raise click.ClickException("DAGSTER_HOME is not set: point it at the Dagster instance to migrate")
    engine = make_engine()
    try:
        instance = dg.DagsterInstance.get()
        try:
            move = migrate_design_partitions(instance, engine, dry_run=dry_run)
        finally:
            instance.dispose()
    finally:
        engine.dispose()
    if not move.moved:
        click.echo("nothing to move: every design partition has its design's key")
    else:
        _echo_move(move)
        for old, new in move.moved[:5]:
            click.echo(f"  {old} -> {new}")
        if len(move.moved) > 5:
            click.echo(f"  ... and {len(move.moved) - 5} more")
    if move.unknown:
        click.echo(f"{len(move.unknown)} partition(s) name no design in the database and were left as they are: "
                   + ", ".join(move.unknown[:5]))


def _echo_move(move) -> None:
    """One line about a partition migration, when it moved (or would move) anything."""
    if not move.moved:
        return
    if move.dry_run:
        click.echo(f"would move {len(move.moved)} design partition(s) to readable keys (dry run: nothing changed)")
    else:
        click.echo(f"moved {len(move.moved)} design partition(s) to readable keys; carried "
                   f"{move.carried} materialisation(s); the old keys' history stays in the event log")


def _print_failures(result) -> None:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            click.echo(f"  FAILED {event.step_key}: {error.message.strip() if error else 'unknown error'}", err=True)


#: The run's publishing counts the summary adds up over the runs of one ``haven pipeline run``.
LISTING_COUNTS = ("sent", "unchanged", "failed", "deleted_on_shopify", "waiting", "images_uploaded", "images_reused",
                  "throttle_points_spent")


def _listing_counts(instance, result) -> dict[str, float]:
    """What publishing did in one run: the ``haven/<count>`` tags ``shopify_listings`` puts on its
    run (its partitions carry each design's own figures, not the run's), or, when the step failed,
    the counts its failure carries."""
    run = instance.get_run_by_id(result.run_id)
    tags = run.tags if run is not None else {}
    if all(f"haven/{name}" in tags for name in LISTING_COUNTS):
        return {name: float(tags[f"haven/{name}"]) for name in LISTING_COUNTS}
    for event in result.all_events:
        if event.is_step_failure and event.step_key == "shopify_listings":
            failure = event.step_failure_data.user_failure_data
            metadata = failure.metadata if failure is not None else None
            if metadata:
                return {name: metadata[name].value for name in LISTING_COUNTS if name in metadata}
    return {}


def _summary(engine, designs: int, before, publishing: dict[str, float] | None = None) -> None:
    summary = catalogue_summary(engine)
    by_status, recorded, active = summary.mockups_by_status, summary.product_sets_recorded, summary.active_products
    images = settings().data_dir / "images" / "mockups"
    click.echo("")
    click.echo("This run")
    click.echo(f"  designs        {designs} materialised")
    click.echo(f"  mockups        {summary.mockups - before.mockups} new")
    went_live = active - before.active_products
    click.echo(f"  products       {summary.products - before.products} new"
               + (f", {went_live} more live on Shopify" if went_live > 0 else ""))
    click.echo(f"  listings       {recorded - before.product_sets_recorded} productSet mutation(s) recorded "
               "in shopify_outbox (dry run: nothing sent)" if recorded else "  listings       none recorded")
    if publishing:
        p = {k: int(v) if k != "throttle_points_spent" else v for k, v in publishing.items()}
        click.echo(f"  publishing     {p.get('sent', 0)} sent, {p.get('unchanged', 0)} unchanged, {p.get('failed', 0)} failed"
                   + (f", {p['deleted_on_shopify']} deleted on Shopify (not recreated)" if p.get("deleted_on_shopify") else "")
                   + f"; images {p.get('images_uploaded', 0)} uploaded, {p.get('images_reused', 0)} reused;"
                   f" {p.get('throttle_points_spent', 0):g} throttle points spent")
    click.echo(f"  credits        {summary.credits_charged - before.credits_charged} charged (the local renderer is free)")
    click.echo("Totals (everything so far)")
    click.echo(f"  designs        {summary.approved_designs} approved")
    click.echo(f"  mockups        {summary.mockups} ({', '.join(f'{v} {k}' for k, v in sorted(by_status.items())) or 'none'})")
    click.echo(f"  products       {summary.products} ({active} live on Shopify"
               + ("; in dry run nothing goes live and the outbox holds what would be sent)" if recorded and not active else ")"))
    if summary.approvals_pending:
        click.echo(f"  approvals      {summary.approvals_pending} waiting for a decision: haven approvals list")
    click.echo(f"  listings       {recorded} productSet mutation(s) recorded in shopify_outbox"
               if recorded else "  listings       none recorded")
    click.echo(f"  credits        {summary.credits_charged} charged")
    click.echo(f"  mockup images  {images}")
    click.echo("  what would be published:  haven products list --json   |   SELECT * FROM shopify_outbox")
    home = os.environ.get("DAGSTER_HOME", "<a DAGSTER_HOME>")
    click.echo("  open the UI:    ./scripts/ui.sh   (prints its address; each design's mockups are shown in its partition)")
    click.echo(f"                  or DAGSTER_HOME={home} .venv/bin/dagster dev   (the UI with the daemon, for sensors)")
