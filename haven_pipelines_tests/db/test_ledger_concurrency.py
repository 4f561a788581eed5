"""Concurrent reservations never exceed the annual budget: processes on PostgreSQL, threads on SQLite."""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
import traceback
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


def _reserve_many(url: str, user_id: str, attempts: int, barrier) -> tuple[int, int]:
    """Worker process: ``attempts`` reservations of 1 credit; returns (successes, refusals)."""
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
    return ok, refused


def _raise_in_worker(barrier) -> None:
    """A worker that fails before the race starts (the harness test below)."""
    raise RuntimeError("worker broke on purpose")


def _wait_forever(barrier) -> None:
    """A worker that never finishes on its own: it waits at the barrier its sibling breaks."""
    barrier.wait()


def _worker_entry(target, args, barrier, results, index: int) -> None:
    """Run ``target(*args, barrier)`` and put ``(index, "ok", value)`` or ``(index, "error", traceback)``.

    On an error the barrier is broken, so that siblings still waiting at it stop at once too.
    """
    try:
        results.put((index, "ok", target(*args, barrier)))
    except threading.BrokenBarrierError:
        results.put((index, "broken", traceback.format_exc()))
    except BaseException:
        results.put((index, "error", traceback.format_exc()))
        barrier.abort()


class WorkerFailed(AssertionError):
    """A worker process raised: the message carries its traceback."""


def run_workers(targets, args, *, limit_s: float = 300) -> list:
    """Run each of ``targets`` as ``target(*args, barrier)`` in its own spawned process; their return
    values in order.

    The first worker that raises fails the call at once with that worker's traceback (the others
    are terminated), and so does a worker that dies without answering: nothing waits out ``limit_s``,
    which only bounds a worker that hangs.
    """
    workers = len(targets)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker_entry, args=(t, args, barrier, results, i)) for i, t in enumerate(targets)]
    for proc in procs:
        proc.start()
    values: dict[int, object] = {}
    broken: dict[int, str] = {}  # workers stopped by a sibling's error: reported only if no error comes
    deadline = time.monotonic() + limit_s
    try:
        while len(values) + len(broken) < workers:
            try:
                index, status, value = results.get(timeout=0.5)
            except queue.Empty:
                dead = [i for i, p in enumerate(procs) if p.exitcode not in (None, 0) and i not in values and i not in broken]
                if dead:
                    raise WorkerFailed(f"worker {dead[0]} died with exit code {procs[dead[0]].exitcode} and no answer") from None
                if time.monotonic() > deadline:
                    raise WorkerFailed(f"{workers - len(values)} worker(s) still running after {limit_s:.0f} s") from None
                continue
            if status == "error":
                raise WorkerFailed(f"worker {index} raised:\n{value}")
            if status == "broken":
                broken[index] = value
                continue
            values[index] = value
        if broken:
            index, text = next(iter(broken.items()))
            raise WorkerFailed(f"worker {index} found the barrier broken:\n{text}")
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
        results.close()
        results.join_thread()
    return [values[i] for i in range(workers)]


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
    outcomes = run_workers([_reserve_many] * workers, (pg_url, user_id, attempts))
    assert sum(ok for ok, _ in outcomes) == budget
    assert sum(refused for _, refused in outcomes) == workers * attempts - budget
    _assert_exact(pg_url, user_id, budget)


def test_a_worker_that_raises_fails_the_race_at_once_with_its_error():
    """The harness: one worker raises while its sibling would wait forever at the barrier; the run
    fails with the worker's own error instead of waiting for an answer that never comes."""
    with pytest.raises(WorkerFailed, match="worker broke on purpose") as info:
        run_workers([_wait_forever, _raise_in_worker], ())
    assert "RuntimeError" in str(info.value)


def _race_threads(url: str, user_id: str, threads: int, attempts: int) -> list[tuple[int, int]]:
    engine = create_engine(url)
    ledger = CreditLedger(engine)
    barrier = threading.Barrier(threads)

    def work(worker: int) -> tuple[int, int]:
        ok = refused = 0
        try:
            barrier.wait(timeout=60)
            for i in range(attempts):
                try:
                    ledger.reserve(user_id, 1, idempotency_key=f"t{worker}-{i}")
                    ok += 1
                except BudgetExceeded:
                    refused += 1
        except BaseException:
            barrier.abort()  # siblings still at the barrier stop now instead of after its timeout
            raise
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
