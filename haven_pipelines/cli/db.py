"""``haven db``: create or migrate the application database."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.cli.common import handle_errors, settings
from haven_pipelines.services.database import UPGRADE_COMMAND, missing_sqlite_file, schema_status, upgrade_schema


@click.group()
def db() -> None:
    """Database set-up and migrations."""


@db.command("upgrade")
@handle_errors
def upgrade_cmd() -> None:
    """Create or migrate the database named by HAVEN_DATABASE_URL to the newest schema."""
    eng = make_engine(require_schema=False)
    try:
        status = upgrade_schema(eng)
    finally:
        eng.dispose()
    click.echo(f"database {status.url} is at revision {status.revision} (head {status.head})")


@db.command("status")
@handle_errors
def status_cmd() -> None:
    """Say which revision the database is at; exit 1 when it is missing or behind the newest schema."""
    missing = missing_sqlite_file(settings().database_url)
    if missing is not None:  # a read: say so rather than create an empty file by connecting
        click.echo(f"no database at {missing.absolute()}: run `{UPGRADE_COMMAND}` to create it")
        raise SystemExit(1)
    eng = make_engine(require_schema=False)
    try:
        status = schema_status(eng)
    finally:
        eng.dispose()
    if status.at_head:
        click.echo(f"database {status.url} is at revision {status.revision}, the newest")
        return
    click.echo(f"database {status.url} is at revision {status.revision or 'none (empty)'}; the newest is {status.head}: "
               "run `haven db upgrade`")
    raise SystemExit(1)
