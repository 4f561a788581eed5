"""The one Definitions object loads, validates, and follows the naming and documentation rules."""

import dagster as dg

from haven_pipelines.definitions import defs


def test_definitions_validate_and_every_job_resolves():
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    names = {job.name for job in repo.get_all_jobs()}
    assert {
        "generate_mockups_job", "publish_product_job", "retire_product_job", "nightly_catalog_job",
        "retry_queue_job", "catalogue_job", "design_listing_job", "credit_report_job",
    } <= names


def test_assets_have_docs_groups_kinds_and_noun_names():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "approved_design_assets", "mockups", "products", "shopify_listings",
        "credit_usage_monthly", "credit_usage_daily", "credit_usage_by_scene", "render_outcomes",
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 40, key
        assert node.group_name in ("catalogue", "analytics"), key
        assert node.kinds, key
    # The design graph is partitioned by design; the render asset shares the Dynamic Mockups pool.
    assert graph.get(dg.AssetKey("mockups")).partitions_def.name == "designs"
    assert graph.get(dg.AssetKey("mockups")).pools == {"dynamic_mockups"}


def test_automation_names_end_in_their_kind():
    repo = defs.get_repository_def()
    assert {s.name for s in repo.sensor_defs} == {"approved_designs_sensor", "approval_decisions_sensor", "retry_queue_sensor",
                                                  "credit_report_after_runs_sensor"}
    assert {s.name for s in repo.schedule_defs} == {"nightly_catalog_schedule", "monthly_credit_report_schedule"}


def test_every_check_is_attached():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("mockups", "annual_budget_not_exceeded") in checks
    assert ("mockups", "monthly_soft_limit") in checks
    assert ("mockups", "mockup_files_exist") in checks
    assert ("mockups", "ledger_balances") in checks
    assert ("shopify_listings", "active_products_synced") in checks
    assert ("credit_usage_monthly", "credit_usage_monthly_matches_model") in checks
