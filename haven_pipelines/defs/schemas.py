"""pandera models of the analyst tables, with the column descriptions SQL users read.

Each table is written to the application database as ``analytics_<asset name>`` and validated
against its model before the write and again by an asset check afterwards.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing.pandas import Series


class CreditUsageMonthly(pa.DataFrameModel):
    """Credits per user and calendar month, with the soft limit and what remains of the year."""

    user_id: Series[str] = pa.Field(description="User id (UUID)")
    email: Series[str] = pa.Field(nullable=True, description="User's email")
    year: Series[int] = pa.Field(ge=2000, description="Calendar year")
    month: Series[int] = pa.Field(ge=1, le=12, description="Calendar month, 1-12")
    generations: Series[int] = pa.Field(ge=0, description="Credits charged for first renders")
    regenerations: Series[int] = pa.Field(ge=0, description="Credits charged for re-renders")
    refunds: Series[int] = pa.Field(ge=0, description="Credits given back for failed renders")
    net_credits: Series[int] = pa.Field(description="generations + regenerations - refunds")
    soft_limit: Series[int] = pa.Field(ge=0, description="The user's monthly soft limit (warns, never blocks)")
    percent_of_soft_limit: Series[float] = pa.Field(ge=0, description="net_credits as a percent of soft_limit")
    annual_budget: Series[int] = pa.Field(ge=0, description="The user's hard annual budget")
    used_this_year: Series[int] = pa.Field(ge=0, description="Net credits used this year up to and including this month")
    remaining_annual: Series[int] = pa.Field(ge=0, description="annual_budget - used_this_year, never below 0")

    class Config:
        strict = True
        coerce = True


class CreditUsageByScene(pa.DataFrameModel):
    """Credits per user, month, scene and renderer."""

    user_id: Series[str] = pa.Field(description="User id (UUID)")
    year: Series[int] = pa.Field(ge=2000, description="Calendar year")
    month: Series[int] = pa.Field(ge=1, le=12, description="Calendar month, 1-12")
    scene: Series[str] = pa.Field(description="Scene key (bedroom, living_room, ...)")
    renderer: Series[str] = pa.Field(description="local or dynamic_mockups")
    charges: Series[int] = pa.Field(ge=0, description="Credits charged")
    refunds: Series[int] = pa.Field(ge=0, description="Credits refunded")
    net_credits: Series[int] = pa.Field(description="charges - refunds")

    class Config:
        strict = True
        coerce = True


class RenderOutcomes(pa.DataFrameModel):
    """Render results per renderer and scene."""

    renderer: Series[str] = pa.Field(description="local or dynamic_mockups")
    scene: Series[str] = pa.Field(description="Scene key")
    completed: Series[int] = pa.Field(ge=0, description="Mockups rendered (completed, approved or rejected)")
    failed: Series[int] = pa.Field(ge=0, description="Mockups whose last render failed")
    in_progress: Series[int] = pa.Field(ge=0, description="Mockups pending or generating")
    mean_latency_ms: Series[float] = pa.Field(nullable=True, ge=0, description="Mean render time in ms, where reported")

    class Config:
        strict = True
        coerce = True


SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "credit_usage_monthly": CreditUsageMonthly,
    "credit_usage_by_scene": CreditUsageByScene,
    "render_outcomes": RenderOutcomes,
}
