"""The activity log: what happened to a user's designs, mockups and products, newest first.

Append-only: entries are written and read, never changed. Values under keys that look like secrets
(``token``, ``secret``, ``password``, ``api_key``, ``authorization``, ``credential``) are replaced by
``[redacted]`` before they are stored, as a last guard against a caller logging a credential.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import RowMapping

from haven_pipelines.db.stores.base import Page, UserScopedStore, optional_text, paginate, require_json_object, require_text
from haven_pipelines.db.tables import activity_log

# Built once: every render logs an entry, and building the statement cost more than running it.
_LOG = insert(activity_log).values(
    user_id=bindparam("p_user_id"), action=bindparam("p_action"), entity_type=bindparam("p_entity_type"),
    entity_id=bindparam("p_entity_id"), details=bindparam("p_details"),
).returning(*activity_log.c)

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"token|secret|password|passwd|api[_-]?key|authorization|credential", re.IGNORECASE)


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's value replaced, in nested dicts and lists too."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class ActivityStore(UserScopedStore):
    """The acting user's activity log."""

    table = activity_log
    kind = "activity entry"

    def log(
        self,
        action: str,
        entity_type: str | None = None,
        entity_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> RowMapping:
        """Append an entry.

        Args:
            action: what happened, e.g. ``mockup.generated`` (1..64 characters).
            entity_type: the kind of thing it happened to, e.g. ``mockup``.
            entity_id: its id.
            details: JSON-serialisable facts (Decimals and datetimes are stored as text).
        """
        details = redact(require_json_object("details", details))
        # Round-trip through JSON so that Decimals and datetimes are stored as text on both engines.
        details = json.loads(json.dumps(details, default=str))
        return self.conn.execute(_LOG, {
            "p_user_id": self.user_id,
            "p_action": require_text("action", action, max_len=64),
            "p_entity_type": optional_text("entity_type", entity_type, max_len=32),
            "p_entity_id": optional_text("entity_id", entity_id, max_len=36),
            "p_details": details,
        }).mappings().one()

    def list(self, limit: int = 20, offset: int = 0, *, entity_type: str | None = None,
             entity_id: str | None = None) -> Page:
        """The user's entries, newest first, optionally about one entity type or entity."""
        stmt = select(activity_log).where(self._owned())
        if entity_type is not None:
            stmt = stmt.where(activity_log.c.entity_type == entity_type)
        if entity_id is not None:
            stmt = stmt.where(activity_log.c.entity_id == entity_id)
        return paginate(self.conn, stmt.order_by(activity_log.c.id.desc()), limit, offset)
