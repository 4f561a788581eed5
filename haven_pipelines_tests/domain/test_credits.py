"""Credit usage arithmetic: remaining never negative, the 80 % warning, the 75 %/90 % bar colours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven_pipelines.domain.credits import (
    DEFAULT_ANNUAL_BUDGET,
    DEFAULT_MONTHLY_SOFT_LIMIT,
    CreditUsage,
    fits_budget,
)


def usage(year_used: int = 0, month_used: int = 0, budget: int = 3500, soft: int = 292) -> CreditUsage:
    return CreditUsage(2025, 6, year_used, month_used, budget, soft)


def test_guardrail_defaults_are_the_sources():
    assert (DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT) == (3500, 292)


@pytest.mark.parametrize(
    ("year_used", "month_used", "remaining_annual", "remaining_monthly"),
    [
        (0, 0, 3500, 292),
        (100, 40, 3400, 252),
        (3499, 292, 1, 0),
        (3500, 300, 0, 0),
        (3600, 400, 0, 0),  # a lowered budget: remaining is 0, never negative
    ],
)
def test_remaining(year_used, month_used, remaining_annual, remaining_monthly):
    u = usage(year_used, month_used)
    assert (u.remaining_annual, u.remaining_monthly) == (remaining_annual, remaining_monthly)


@pytest.mark.parametrize(
    ("month_used", "soft", "warning", "over", "colour"),
    [
        (0, 292, False, False, "green"),
        (218, 292, False, False, "green"),  # 74.7 %
        (219, 292, False, False, "amber"),  # 75.0 %
        (233, 292, False, False, "amber"),  # 79.8 %
        (234, 292, True, False, "amber"),  # 80.1 %: the source's warning
        (262, 292, True, False, "amber"),  # 89.7 %
        (263, 292, True, False, "red"),  # 90.1 %
        (292, 292, True, False, "red"),  # at the limit: not yet over
        (293, 292, True, True, "red"),
        (8, 10, True, False, "amber"),  # exactly 80 %
        (9, 10, True, False, "red"),  # exactly 90 %
        (0, 0, False, False, "green"),  # no soft limit, nothing used
        (1, 0, True, True, "red"),
    ],
)
def test_warning_and_bar_colour(month_used, soft, warning, over, colour):
    u = usage(month_used, month_used, soft=soft)
    assert (u.soft_limit_warning, u.over_soft_limit, u.bar_colour()) == (warning, over, colour)


def test_as_dict_has_the_sources_fields_and_the_derived_ones():
    data = usage(120, 234).as_dict()
    assert data == {
        "year": 2025, "month": 6, "used_this_year": 120, "used_this_month": 234, "annual_budget": 3500,
        "monthly_soft_limit": 292, "remaining_annual": 3380, "remaining_monthly": 58, "monthly_percent": 80.1,
        "soft_limit_warning": True, "over_soft_limit": False,
    }
    assert usage(soft=0).as_dict()["monthly_percent"] is None


@pytest.mark.parametrize(
    ("used", "requested", "budget", "fits"),
    [(0, 1, 3500, True), (3499, 1, 3500, True), (3500, 1, 3500, False), (3500, 0, 3500, True), (10, -1, 3500, False)],
)
def test_fits_budget(used, requested, budget, fits):
    assert fits_budget(used, requested, budget) is fits


@given(
    year_used=st.integers(0, 10_000), month_used=st.integers(0, 10_000),
    budget=st.integers(0, 10_000), soft=st.integers(0, 10_000),
)
def test_usage_invariants(year_used, month_used, budget, soft):
    u = usage(year_used, month_used, budget, soft)
    assert 0 <= u.remaining_annual <= budget
    assert 0 <= u.remaining_monthly <= soft
    assert u.remaining_annual == max(budget - year_used, 0)
    if u.over_soft_limit:
        assert u.soft_limit_warning and u.bar_colour() == "red"
    if soft > 0:
        assert u.soft_limit_warning == (month_used * 100 >= 80 * soft)
