"""The retry queue's use case: run what is due again, with backoff, until it works or is dead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from haven_pipelines.db.stores.retries import RetryStore, due_retries
from haven_pipelines.domain.errors import HavenError
from haven_pipelines.services.render import RenderService, RenderTask


@dataclass(frozen=True)
class RetrySummary:
    """What one pass over the due retries did."""

    retried: int
    succeeded: int
    failed: int
    dead: int


def run_due_retries(ctx, now: datetime | None = None, limit: int = 50) -> RetrySummary:
    """Retry every due entry (renders today); a failure backs off, the last allowed failure is dead.

    A render retry re-renders the failed mockup through the render service (so it is charged and
    refunded by the same rules); an entry for an operation this version does not know is marked
    failed with that reason, so that it ends dead rather than silently lingering.
    """
    with ctx.engine.connect() as conn:
        due = due_retries(conn, now, limit)
    service = RenderService(ctx)
    succeeded = failed = dead = 0
    for entry in due:
        user_id = entry["user_id"]
        error: str | None = None
        if entry["operation"] == "render_mockup":
            payload = entry["payload"] or {}
            missing = [k for k in ("asset_id", "scene") if k not in payload]
            if missing:
                error = f"retry payload lacks {', '.join(missing)}"
            else:
                # Only the project's own errors are a failed retry; a bug fails the pass loudly.
                try:
                    result = service.render_batch(user_id, [RenderTask(payload["asset_id"], payload["scene"])])
                    outcome = result.outcomes[0]
                    if outcome.status not in ("completed", "approved", "skipped"):
                        error = outcome.error or outcome.status
                except HavenError as exc:
                    error = f"{exc.__class__.__name__}: {exc}"
        else:
            error = f"unknown retry operation {entry['operation']!r}"
        with ctx.engine.begin() as conn:
            store = RetryStore(conn, user_id)
            if error is None:
                store.record_success(entry["id"])
                succeeded += 1
            else:
                row = store.record_failure(entry["id"], error, now)
                failed += 1
                dead += row["status"] == "dead"
    return RetrySummary(len(due), succeeded, failed, dead)


def due_entries(engine, now: datetime | None = None, limit: int = 100) -> list[dict]:
    """SYSTEM: the retry entries due at ``now``, soonest first (for the retry sensor)."""
    with engine.connect() as conn:
        return due_retries(conn, now, limit)
