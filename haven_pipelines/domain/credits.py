"""Credit arithmetic: usage figures, soft-limit warnings (ported from Haven Hub's get_credit_usage).

Unlike the source, regenerations count against the budget and refunds give credits back; the
ledger stores charges as positive and refunds as negative credits, so usage is a plain sum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_ANNUAL_BUDGET = 3500
DEFAULT_MONTHLY_SOFT_LIMIT = 292
SOFT_LIMIT_WARNING_RATIO = 0.80
# The source coloured its usage bars amber at 75 % and red at 90 %.
BAR_AMBER_RATIO = 0.75
BAR_RED_RATIO = 0.90

OPERATIONS = ("generation", "regeneration", "refund")


@dataclass(frozen=True)
class CreditUsage:
    """A user's credit position for one year and month."""

    year: int
    month: int
    used_this_year: int
    used_this_month: int
    annual_budget: int
    monthly_soft_limit: int

    @property
    def remaining_annual(self) -> int:
        """Credits left this year; never negative."""
        return max(self.annual_budget - self.used_this_year, 0)

    @property
    def remaining_monthly(self) -> int:
        """Credits left under this month's soft limit; never negative."""
        return max(self.monthly_soft_limit - self.used_this_month, 0)

    @property
    def monthly_ratio(self) -> float:
        """Share of the monthly soft limit used (0 when the limit is 0 and nothing was used)."""
        if self.monthly_soft_limit <= 0:
            return 0.0 if self.used_this_month == 0 else float("inf")
        return self.used_this_month / self.monthly_soft_limit

    @property
    def soft_limit_warning(self) -> bool:
        """True from 80 % of the monthly soft limit on (the source's warning threshold)."""
        return self.monthly_ratio >= SOFT_LIMIT_WARNING_RATIO

    @property
    def over_soft_limit(self) -> bool:
        """True once the month's usage passes the soft limit (allowed, but reported)."""
        return self.used_this_month > self.monthly_soft_limit

    def bar_colour(self) -> str:
        """``green``, ``amber`` (≥75 %) or ``red`` (≥90 %), as the source's usage bar."""
        ratio = self.monthly_ratio
        if ratio >= BAR_RED_RATIO:
            return "red"
        if ratio >= BAR_AMBER_RATIO:
            return "amber"
        return "green"

    def as_dict(self) -> dict[str, object]:
        """The source's response shape plus the derived figures, JSON-ready."""
        data = asdict(self)
        data.update(
            remaining_annual=self.remaining_annual,
            remaining_monthly=self.remaining_monthly,
            monthly_percent=round(self.monthly_ratio * 100, 1) if self.monthly_soft_limit > 0 else None,
            soft_limit_warning=self.soft_limit_warning,
            over_soft_limit=self.over_soft_limit,
        )
        return data


def fits_budget(used_this_year: int, requested: int, annual_budget: int) -> bool:
    """Whether ``requested`` more credits stay within the hard annual budget."""
    return requested >= 0 and used_this_year + requested <= annual_budget
