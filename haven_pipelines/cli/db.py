"""``haven db``: create or migrate the application database."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.services.database import schema_status, upgrade_schema


@click.group()
def db() -> None:
    """Database set-up and migrations."""


@db.command("upgrade")
def upgrade_cmd() -> None:
    """Create or migrate the database named by HAVEN_DATABASE_URL to the newest schema."""
    eng = make_engine()
    try:
        status = upgrade_schema(eng)
    finally:
        eng.dispose()
    click.echo(f"database {status.url} is at revision {status.revision} (head {status.head})")


@db.command("status")
def status_cmd() -> None:
    """Say which revision the database is at; exit 1 when it is behind the newest schema."""
    eng = make_engine()
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
