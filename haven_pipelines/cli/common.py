"""Helpers shared by the CLI modules: settings, engine, acting user, output and error handling.

Every command resolves its settings with :func:`settings` (``Settings.from_env``, read when the
command runs), the same resolution a Dagster run makes, so ``haven`` and a run agree on every
variable of the README's configuration table.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy.engine import Engine

from haven_pipelines.db.engine import create_engine
from haven_pipelines.domain.errors import HavenError
from haven_pipelines.integrations.dynamic_mockups.download import DownloadPolicy
from haven_pipelines.settings import Settings


@dataclass(frozen=True)
class CliWiring:
    """Parts the commands take from code rather than from the environment.

    The ``haven`` console script passes none, so every command uses the production wiring. Code
    that invokes the click command in-process may pass one as click's ``obj``
    (``CliRunner().invoke(main, args, obj=CliWiring(...))``): the tests reach a fake Dynamic
    Mockups API on loopback this way. No variable can loosen the download policy.
    """

    download_policy: DownloadPolicy | None = None


def _wiring() -> CliWiring:
    context = click.get_current_context(silent=True)
    found = context.find_object(CliWiring) if context is not None else None
    return found or CliWiring()


def settings() -> Settings:
    """The settings of this command, read from the environment now.

    Raises:
        ValidationError: a bad value, naming the variable (``handle_errors`` prints it).
    """
    return Settings.from_env()


def engine() -> Engine:
    """The application database engine (HAVEN_DATABASE_URL, else the SQLite default)."""
    return create_engine(settings().database_url)


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
    """The services' context (database, renderer, storage, Shopify mode) from :func:`settings`, for one command."""
    from haven_pipelines.services.context import build_context

    return build_context(settings(), download_policy=_wiring().download_policy)


def blob_store():
    """The image store the settings name (the local folder or the S3 bucket), for one command."""
    from haven_pipelines.services.context import build_blob_store

    return build_blob_store(settings())


def acting_user(engine: Engine, ref: str) -> str:
    """The id of the user named by id or email (``--user``)."""
    from haven_pipelines.services.users import resolve_user_id

    return resolve_user_id(engine, ref)


user_option = click.option("--user", "user_ref", default="demo@haven.local", show_default=True,
                           help="Acting user, by id or email.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def paging_options(func: Callable) -> Callable:
    """``--limit`` (1 to 100 a page, default 20) and ``--offset`` for a list command."""
    func = click.option("--offset", type=click.IntRange(0), default=0, show_default=True)(func)
    return click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)(func)
