"""The checks' pure rules: pass, fail, severity and the counts and examples they report."""

import dagster as dg
import pandas as pd

from haven_pipelines.defs.checks import (
    annual_budget_rule,
    files_exist_rule,
    frame_rule,
    ledger_balance_rule,
    monthly_soft_limit_rule,
    products_synced_rule,
)
from haven_pipelines.services.health import UserUsage
from haven_pipelines.domain.credits import CreditUsage


def usage(user: str, year_used: int, month_used: int, budget: int = 100, soft: int = 10) -> UserUsage:
    return UserUsage(user, CreditUsage(2026, 5, year_used, month_used, budget, soft))


def test_annual_budget_rule_fails_with_error_and_names_the_user():
    ok = annual_budget_rule([usage("a", 100, 1)])
    assert ok.passed and ok.metadata["users_over_budget"] == 0
    bad = annual_budget_rule([usage("a", 100, 1), usage("b", 101, 1)])
    assert not bad.passed
    assert bad.severity == dg.AssetCheckSeverity.ERROR
    assert bad.metadata["examples"] == ["b: 101/100"]


def test_monthly_soft_limit_warns_from_80_percent():
    assert monthly_soft_limit_rule([usage("a", 7, 7)]).passed
    verdict = monthly_soft_limit_rule([usage("a", 8, 8), usage("b", 1, 1)])
    assert not verdict.passed
    assert verdict.severity == dg.AssetCheckSeverity.WARN
    assert verdict.metadata["users_at_or_over_80_percent"] == 1
    assert verdict.metadata["highest_percent_of_soft_limit"] == 80.0


def test_files_exist_rule_reports_missing_and_keyless_mockups():
    rows = [{"id": "m1", "file_key": "k1"}, {"id": "m2", "file_key": "gone"}, {"id": "m3", "file_key": None}]
    verdict = files_exist_rule(rows, lambda key: key == "k1")
    assert not verdict.passed
    assert verdict.metadata["missing_files"] == 2
    assert verdict.metadata["examples"] == ["m2", "m3"]


def test_products_synced_rule():
    good = {"id": "p1", "shopify_product_gid": "gid://shopify/Product/1", "sync_error": None}
    assert products_synced_rule([good]).passed
    verdict = products_synced_rule([good, {"id": "p2", "shopify_product_gid": None}, {"id": "p3", "shopify_product_id": "9", "sync_error": "throttled"}])
    assert not verdict.passed
    assert (verdict.metadata["without_shopify_id"], verdict.metadata["with_sync_error"]) == (1, 1)


def test_ledger_balance_rule_counts_open_reservations():
    assert ledger_balance_rule(charged=10, on_mockups=7, open_reservations=3).passed
    verdict = ledger_balance_rule(charged=10, on_mockups=7, open_reservations=0)
    assert not verdict.passed and verdict.metadata["difference"] == 3


def test_frame_rule_uses_the_pandera_model():
    good = pd.DataFrame({"demo": [False], "renderer": ["local"], "scene": ["bedroom"], "completed": [3], "failed": [0],
                         "in_progress": [0], "attempts": [3], "failed_attempts": [0], "failure_rate": [0.0],
                         "mean_latency_ms": [12.5]})
    assert frame_rule("render_outcomes", good).passed
    bad = good.assign(failed=[-1])
    verdict = frame_rule("render_outcomes", bad)
    assert not verdict.passed and verdict.metadata["failure_cases"] >= 1
    assert any(e.startswith("failed:") for e in verdict.metadata["examples"])
