"""The application database's schema: migrate it, and say whether it is at the newest revision.

What ``haven db upgrade``, ``haven db status`` and ``haven db grant-analyst`` call, and what a
command that needs the newest schema (``haven demo --load``) checks first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from haven_pipelines import settings
from haven_pipelines.db.engine import create_engine, is_postgres, normalise_url, redact_url
from haven_pipelines.db.migrate import current_revision, head_revision, upgrade
from haven_pipelines.db.stores.users import resolve_user
from haven_pipelines.db.tenancy import cross_tenant
from haven_pipelines.domain.errors import HavenError, ValidationError

UPGRADE_COMMAND = "haven db upgrade"
_LOGIN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DatabaseNotReady(HavenError):
    """The application database is missing, unreachable, empty or behind the newest schema; the
    message says which and the command that fixes it."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands: its URL (password masked), its revision and the newest one."""

    url: str
    revision: str | None
    head: str

    @property
    def at_head(self) -> bool:
        """Whether the database is at the newest bundled revision."""
        return self.revision == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    """The revision of the database behind ``engine`` (None when empty) and the newest bundled one."""
    return SchemaStatus(_url(engine), current_revision(engine), head_revision())


def upgrade_schema(engine: Engine) -> SchemaStatus:
    """Create or migrate the database behind ``engine`` to the newest schema; returns where it stands.

    A SQLite file's folder is created first (SQLite makes the file, not its folder).
    """
    missing = missing_sqlite_file(engine.url.render_as_string(hide_password=False))
    if missing is not None:
        missing.parent.mkdir(parents=True, exist_ok=True)
    upgrade(engine=engine)
    return schema_status(engine)


def _url(engine: Engine) -> str:
    return redact_url(engine.url.render_as_string(hide_password=False))


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite ``url`` names when that file does not exist (connecting would create it), else None."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def require_ready(url: str) -> SchemaStatus:
    """Check that the database at ``url`` exists and is at the newest schema, creating nothing.

    What every ``haven`` command but ``haven db`` runs first: a command run from another folder
    finds no ``./.haven/haven.db`` and says so, instead of creating an empty file and failing on
    a missing table.

    Raises:
        DatabaseNotReady: naming the database (password masked), what is wrong, and the command to run.
    """
    shown = redact_url(normalise_url(url))
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise DatabaseNotReady(
            f"no database at {missing.absolute()}: it is HAVEN_DATABASE_URL, else haven.db in HAVEN_DATA_DIR "
            f"(default ./.haven, so run haven from the project folder or set those); to create it there, "
            f"run `{UPGRADE_COMMAND}`")
    engine = create_engine(url)
    try:
        status = schema_status(engine)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else type(exc).__name__
        raise DatabaseNotReady(f"cannot open the database {shown}: {reason} (check HAVEN_DATABASE_URL; a new "
                               f"database, once created, needs `{UPGRADE_COMMAND}`)") from None
    finally:
        engine.dispose()
    if status.revision is None:
        raise DatabaseNotReady(f"the database {shown} is not migrated (it has no tables yet): run `{UPGRADE_COMMAND}`")
    if not status.at_head:
        raise DatabaseNotReady(f"the database {shown} is at revision {status.revision}, not the newest "
                               f"({status.head}): run `{UPGRADE_COMMAND}`")
    return status
@dataclass(frozen=True)
class AnalystGrant:
    """A per-shop analyst login: its name, the user (shop) whose usage it reads, and its group role."""

    login: str
    user_id: str
    email: str
    group: str
    created: bool


def grant_analyst(engine: Engine, user_ref: str, login: str) -> AnalystGrant:
    """Give ``login`` read access to the usage views of one user (shop), and of no one else.

    Creates the PostgreSQL login role if it does not exist (without a password: set one with
    ``\\password`` in psql, or use the server's own authentication), makes it a member of the
    shop-analyst group role of migration 0008, and maps it to the user in ``analyst_logins``.
    Granting an existing login again moves it to the new user. The role running this needs
    CREATEROLE (the database owner who ran ``haven db upgrade`` usually has it).

    Raises:
        ValidationError: SQLite (no roles there), or a login name that is not a plain lower-case
            identifier, or a name that is one of the deployment's own roles.
        NotFound: no such user.
    """
    if not is_postgres(engine):
        raise ValidationError("database", "analyst logins need PostgreSQL (HAVEN_DATABASE_URL); SQLite has no roles")
    if not isinstance(login, str) or not _LOGIN.match(login):
        raise ValidationError("login", f"must be lower-case letters, digits and _ (at most 63), got {login!r}")
    roles = settings.db_roles()
    if login in (roles.app, roles.pipeline, roles.analyst, roles.shop_analyst):
        raise ValidationError("login", f"{login!r} is one of the deployment's own roles")
    with engine.begin() as conn:
        user = resolve_user(conn, user_ref)
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": login}).first() is not None
        # Identifiers cannot be bound parameters; the name was checked against _LOGIN above.
        if not exists:
            conn.execute(text(f'CREATE ROLE "{login}" LOGIN'))
        conn.execute(text(f'GRANT "{roles.shop_analyst}" TO "{login}"'))
        cross_tenant(conn)  # analyst_logins is the pipeline's table, not the application's
        conn.execute(text("INSERT INTO analyst_logins (login, user_id) VALUES (:login, :user_id) "
                          "ON CONFLICT (login) DO UPDATE SET user_id = EXCLUDED.user_id"),
                     {"login": login, "user_id": user["id"]})
    return AnalystGrant(login, user["id"], user["email"], roles.shop_analyst, not exists)
