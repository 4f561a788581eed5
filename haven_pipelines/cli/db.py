"""``haven db``: create or migrate the application database."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import echo_json, handle_errors, json_option
from haven_pipelines.cli.common import engine as make_engine
from haven_pipelines.cli.common import settings
from haven_pipelines.services.database import UPGRADE_COMMAND, grant_analyst, missing_sqlite_file, schema_status, upgrade_schema


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


@db.command("grant-analyst")
@click.option("--user", "user_ref", required=True, help="The shop (user id or email) whose usage the login may read.")
@click.option("--login", required=True, help="The PostgreSQL login to create or re-map (lower-case identifier).")
@json_option
@handle_errors
def grant_analyst_cmd(user_ref: str, login: str, as_json: bool) -> None:
    """Give one shop's analyst a PostgreSQL login that reads only that shop's usage rows (PostgreSQL only)."""
    eng = make_engine()
    try:
        grant = grant_analyst(eng, user_ref, login)
    finally:
        eng.dispose()
    if as_json:
        echo_json({"login": grant.login, "user_id": grant.user_id, "email": grant.email, "group": grant.group,
                   "created": grant.created})
        return
    click.echo(f"login {grant.login} ({'created' if grant.created else 'existing'}, member of {grant.group}) "
               f"reads the usage views usage_credit_ledger and usage_credit_monthly for {grant.email} only")
    if grant.created:
        click.echo(f"it has no password yet: set one in psql with \\password {grant.login}")
