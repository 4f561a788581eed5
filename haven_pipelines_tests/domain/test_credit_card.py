"""The source's credit card: annual bar colour by the annual share, warnings at 80 % month and year."""

from __future__ import annotations

import json

import pytest

from haven_pipelines.domain.credits import CreditUsage, credit_card


def usage(year_used: int = 0, month_used: int = 0, budget: int = 100, soft: int = 10) -> CreditUsage:
    return CreditUsage(2025, 6, year_used, month_used, budget, soft)


@pytest.mark.parametrize(
    ("year_used", "budget", "percent", "colour", "annual_warning"),
    [
        (0, 100, 0.0, "green", False),
        (74, 100, 74.0, "green", False),
        (75, 100, 75.0, "amber", False),  # green only below 75 %
        (79, 100, 79.0, "amber", False),
        (80, 100, 80.0, "amber", True),  # the annual warning starts at 80 %
        (89, 100, 89.0, "amber", True),
        (90, 100, 90.0, "red", True),  # amber only below 90 %
        (2625, 3500, 75.0, "amber", False),
        (2624, 3500, 75.0, "green", False),  # 74.97 % rounds to 75.0 but is still green
        (120, 100, 120.0, "red", True),  # a lowered budget
        (0, 0, 0.0, "green", False),
        (1, 0, 100.0, "red", True),  # a zero budget with usage is full, not infinite
    ],
)
def test_annual_bar_colour_and_warning(year_used, budget, percent, colour, annual_warning):
    card = credit_card(usage(year_used, 0, budget=budget))
    assert (card.annual_percent, card.annual_bar_colour, card.annual_warning) == (percent, colour, annual_warning)
    assert any("annual budget" in w for w in card.warnings) is annual_warning


def test_the_colour_follows_the_year_not_the_month():
    calm_year_busy_month = credit_card(usage(year_used=10, month_used=10))
    assert calm_year_busy_month.annual_bar_colour == "green"
    assert calm_year_busy_month.monthly_warning and calm_year_busy_month.monthly_percent == 100.0


@pytest.mark.parametrize(
    ("month_used", "soft", "warning", "over", "text"),
    [
        (7, 10, False, False, None),
        (8, 10, True, False, "80 % of the monthly soft limit reached (8 of 10)"),
        (10, 10, True, False, "80 % of the monthly soft limit reached (10 of 10)"),
        (11, 10, True, True, "past the monthly soft limit (11 of 10)"),
        (0, 0, False, False, None),
    ],
)
def test_monthly_warning(month_used, soft, warning, over, text):
    card = credit_card(usage(0, month_used, soft=soft))
    assert (card.monthly_warning, card.over_soft_limit) == (warning, over)
    monthly = [w for w in card.warnings if "monthly" in w]
    assert (monthly[0].startswith(text) if text else monthly == [])


def test_both_warnings_in_order_and_json_ready():
    card = credit_card(usage(95, 9))
    assert len(card.warnings) == 2 and "monthly" in card.warnings[0] and "annual" in card.warnings[1]
    data = json.loads(json.dumps(card.as_dict()))
    assert data == {
        "annual_percent": 95.0, "annual_bar_colour": "red", "monthly_percent": 90.0, "monthly_warning": True,
        "annual_warning": True, "over_soft_limit": False, "warnings": list(card.warnings),
    }
    assert credit_card(usage(soft=0)).monthly_percent is None
