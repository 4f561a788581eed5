"""``haven shopify``: connect a user's shop (the token is stored encrypted) and check it."""

from __future__ import annotations

import os
import sys

import click

from haven_pipelines.cli.common import acting_user, engine, handle_errors, user_option


@click.group("shopify")
def shopify() -> None:
    """The user's Shopify connection."""


@shopify.command("connect")
@user_option
@click.option("--shop", required=True, help="my-shop or my-shop.myshopify.com")
@click.option("--token-env", default="SHOPIFY_ACCESS_TOKEN", show_default=True,
              help="Environment variable holding the Admin API access token; without it, read from standard input.")
@click.option("--base-url", help="Send calls to this base URL instead of the shop's (proxies, tests).")
@click.option("--check/--no-check", default=True, show_default=True, help="Call Shopify once to prove the token works.")
@handle_errors
def connect(user_ref, shop, token_env, base_url, check):
    """Store the shop and its access token (encrypted with HAVEN_SECRET_KEY); never prints the token."""
    from haven_pipelines.domain.errors import ValidationError
    from haven_pipelines.services.shopify_connection import connect_shopify

    token = os.environ.get(token_env) or ("" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.readline()).strip()
    if not token:
        raise ValidationError("token", f"set {token_env} or pipe the token on standard input")
    eng = engine()
    try:
        connection = connect_shopify(eng, acting_user(eng, user_ref), shop, token, base_url=base_url, check=check)
    finally:
        eng.dispose()
    named = f" ({connection.shop_name})" if connection.shop_name else ""
    click.echo(f"connected {connection.shop_domain}{named}; publishing is live for this user")
