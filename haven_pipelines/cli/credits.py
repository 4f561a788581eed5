"""``haven credits``: a user's mockup credit usage against the annual budget and monthly soft limit."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import echo_json, engine, handle_errors, json_option, user_option
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import resolve_user


@click.group("credits")
def credits() -> None:
    """Mockup credits: usage, budget and soft limit."""


@credits.command("show")
@user_option
@click.option("--year", type=click.IntRange(1, 9999), help="Calendar year (UTC); default this year.")
@click.option("--month", type=click.IntRange(1, 12), help="Month 1-12 (UTC); default this month.")
@json_option
@handle_errors
def show(user_ref: str, year: int | None, month: int | None, as_json: bool) -> None:
    """Credits used this year and month, what remains, and the soft-limit state.

    Usage is net: regenerations count, refunds give credits back, open reservations are taken.
    """
    eng = engine()
    try:
        with eng.connect() as conn:
            user = resolve_user(conn, user_ref)
        usage = CreditLedger(eng).usage(user["id"], year, month)
    finally:
        eng.dispose()
    if as_json:
        echo_json({"user": {"id": user["id"], "email": user["email"]}, **usage.as_dict(), "bar_colour": usage.bar_colour()})
        return
    percent = f"{usage.monthly_ratio * 100:.1f} %" if usage.monthly_soft_limit > 0 else "no soft limit"
    click.echo(f"Mockup credits for {user['email']}, {usage.year}-{usage.month:02d}")
    click.echo(f"  year:  {usage.used_this_year} of {usage.annual_budget} used, {usage.remaining_annual} remaining")
    click.echo(
        f"  month: {usage.used_this_month} of {usage.monthly_soft_limit} (soft limit) used, "
        f"{usage.remaining_monthly} remaining, {percent}, {usage.bar_colour()}"
    )
    if usage.over_soft_limit:
        click.echo("  past the monthly soft limit: renders still run, within the annual budget")
    elif usage.soft_limit_warning:
        click.echo("  warning: 80 % of the monthly soft limit reached")
