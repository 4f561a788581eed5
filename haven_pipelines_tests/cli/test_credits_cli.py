"""``haven credits show`` against a temporary SQLite database, text and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from haven_pipelines.cli.credits import credits
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user


@pytest.fixture
def user_id(sqlite_url, monkeypatch) -> str:
    """A user with 9 credits used in June 2025 (soft limit 10) in a temp SQLite named by the env."""
    url = sqlite_url
    monkeypatch.setenv("HAVEN_DATABASE_URL", url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            uid = get_or_create_user(conn, "cli@haven.test")["id"]
            SettingsStore(conn, uid).update(annual_mockup_budget=100, monthly_mockup_soft_limit=10)
        ledger = CreditLedger(engine)
        ledger.reserve(uid, 6, idempotency_key="a", now=datetime(2025, 6, 2, tzinfo=UTC))
        failed = ledger.reserve(uid, 2, idempotency_key="b", now=datetime(2025, 6, 3, tzinfo=UTC))
        ledger.refund(uid, failed.id, "render failed")
        ledger.reserve(uid, 3, idempotency_key="c", operation="regeneration", now=datetime(2025, 6, 4, tzinfo=UTC))
        ledger.reserve(uid, 5, idempotency_key="d", now=datetime(2025, 5, 20, tzinfo=UTC))
    finally:
        engine.dispose()
    return uid


def test_show_text_by_email(user_id):
    result = CliRunner().invoke(credits, ["show", "--user", "CLI@haven.test", "--year", "2025", "--month", "6"])
    assert result.exit_code == 0, result.output
    assert "Mockup credits for cli@haven.test, 2025-06" in result.output
    assert "year:  14 of 100 used, 86 remaining" in result.output
    assert "month: 9 of 10 (soft limit) used, 1 remaining, 90.0 %, red" in result.output
    assert "warning: 80 %" in result.output


def test_show_json_by_id(user_id):
    result = CliRunner().invoke(credits, ["show", "--user", user_id, "--year", "2025", "--month", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["user"] == {"id": user_id, "email": "cli@haven.test"}
    assert {k: data[k] for k in ("year", "month", "used_this_year", "used_this_month", "annual_budget", "monthly_soft_limit")} == {
        "year": 2025, "month": 5, "used_this_year": 14, "used_this_month": 5, "annual_budget": 100, "monthly_soft_limit": 10,
    }
    assert (data["remaining_annual"], data["remaining_monthly"], data["soft_limit_warning"], data["bar_colour"]) == (86, 5, False, "green")


def test_unknown_user_is_a_one_line_error(user_id):
    result = CliRunner().invoke(credits, ["show", "--user", "nobody@haven.test"])
    assert result.exit_code == 1
    assert "user nobody@haven.test not found" in result.output
    assert "Traceback" not in result.output


def test_month_out_of_range_is_refused(user_id):
    result = CliRunner().invoke(credits, ["show", "--user", user_id, "--month", "13"])
    assert result.exit_code == 2
    assert "--month" in result.output


def test_show_has_the_credit_card_annual_bar_and_warnings(user_id):
    engine = create_engine()
    try:
        with engine.begin() as conn:
            SettingsStore(conn, user_id).update(annual_mockup_budget=17)  # 14 of 17 used: 82.4 %
    finally:
        engine.dispose()
    text = CliRunner().invoke(credits, ["show", "--user", user_id, "--year", "2025", "--month", "6"])
    assert text.exit_code == 0, text.output
    assert "year:  14 of 17 used, 3 remaining, 82.4 %, amber" in text.output
    assert "warning: 80 % of the monthly soft limit reached (9 of 10)" in text.output
    assert "warning: 80 % of the annual budget reached (14 of 17, 3 remaining)" in text.output
    data = json.loads(CliRunner().invoke(credits, ["show", "--user", user_id, "--year", "2025", "--month", "5", "--json"]).output)
    card = data["card"]
    assert (card["annual_percent"], card["annual_bar_colour"], card["annual_warning"]) == (82.4, "amber", True)
    assert (card["monthly_percent"], card["monthly_warning"]) == (50.0, False)
    assert card["warnings"] == ["80 % of the annual budget reached (14 of 17, 3 remaining)"]


def test_show_colours_the_annual_bar_green_below_75_percent(user_id):
    data = json.loads(CliRunner().invoke(credits, ["show", "--user", user_id, "--year", "2025", "--month", "6", "--json"]).output)
    assert (data["card"]["annual_percent"], data["card"]["annual_bar_colour"], data["card"]["annual_warning"]) == (14.0, "green", False)
