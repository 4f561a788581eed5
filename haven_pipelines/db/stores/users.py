"""Users and their settings (guardrails and operator mode)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from haven_pipelines.db.tables import new_id, user_settings, users
from haven_pipelines.db.tenancy import act_as
from haven_pipelines.domain.approval import OPERATOR_MODES
from haven_pipelines.domain.errors import NotFound, ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_UUID = re.compile(r"^[0-9a-fA-F-]{36}$")


def get_or_create_user(conn: Connection, email: str, name: str | None = None) -> RowMapping:
    """The user with ``email``, created with default settings if absent."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationError("email", f"not an email address: {email!r}")
    row = conn.execute(select(users).where(users.c.email == email)).mappings().first()
    if row is not None:
        return row
    user_id = new_id()
    conn.execute(insert(users).values(id=user_id, email=email, name=name))
    act_as(conn, user_id)  # the settings row is the new user's own
    conn.execute(insert(user_settings).values(user_id=user_id, module_overrides={}))
    return conn.execute(select(users).where(users.c.id == user_id)).mappings().one()


def resolve_user(conn: Connection, ref: str) -> RowMapping:
    """A user by id or email; NotFound names what was looked up."""
    ref = (ref or "").strip()
    if not ref:
        raise ValidationError("user", "give a user id or email")
    column = users.c.email if "@" in ref else users.c.id
    value = ref.lower() if "@" in ref else ref
    row = conn.execute(select(users).where(column == value)).mappings().first()
    if row is None:
        raise NotFound("user", ref)
    return row


class SettingsStore:
    """The acting user's settings row (created with defaults on first read)."""

    def __init__(self, conn: Connection, user_id: str):
        self.conn = conn
        self.user_id = user_id
        act_as(conn, user_id)

    def get(self) -> RowMapping:
        """The settings, creating the default row if the user has none yet."""
        row = self.conn.execute(select(user_settings).where(user_settings.c.user_id == self.user_id)).mappings().first()
        if row is not None:
            return row
        if self.conn.execute(select(users.c.id).where(users.c.id == self.user_id)).first() is None:
            raise NotFound("user", self.user_id)
        self.conn.execute(insert(user_settings).values(user_id=self.user_id, module_overrides={}))
        return self.get()

    def update(self, **values: Any) -> RowMapping:
        """Change guardrails or modes; each value is checked and a bad one names its field."""
        allowed = {"annual_mockup_budget", "monthly_mockup_soft_limit", "global_mode", "module_overrides", "timezone"}
        for key, value in values.items():
            if key not in allowed:
                raise ValidationError(key, "not a user setting")
            if key in ("annual_mockup_budget", "monthly_mockup_soft_limit") and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValidationError(key, f"must be a whole number >= 0, got {value!r}")
            if key == "global_mode" and value not in OPERATOR_MODES:
                raise ValidationError(key, f"must be one of {', '.join(OPERATOR_MODES)}, got {value!r}")
            if key == "module_overrides":
                if not isinstance(value, dict) or any(v not in OPERATOR_MODES for v in value.values()):
                    raise ValidationError(key, f"must map module names to one of {', '.join(OPERATOR_MODES)}")
        self.get()
        self.conn.execute(update(user_settings).where(user_settings.c.user_id == self.user_id).values(**values))
        return self.get()
