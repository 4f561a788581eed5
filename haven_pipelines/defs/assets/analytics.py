"""Analyst tables in the application database, read by SQL users: credit use and render outcomes.

Each asset rebuilds its table whole from the ledger and the mockups (``analytics_<asset name>``),
validates it against its pandera model first (a bad frame is never written), and records numeric
metadata (``MetadataValue.int``/``float``) so that the UI plots the figures over time, with the
newest rows as a table preview. ``credit_report_job`` runs them all (on demand, and monthly);
``nightly_catalog_job`` rebuilds them at its end and records a materialisation of each (the
``refresh_analyst_tables`` op); ``credit_report_after_runs_sensor``, when turned on, launches
``credit_report_job`` after every successful catalogue or generate run.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pandera.errors
import pandera.pandas as pa

from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.defs.schemas import SCHEMAS
from haven_pipelines.services import analytics

GROUP = "analytics"


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """The model's columns, types and descriptions, as the UI's column schema."""
    schema = model.to_schema()
    return dg.TableSchema(
        columns=[dg.TableColumn(name=n, type=str(c.dtype), description=c.description or "") for n, c in schema.columns.items()]
    )


def validate_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame validated (and coerced) by the table's pandera model; all failures at once.

    Raises:
        dagster.Failure: listing the failing columns and checks.
    """
    try:
        return SCHEMAS[name].validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = "; ".join(f"{r['column']}: {r['check']}" for _, r in cases.head(5).iterrows())
        raise dg.Failure(
            description=f"analytics_{name} does not match its model: {summary}",
            metadata={"failure_cases": dg.MetadataValue.int(len(cases))},
        ) from None


PREVIEW_ROWS = 20


def preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """The last ``rows`` rows (the tables are sorted oldest first, so these are the newest) as a
    table the UI shows on the materialisation."""
    tail = frame.tail(rows)
    records = [
        dg.TableRecord({c: _plain(v) for c, v in record.items()}) for record in tail.to_dict(orient="records")
    ]
    schema = dg.TableSchema(columns=[dg.TableColumn(name=c, type=str(t)) for c, t in frame.dtypes.items()])
    return dg.MetadataValue.table(records=records, schema=schema)


