"""The credit budget check carries the source's credit card in its metadata."""

from haven_pipelines.defs.checks import annual_budget_rule
from haven_pipelines.domain.credits import CreditUsage
from haven_pipelines.services.health import UserUsage


def usage(user: str, year_used: int, month_used: int, budget: int = 100, soft: int = 10) -> UserUsage:
    return UserUsage(user, CreditUsage(2026, 5, year_used, month_used, budget, soft))


def test_budget_check_metadata_has_the_card_fields():
    verdict = annual_budget_rule([usage("calm", 10, 1), usage("amber", 75, 2), usage("warned", 85, 8), usage("red", 90, 0)])
    assert verdict.passed
    m = verdict.metadata
    assert (m["users_annual_bar_green"], m["users_annual_bar_amber"], m["users_annual_bar_red"]) == (1, 2, 1)
    assert m["annual_bar_colour"] == "red" and m["highest_percent_of_annual_budget"] == 90.0
    assert m["users_at_annual_warning"] == 2 and m["annual_warning_examples"] == ["warned: 85/100", "red: 90/100"]
    assert m["users_at_monthly_warning"] == 1


def test_budget_check_metadata_worst_colour_is_amber_when_no_bar_is_red():
    m = annual_budget_rule([usage("a", 74, 0), usage("b", 89, 0)]).metadata
    assert (m["annual_bar_colour"], m["users_at_annual_warning"], m["users_at_monthly_warning"]) == ("amber", 1, 0)
    empty = annual_budget_rule([]).metadata
    assert (empty["annual_bar_colour"], empty["highest_percent_of_annual_budget"], empty["users_checked"]) == ("green", 0.0, 0)
