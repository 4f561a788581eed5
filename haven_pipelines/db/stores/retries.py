"""The retry queue: operations that failed and should be tried again later, with backoff.

An entry waits ``60 s x 2^attempts`` (at most 6 hours) between attempts and becomes ``dead`` after
``max_attempts`` failures. Enqueueing the same ``(operation, entity_id)`` while a pending entry
exists refreshes that entry instead of adding a second. :func:`due_retries` is the SYSTEM read for
the retry sensor: pending entries of every user whose time has come.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from haven_pipelines.db.stores.base import (
    Page,
    UserScopedStore,
    as_utc,
    clip_error,
    paginate,
    require_choice,
    require_json_object,
    require_positive_int,
    require_text,
)
from haven_pipelines.db.tenancy import cross_tenant
from haven_pipelines.db.tables import RETRY_STATUSES, new_id, retry_queue, utcnow
from haven_pipelines.domain.errors import Conflict, ValidationError

BASE_DELAY = timedelta(seconds=60)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS_LIMIT = 50
SYSTEM_PAGE_MAX = 1000


def backoff_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed retries: 60 s, 2 min, 4 min, ... capped at 6 hours."""
    if attempts < 0:
        raise ValueError(f"attempts must be >= 0, got {attempts}")
    # Cap the exponent before computing, so that a large count cannot overflow timedelta.
    return min(BASE_DELAY * (2 ** min(attempts, 20)), MAX_DELAY)


class RetryStore(UserScopedStore):
    """The acting user's retry queue."""

    table = retry_queue
    kind = "retry"

    def enqueue(
        self,
        operation: str,
        entity_id: str,
        payload: dict[str, Any] | None,
        error: str,
        max_attempts: int = 5,
        *,
        now: datetime | None = None,
    ) -> RowMapping:
        """Queue a failed operation for a later attempt (first after :data:`BASE_DELAY`).

        A pending entry for the same operation and entity is refreshed (payload, error, limit)
        rather than duplicated; its attempt count is kept.
        """
        operation = require_text("operation", operation, max_len=64)
        entity_id = require_text("entity_id", entity_id, max_len=36)
        max_attempts = require_positive_int("max_attempts", max_attempts)
        if max_attempts > MAX_ATTEMPTS_LIMIT:
            raise ValidationError("max_attempts", f"at most {MAX_ATTEMPTS_LIMIT}, got {max_attempts}")
        now = as_utc(now) or utcnow()
        values = {
            "payload": require_json_object("payload", payload),
            "last_error": clip_error(error),
            "max_attempts": max_attempts,
        }
        existing = self.conn.execute(
            select(retry_queue).where(self._owned(), retry_queue.c.operation == operation,
                                      retry_queue.c.entity_id == entity_id, retry_queue.c.status == "pending")
        ).mappings().first()
        if existing is not None:
            return self._update(existing["id"], values)
        return self._insert_in(retry_queue, {
            "id": new_id(), "operation": operation, "entity_id": entity_id, "attempts": 0, "status": "pending",
            "next_attempt_at": now + backoff_delay(0), **values,
        })

    def record_failure(self, retry_id: str, error: str, now: datetime | None = None) -> RowMapping:
        """Count a failed attempt: back off exponentially, or mark ``dead`` at ``max_attempts``."""
        row = self._pending(retry_id)
        attempts = row["attempts"] + 1
        now = as_utc(now) or utcnow()
        values: dict[str, Any] = {"attempts": attempts, "last_error": clip_error(error)}
        if attempts >= row["max_attempts"]:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = now + backoff_delay(attempts)
        return self._transition(retry_id, row["attempts"], values)

    def record_success(self, retry_id: str) -> RowMapping:
        """Mark a pending entry done."""
        row = self._pending(retry_id)
        return self._transition(retry_id, row["attempts"], {"status": "done"})

    def list(self, status: str | None = None, limit: int = 20, offset: int = 0) -> Page:
        """The user's entries, soonest due first, optionally of one status."""
        stmt = select(retry_queue).where(self._owned())
        if status is not None:
            stmt = stmt.where(retry_queue.c.status == require_choice("status", status, RETRY_STATUSES))
        return paginate(self.conn, stmt.order_by(retry_queue.c.next_attempt_at, retry_queue.c.id), limit, offset)

    def delete(self, retry_id: str) -> None:
        """Drop an entry (the operator gives up on it)."""
        self._delete(retry_id)

    def _pending(self, retry_id: str) -> RowMapping:
        row = self.get(retry_id)
        if row["status"] != "pending":
            raise Conflict(f"retry {retry_id} is {row['status']}, not pending")
        return row

    def _transition(self, retry_id: str, seen_attempts: int, values: dict[str, Any]) -> RowMapping:
        # Conditional on the attempt count read: two workers reporting the same attempt cannot both count.
        if not self._update_where(retry_queue, retry_id, values, retry_queue.c.status == "pending",
                                  retry_queue.c.attempts == seen_attempts):
            raise Conflict(f"retry {retry_id} changed while it was being updated")
        return self.get(retry_id)


def due_retries(conn: Connection, now: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """SYSTEM read (all users): pending entries due at ``now``, soonest first.

    Not user-scoped on purpose: the retry sensor serves every user; each retry then runs as the
    entry's owner. Served by the ``(status, next_attempt_at)`` index.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= SYSTEM_PAGE_MAX:
        raise ValidationError("limit", f"must be a whole number from 1 to {SYSTEM_PAGE_MAX}, got {limit!r}")
    now = as_utc(now) or utcnow()
    cross_tenant(conn)
    stmt = (
        select(retry_queue)
        .where(retry_queue.c.status == "pending", retry_queue.c.next_attempt_at <= now)
        .order_by(retry_queue.c.next_attempt_at, retry_queue.c.id)
        .limit(limit)
    )
    return [{**row, "next_attempt_at": as_utc(row["next_attempt_at"])} for row in conn.execute(stmt).mappings()]
