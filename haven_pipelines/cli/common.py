"""Helpers shared by the CLI modules: engine, acting user, output and error handling."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy.engine import Engine

from haven_pipelines.db.engine import create_engine
from haven_pipelines.domain.errors import HavenError


def engine() -> Engine:
    """The application database engine (HAVEN_DATABASE_URL, else the SQLite default)."""
    return create_engine()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (Decimals as strings, times in ISO 8601)."""
    click.echo(json.dumps(data, indent=2, default=_default, sort_keys=False))


def handle_errors(func: Callable) -> Callable:
    """Turn the project's errors into a one-line message and exit code 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except HavenError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def app_context():
    """The services' context from the environment (renderer, storage, Shopify mode), for one command."""
    import os

    from haven_pipelines.services.context import build_context

    return build_context(
        renderer=os.environ.get("HAVEN_RENDERER") or "local",
        dynamic_mockups_api_key=os.environ.get("DYNAMIC_MOCKUPS_API_KEY") or None,
        dynamic_mockups_base_url=os.environ.get("DYNAMIC_MOCKUPS_BASE_URL") or None,
        blob_store="s3" if os.environ.get("HAVEN_S3_BUCKET") else "local",
        shopify_mode=os.environ.get("HAVEN_SHOPIFY_MODE") or "auto",
        shopify_base_url=os.environ.get("HAVEN_SHOPIFY_BASE_URL") or None,
        # Only for a local fake Dynamic Mockups server in tests (exports over http on loopback).
        allow_insecure_downloads=os.environ.get("HAVEN_DM_INSECURE_DOWNLOADS_FOR_TESTS") == "1",
    )


def acting_user(engine: Engine, ref: str) -> str:
    """The id of the user named by id or email (``--user``)."""
    from haven_pipelines.db.stores.users import resolve_user

    with engine.connect() as conn:
        return resolve_user(conn, ref)["id"]


user_option = click.option("--user", "user_ref", default="demo@haven.local", show_default=True,
                           help="Acting user, by id or email.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def paging_options(func: Callable) -> Callable:
    """``--limit`` (1 to 100 a page, default 20) and ``--offset`` for a list command."""
    func = click.option("--offset", type=click.IntRange(0), default=0, show_default=True)(func)
    return click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)(func)