def _plain(value: object) -> str | int | float | bool | None:
    """A cell as a plain Python value (numpy and pandas scalars are not accepted by TableRecord)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _this_month(frame: pd.DataFrame) -> pd.DataFrame:
    year, month = analytics.current_month()
    return frame[(frame["year"] == year) & (frame["month"] == month)]


def _figures_monthly(frame: pd.DataFrame) -> dict[str, object]:
    this_month = _this_month(frame)
    figures: dict[str, object] = {
        "credits_this_month": dg.MetadataValue.int(int(this_month["net_credits"].sum())),
        "renders_this_month": dg.MetadataValue.int(int(this_month["renders"].sum())),
        "failed_renders_this_month": dg.MetadataValue.int(int(this_month["failed_renders"].sum())),
        "users_this_month": dg.MetadataValue.int(int(this_month["user_id"].nunique())),
        "demo_rows": dg.MetadataValue.int(int(frame["demo"].sum())),
    }
    if frame.empty:
        return {**figures, "net_credits_latest_month": dg.MetadataValue.int(0), "users_over_80_percent": dg.MetadataValue.int(0)}
    period = frame["year"] * 100 + frame["month"]
    latest = frame[period == period.max()]
    # A user's share of the soft limit is over all their rows of the month (demo and real together).
    shares = latest.groupby("user_id")["percent_of_soft_limit"].sum()
    figures.update({
        "net_credits_latest_month": dg.MetadataValue.int(int(latest["net_credits"].sum())),
        "users_over_80_percent": dg.MetadataValue.int(int((shares >= 80).sum())),
        "highest_percent_of_soft_limit": dg.MetadataValue.float(float(shares.max())),
        "lowest_remaining_annual": dg.MetadataValue.int(int(latest["remaining_annual"].min())),
    })
    return figures


def _figures_daily(frame: pd.DataFrame) -> dict[str, object]:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    todays = frame[frame["day"] == today]
    last_7 = frame[frame["day"] >= (datetime.now(UTC) - timedelta(days=6)).strftime("%Y-%m-%d")]
    return {
        "credits_today": dg.MetadataValue.int(int(todays["net_credits"].sum())),
        "renders_today": dg.MetadataValue.int(int(todays["renders"].sum())),
        "credits_last_7_days": dg.MetadataValue.int(int(last_7["net_credits"].sum())),
        "renders_last_7_days": dg.MetadataValue.int(int(last_7["renders"].sum())),
        "days": dg.MetadataValue.int(int(frame["day"].nunique())),
        "demo_rows": dg.MetadataValue.int(int(frame["demo"].sum())),
    }


def _figures_by_scene(frame: pd.DataFrame) -> dict[str, object]:
    this_month = _this_month(frame)
    figures: dict[str, object] = {
        "credits_charged": dg.MetadataValue.int(int(frame["charges"].sum())),
        "credits_refunded": dg.MetadataValue.int(int(frame["refunds"].sum())),
        "renders": dg.MetadataValue.int(int(frame["renders"].sum())),
        "failed_renders": dg.MetadataValue.int(int(frame["failed_renders"].sum())),
        "credits_this_month": dg.MetadataValue.int(int(this_month["net_credits"].sum())),
        "renders_this_month": dg.MetadataValue.int(int(this_month["renders"].sum())),
        "scenes": dg.MetadataValue.int(int(frame["scene"].nunique())),
    }
    if not this_month.empty:
        top = this_month.groupby("scene")["renders"].sum()
        figures["top_scene_this_month"] = dg.MetadataValue.text(str(top.idxmax()))
    return figures


def _figures_outcomes(frame: pd.DataFrame) -> dict[str, object]:
    completed = int(frame["completed"].sum())
    failed = int(frame["failed"].sum())
    attempts = int(frame["attempts"].sum())
    failed_attempts = int(frame["failed_attempts"].sum())
    figures: dict[str, object] = {
        "completed": dg.MetadataValue.int(completed),
        "failed": dg.MetadataValue.int(failed),
        "attempts": dg.MetadataValue.int(attempts),
        "failed_attempts": dg.MetadataValue.int(failed_attempts),
        "failure_rate": dg.MetadataValue.float(round(failed_attempts / attempts, 4) if attempts else 0.0),
    }
    latency = frame["mean_latency_ms"].dropna()
    if len(latency):
        figures["mean_latency_ms"] = dg.MetadataValue.float(float(round(latency.mean(), 1)))
    return figures


_COMPUTE = {name: getattr(analytics, name) for name in SCHEMAS}
_FIGURES: dict[str, Callable[[pd.DataFrame], dict[str, object]]] = {
    "credit_usage_monthly": _figures_monthly,
    "credit_usage_daily": _figures_daily,
    "credit_usage_by_scene": _figures_by_scene,
    "render_outcomes": _figures_outcomes,
}


def rebuild_table(context: dg.OpExecutionContext | dg.AssetExecutionContext, engine, name: str) -> dict[str, object]:
    """Build ``analytics_<name>``, validate it against its model, write it; returns the
    materialisation's metadata (row count, figures to plot, preview). Shared by the assets and the
    nightly job's ``refresh_analyst_tables`` op.

    Raises:
        dagster.Failure: the frame does not match its model (nothing is written).
    """
    frame = validate_frame(name, _COMPUTE[name](engine))
    rows = analytics.write_table(engine, name, frame)
    context.log.info("wrote %d row(s) to %s%s", rows, analytics.TABLE_PREFIX, name)
    return {"dagster/row_count": dg.MetadataValue.int(rows), **_FIGURES[name](frame), "preview": preview(frame)}


def _analyst_table(name: str, description: str) -> dg.AssetsDefinition:
    model = SCHEMAS[name]

    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds={"pandas", "sql"},
        # Lineage only: the tables read the credit ledger, which the mockups runs write.
        deps=[dg.AssetKey("mockups")],
        description=description,
        metadata={"dagster/column_schema": column_schema(model), "table": f"{analytics.TABLE_PREFIX}{name}"},
    )
    def _table(context: dg.AssetExecutionContext, haven: HavenResource) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=rebuild_table(context, haven.ctx.engine, name))

    return _table


credit_usage_monthly = _analyst_table(
    "credit_usage_monthly",
    "Render counts and credits per user and month: renders, failed and delivered renders, generations, "
    "regenerations, refunds, net credits, the soft limit and the percent of it used, and the annual "
    "budget left; `demo` marks the demo history's rows. Table `analytics_credit_usage_monthly`. "
    "Like every analyst table: rebuilt at the end of every nightly_catalog_job run, on demand with "
    "credit_report_job, and after catalogue runs when credit_report_after_runs_sensor is on.",
)
credit_usage_daily = _analyst_table(
    "credit_usage_daily",
    "Render counts and credits per user and UTC day, for trends; `demo` marks the demo history's rows. "
    "Table `analytics_credit_usage_daily`.",
)
credit_usage_by_scene = _analyst_table(
    "credit_usage_by_scene",
    "Render counts and credits per user, month, scene and renderer: renders, failed and delivered "
    "renders, credits charged, refunded, net. Table `analytics_credit_usage_by_scene`.",
)
render_outcomes = _analyst_table(
    "render_outcomes",
    "Render results per renderer and scene: mockups completed, failed, in progress; render attempts, "
    "failed attempts and the failure rate; mean latency. Table `analytics_render_outcomes`.",
)

ANALYST_TABLES = [credit_usage_monthly, credit_usage_daily, credit_usage_by_scene, render_outcomes]
