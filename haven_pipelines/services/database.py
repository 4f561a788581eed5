"""The application database's schema: migrate it, and say whether it is at the newest revision.

What ``haven db upgrade``, ``haven db status`` and ``haven db grant-analyst`` call, and what a
command that needs the newest schema (``haven demo --load``) checks first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

from haven_pipelines import settings
from haven_pipelines.db.engine import is_postgres, redact_url
from haven_pipelines.db.migrate import current_revision, head_revision, upgrade
from haven_pipelines.db.stores.users import resolve_user
from haven_pipelines.db.tenancy import cross_tenant
from haven_pipelines.domain.errors import ValidationError

_LOGIN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
    """Create or migrate the database behind ``engine`` to the newest schema; returns where it stands."""
    upgrade(engine=engine)
    return schema_status(engine)


def _url(engine: Engine) -> str:
    return redact_url(engine.url.render_as_string(hide_password=False))


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
