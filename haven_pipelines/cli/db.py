"""``haven db``: create or migrate the application database."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.db.engine import redact_url
from haven_pipelines.db.migrate import head_revision, upgrade


@click.group()
def db() -> None:
    """Database set-up and migrations."""


@db.command("upgrade")
def upgrade_cmd() -> None:
    """Create or migrate the database named by HAVEN_DATABASE_URL to the newest schema."""
    eng = make_engine()
    try:
        revision = upgrade(engine=eng)
    finally:
        eng.dispose()
    click.echo(f"database {redact_url(str(eng.url.render_as_string(hide_password=False)))} is at revision {revision} (head {head_revision()})")
