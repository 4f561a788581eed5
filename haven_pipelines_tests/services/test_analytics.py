"""The analyst tables built from a fixed ledger (ledger_scenario), on SQLite and PostgreSQL: counts
beside credits, the daily table, the demo column, and the month's annual position."""

from __future__ import annotations

import pandas as pd
import pytest

from haven_pipelines.services import analytics
from haven_pipelines_tests.services.ledger_scenario import book_scenario


@pytest.fixture
def scenario(world):
    return world, book_scenario(world)


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(r) for r in frame[columns].itertuples(index=False, name=None)]


def test_monthly_counts_credits_and_annual_position(scenario):
    world, users = scenario
    monthly = analytics.credit_usage_monthly(world.ctx.engine)
    columns = ["email", "year", "month", "demo", "renders", "regeneration_renders", "failed_renders",
               "delivered_renders", "generations", "regenerations", "refunds", "net_credits", "soft_limit",
               "percent_of_soft_limit", "annual_budget", "used_this_year", "remaining_annual"]
    assert sorted(_rows(monthly, columns)) == [
        ("a@haven.test", 2026, 5, False, 3, 0, 1, 2, 3, 0, 1, 2, 10, 20.0, 3, 2, 1),
        ("a@haven.test", 2026, 6, False, 2, 1, 0, 2, 0, 1, 0, 1, 10, 10.0, 3, 3, 0),
        ("b@haven.test", 2026, 6, True, 3, 0, 1, 2, 3, 0, 1, 2, 292, 0.7, 3500, 2, 3498),
    ]
    # Oldest first per user (the preview shows the last rows).
    for _, rows in monthly.groupby("user_id"):
        assert list(rows["year"] * 100 + rows["month"]) == sorted(rows["year"] * 100 + rows["month"])


def test_daily_table_by_reservation_day(scenario):
    world, _ = scenario
    daily = analytics.credit_usage_daily(world.ctx.engine)
    columns = ["day", "email", "demo", "renders", "failed_renders", "delivered_renders", "net_credits"]
    assert sorted(_rows(daily, columns)) == [
        ("2026-05-03", "a@haven.test", False, 3, 1, 2, 2),
        ("2026-06-10", "a@haven.test", False, 1, 0, 1, 1),
        ("2026-06-10", "b@haven.test", True, 3, 1, 2, 2),
        # The local renderer costs nothing: the count shows the render the credits cannot.
        ("2026-06-11", "a@haven.test", False, 1, 0, 1, 0),
    ]
    assert list(daily["day"]) == sorted(daily["day"])


def test_by_scene_and_render_outcomes(scenario):
    world, users = scenario
    engine = world.ctx.engine
    by_scene = analytics.credit_usage_by_scene(engine)
    columns = ["user_id", "month", "scene", "renderer", "demo", "renders", "failed_renders", "delivered_renders",
               "charges", "refunds", "net_credits"]
    a, b = users["a"], users["b"]
    assert sorted(_rows(by_scene, columns)) == sorted([
        (a, 5, "bedroom", "dynamic_mockups", False, 1, 0, 1, 1, 0, 1),
        (a, 5, "living_room", "dynamic_mockups", False, 2, 1, 1, 2, 1, 1),
        (a, 6, "bedroom", "dynamic_mockups", False, 1, 0, 1, 1, 0, 1),
        (a, 6, "bedroom", "local", False, 1, 0, 1, 0, 0, 0),
        (b, 6, "bedroom", "dynamic_mockups", True, 1, 0, 1, 1, 0, 1),
        (b, 6, "reading_nook", "dynamic_mockups", True, 2, 1, 1, 2, 1, 1),
    ])
    outcomes = analytics.render_outcomes(engine)
    columns = ["renderer", "scene", "demo", "completed", "failed", "in_progress", "attempts", "failed_attempts",
               "failure_rate", "mean_latency_ms"]
    assert _rows(outcomes, columns) == [
        ("dynamic_mockups", "bedroom", False, 1, 0, 0, 2, 0, 0.0, 4000.0),
        ("dynamic_mockups", "bedroom", True, 1, 0, 0, 1, 0, 0.0, 2000.0),
        ("dynamic_mockups", "living_room", False, 1, 0, 0, 2, 1, 0.5, 5000.0),
        ("dynamic_mockups", "reading_nook", True, 1, 0, 0, 2, 1, 0.5, 6000.0),
        ("local", "bedroom", False, 1, 0, 0, 1, 0, 0.0, 30.0),
    ]


def test_tables_round_trip_through_the_database(scenario):
    world, _ = scenario
    engine = world.ctx.engine
    assert analytics.read_table(engine, "credit_usage_daily") is None
    written = analytics.rebuild_tables(engine)
    assert written == {"credit_usage_monthly": 3, "credit_usage_daily": 4, "credit_usage_by_scene": 6, "render_outcomes": 5}
    for name, build in analytics.BUILDERS.items():
        stored = analytics.read_table(engine, name)
        pd.testing.assert_frame_equal(stored, build(engine), check_exact=False)


def test_empty_ledger_gives_empty_typed_tables(world):
    for name, build in analytics.BUILDERS.items():
        frame = build(world.ctx.engine)
        assert frame.empty, name
        assert frame["demo"].dtype == bool
