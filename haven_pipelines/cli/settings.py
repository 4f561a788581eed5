"""``haven settings``: the operator's approval mode, module overrides, credit guardrails and time zone."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import echo_json, engine, handle_errors, json_option, user_option
from haven_pipelines.domain.approval import OPERATOR_MODES
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.services.settings import MAX_CREDITS, parse_module_assignment, show_settings, update_settings

# The service names fields as the database does; a person typed the option.
_OPTION_OF = {
    "global_mode": "--mode", "module": "--module", "annual_mockup_budget": "--annual-budget",
    "monthly_mockup_soft_limit": "--monthly-soft-limit", "timezone": "--timezone", "settings": "settings set",
}


@click.group("settings")
def settings() -> None:
    """The user's operator settings (what Haven Hub's settings screen changed)."""


def _echo(view, as_json: bool) -> None:
    if as_json:
        echo_json(view.as_dict())
        return
    click.echo(f"Settings for {view.email}")
    click.echo(f"  mode:                {view.global_mode}")
    for module, mode in view.effective_modes.items():
        source = "override" if module in view.module_overrides else "global mode"
        click.echo(f"  {module + ':':20} {mode} ({source})")
    click.echo(f"  annual budget:       {view.annual_mockup_budget} credits")
    click.echo(f"  monthly soft limit:  {view.monthly_mockup_soft_limit} credits")
    click.echo(f"  time zone:           {view.timezone}")


@settings.command("show")
@user_option
@json_option
@handle_errors
def show(user_ref: str, as_json: bool) -> None:
    """Show the mode, each module's effective mode, the guardrails and the time zone."""
    eng = engine()
    try:
        view = show_settings(eng, user_ref)
    finally:
        eng.dispose()
    _echo(view, as_json)


def _module(ctx, param, values):
    try:
        return dict(parse_module_assignment(v) for v in values)
    except ValidationError as exc:
        raise click.BadParameter(exc.reason, ctx=ctx, param=param) from None


@settings.command("set")
@user_option
@click.option("--mode", type=click.Choice(OPERATOR_MODES),
              help="Global mode: supervised (every mockup and product waits for a person), assisted, or autopilot.")
@click.option("--module", "modules", multiple=True, callback=_module, metavar="MODULE=MODE",
              help="A module's own mode, e.g. mockups=autopilot; MODE inherit removes the override. Repeatable.")
@click.option("--annual-budget", type=click.IntRange(0, MAX_CREDITS), help="Mockup credits a year (hard limit).")
@click.option("--monthly-soft-limit", type=click.IntRange(0, MAX_CREDITS), help="Mockup credits a month (warns only).")
@click.option("--timezone", help="IANA time zone, e.g. Europe/London.")
@json_option
@handle_errors
def set_(user_ref, mode, modules, annual_budget, monthly_soft_limit, timezone, as_json) -> None:
    """Change settings; every value is checked first and a bad one changes nothing."""
    eng = engine()
    try:
        view = update_settings(eng, user_ref, mode=mode, modules=modules, annual_budget=annual_budget,
                               monthly_soft_limit=monthly_soft_limit, timezone=timezone)
    except ValidationError as exc:
        option = _OPTION_OF.get(exc.field)
        if option is None:
            raise
        raise click.ClickException(f"{option}: {exc.reason}") from None
    finally:
        eng.dispose()
    _echo(view, as_json)
