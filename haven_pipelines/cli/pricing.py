"""``haven pricing``: print prices per size, the user's overrides, and their effect on products."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import acting_user, app_context, echo_json, engine, handle_errors, json_option, user_option
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.services.pricing import pricing_table, reset_price, set_price

_OPTION_OF = {"size": "--size", "base": "--base", "framed": "--framed", "digital": "--digital", "cost": "--cost",
              "prices": "pricing set"}


@click.group("pricing")
def pricing() -> None:
    """Prices per print size: system defaults and your overrides."""


@pricing.command("list")
@user_option
@json_option
@handle_errors
def list_prices(user_ref: str, as_json: bool) -> None:
    """Every size: the system row, your override, and which one wins."""
    eng = engine()
    try:
        rows = pricing_table(eng, acting_user(eng, user_ref))
    finally:
        eng.dispose()
    if as_json:
        echo_json({"sizes": [r.as_dict() for r in rows]})
        return
    click.echo(f"{'size':6} {'base':>8} {'framed':>8} {'digital':>8} {'cost':>8}  wins      system (base/framed/digital/cost)")
    for r in rows:
        e = r.effective
        system = "-" if r.system is None else "/".join(
            str(v) for v in (r.system.base_price, r.system.framed_price, r.system.digital_price, r.system.cost))
        click.echo(f"{r.size:6} {e.base_price!s:>8} {e.framed_price!s:>8} {e.digital_price!s:>8} {e.cost!s:>8}  "
                   f"{r.wins:9} {system}")


def _report(change, verb: str, as_json: bool) -> None:
    if as_json:
        echo_json(change.as_dict())
        return
    e = change.row.effective
    now = "no price" if e is None else f"{e.base_price} / framed {e.framed_price} / digital {e.digital_price} / cost {e.cost}"
    click.echo(f"{verb} {change.size}: {now} ({change.row.wins})")
    click.echo(f"{change.affected} product(s) have a {change.size} variant: {len(change.rebuilt)} rebuilt, "
               f"{len(change.awaiting_approval)} waiting for approval, "
               f"{len(change.not_rebuilt)} created by request (kept as created), {len(change.failed)} failed")
    for failure in change.failed:
        click.echo(f"  {failure['product_id']}: {failure['error']}")


def _run(user_ref: str, action) -> object:
    ctx = app_context()
    try:
        return action(ctx, acting_user(ctx.engine, user_ref))
    except ValidationError as exc:
        option = _OPTION_OF.get(exc.field)
        if option is None:
            raise
        raise click.ClickException(f"{option}: {exc.reason}") from None
    finally:
        ctx.close()


@pricing.command("set")
@user_option
@click.option("--size", required=True, help="Print size, e.g. 8x10 or A4.")
@click.option("--base", help="Unframed price, e.g. 27.50.")
@click.option("--framed", help="Framed price.")
@click.option("--digital", help="Digital download price.")
@click.option("--cost", help="Your cost per print (may be 0).")
@json_option
@handle_errors
def set_(user_ref, size, base, framed, digital, cost, as_json) -> None:
    """Override prices for a size (the ones not given keep their value) and rebuild affected products.

    In supervised mode a rebuilt product whose prices changed waits for approval before its listing
    changes; in autopilot the next publish sends the new prices.
    """
    change = _run(user_ref, lambda ctx, uid: set_price(ctx, uid, size, base=base, framed=framed, digital=digital, cost=cost))
    _report(change, "set", as_json)


@pricing.command("reset")
@user_option
@click.option("--size", required=True, help="Print size whose override to remove.")
@json_option
@handle_errors
def reset(user_ref, size, as_json) -> None:
    """Remove your override for a size (the system price applies again) and rebuild affected products."""
    change = _run(user_ref, lambda ctx, uid: reset_price(ctx, uid, size))
    _report(change, "reset", as_json)
