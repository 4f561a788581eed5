"""The design graph and the analyst tables, materialised with dg.materialize on a temporary SQLite DB."""

import dagster as dg
import pytest

from haven_pipelines.definitions import ASSETS, build_resources
from haven_pipelines.defs.assets.analytics import ANALYST_TABLES
from haven_pipelines.defs.assets.mockups import gate_designs
from haven_pipelines.defs.jobs import DESIGN_GRAPH
from haven_pipelines.defs.resources import CreditBudgetResource
from haven_pipelines.services.designs import scenes_for_design
from haven_pipelines.services.render import RenderService
from haven_pipelines_tests.defs.conftest import paid_haven

GROWTH_SCENES = 3  # therapy_office, living_room, home_office


def _range(ids):
    return {"dagster/asset_partition_range_start": ids[0], "dagster/asset_partition_range_end": ids[-1]}


def _metadata(result, key):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)][:1]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_design_graph_renders_builds_and_lists_then_reruns_without_charging(app_db, instance):
    user = app_db.user(mode="autopilot")
    ids = app_db.designs(user, 2)
    instance.add_dynamic_partitions("designs", ids)
    resources = build_resources(app_db.haven())

    first = dg.materialize(DESIGN_GRAPH, resources=resources, instance=instance, tags=_range(ids))
    assert first.success
    mockups = _metadata(first, "mockups")
    assert mockups["renders_done"] == 2 * GROWTH_SCENES
    assert mockups["renders_failed"] == 0 and mockups["renders_refused"] == 0
    assert "first mockup" in mockups["preview"]
    assert _metadata(first, "products")["products_built"] == 2
    listings = _metadata(first, "shopify_listings")
    assert listings["listings_dry_run"] == 2 and listings["variant_count"] > 0

    again = dg.materialize(DESIGN_GRAPH, resources=resources, instance=instance, tags=_range(ids))
    assert again.success
    rerun = _metadata(again, "mockups")
    assert (rerun["renders_done"], rerun["renders_skipped"], rerun["credits_charged"]) == (0, 2 * GROWTH_SCENES, 0)


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
        with pytest.raises(Exception, match="annual mockup credit budget exceeded"):
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
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()} if hasattr(result, "get_asset_check_evaluations") else {}
    assert all(checks.values())


def test_every_asset_is_in_the_definitions():
    assert {a.key for a in ASSETS} == {a.key for a in [*DESIGN_GRAPH, *ANALYST_TABLES]}
