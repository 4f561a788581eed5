"""The design graph and the analyst tables, materialised with dg.materialize on a temporary SQLite DB."""

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.db.tables import mockups as mockups_table
from haven_pipelines.definitions import ASSETS, build_resources, defs
from haven_pipelines.defs.assets.analytics import ANALYST_TABLES
from haven_pipelines.defs.checks import ASSET_CHECKS
from haven_pipelines.defs.assets.mockups import gate_designs
from haven_pipelines.defs.jobs import DESIGN_GRAPH, credit_report_job
from haven_pipelines.defs.resources import CreditBudgetResource
from haven_pipelines.domain.errors import BudgetExceeded
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.designs import scenes_for_design
from haven_pipelines.services.render import RenderService
from haven_pipelines_tests.defs.conftest import paid_haven

GROWTH_SCENES = 3  # therapy_office, living_room, home_office


def _range(ids):
    return {"dagster/asset_partition_range_start": ids[0], "dagster/asset_partition_range_end": ids[-1]}


def _metadata(result, key):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)][:1]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _by_partition(result, key):
    """Each partition's own materialisation metadata, by partition key."""
    return {
        e.partition: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)
    }


def test_design_graph_renders_builds_and_lists_then_reruns_without_charging(app_db, instance):
    user = app_db.user(mode="autopilot")
    ids = app_db.designs(user, 2)
    instance.add_dynamic_partitions("designs", ids)
    resources = build_resources(app_db.haven())

    first = dg.materialize(DESIGN_GRAPH, resources=resources, instance=instance, tags=_range(ids))
    assert first.success
    # Each design partition carries its own design's figures, not the run's.
    mockups = _by_partition(first, "mockups")
    assert set(mockups) == set(ids)
    for asset_id, md in mockups.items():
        assert (md["renders_done"], md["renders_failed"], md["renders_refused"]) == (GROWTH_SCENES, 0, 0)
        assert md["design"].endswith(asset_id[:8])
        assert md["preview"].count("](data:image/jpeg;base64,") == GROWTH_SCENES == md["mockups_shown"]
        assert {row.data["asset_id"] for row in md["renders"].records} == {asset_id}
    assert mockups[ids[0]]["preview"] != mockups[ids[1]]["preview"]
    # The run's totals are on the run.
    tags = instance.get_run_by_id(first.run_id).tags
    assert (tags["haven/renders_done"], tags["haven/credits_charged"], tags["haven/design_count"]) == (str(2 * GROWTH_SCENES), "0", "2")
    assert tags["haven/products_built"] == "2" and tags["haven/listings_dry_run"] == "2"
    products = _by_partition(first, "products")
    assert all(md["variants"] > 0 and "](data:image/jpeg;base64," in md["preview"] and "price " in md["preview"]
               for md in products.values()) and set(products) == set(ids)
    listings = _by_partition(first, "shopify_listings")
    assert {md["listing"] for md in listings.values()} == {"dry run (recorded in shopify_outbox, nothing sent)"}
    assert all(md["variants"] > 0 and md["handle"] for md in listings.values())

    again = dg.materialize(DESIGN_GRAPH, resources=resources, instance=instance, tags=_range(ids))
    assert again.success
    for md in _by_partition(again, "mockups").values():
        assert (md["renders_done"], md["renders_skipped"], md["credits_charged"]) == (0, GROWTH_SCENES, 0)
        # Mockups rendered by an earlier run still show.
        assert md["mockups_shown"] == GROWTH_SCENES


