"""Credit arithmetic: usage figures, soft-limit warnings (ported from Haven Hub's get_credit_usage).

Unlike the source, regenerations count against the budget and refunds give credits back; the
ledger stores charges as positive and refunds as negative credits, so usage is a plain sum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_ANNUAL_BUDGET = 3500
DEFAULT_MONTHLY_SOFT_LIMIT = 292
SOFT_LIMIT_WARNING_RATIO = 0.80
# The source warned at 80 % of the annual budget too (its credit card's second warning).
ANNUAL_WARNING_RATIO = 0.80
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


@dataclass(frozen=True)
class CreditCard:
    """The source's credit card: the annual bar, its colour, and the two 80 % warnings.

    ``annual_bar_colour`` is green below 75 % of the annual budget, amber below 90 %, red from 90 %
    on. ``monthly_warning`` is set from 80 % of the monthly soft limit, ``annual_warning`` from 80 %
    of the annual budget. ``warnings`` holds the sentences a person reads, in that order.
    """

    annual_percent: float
    annual_bar_colour: str
    monthly_percent: float | None
    monthly_warning: bool
    annual_warning: bool
    over_soft_limit: bool
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (``warnings`` as a list)."""
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


def _ratio(used: int, limit: int) -> float:
    # A zero limit with nothing used is empty; with anything used it is past full.
    if limit <= 0:
        return 0.0 if used <= 0 else float("inf")
    return used / limit


def _colour(ratio: float) -> str:
    if ratio >= BAR_RED_RATIO:
        return "red"
    if ratio >= BAR_AMBER_RATIO:
        return "amber"
    return "green"


def _percent(ratio: float) -> float:
    # JSON has no infinity: a used-up zero budget reads as 100 % (the bar is full and red).
    return 100.0 if ratio == float("inf") else round(ratio * 100, 1)


def credit_card(usage: CreditUsage) -> CreditCard:
    """The credit card of Haven Hub for ``usage``: annual bar colour and the 80 % warnings.

    Colours follow the annual share (green below 75 %, amber below 90 %, red above); the
    monthly soft-limit warning and the annual warning both start at 80 %.
    """
    annual = _ratio(usage.used_this_year, usage.annual_budget)
    monthly = _ratio(usage.used_this_month, usage.monthly_soft_limit)
    monthly_warning = monthly >= SOFT_LIMIT_WARNING_RATIO
    annual_warning = annual >= ANNUAL_WARNING_RATIO
    warnings = []
    if usage.over_soft_limit:
        warnings.append(f"past the monthly soft limit ({usage.used_this_month} of {usage.monthly_soft_limit}): "
                        "renders still run, within the annual budget")
    elif monthly_warning:
        warnings.append(f"80 % of the monthly soft limit reached ({usage.used_this_month} of {usage.monthly_soft_limit})")
    if annual_warning:
        warnings.append(f"80 % of the annual budget reached ({usage.used_this_year} of {usage.annual_budget}, "
                        f"{usage.remaining_annual} remaining)")
    return CreditCard(
        annual_percent=_percent(annual),
        annual_bar_colour=_colour(annual),
        monthly_percent=None if usage.monthly_soft_limit <= 0 else _percent(monthly),
        monthly_warning=monthly_warning,
        annual_warning=annual_warning,
        over_soft_limit=usage.over_soft_limit,
        warnings=tuple(warnings),
    )
