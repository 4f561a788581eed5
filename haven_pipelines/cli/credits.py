"""``haven credits``: a user's mockup credit usage against the annual budget and monthly soft limit."""

from __future__ import annotations

import csv
import io

import click

from haven_pipelines.cli.common import CALENDAR_YEAR, FIRST_YEAR, echo_json, engine, handle_errors, json_option, user_option
from haven_pipelines.services.credit_report import GROUPINGS, credit_report
from haven_pipelines.services.credits import credit_position


@click.group("credits")
def credits() -> None:
    """Mockup credits: usage, budget and soft limit."""


@credits.command("show")
@user_option
@click.option("--year", type=CALENDAR_YEAR, help=f"Calendar year (UTC), {FIRST_YEAR} to next year; default this year.")
@click.option("--month", type=click.IntRange(1, 12), help="Month 1-12 (UTC); default this month.")
@json_option
@handle_errors
def show(user_ref: str, year: int | None, month: int | None, as_json: bool) -> None:
    """Credits used this year and month, what remains, the annual bar's colour and the 80 % warnings.

    Usage is net: regenerations count, refunds give credits back, open reservations are taken.
    The annual bar is green below 75 % of the budget, amber below 90 %, red from 90 %.
    """
    eng = engine()
    try:
        position = credit_position(eng, user_ref, year, month)
    finally:
        eng.dispose()
    if as_json:
        echo_json(position.as_dict())
        return
    usage, card = position.usage, position.card
    percent = f"{usage.monthly_ratio * 100:.1f} %" if usage.monthly_soft_limit > 0 else "no soft limit"
    click.echo(f"Mockup credits for {position.email}, {usage.year}-{usage.month:02d}")
    click.echo(f"  year:  {usage.used_this_year} of {usage.annual_budget} used, {usage.remaining_annual} remaining, "
               f"{card.annual_percent:.1f} %, {card.annual_bar_colour}")
    click.echo(
        f"  month: {usage.used_this_month} of {usage.monthly_soft_limit} (soft limit) used, "
        f"{usage.remaining_monthly} remaining, {percent}, {usage.bar_colour()}"
    )
    for warning in card.warnings:
        click.echo(f"  warning: {warning}")


@credits.command("report")
@user_option
@click.option("--by", "by", type=click.Choice(GROUPINGS), default="month", show_default=True,
              help="Group by UTC day, calendar month, scene (and renderer) or user (this year).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="Output format.")
@click.option("--all-users", is_flag=True, help="Every user's rows (the operator's view), not only --user's.")
@click.option("--year", "report_year", type=click.IntRange(2000, 9999),
              help="With --by user: the year (UTC) to show; default this year.")
@click.option("--refresh", is_flag=True, help="Rebuild the analyst tables first (otherwise: as the last run left them).")
@handle_errors
def report(user_ref: str, by: str, fmt: str, all_users: bool, report_year: int | None, refresh: bool) -> None:
    """Render counts and credits from the analyst tables, grouped by day, month, scene or user.

    Reads the same tables SQL users read (analytics_credit_usage_*), rebuilt after every catalogue
    and nightly run. The demo column says which rows come from the demo history.
    """
    eng = engine()
    try:
        result = credit_report(eng, by, user_ref, all_users=all_users, refresh=refresh, year=report_year)
    finally:
        eng.dispose()
    if fmt == "json":
        echo_json(result.as_dict())
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(result.columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: _cell(v) for c, v in row.items()} for row in result.rows)
        click.echo(out.getvalue(), nl=False)
        return
    click.echo(f"Mockup credits and renders by {by}, {result.scope}")
    if not result.rows:
        click.echo("  no renders recorded yet")
        return
    click.echo(_table(result.columns, result.rows))


def _table(columns: tuple[str, ...], rows: tuple[dict[str, object], ...]) -> str:
    """A plain text table with a header: text left-aligned, numbers right-aligned."""
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r[c], (int, float)) and not isinstance(r[c], bool) for r in rows) for c in columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(list(columns)), line(["-" * w for w in widths]), *(line(row) for row in cells)])


def _cell(value: object) -> str:
    """A value as printed: booleans (the demo column) as yes/no, shares with one decimal."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.1f}" if isinstance(value, float) else str(value)
