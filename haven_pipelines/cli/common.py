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
