"""Analyst tables: credit usage by month and scene, and render outcomes, written into the app database.

SQL users read ``analytics_credit_usage_monthly``, ``analytics_credit_usage_by_scene`` and
``analytics_render_outcomes``. Each is rebuilt whole from the ledger and the mockups table (cheap at
this scale, and a rebuild can never drift from its sources).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from haven_pipelines.db.tables import mockup_credit_usage as usage_t
from haven_pipelines.db.tables import mockups as mockups_t
from haven_pipelines.db.tables import user_settings, users
from haven_pipelines.db.tenancy import cross_tenant_connection, cross_tenant_transaction

TABLE_PREFIX = "analytics_"

MONTHLY_COLUMNS = [
    "user_id", "email", "year", "month", "generations", "regenerations", "refunds", "net_credits",
    "soft_limit", "percent_of_soft_limit", "annual_budget", "used_this_year", "remaining_annual",
]
BY_SCENE_COLUMNS = ["user_id", "year", "month", "scene", "renderer", "charges", "refunds", "net_credits"]
OUTCOME_COLUMNS = ["renderer", "scene", "completed", "failed", "in_progress", "mean_latency_ms"]


def _ledger_frame(engine: Engine) -> pd.DataFrame:
    stmt = select(
        usage_t.c.user_id, usage_t.c.year, usage_t.c.month, usage_t.c.operation, usage_t.c.scene,
        usage_t.c.renderer, usage_t.c.credits, usage_t.c.seq,
    )
    with cross_tenant_connection(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    frame = pd.DataFrame(rows, columns=["user_id", "year", "month", "operation", "scene", "renderer", "credits", "seq"])
    return frame.astype({"year": "int64", "month": "int64", "credits": "int64", "seq": "int64"})


def credit_usage_monthly(engine: Engine) -> pd.DataFrame:
    """Per user, year and month: generations, regenerations, refunds (credits), net credits, the soft
    limit and the share of it used, and the annual budget left after that month."""
    ledger = _ledger_frame(engine)
    with cross_tenant_connection(engine) as conn:
        settings = pd.DataFrame(
            conn.execute(select(users.c.id.label("user_id"), users.c.email, user_settings.c.annual_mockup_budget,
                                user_settings.c.monthly_mockup_soft_limit)
                         .select_from(users.join(user_settings, users.c.id == user_settings.c.user_id))).mappings().all(),
            columns=["user_id", "email", "annual_mockup_budget", "monthly_mockup_soft_limit"],
        )
    if ledger.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in MONTHLY_COLUMNS})
    ledger["generations"] = ledger["credits"].where(ledger["operation"] == "generation", 0)
    ledger["regenerations"] = ledger["credits"].where(ledger["operation"] == "regeneration", 0)
    ledger["refunds"] = (-ledger["credits"]).where(ledger["operation"] == "refund", 0)
    monthly = (
        ledger.groupby(["user_id", "year", "month"], as_index=False)[["generations", "regenerations", "refunds", "credits"]]
        .sum()
        .rename(columns={"credits": "net_credits"})
        .sort_values(["user_id", "year", "month"])
    )
    monthly["used_this_year"] = monthly.groupby(["user_id", "year"])["net_credits"].cumsum()
    monthly = monthly.merge(settings, on="user_id", how="left")
    monthly["soft_limit"] = monthly["monthly_mockup_soft_limit"].fillna(292).astype("int64")
    monthly["annual_budget"] = monthly["annual_mockup_budget"].fillna(3500).astype("int64")
    limit = monthly["soft_limit"].where(monthly["soft_limit"] > 0)
    monthly["percent_of_soft_limit"] = (monthly["net_credits"] * 100.0 / limit).round(1).fillna(0.0)
    monthly["remaining_annual"] = (monthly["annual_budget"] - monthly["used_this_year"]).clip(lower=0)
    return monthly[MONTHLY_COLUMNS].astype({c: _dtype(c) for c in MONTHLY_COLUMNS}).reset_index(drop=True)


def credit_usage_by_scene(engine: Engine) -> pd.DataFrame:
    """Per user, year, month, scene and renderer: credits charged, refunded and net."""
    ledger = _ledger_frame(engine)
    if ledger.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in BY_SCENE_COLUMNS})
    ledger["scene"] = ledger["scene"].fillna("unknown")
    ledger["renderer"] = ledger["renderer"].fillna("unknown")
    ledger["charges"] = ledger["credits"].where(ledger["operation"] != "refund", 0)
    ledger["refunds"] = (-ledger["credits"]).where(ledger["operation"] == "refund", 0)
    out = (
        ledger.groupby(["user_id", "year", "month", "scene", "renderer"], as_index=False)[["charges", "refunds", "credits"]]
        .sum()
        .rename(columns={"credits": "net_credits"})
    )
    return out[BY_SCENE_COLUMNS].astype({c: _dtype(c) for c in BY_SCENE_COLUMNS}).reset_index(drop=True)


def render_outcomes(engine: Engine) -> pd.DataFrame:
    """Per renderer and scene: completed (incl. approved and rejected), failed, in progress, and the
    mean render latency in milliseconds where the renderer reported it."""
    stmt = select(mockups_t.c.renderer, mockups_t.c.scene, mockups_t.c.status, mockups_t.c.renderer_metadata)
    with cross_tenant_connection(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in OUTCOME_COLUMNS})
    frame = pd.DataFrame(
        [{"renderer": r["renderer"] or "unknown", "scene": r["scene"], "status": r["status"],
          "latency": (r["renderer_metadata"] or {}).get("elapsed_ms")} for r in rows]
    )
    frame["completed"] = frame["status"].isin(["completed", "approved", "rejected"]).astype("int64")
    frame["failed"] = (frame["status"] == "failed").astype("int64")
    frame["in_progress"] = frame["status"].isin(["pending", "generating"]).astype("int64")
    frame["latency"] = pd.to_numeric(frame["latency"], errors="coerce")
    out = frame.groupby(["renderer", "scene"], as_index=False).agg(
        completed=("completed", "sum"), failed=("failed", "sum"), in_progress=("in_progress", "sum"),
        mean_latency_ms=("latency", "mean"),
    )
    return out[OUTCOME_COLUMNS].astype({c: _dtype(c) for c in OUTCOME_COLUMNS}).reset_index(drop=True)


def _dtype(column: str) -> str:
    if column in ("user_id", "email", "scene", "renderer"):
        return "string"
    if column in ("percent_of_soft_limit", "mean_latency_ms"):
        return "float64"
    return "int64"


def write_table(engine: Engine, name: str, frame: pd.DataFrame) -> int:
    """Replace ``analytics_<name>`` in the app database with ``frame``; returns the rows written."""
    table = f"{TABLE_PREFIX}{name}"
    with cross_tenant_transaction(engine) as conn:
        frame.to_sql(table, conn, if_exists="replace", index=False)
    return len(frame)


def read_table(engine: Engine, name: str) -> pd.DataFrame:
    """The stored ``analytics_<name>`` table (read as the pipeline role, which owns it)."""
    with cross_tenant_connection(engine) as conn:
        return pd.read_sql_table(f"{TABLE_PREFIX}{name}", conn)


def ledger_totals(engine: Engine) -> dict[str, int]:
    """Net credits charged and credits on mockups, for the balance check (they must be equal once no
    reservation is open)."""
    with cross_tenant_connection(engine) as conn:
        charged = conn.execute(select(func.coalesce(func.sum(usage_t.c.credits), 0))).scalar_one()
        on_mockups = conn.execute(select(func.coalesce(func.sum(mockups_t.c.credits_used), 0))).scalar_one()
    return {"charged": int(charged), "on_mockups": int(on_mockups)}
