"""pandera models of the analyst tables, with the column descriptions SQL users read.

Each table is written to the application database as ``analytics_<asset name>`` and validated
against its model before the write and again by an asset check afterwards.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing.pandas import Series


DEMO_DESCRIPTION = "True for rows of the demo history (haven demo --load --history N); filter NOT demo for real figures"


class CreditUsageMonthly(pa.DataFrameModel):
    """Render counts and credits per user and calendar month, with the soft limit and what remains of the year."""

    demo: Series[bool] = pa.Field(description=DEMO_DESCRIPTION)
    user_id: Series[str] = pa.Field(description="User id (UUID)")
    email: Series[str] = pa.Field(nullable=True, description="User's email")
    year: Series[int] = pa.Field(ge=2000, description="Calendar year (UTC)")
    month: Series[int] = pa.Field(ge=1, le=12, description="Calendar month, 1-12 (UTC)")
    renders: Series[int] = pa.Field(ge=0, description="Render attempts charged (first renders and regenerations)")
    regeneration_renders: Series[int] = pa.Field(ge=0, description="Of the renders, how many were regenerations")
    failed_renders: Series[int] = pa.Field(ge=0, description="Render attempts refunded (failed)")
    delivered_renders: Series[int] = pa.Field(ge=0, description="renders - failed_renders")
    generations: Series[int] = pa.Field(ge=0, description="Credits charged for first renders")
    regenerations: Series[int] = pa.Field(ge=0, description="Credits charged for re-renders")
    refunds: Series[int] = pa.Field(ge=0, description="Credits given back for failed renders")
    net_credits: Series[int] = pa.Field(description="generations + regenerations - refunds")
    soft_limit: Series[int] = pa.Field(ge=0, description="The user's monthly soft limit (warns, never blocks)")
    percent_of_soft_limit: Series[float] = pa.Field(ge=0, description="net_credits as a percent of soft_limit")
    annual_budget: Series[int] = pa.Field(ge=0, description="The user's hard annual budget")
    used_this_year: Series[int] = pa.Field(ge=0, description="The user's net credits this year up to and including this month (all rows)")
    remaining_annual: Series[int] = pa.Field(ge=0, description="annual_budget - used_this_year, never below 0")

    class Config:
        strict = True
        coerce = True


class CreditUsageDaily(pa.DataFrameModel):
    """Render counts and credits per user and UTC day, for trends."""

    demo: Series[bool] = pa.Field(description=DEMO_DESCRIPTION)
    user_id: Series[str] = pa.Field(description="User id (UUID)")
    email: Series[str] = pa.Field(nullable=True, description="User's email")
    day: Series[str] = pa.Field(str_matches=r"^\d{4}-\d{2}-\d{2}$", description="Day (UTC) as YYYY-MM-DD")
    year: Series[int] = pa.Field(ge=2000, description="Calendar year of day")
    month: Series[int] = pa.Field(ge=1, le=12, description="Calendar month of day, 1-12")
    renders: Series[int] = pa.Field(ge=0, description="Render attempts charged (first renders and regenerations)")
    regeneration_renders: Series[int] = pa.Field(ge=0, description="Of the renders, how many were regenerations")
    failed_renders: Series[int] = pa.Field(ge=0, description="Render attempts refunded (failed)")
    delivered_renders: Series[int] = pa.Field(ge=0, description="renders - failed_renders")
    generations: Series[int] = pa.Field(ge=0, description="Credits charged for first renders")
    regenerations: Series[int] = pa.Field(ge=0, description="Credits charged for re-renders")
    refunds: Series[int] = pa.Field(ge=0, description="Credits given back for failed renders")
    net_credits: Series[int] = pa.Field(description="generations + regenerations - refunds")

    class Config:
        strict = True
        coerce = True


class CreditUsageByScene(pa.DataFrameModel):
    """Render counts and credits per user, month, scene and renderer."""

    demo: Series[bool] = pa.Field(description=DEMO_DESCRIPTION)
    user_id: Series[str] = pa.Field(description="User id (UUID)")
    year: Series[int] = pa.Field(ge=2000, description="Calendar year (UTC)")
    month: Series[int] = pa.Field(ge=1, le=12, description="Calendar month, 1-12 (UTC)")
    scene: Series[str] = pa.Field(description="Scene key (bedroom, living_room, ...)")
    renderer: Series[str] = pa.Field(description="local or dynamic_mockups")
    renders: Series[int] = pa.Field(ge=0, description="Render attempts charged")
    failed_renders: Series[int] = pa.Field(ge=0, description="Render attempts refunded (failed)")
    delivered_renders: Series[int] = pa.Field(ge=0, description="renders - failed_renders")
    charges: Series[int] = pa.Field(ge=0, description="Credits charged")
    refunds: Series[int] = pa.Field(ge=0, description="Credits refunded")
    net_credits: Series[int] = pa.Field(description="charges - refunds")

    class Config:
        strict = True
        coerce = True


class RenderOutcomes(pa.DataFrameModel):
    """Render results per renderer and scene: the mockups' state and every attempt the ledger charged."""

    demo: Series[bool] = pa.Field(description=DEMO_DESCRIPTION)
    renderer: Series[str] = pa.Field(description="local or dynamic_mockups")
    scene: Series[str] = pa.Field(description="Scene key")
    completed: Series[int] = pa.Field(ge=0, description="Mockups rendered (completed, approved or rejected)")
    failed: Series[int] = pa.Field(ge=0, description="Mockups whose last render failed")
    in_progress: Series[int] = pa.Field(ge=0, description="Mockups pending or generating")
    attempts: Series[int] = pa.Field(ge=0, description="Render attempts the ledger charged (retries included)")
    failed_attempts: Series[int] = pa.Field(ge=0, description="Of the attempts, how many failed and were refunded")
    failure_rate: Series[float] = pa.Field(ge=0, le=1, description="failed_attempts / attempts (0 without attempts)")
    mean_latency_ms: Series[float] = pa.Field(nullable=True, ge=0, description="Mean render time in ms, where reported")

    class Config:
        strict = True
        coerce = True


SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "credit_usage_monthly": CreditUsageMonthly,
    "credit_usage_daily": CreditUsageDaily,
    "credit_usage_by_scene": CreditUsageByScene,
    "render_outcomes": RenderOutcomes,
}
