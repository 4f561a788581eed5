"""The analyst table assets on the fixed ledger of ledger_scenario plus one render today: typed numeric
metadata for the UI's plots, a preview of the newest rows, and the sensor that rebuilds them after runs."""

from __future__ import annotations

import dagster as dg

from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.definitions import build_resources, defs
from haven_pipelines.defs.assets.analytics import ANALYST_TABLES, PREVIEW_ROWS
from haven_pipelines.defs.report_sensor import credit_report_after_runs_sensor
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.context import build_context
from haven_pipelines_tests.services.conftest import World
from haven_pipelines_tests.services.ledger_scenario import book_scenario


def _seed(app_db, tmp_path) -> None:
    """The scenario, and one more Dynamic Mockups render by user B today (a real one, not demo)."""
    ctx = build_context(database_url=app_db.url, data_dir=app_db.data_dir)
    try:
        world = World(ctx)
        users = book_scenario(world)
        design = world.design(users["b"])
        reservation = ctx.ledger.reserve(users["b"], 1, idempotency_key="today", renderer="dynamic_mockups", scene="bedroom")
        with ctx.engine.begin() as conn:
            store = MockupStore(conn, users["b"])
            mockup_id = store.start(design, "bedroom", {}, "dynamic_mockups")["id"]
            store.complete(mockup_id, "file:///today.jpg", "today.jpg", None, None, None, {"elapsed_ms": 1000.0})
            ctx.ledger.commit(users["b"], reservation.id, mockup_id, conn=conn)
    finally:
        ctx.engine.dispose()


def _materialisations(result) -> dict[str, dict[str, dg.MetadataValue]]:
    return {e.asset_key.to_user_string(): dict(e.materialization.metadata) for e in result.get_asset_materialization_events()}


def test_metadata_is_numeric_and_carries_a_preview(app_db, instance, tmp_path):
    _seed(app_db, tmp_path)
    result = dg.materialize(ANALYST_TABLES, resources=build_resources(app_db.haven()), instance=instance)
    assert result.success
    meta = _materialisations(result)
    assert set(meta) == {"credit_usage_monthly", "credit_usage_daily", "credit_usage_by_scene", "render_outcomes"}

    monthly = meta["credit_usage_monthly"]
    for name, value in {"credits_this_month": 1, "renders_this_month": 1, "failed_renders_this_month": 0,
                        "users_this_month": 1, "demo_rows": 1, "dagster/row_count": 4}.items():
        assert isinstance(monthly[name], dg.IntMetadataValue) and monthly[name].value == value, name
    daily = meta["credit_usage_daily"]
    assert (daily["credits_today"].value, daily["renders_today"].value, daily["credits_last_7_days"].value) == (1, 1, 1)
    assert daily["days"].value == 4 and isinstance(daily["days"], dg.IntMetadataValue)
    scenes = meta["credit_usage_by_scene"]
    assert (scenes["renders"].value, scenes["failed_renders"].value, scenes["credits_charged"].value,
            scenes["credits_refunded"].value) == (9, 2, 8, 2)
    assert scenes["top_scene_this_month"].value == "bedroom"
    outcomes = meta["render_outcomes"]
    assert isinstance(outcomes["failure_rate"], dg.FloatMetadataValue)
    assert (outcomes["attempts"].value, outcomes["failed_attempts"].value, outcomes["failure_rate"].value) == (9, 2, 0.2222)

    preview = monthly["preview"]
    assert isinstance(preview, dg.TableMetadataValue)
    assert [c.name for c in preview.schema.columns][:3] == ["demo", "user_id", "email"]
    assert len(preview.records) == 4 <= PREVIEW_ROWS
    newest = {(r.data["email"], r.data["year"], r.data["month"], r.data["demo"], r.data["net_credits"]) for r in preview.records}
    assert ("b@haven.test", 2026, 6, True, 2) in newest
    assert meta["credit_usage_daily"]["preview"].records[-1].data["renders"] == 1


def test_the_nightly_job_rebuilds_every_table_at_its_end(app_db, instance, tmp_path):
    """An autopilot user's design rendered by the nightly run, then the tables rebuilt in that run:
    a materialisation of each table asset with the same metadata the assets record."""
    user = app_db.user(mode="autopilot")
    app_db.designs(user, 1)
    job = defs.resolve_job_def("nightly_catalog_job")
    result = job.execute_in_process(instance=instance, resources=build_resources(app_db.haven()))
    assert result.success
    meta = _materialisations(result)
    assert {"credit_usage_monthly", "credit_usage_daily", "credit_usage_by_scene", "render_outcomes"} <= set(meta)
    # Three growth scenes rendered tonight by the local renderer: counted, at 0 credits.
    assert (meta["credit_usage_monthly"]["renders_this_month"].value, meta["credit_usage_monthly"]["credits_this_month"].value) == (3, 0)
    assert meta["credit_usage_daily"]["renders_today"].value == 3
    assert meta["render_outcomes"]["attempts"].value == 3
    assert isinstance(meta["credit_usage_daily"]["preview"], dg.TableMetadataValue)
    # The refresh is the run's last step: after the renders and the sweep.
    steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
    assert steps[-1] == "refresh_analyst_tables"


def test_sensor_asks_for_one_report_per_finished_run(app_db, instance, tmp_path):
    _seed(app_db, tmp_path)
    finished = dg.materialize(ANALYST_TABLES[:1], resources=build_resources(app_db.haven()), instance=instance,
                              tags={"haven/user": "someone"})
    context = dg.build_run_status_sensor_context(
        sensor_name="credit_report_after_runs_sensor", dagster_instance=instance,
        dagster_run=finished.dagster_run, dagster_event=finished.get_run_success_event(),
    )
    request = credit_report_after_runs_sensor(context)
    assert request.run_key == f"after:{finished.dagster_run.run_id}"
    assert request.tags["haven/after_run"] == finished.dagster_run.run_id
    assert request.tags["haven/user"] == "someone"  # the per-user run limits see the report run


def test_sensor_describes_itself_and_is_off_by_default():
    [sensor] = [s for s in defs.get_repository_def().sensor_defs if s.name == "credit_report_after_runs_sensor"]
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert sensor.job_name == "credit_report_job"
    assert "catalogue_job" in sensor.description and "Spends no credits" in sensor.description
