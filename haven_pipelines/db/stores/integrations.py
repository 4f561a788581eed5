"""A user's connected outside systems (Shopify, Dynamic Mockups, ...) with credentials encrypted at rest.

The credential is encrypted with :mod:`haven_pipelines.db.crypto` before it reaches the database;
only :meth:`IntegrationStore.credentials` decrypts it. Everything else returns an
:class:`Integration`, which does not carry the credential at all, so it cannot leak into logs,
metadata or errors by being printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from haven_pipelines.db import crypto
from haven_pipelines.db.stores.base import UserScopedStore
from haven_pipelines.db.tables import integrations, new_id, utcnow
from haven_pipelines.domain.errors import Conflict, NotFound, ValidationError

_PROVIDER = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Integration:
    """A connection to an outside system, without its credential."""

    id: str
    user_id: str
    provider: str
    account: str | None
    status: str
    settings: dict[str, Any]
    has_credentials: bool
    created_at: datetime
    updated_at: datetime


def _integration(row: RowMapping) -> Integration:
    return Integration(
        id=row["id"],
        user_id=row["user_id"],
        provider=row["provider"],
        account=row["account"],
        status=row["status"],
        settings=dict(row["settings"] or {}),
        has_credentials=row["encrypted_credentials"] is not None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _check_provider(provider: object) -> str:
    if not isinstance(provider, str) or not _PROVIDER.match(provider):
        raise ValidationError("provider", "must be a lower-case name of 1 to 32 letters, digits or underscores, e.g. 'shopify'")
    return provider


class IntegrationStore(UserScopedStore):
    """The acting user's integrations, one per provider; other users' look absent (NotFound)."""

    table = integrations
    kind = "integration"

    def connect(self, provider: str, account: str | None, secret: str, settings: dict[str, Any] | None = None) -> Integration:
        """Connect (or reconnect) ``provider``: store ``secret`` encrypted, replacing any earlier one.

        Args:
            provider: e.g. ``shopify`` or ``dynamic_mockups``.
            account: the account at the provider, e.g. the shop domain (not secret).
            secret: the credential; encrypted before it is written.
            settings: non-secret options for the provider (JSON).

        Raises:
            ValidationError: a bad provider, account, secret or settings (named).
            CredentialKeyError: ``HAVEN_SECRET_KEY`` is missing or malformed; nothing is written.
        """
        provider = _check_provider(provider)
        if account is not None and (not isinstance(account, str) or len(account) > 255):
            raise ValidationError("account", "must be text of at most 255 characters")
        if not isinstance(secret, str) or not secret.strip():
            raise ValidationError("secret", "a credential is required")
        if settings is not None and not isinstance(settings, dict):
            raise ValidationError("settings", "must be a JSON object")
        token = crypto.encrypt(secret)
        now = utcnow()
        values = {
            "account": account,
            "status": "connected",
            "settings": settings or {},
            "encrypted_credentials": token,
            "updated_at": now,
        }
        dialect_insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        stmt = dialect_insert(integrations).values(id=new_id(), user_id=self.user_id, provider=provider, created_at=now, **values)
        # One statement, so two concurrent connects cannot both insert.
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["user_id", "provider"], set_=values))
        return self.get(provider)

    def _row(self, provider: str) -> RowMapping:
        provider = _check_provider(provider)
        row = self.conn.execute(
            select(integrations).where(self._owned(), integrations.c.provider == provider)
        ).mappings().first()
        if row is None:
            raise NotFound(self.kind, provider)
        return row

    def get(self, provider: str) -> Integration:  # type: ignore[override]  # looked up by provider, not id
        """The acting user's integration with ``provider``; NotFound if they have none."""
        return _integration(self._row(provider))

    def list(self) -> list[Integration]:
        """All the acting user's integrations, by provider."""
        rows = self.conn.execute(select(integrations).where(self._owned()).order_by(integrations.c.provider)).mappings()
        return [_integration(row) for row in rows]

    def credentials(self, provider: str) -> str:
        """The decrypted credential for ``provider``.

        Raises:
            NotFound: the user has no such integration.
            Conflict: it is disconnected (its credential was erased).
            CredentialKeyError: the key is missing, malformed or not the one it was encrypted with.
        """
        row = self._row(provider)
        if row["encrypted_credentials"] is None:
            raise Conflict(f"integration {provider} is {row['status']}: connect it again to store a credential")
        return crypto.decrypt(row["encrypted_credentials"])

    def disconnect(self, provider: str) -> Integration:
        """Mark ``provider`` disconnected and erase its stored credential (settings are kept)."""
        row = self._row(provider)
        self.conn.execute(
            update(integrations)
            .where(integrations.c.id == row["id"], self._owned())
            .values(status="disconnected", encrypted_credentials=None, updated_at=utcnow())
        )
        return self.get(provider)
