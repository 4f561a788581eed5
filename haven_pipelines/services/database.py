"""The application database's schema: migrate it, and say whether it is at the newest revision.

What ``haven db upgrade`` and ``haven db status`` call, and what a command that needs the newest
schema (``haven demo --load``) checks first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from haven_pipelines.db.engine import redact_url
from haven_pipelines.db.migrate import current_revision, head_revision, upgrade


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