def test_a_design_over_the_annual_budget_is_not_rendered_and_the_run_says_why(app_db, instance):
    user = app_db.user(mode="autopilot", annual_budget=GROWTH_SCENES + 1)
    ids = app_db.designs(user, 2)
    instance.add_dynamic_partitions("designs", ids)
    haven = paid_haven(app_db)
    result = dg.materialize(
        DESIGN_GRAPH[:2], resources=build_resources(haven), instance=instance, tags=_range(ids), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert f"design {ids[1]} needs {GROWTH_SCENES} credit(s); 1 of the {GROWTH_SCENES + 1} annual credits remain" in message
    with dg.build_resources({"haven": haven, "budget": CreditBudgetResource(haven=haven)}) as res:
        usage = res.budget.usage(user)
    # The first design was rendered and charged; the refused one charged nothing.
    assert usage.used_this_year == GROWTH_SCENES


def test_gate_admits_whole_designs_in_order_and_skips_done_renders(app_db):
    user = app_db.user(annual_budget=4)
    ids = app_db.designs(user, 2)
    haven = app_db.haven()
    with dg.build_resources({"haven": haven, "budget": CreditBudgetResource(haven=haven)}) as res:
        service = RenderService(res.haven.ctx)
        scenes = {a: scenes_for_design(res.haven.ctx.engine, a) for a in ids}
        gate = gate_designs(service, res.budget, user, ids, scenes, credits_per_render=1)
        assert [t.asset_id for t in gate.admitted] == [ids[0]] * GROWTH_SCENES
        assert list(gate.refused) == [ids[1]]
        assert "1 of the 4 annual credits remain" in gate.refused[ids[1]]
        with pytest.raises(BudgetExceeded, match="annual mockup credit budget exceeded"):
            res.budget.check(user, 5)


def test_analyst_tables_materialise_validated_with_numeric_metadata(app_db, instance):
    user = app_db.user(mode="autopilot")
    ids = app_db.designs(user, 1)
    instance.add_dynamic_partitions("designs", ids)
    haven = paid_haven(app_db)
    assert dg.materialize(DESIGN_GRAPH[:2], resources=build_resources(haven), instance=instance, partition_key=ids[0]).success
    result = dg.materialize(ANALYST_TABLES, resources=build_resources(haven), instance=instance)
    assert result.success
    monthly = _metadata(result, "credit_usage_monthly")
    assert monthly["dagster/row_count"] == 1 and monthly["net_credits_latest_month"] == GROWTH_SCENES
    assert _metadata(result, "render_outcomes")["completed"] == GROWTH_SCENES


def _check_results(result) -> dict[str, tuple[bool, dg.AssetCheckSeverity]]:
    return {e.check_name: (e.passed, e.severity) for e in result.get_asset_check_evaluations()}


ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
TABLE_CHECKS = {f"{a.key.path[-1]}_matches_model": (True, ERROR) for a in ANALYST_TABLES}


def test_every_check_runs_and_reports_what_it_finds(app_db, instance):
    """All asset checks, run for real: the healthy ones pass, and the two states broken on purpose
    (a user at the soft limit, a completed mockup whose image is gone) fail with their severity."""
    user = app_db.user(mode="autopilot")
    ids = app_db.designs(user, 1)
    instance.add_dynamic_partitions("designs", ids)
    haven = paid_haven(app_db)
    assert dg.materialize(DESIGN_GRAPH[:2], resources=build_resources(haven), instance=instance, partition_key=ids[0]).success
    selection = dg.AssetSelection.assets(*ANALYST_TABLES) | dg.AssetSelection.checks(*ASSET_CHECKS)
    healthy = dg.materialize([*ASSETS, *ASSET_CHECKS], selection=selection, resources=build_resources(haven), instance=instance)
    assert healthy.success
    assert _check_results(healthy) == {
        "annual_budget_not_exceeded": (True, ERROR),
        "monthly_soft_limit": (True, WARN),
        "mockup_files_exist": (True, ERROR),
        "ledger_balances": (True, ERROR),
        "active_products_synced": (True, ERROR),
        **TABLE_CHECKS,
    }

    engine = create_engine(app_db.url)
    try:
        with engine.begin() as conn:
            SettingsStore(conn, user).update(monthly_mockup_soft_limit=GROWTH_SCENES)  # 3 of 3 used: 100 %
            file_key = conn.execute(sa.select(mockups_table.c.file_key).where(mockups_table.c.user_id == user)).scalars().first()
    finally:
        engine.dispose()
    LocalBlobStore(Path(app_db.data_dir) / "images").delete(file_key)
    broken = dg.materialize([*ASSETS, *ASSET_CHECKS], selection=selection, resources=build_resources(haven), instance=instance)
    assert broken.success  # a failed check is reported, it does not fail the run
    assert _check_results(broken) == {
        "annual_budget_not_exceeded": (True, ERROR),
        "monthly_soft_limit": (False, WARN),
        "mockup_files_exist": (False, ERROR),
        "ledger_balances": (True, ERROR),
        "active_products_synced": (True, ERROR),
        **TABLE_CHECKS,
    }
    files = next(e for e in broken.get_asset_check_evaluations() if e.check_name == "mockup_files_exist")
    assert files.metadata["missing_files"].value == 1


def test_the_report_job_runs_the_table_checks(app_db, instance):
    """credit_report_job, as the Definitions hold it, runs the analyst tables' checks with them."""
    haven = app_db.haven()
    app_db.user()
    job_defs = dg.Definitions(assets=ASSETS, asset_checks=ASSET_CHECKS, jobs=[credit_report_job], resources=build_resources(haven))
    result = job_defs.resolve_job_def("credit_report_job").execute_in_process(instance=instance)
    assert result.success
    assert _check_results(result) == TABLE_CHECKS


def test_the_definitions_resolve_the_lineage_graph():
    """The asset graph Dagster resolves from the Definitions: these assets, these edges, these checks."""
    graph = {spec.key: {dep.asset_key for dep in spec.deps} for spec in defs.resolve_all_asset_specs()}
    key = dg.AssetKey
    assert graph == {
        key("approved_design_assets"): set(),
        key("mockups"): {key("approved_design_assets")},
        key("products"): {key("mockups")},
        key("shopify_listings"): {key("products")},
        key("credit_usage_monthly"): {key("mockups")},
        key("credit_usage_daily"): {key("mockups")},
        key("credit_usage_by_scene"): {key("mockups")},
        key("render_outcomes"): {key("mockups")},
    }
    checks = {(k.asset_key, k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        (key("mockups"), "annual_budget_not_exceeded"),
        (key("mockups"), "monthly_soft_limit"),
        (key("mockups"), "mockup_files_exist"),
        (key("mockups"), "ledger_balances"),
        (key("shopify_listings"), "active_products_synced"),
        *{(a.key, f"{a.key.path[-1]}_matches_model") for a in ANALYST_TABLES},
    }
