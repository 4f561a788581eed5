"""Analyst tables: credit usage by month, day and scene, and render outcomes, written into the app database.

SQL users read ``analytics_credit_usage_monthly``, ``analytics_credit_usage_daily``,
``analytics_credit_usage_by_scene`` and ``analytics_render_outcomes``
(docs/analytics.md has the columns and example queries). Each is rebuilt whole from the ledger and
the mockups table (cheap at this scale, and a rebuild can never drift from its sources).

Conventions chosen here:

- Counts stand next to credits everywhere, because the local renderer costs 0 credits and a table of
  credits alone reads all zeros: ``renders`` counts render attempts that reserved credits (first
  renders and regenerations, one ledger charge row each), ``failed_renders`` the attempts refunded,
  ``delivered_renders`` the difference (a reservation still open counts as delivered until it is
  settled, as its credits are taken).
- A row's day, month and year are those of its reservation (calendar UTC), so a refund lands where
  its credits were taken, as the ledger books it.
- ``demo`` is true for rows made by the demo history (``haven demo --load --history N``): their
  reservations' idempotency keys start with :data:`DEMO_HISTORY_KEY_PREFIX`, and their mockups say
  ``demo_history`` in their renderer metadata. Every table keeps demo rows apart from real ones (the
  column is part of each row's key); filter ``WHERE NOT demo`` for real figures.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from haven_pipelines.db.tables import credit_reservations as reservations_t
from haven_pipelines.db.tables import mockup_credit_usage as usage_t
from haven_pipelines.db.tables import mockups as mockups_t
from haven_pipelines.db.tables import user_settings, users
from haven_pipelines.db.tenancy import cross_tenant_connection, cross_tenant_transaction
from haven_pipelines.domain.credits import DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT

TABLE_PREFIX = "analytics_"
# The idempotency keys of the demo history's reservations start with this (see services.demo_history).
DEMO_HISTORY_KEY_PREFIX = "demo-history:"
# The flag the demo history puts in a mockup's renderer metadata.
DEMO_HISTORY_METADATA_FLAG = "demo_history"

_COUNTS = ["renders", "regeneration_renders", "failed_renders", "delivered_renders"]
_CREDITS = ["generations", "regenerations", "refunds", "net_credits"]
MONTHLY_COLUMNS = [
    "demo", "user_id", "email", "year", "month", *_COUNTS, *_CREDITS,
    "soft_limit", "percent_of_soft_limit", "annual_budget", "used_this_year", "remaining_annual",
]
DAILY_COLUMNS = ["demo", "user_id", "email", "day", "year", "month", *_COUNTS, *_CREDITS]
BY_SCENE_COLUMNS = [
    "demo", "user_id", "year", "month", "scene", "renderer", "renders", "failed_renders", "delivered_renders",
    "charges", "refunds", "net_credits",
]
OUTCOME_COLUMNS = [
    "demo", "renderer", "scene", "completed", "failed", "in_progress", "attempts", "failed_attempts",
    "failure_rate", "mean_latency_ms",
]
TABLES = ("credit_usage_monthly", "credit_usage_daily", "credit_usage_by_scene", "render_outcomes")

_STRINGS = ("user_id", "email", "scene", "renderer", "day")
_FLOATS = ("percent_of_soft_limit", "mean_latency_ms", "failure_rate")


def _dtype(column: str) -> str:
    if column in _STRINGS:
        return "string"
    if column in _FLOATS:
        return "float64"
    if column == "demo":
        return "bool"
    return "int64"


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].astype({c: _dtype(c) for c in columns}).reset_index(drop=True)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in columns})


def _ledger_frame(engine: Engine) -> pd.DataFrame:
    """Every ledger row with its user's email, its reservation's time (UTC day) and the demo flag.

    Adds the per-row count and credit columns that the tables sum.
    """
    u, r = usage_t, reservations_t
    stmt = (
        select(
            u.c.user_id, users.c.email, u.c.year, u.c.month, u.c.operation, u.c.scene, u.c.renderer, u.c.credits,
            func.coalesce(r.c.created_at, u.c.created_at).label("booked_at"), r.c.idempotency_key,
        )
        .select_from(u.join(users, users.c.id == u.c.user_id).outerjoin(r, r.c.id == u.c.reservation_id))
    )
    with cross_tenant_connection(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    columns = ["user_id", "email", "year", "month", "operation", "scene", "renderer", "credits", "booked_at",
               "idempotency_key"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame = frame.astype({"year": "int64", "month": "int64", "credits": "int64"})
    # SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones: both become UTC here.
    frame["day"] = pd.to_datetime(frame["booked_at"], utc=True, format="mixed").dt.strftime("%Y-%m-%d")
    frame["demo"] = frame["idempotency_key"].fillna("").str.startswith(DEMO_HISTORY_KEY_PREFIX).astype(bool)
    frame["scene"] = frame["scene"].fillna("unknown")
    frame["renderer"] = frame["renderer"].fillna("unknown")
    charge = frame["operation"] != "refund"
    frame["renders"] = charge.astype("int64")
    frame["regeneration_renders"] = (frame["operation"] == "regeneration").astype("int64")
    frame["failed_renders"] = (~charge).astype("int64")
    frame["delivered_renders"] = frame["renders"] - frame["failed_renders"]
    frame["generations"] = frame["credits"].where(frame["operation"] == "generation", 0)
    frame["regenerations"] = frame["credits"].where(frame["operation"] == "regeneration", 0)
    frame["refunds"] = (-frame["credits"]).where(~charge, 0)
    frame["charges"] = frame["credits"].where(charge, 0)
    frame["net_credits"] = frame["credits"]
    return frame


def _guardrails(engine: Engine) -> pd.DataFrame:
    with cross_tenant_connection(engine) as conn:
        rows = conn.execute(
            select(user_settings.c.user_id, user_settings.c.annual_mockup_budget, user_settings.c.monthly_mockup_soft_limit)
        ).mappings().all()
    return pd.DataFrame(rows, columns=["user_id", "annual_mockup_budget", "monthly_mockup_soft_limit"])


def credit_usage_monthly(engine: Engine) -> pd.DataFrame:
    """Per user, year, month and demo flag: render counts, credits (generations, regenerations,
    refunds, net), the soft limit and the share of it this row used, and the user's annual position
    at the end of that month (``used_this_year`` and ``remaining_annual`` count every row of the
    user, demo or not, as the ledger's budget does)."""
    ledger = _ledger_frame(engine)
    if ledger.empty:
        return _empty(MONTHLY_COLUMNS)
    keys = ["user_id", "email", "year", "month", "demo"]
    monthly = ledger.groupby(keys, as_index=False)[[*_COUNTS, *_CREDITS]].sum()
    position = (
        ledger.groupby(["user_id", "year", "month"], as_index=False)["net_credits"].sum()
        .sort_values(["user_id", "year", "month"])
    )
    position["used_this_year"] = position.groupby(["user_id", "year"])["net_credits"].cumsum()
    monthly = monthly.merge(position[["user_id", "year", "month", "used_this_year"]], on=["user_id", "year", "month"])
    monthly = monthly.merge(_guardrails(engine), on="user_id", how="left")
    monthly["soft_limit"] = monthly["monthly_mockup_soft_limit"].fillna(DEFAULT_MONTHLY_SOFT_LIMIT).astype("int64")
    monthly["annual_budget"] = monthly["annual_mockup_budget"].fillna(DEFAULT_ANNUAL_BUDGET).astype("int64")
    limit = monthly["soft_limit"].where(monthly["soft_limit"] > 0)
    monthly["percent_of_soft_limit"] = (monthly["net_credits"] * 100.0 / limit).round(1).fillna(0.0).clip(lower=0)
    monthly["remaining_annual"] = (monthly["annual_budget"] - monthly["used_this_year"]).clip(lower=0)
    monthly = monthly.sort_values(["user_id", "year", "month", "demo"])
    return _typed(monthly, MONTHLY_COLUMNS)


def credit_usage_daily(engine: Engine) -> pd.DataFrame:
    """Per user, UTC day and demo flag: render counts and credits (for trends; ``day`` is ``YYYY-MM-DD``)."""
    ledger = _ledger_frame(engine)
    if ledger.empty:
        return _empty(DAILY_COLUMNS)
    daily = ledger.groupby(["user_id", "email", "day", "year", "month", "demo"], as_index=False)[[*_COUNTS, *_CREDITS]].sum()
    return _typed(daily.sort_values(["day", "user_id", "demo"]), DAILY_COLUMNS)


def credit_usage_by_scene(engine: Engine) -> pd.DataFrame:
    """Per user, year, month, scene, renderer and demo flag: render counts and credits charged,
    refunded and net."""
    ledger = _ledger_frame(engine)
    if ledger.empty:
        return _empty(BY_SCENE_COLUMNS)
    keys = ["user_id", "year", "month", "scene", "renderer", "demo"]
    out = ledger.groupby(keys, as_index=False)[["renders", "failed_renders", "delivered_renders", "charges", "refunds",
                                                "net_credits"]].sum()
    return _typed(out.sort_values(keys), BY_SCENE_COLUMNS)


def render_outcomes(engine: Engine) -> pd.DataFrame:
    """Per renderer, scene and demo flag: the mockups' current state (completed, including approved and
    rejected; failed; in progress), every render attempt the ledger charged and how many of them
    failed (refunded), the failure rate of those attempts, and the mean render latency in
    milliseconds where the renderer reported it."""
    stmt = select(mockups_t.c.renderer, mockups_t.c.scene, mockups_t.c.status, mockups_t.c.renderer_metadata)
    with cross_tenant_connection(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    keys = ["renderer", "scene", "demo"]
    states = pd.DataFrame(
        [{"renderer": r["renderer"] or "unknown", "scene": r["scene"], "status": r["status"],
          "demo": bool((r["renderer_metadata"] or {}).get(DEMO_HISTORY_METADATA_FLAG, False)),
          "latency": (r["renderer_metadata"] or {}).get("elapsed_ms")} for r in rows],
        columns=["renderer", "scene", "status", "demo", "latency"],
    )
    states["completed"] = states["status"].isin(["completed", "approved", "rejected"]).astype("int64")
    states["failed"] = (states["status"] == "failed").astype("int64")
    states["in_progress"] = states["status"].isin(["pending", "generating"]).astype("int64")
    states["latency"] = pd.to_numeric(states["latency"], errors="coerce")
    by_state = states.groupby(keys, as_index=False).agg(
        completed=("completed", "sum"), failed=("failed", "sum"), in_progress=("in_progress", "sum"),
        mean_latency_ms=("latency", "mean"),
    )
    ledger = _ledger_frame(engine)
    if ledger.empty:
        attempts = pd.DataFrame(columns=[*keys, "attempts", "failed_attempts"])
    else:
        attempts = ledger.groupby(keys, as_index=False)[["renders", "failed_renders"]].sum().rename(
            columns={"renders": "attempts", "failed_renders": "failed_attempts"})
    if by_state.empty and attempts.empty:
        return _empty(OUTCOME_COLUMNS)
    out = by_state.merge(attempts, on=keys, how="outer")
    for column in ("completed", "failed", "in_progress", "attempts", "failed_attempts"):
        out[column] = out[column].fillna(0).astype("int64")
    out["failure_rate"] = (out["failed_attempts"] / out["attempts"].where(out["attempts"] > 0)).round(4).fillna(0.0)
    return _typed(out.sort_values(keys), OUTCOME_COLUMNS)


BUILDERS = {
    "credit_usage_monthly": credit_usage_monthly,
    "credit_usage_daily": credit_usage_daily,
    "credit_usage_by_scene": credit_usage_by_scene,
    "render_outcomes": render_outcomes,
}


def write_table(engine: Engine, name: str, frame: pd.DataFrame) -> int:
    """Replace ``analytics_<name>`` in the app database with ``frame``; returns the rows written."""
    table = f"{TABLE_PREFIX}{name}"
    with cross_tenant_transaction(engine) as conn:
        frame.to_sql(table, conn, if_exists="replace", index=False)
    return len(frame)


def read_table(engine: Engine, name: str) -> pd.DataFrame | None:
    """``analytics_<name>`` as last written, typed as its builder makes it; None when it was never
    written, or was written with other columns (by an older version: rebuild it)."""
    if name not in BUILDERS:
        raise KeyError(name)
    table = f"{TABLE_PREFIX}{name}"
    if not inspect(engine).has_table(table):
        return None
    with cross_tenant_connection(engine) as conn:
        frame = pd.read_sql_table(table, conn)
    columns = {"credit_usage_monthly": MONTHLY_COLUMNS, "credit_usage_daily": DAILY_COLUMNS,
               "credit_usage_by_scene": BY_SCENE_COLUMNS, "render_outcomes": OUTCOME_COLUMNS}[name]
    if list(frame.columns) != columns:
        return None  # written by an older version: treat as not written, so it is rebuilt
    # SQLite stores booleans as 0/1.
    return _typed(frame.assign(demo=frame["demo"].astype(bool)), columns)


def rebuild_tables(engine: Engine, names: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Rebuild and write the named analyst tables (unvalidated; the Dagster assets validate first).

    Returns:
        Rows written per table.
    """
    return {name: write_table(engine, name, BUILDERS[name](engine)) for name in names}


def current_month(now: datetime | None = None) -> tuple[int, int]:
    """The current calendar month in UTC, as (year, month)."""
    now = now or datetime.now(UTC)
    return now.year, now.month


def ledger_totals(engine: Engine) -> dict[str, int]:
    """Net credits charged and credits on mockups, for the balance check (they must be equal once no
    reservation is open)."""
    with cross_tenant_connection(engine) as conn:
        charged = conn.execute(select(func.coalesce(func.sum(usage_t.c.credits), 0))).scalar_one()
        on_mockups = conn.execute(select(func.coalesce(func.sum(mockups_t.c.credits_used), 0))).scalar_one()
    return {"charged": int(charged), "on_mockups": int(on_mockups)}
