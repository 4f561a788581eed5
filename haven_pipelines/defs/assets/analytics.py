"""Analyst tables in the application database, read by SQL users: credit use and render outcomes.

Each asset rebuilds its table whole from the ledger and the mockups (``analytics_<asset name>``),
validates it against its pandera model first (a bad frame is never written), and records numeric
metadata so that the UI plots the figures over time.
"""

from collections.abc import Callable

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


def _figures_monthly(frame: pd.DataFrame) -> dict[str, object]:
    if frame.empty:
        return {"net_credits_latest_month": 0, "users_over_80_percent": 0}
    latest = frame[(frame["year"] * 100 + frame["month"]) == (frame["year"] * 100 + frame["month"]).max()]
    return {
        "net_credits_latest_month": int(latest["net_credits"].sum()),
        "users_over_80_percent": int((latest["percent_of_soft_limit"] >= 80).sum()),
        "lowest_remaining_annual": int(latest["remaining_annual"].min()),
    }


def _figures_by_scene(frame: pd.DataFrame) -> dict[str, object]:
    return {
        "credits_charged": int(frame["charges"].sum()) if not frame.empty else 0,
        "credits_refunded": int(frame["refunds"].sum()) if not frame.empty else 0,
        "scenes": int(frame["scene"].nunique()) if not frame.empty else 0,
    }


def _figures_outcomes(frame: pd.DataFrame) -> dict[str, object]:
    completed = int(frame["completed"].sum()) if not frame.empty else 0
    failed = int(frame["failed"].sum()) if not frame.empty else 0
    figures: dict[str, object] = {"completed": completed, "failed": failed,
                                  "failure_rate": round(failed / (completed + failed), 4) if completed + failed else 0.0}
    latency = frame["mean_latency_ms"].dropna() if not frame.empty else frame
    if len(latency):
        figures["mean_latency_ms"] = float(round(latency.mean(), 1))
    return figures


def _analyst_table(
    name: str, compute: Callable[..., pd.DataFrame], figures: Callable[[pd.DataFrame], dict[str, object]], description: str
) -> dg.AssetsDefinition:
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
        engine = haven.ctx.engine
        frame = validate_frame(name, compute(engine))
        rows = analytics.write_table(engine, name, frame)
        context.log.info("wrote %d row(s) to %s%s", rows, analytics.TABLE_PREFIX, name)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, **figures(frame)})

    return _table


credit_usage_monthly = _analyst_table(
    "credit_usage_monthly", analytics.credit_usage_monthly, _figures_monthly,
    "Credits per user and month: generations, regenerations, refunds, net credits, the soft limit and "
    "the percent of it used, and the annual budget left. Table `analytics_credit_usage_monthly`.",
)
credit_usage_by_scene = _analyst_table(
    "credit_usage_by_scene", analytics.credit_usage_by_scene, _figures_by_scene,
    "Credits per user, month, scene and renderer: charged, refunded, net. Table `analytics_credit_usage_by_scene`.",
)
render_outcomes = _analyst_table(
    "render_outcomes", analytics.render_outcomes, _figures_outcomes,
    "Render results per renderer and scene: completed, failed, in progress, mean latency. "
    "Table `analytics_render_outcomes`.",
)

ANALYST_TABLES = [credit_usage_monthly, credit_usage_by_scene, render_outcomes]
