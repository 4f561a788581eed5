"""The invariants every reliability scenario of issue 6 checks after its fault and its recovery.

Each check returns a list of problems (empty when the invariant holds), so a test can assert
``problems == []`` and see every violation at once; :func:`assert_invariants` runs the usual set
and returns the names of the invariants it checked, ready for ``reliability_record(...)``.

- ``ledger_balanced``: no reservation is open, the ledger chains (``CreditLedger.check_chain``), and
  the ledger's net equals ``sum(mockups.credits_used)``.
- ``rendered_mockups_paid``: every completed or approved mockup made by a charging renderer carries
  its credits (a delivered render was never left unpaid), and none carries credits it never used.
- ``mockup_files_exist``: every mockup row that names a file (and thumbnail) points at a stored object.
- ``failures_visible``: every failed mockup has an error message and a retry-queue entry.
- ``shopify_unique``: no Shopify product handle exists twice (:func:`shopify_unique`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.tables import credit_reservations, mockup_credit_usage, mockups, retry_queue

DONE = ("completed", "approved")


def ledger_balanced(engine: Engine, user_id: str, year: int | None = None) -> list[str]:
    """Credits charged equal credits held by mockups, with no open reservation and a sound chain."""
    year = year or datetime.now(UTC).year
    problems = list(CreditLedger(engine).check_chain(user_id, year))
    with engine.connect() as conn:
        open_count = conn.execute(
            select(func.count()).select_from(credit_reservations).where(
                credit_reservations.c.user_id == user_id, credit_reservations.c.status == "open")
        ).scalar_one()
        net = conn.execute(
            select(func.coalesce(func.sum(mockup_credit_usage.c.credits), 0)).where(mockup_credit_usage.c.user_id == user_id)
        ).scalar_one()
        held = conn.execute(
            select(func.coalesce(func.sum(mockups.c.credits_used), 0)).where(mockups.c.user_id == user_id)
        ).scalar_one()
    if open_count:
        problems.append(f"{open_count} reservation(s) still open")
    if int(net) != int(held):
        problems.append(f"ledger net {net} != sum(mockups.credits_used) {held}")
    return problems


def rendered_mockups_paid(engine: Engine, user_id: str, credits_per_render: int) -> list[str]:
    """Each finished mockup paid at least one render; unfinished ones hold no credits for a missing image.

    A mockup rendered ``n`` times holds ``n * credits_per_render`` credits at most; a finished one at
    least ``credits_per_render``. A failed or generating mockup may hold credits only from an earlier
    finished render (its file is then still set).
    """
    problems: list[str] = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(mockups.c.id, mockups.c.status, mockups.c.credits_used, mockups.c.file_key).where(mockups.c.user_id == user_id)
        ).all()
    for row in rows:
        if row.status in DONE and row.credits_used < credits_per_render:
            problems.append(f"mockup {row.id} is {row.status} but holds {row.credits_used} credit(s), expected >= {credits_per_render}")
        if row.status not in DONE and row.credits_used and not row.file_key:
            problems.append(f"mockup {row.id} is {row.status} without an image but holds {row.credits_used} credit(s)")
    return problems


def mockup_files_exist(engine: Engine, blob_store, user_id: str) -> list[str]:
    """No mockup row points at a missing file or thumbnail in ``blob_store``."""
    problems: list[str] = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(mockups.c.id, mockups.c.status, mockups.c.file_key, mockups.c.thumbnail_key).where(mockups.c.user_id == user_id)
        ).all()
    for row in rows:
        for label, key in (("file", row.file_key), ("thumbnail", row.thumbnail_key)):
            if key and not blob_store.exists(key):
                problems.append(f"mockup {row.id} ({row.status}) names a missing {label} {key!r}")
        if row.status in DONE and not row.file_key:
            problems.append(f"mockup {row.id} is {row.status} without a file")
    return problems


def failures_visible(engine: Engine, user_id: str) -> list[str]:
    """Every failed mockup says why and has a pending (or dead, after its last try) retry entry."""
    problems: list[str] = []
    with engine.connect() as conn:
        failed = conn.execute(
            select(mockups.c.id, mockups.c.error_message).where(mockups.c.user_id == user_id, mockups.c.status == "failed")
        ).all()
        queued = set(conn.execute(
            select(retry_queue.c.entity_id).where(retry_queue.c.user_id == user_id, retry_queue.c.operation == "render_mockup",
                                                  retry_queue.c.status.in_(("pending", "dead")))
        ).scalars())
    for row in failed:
        if not (row.error_message or "").strip():
            problems.append(f"failed mockup {row.id} has no error message")
        if row.id not in queued:
            problems.append(f"failed mockup {row.id} has no retry-queue entry")
    return problems


def no_mockup_stuck(engine: Engine, user_id: str) -> list[str]:
    """After recovery no mockup is left ``generating`` (a crashed render was rendered again or failed)."""
    with engine.connect() as conn:
        stuck = conn.execute(
            select(mockups.c.id).where(mockups.c.user_id == user_id, mockups.c.status == "generating")
        ).scalars().all()
    return [f"mockup {m} is still generating" for m in stuck]


def shopify_unique(handles: Iterable[str]) -> list[str]:
    """No Shopify product handle exists twice (pass ``p.handle for p in fake.products.values()``)."""
    return [f"Shopify has {n} products with handle {h!r}" for h, n in Counter(handles).items() if n > 1]


def done_mockups(engine: Engine, user_id: str) -> dict[tuple[str, str], dict]:
    """Finished mockups by (asset, scene): id, file key and credits, to prove later that nothing was undone."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(mockups.c.asset_id, mockups.c.scene, mockups.c.id, mockups.c.file_key, mockups.c.credits_used)
            .where(mockups.c.user_id == user_id, mockups.c.status.in_(DONE))
        ).all()
    return {(r.asset_id, r.scene): {"id": r.id, "file_key": r.file_key, "credits_used": r.credits_used} for r in rows}


def nothing_undone(before: dict[tuple[str, str], dict], after: dict[tuple[str, str], dict]) -> list[str]:
    """Every mockup finished before the fault is still finished, with the same file and credits."""
    problems = []
    for key, row in before.items():
        now = after.get(key)
        if now is None:
            problems.append(f"mockup {row['id']} {key} was finished before the fault and is not now")
        elif now["file_key"] != row["file_key"] or now["credits_used"] != row["credits_used"]:
            problems.append(f"mockup {row['id']} {key} changed after the fault: {row} -> {now}")
    return problems


def assert_invariants(engine: Engine, blob_store, user_id: str, *, credits_per_render: int = 1,
                      allow_generating: bool = False) -> list[str]:
    """Run the render-side invariants; raise AssertionError listing every problem; return their names."""
    checks = {
        "ledger_balanced": ledger_balanced(engine, user_id),
        "rendered_mockups_paid": rendered_mockups_paid(engine, user_id, credits_per_render),
        "mockup_files_exist": mockup_files_exist(engine, blob_store, user_id),
        "failures_visible": failures_visible(engine, user_id),
    }
    if not allow_generating:
        checks["no_mockup_stuck"] = no_mockup_stuck(engine, user_id)
    problems = [f"{name}: {p}" for name, found in checks.items() for p in found]
    assert problems == [], "invariants violated:\n" + "\n".join(problems)
    return list(checks)
