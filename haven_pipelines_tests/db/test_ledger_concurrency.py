"""Concurrent reservations never exceed the annual budget: processes on PostgreSQL, threads on SQLite."""

from __future__ import annotations

import multiprocessing as mp
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import credit_reservations, mockup_credit_usage
from haven_pipelines.domain.errors import BudgetExceeded


def _setup_user(url: str, budget: int) -> str:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            user_id = get_or_create_user(conn, "race@haven.test")["id"]
            SettingsStore(conn, user_id).update(annual_mockup_budget=budget, monthly_mockup_soft_limit=budget)
    finally:
        engine.dispose()
    return user_id


def _reserve_many(url: str, user_id: str, attempts: int, barrier, results) -> None:
    """Worker process: ``attempts`` reservations of 1 credit; puts (successes, refusals) on ``results``."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    ledger = CreditLedger(engine)
    tag = uuid.uuid4().hex
    ok = refused = 0
    try:
        barrier.wait(timeout=120)
        for i in range(attempts):
            try:
                ledger.reserve(user_id, 1, idempotency_key=f"{tag}-{i}")
                ok += 1
            except BudgetExceeded:
                refused += 1
    finally:
        engine.dispose()
    results.put((ok, refused))


def _assert_exact(url: str, user_id: str, budget: int) -> None:
    engine = create_engine(url)
    try:
        ledger = CreditLedger(engine)
        usage = ledger.usage(user_id)
        assert usage.used_this_year == budget
        assert usage.used_this_month == budget
        assert ledger.check_chain(user_id, usage.year) == []
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(credit_reservations)).scalar_one() == budget
            seqs = conn.execute(select(mockup_credit_usage.c.seq).order_by(mockup_credit_usage.c.seq)).scalars().all()
        assert seqs == list(range(1, budget + 1))
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_never_overspend_on_postgres(pg_url):
    upgrade(pg_url)
    budget, workers, attempts = 500, 8, 200
    user_id = _setup_user(pg_url, budget)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_reserve_many, args=(pg_url, user_id, attempts, barrier, results)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    results.close()
    results.join_thread()

    assert sum(ok for ok, _ in outcomes) == budget
    assert sum(refused for _, refused in outcomes) == workers * attempts - budget
    _assert_exact(pg_url, user_id, budget)


def _race_threads(url: str, user_id: str, threads: int, attempts: int) -> list[tuple[int, int]]:
    engine = create_engine(url)
    ledger = CreditLedger(engine)
    barrier = threading.Barrier(threads)

    def work(worker: int) -> tuple[int, int]:
        ok = refused = 0
        barrier.wait(timeout=60)
        for i in range(attempts):
            try:
                ledger.reserve(user_id, 1, idempotency_key=f"t{worker}-{i}")
                ok += 1
            except BudgetExceeded:
                refused += 1
        return ok, refused

    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(work, range(threads)))
    finally:
        engine.dispose()


def test_threads_never_overspend_on_sqlite(sqlite_url):
    upgrade(sqlite_url)
    budget, threads, attempts = 120, 4, 50
    user_id = _setup_user(sqlite_url, budget)
    outcomes = _race_threads(sqlite_url, user_id, threads, attempts)
    assert sum(ok for ok, _ in outcomes) == budget
    assert sum(refused for _, refused in outcomes) == threads * attempts - budget
    _assert_exact(sqlite_url, user_id, budget)


@pytest.mark.postgres
def test_threads_never_overspend_on_postgres(pg_url):
    upgrade(pg_url)
    budget, threads, attempts = 120, 4, 50
    user_id = _setup_user(pg_url, budget)
    outcomes = _race_threads(pg_url, user_id, threads, attempts)
    assert sum(ok for ok, _ in outcomes) == budget
    _assert_exact(pg_url, user_id, budget)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_one_idempotency_key_raced_by_many_threads_reserves_once(backend, request):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    upgrade(url)
    user_id = _setup_user(url, 100)
    engine = create_engine(url)
    ledger = CreditLedger(engine)
    barrier = threading.Barrier(6)

    def work(_: int):
        barrier.wait(timeout=60)
        return ledger.reserve(user_id, 3, idempotency_key="asset-7:bedroom")

    try:
        with ThreadPoolExecutor(6) as pool:
            reservations = list(pool.map(work, range(6)))
        assert len({r.id for r in reservations}) == 1
        assert sum(not r.replayed for r in reservations) == 1
        assert ledger.usage(user_id).used_this_year == 3
        assert ledger.check_chain(user_id, reservations[0].year) == []
    finally:
        engine.dispose()
