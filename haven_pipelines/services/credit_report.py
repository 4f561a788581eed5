"""``haven credits report``: the analyst tables summed by day, month, scene or user, for people.

The report reads the tables the Dagster assets write (``analytics_credit_usage_daily``,
``..._monthly``, ``..._by_scene``), so the command and a SQL user see the same figures. The tables
are rebuilt after every catalogue and nightly run; ``refresh=True`` rebuilds them first, from the
same builders (:mod:`haven_pipelines.services.analytics`).

Scope: the acting user's rows, as everywhere else in the CLI; ``all_users=True`` is the operator's
view over every user (``by="user"`` is then one row per user and demo flag). Demo rows (the demo
history) are kept apart by the ``demo`` column, never summed with real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.users import resolve_user
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.services import analytics

GROUPINGS = ("day", "month", "scene", "user")
_COUNTS = ["renders", "failed_renders", "delivered_renders"]


class TablesNotBuilt(ValidationError):
    """The analyst tables were never written (or were written by an older version)."""

    def __init__(self, table: str):
        super().__init__(
            "tables",
            f"{analytics.TABLE_PREFIX}{table} has not been built yet (or by an older version): run "
            "`haven credits report --refresh`, "
            "`haven pipeline run`, or credit_report_job in the Dagster UI",
        )


@dataclass(frozen=True)
class CreditReport:
    """A report: what it is grouped by, for whom, its columns and its rows (oldest or largest first)."""

    by: str
    scope: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, object], ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: grouping, scope and rows."""
        return {"by": self.by, "scope": self.scope, "columns": list(self.columns), "rows": [dict(r) for r in self.rows]}


def credit_report(
    engine: Engine, by: str, user_ref: str | None = None, *, all_users: bool = False, refresh: bool = False,
    year: int | None = None,
) -> CreditReport:
    """Credits and render counts grouped ``by`` day, month, scene or user, from the analyst tables.

    Args:
        engine: the application database.
        by: ``day``, ``month``, ``scene`` or ``user``.
        user_ref: the acting user (id or email); the report covers only their rows unless ``all_users``.
        all_users: every user's rows (the operator's view).
        refresh: rebuild the analyst tables first.
        year: the year ``by="user"`` covers (default this year, UTC).

    Raises:
        ValidationError: an unknown grouping, or the tables were never built (and ``refresh`` was not asked).
        NotFound: no such user.
    """
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 9999):
        raise ValidationError("year", f"must be a calendar year from 2000 to 9999, got {year!r}")
    if by not in GROUPINGS:
        raise ValidationError("by", f"must be one of {', '.join(GROUPINGS)}, got {by!r}")
    user = None
    if not all_users:
        with engine.connect() as conn:
            user = resolve_user(conn, user_ref or "")
    if refresh:
        analytics.rebuild_tables(engine, ("credit_usage_monthly", "credit_usage_daily", "credit_usage_by_scene"))
    table = {"day": "credit_usage_daily", "month": "credit_usage_monthly", "scene": "credit_usage_by_scene",
             "user": "credit_usage_monthly"}[by]
    frame = analytics.read_table(engine, table)
    if frame is None:
        raise TablesNotBuilt(table)
    if user is not None:
        frame = frame[frame["user_id"] == user["id"]]
    scope = "all users" if user is None else str(user["email"])
    frame = _by_user(frame, year or datetime.now(UTC).year) if by == "user" else _GROUPERS[by](frame)
    rows = tuple({c: _plain(v) for c, v in r.items()} for r in frame.to_dict(orient="records"))
    return CreditReport(by=by, scope=scope, columns=tuple(frame.columns), rows=rows)


def _by_day(daily: pd.DataFrame) -> pd.DataFrame:
    out = daily.groupby(["day", "demo"], as_index=False)[[*_COUNTS, "net_credits"]].sum()
    return out.sort_values(["day", "demo"])[["day", "demo", *_COUNTS, "net_credits"]]


def _by_month(monthly: pd.DataFrame) -> pd.DataFrame:
    monthly = monthly.assign(month=monthly["year"].astype(str) + "-" + monthly["month"].map("{:02d}".format))
    sums = ["generations", "regenerations", "refunds", "net_credits"]
    out = monthly.groupby(["month", "demo"], as_index=False)[[*_COUNTS, *sums]].sum()
    return out.sort_values(["month", "demo"])[["month", "demo", *_COUNTS, *sums]]


def _by_scene(by_scene: pd.DataFrame) -> pd.DataFrame:
    out = by_scene.groupby(["scene", "renderer", "demo"], as_index=False)[[*_COUNTS, "charges", "refunds", "net_credits"]].sum()
    return out.sort_values(["renders", "scene"], ascending=[False, True])[
        ["scene", "renderer", "demo", *_COUNTS, "charges", "refunds", "net_credits"]]


def _by_user(monthly: pd.DataFrame, year: int) -> pd.DataFrame:
    """One year per user: counts and credits, and the annual position (which counts every row)."""
    this_year = monthly[monthly["year"] == year]
    out = this_year.groupby(["email", "demo"], as_index=False)[[*_COUNTS, "net_credits"]].sum()
    latest = (this_year.sort_values("month").groupby("email", as_index=False)
              [["used_this_year", "annual_budget", "remaining_annual"]].last())
    out = out.merge(latest, on="email", how="left")
    budget = out["annual_budget"].where(out["annual_budget"] > 0)
    out["percent_of_annual_budget"] = (out["used_this_year"] * 100.0 / budget).round(1).fillna(0.0)
    columns = ["email", "demo", *_COUNTS, "net_credits", "used_this_year", "annual_budget", "remaining_annual",
               "percent_of_annual_budget"]
    return out.sort_values(["used_this_year", "email"], ascending=[False, True])[columns]


_GROUPERS = {"day": _by_day, "month": _by_month, "scene": _by_scene}


def _plain(value: object) -> object:
    """A cell as a plain Python value (JSON-ready)."""
    if hasattr(value, "item"):
        return value.item()
    return value
