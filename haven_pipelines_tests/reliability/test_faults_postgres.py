"""PostgreSQL faults: the reserving backend is terminated while its reservation waits for the balance lock.

An admin connection holds the user's ``credit_balances`` row lock, so the next reservation blocks in
the server; the admin then terminates that backend with ``pg_terminate_backend``. The reservation must
fail with an error, leave nothing half-written, and the next reservation (a retry with the same
idempotency key, as a re-run makes) must work, with the ledger chain whole.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.tables import credit_reservations, mockup_credit_usage
from haven_pipelines_tests.conftest import ADMIN_URL
from haven_pipelines_tests.reliability import faults_world as fw
from haven_pipelines_tests.reliability.invariants import ledger_balanced

pytestmark = pytest.mark.postgres


def _rows(engine, user_id):
    with engine.connect() as conn:
        res = conn.execute(select(func.count()).select_from(credit_reservations).where(credit_reservations.c.user_id == user_id)).scalar_one()
        led = conn.execute(select(func.count()).select_from(mockup_credit_usage).where(mockup_credit_usage.c.user_id == user_id)).scalar_one()
    return res, led


def test_backend_terminated_during_reservation(pg_url, pg_engine, reliability_record):
    user = fw.make_user(pg_engine, "pgcut@example.com")
    ledger = CreditLedger(pg_engine)
    first = ledger.reserve(user, 1, idempotency_key="warm-up", renderer="charging")
    ledger.refund(user, first.id, "warm-up done")  # the balance row exists, so the next reserve takes its lock
    before = _rows(pg_engine, user)
    year = first.year

    locker = create_engine(pg_url, pool_size=1, max_overflow=0)
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    outcome: dict[str, object] = {}

    def reserve() -> None:
        try:
            outcome["reservation"] = ledger.reserve(user, 1, idempotency_key="render:x:bedroom:g0", renderer="charging")
        except Exception as exc:  # the terminated backend: whatever the driver raises, kept for the assertions
            outcome["error"] = exc

    try:
        with locker.connect() as hold:
            tx = hold.begin()
            hold.execute(text("SELECT used FROM credit_balances WHERE user_id = :u FOR UPDATE"), {"u": user})
            worker = threading.Thread(target=reserve)
            worker.start()
            # Find the reserving backend waiting on our lock (bounded wait: 10 s).
            victim = None
            deadline = time.monotonic() + 10
            with admin.connect() as conn:
                while victim is None and time.monotonic() < deadline:
                    victim = conn.execute(text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
                    ), {"db": pg_engine.url.database}).scalar()
                    if victim is None:
                        time.sleep(0.02)
                assert victim is not None, "the reservation never blocked on the balance row lock"
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim}).scalar() is True
            worker.join(timeout=20)
            assert not worker.is_alive()
            tx.rollback()
    finally:
        locker.dispose()
        admin.dispose()

    # The reservation failed loudly and left nothing behind.
    assert "reservation" not in outcome, "a reservation whose backend was terminated cannot have succeeded"
    error = outcome["error"]
    assert isinstance(error, DBAPIError), repr(error)
    assert error.connection_invalidated or "terminat" in str(error).lower()
    assert _rows(pg_engine, user) == before
    assert ledger_balanced(pg_engine, user, year) == []

    # The retry (same key, as a re-run of the same render uses) works and charges once.
    retry = ledger.reserve(user, 1, idempotency_key="render:x:bedroom:g0", renderer="charging")
    assert retry.status == "open" and not retry.replayed and retry.usage.used_this_year == 1
    again = ledger.reserve(user, 1, idempotency_key="render:x:bedroom:g0", renderer="charging")
    assert again.replayed and again.id == retry.id
    ledger.refund(user, retry.id, "test over")
    assert ledger.check_chain(user, year) == []
    assert ledger_balanced(pg_engine, user, year) == []
    reliability_record(
        "faults", "PostgreSQL backend terminated during a reservation",
        "pg_terminate_backend on the reserving backend while it waited for the user's balance row lock",
        "the reservation raised a connection error and wrote nothing; the retry with the same key reserved once",
        ["ledger_balanced", "no_half_written_reservation", "retry_reserves_once"],
        {"reservations_attempted": 3, "reservations_written": 1, "backends_terminated": 1, "faults_injected": 1, "lost": 0},
    )
