"""``haven credits``: a user's mockup credit usage against the annual budget and monthly soft limit."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import CALENDAR_YEAR, FIRST_YEAR, echo_json, engine, handle_errors, json_option, user_option
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
