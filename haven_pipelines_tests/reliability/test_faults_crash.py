"""Crash faults: a render process killed with SIGKILL, then the sweeper and a re-run (PostgreSQL).

The batch runs in a child Python process (the same RenderService a Dagster run or ``haven render``
uses) with a one-credit renderer slowed down enough to be killed midway. Recovery is what production
does: the sweeper refunds reservations left open, and the next run renders what is not finished.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.tables import credit_reservations, mockups
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.context import build_context
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines_tests.reliability import faults_world as fw
from haven_pipelines_tests.reliability.invariants import assert_invariants, done_mockups, nothing_undone

pytestmark = pytest.mark.postgres
SWEEP_AGE = timedelta(minutes=15)


def _start_child(spec: dict) -> subprocess.Popen:
    code = "import sys; from haven_pipelines_tests.reliability.faults_world import child_render; child_render(sys.argv[1])"
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(spec)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _counts(engine, user_id):
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(mockups).where(
            mockups.c.user_id == user_id, mockups.c.status.in_(("completed", "approved")))).scalar_one()
        open_ = conn.execute(select(func.count()).select_from(credit_reservations).where(
            credit_reservations.c.user_id == user_id, credit_reservations.c.status == "open")).scalar_one()
    return done, open_


def _wait_exit(child: subprocess.Popen) -> None:
    try:
        _, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("the render child did not stop within 30 s")
    assert child.returncode == -signal.SIGKILL, f"child ended with {child.returncode}: {err.decode()[-2000:]}"


def _sweep_and_rerun(engine, images, user_id, tasks, killed_at: datetime):
    blob = LocalBlobStore(images)
    renderer = fw.ChargingRenderer()
    ctx = build_context(engine=engine, blob=blob, renderer_impl=renderer)
    # The nightly sweeper runs later: move its clock past the reservations' age limit.
    swept = ctx.ledger.sweep(older_than=SWEEP_AGE, now=killed_at + SWEEP_AGE + timedelta(minutes=1))
    result = RenderService(ctx).render_batch(user_id, [RenderTask(a, s) for a, s in tasks])
    return ctx, blob, renderer, swept, result


@pytest.mark.slow
def test_sigkill_mid_batch_then_sweep_and_rerun(pg_url, pg_engine, tmp_path, reliability_record):
    images = tmp_path / "images"
    blob = LocalBlobStore(images)
    user = fw.make_user(pg_engine, "crash@example.com")
    designs = fw.make_designs(pg_engine, blob, user, 10)
    tasks = [(d, s) for d in designs for s in fw.SCENES]
    assert len(tasks) == 50
    log_path = tmp_path / "child-renders.log"
    child = _start_child({"database_url": pg_url, "images": str(images), "user_id": user, "tasks": tasks,
                          "hold_at": 16, "log_path": str(log_path), "workers": 1})
    deadline = time.monotonic() + 120
    try:
        # One worker, killed inside the 16th render: it has its credit reserved and waits in the
        # renderer until the kill, and the 15 before it are finished and stored (waited for in the
        # database, so the kill lands in the same place however loaded the machine is).
        while time.monotonic() < deadline and child.poll() is None and not (
                len(fw.read_render_log(log_path)[0]) == 16 and _counts(pg_engine, user) == (15, 1)):
            time.sleep(0.05)
        assert child.poll() is None, f"the render child exited early with {child.returncode}"
        assert len(fw.read_render_log(log_path)[0]) == 16, "the 16th render did not start within 120 s"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None and child.returncode is None:
            child.kill()
    _wait_exit(child)
    killed_at = datetime.now(UTC)
    done_at_kill, open_at_kill = _counts(pg_engine, user)
    before = done_mockups(pg_engine, user)
    child_renders = Counter(fw.read_render_log(log_path)[1])
    assert (done_at_kill, open_at_kill, sum(child_renders.values())) == (15, 1, 15)

    ctx, blob, renderer, swept, result = _sweep_and_rerun(pg_engine, images, user, tasks, killed_at)
    try:
        assert len(swept) == open_at_kill  # every reservation the crash left open was refunded
        assert result.rendered == 50 - done_at_kill and result.skipped == done_at_kill and result.failed == 0
        # Nothing finished before the crash was rendered again; everything else was rendered once now.
        finished_keys = {f"{a}:{s}" for a, s in before}
        assert set(renderer.rendered) == {f"{a}:{s}" for a, s in tasks} - finished_keys
        assert all(n == 1 for n in renderer.rendered.values())
        invariants = assert_invariants(pg_engine, blob, user)
        assert nothing_undone(before, done_mockups(pg_engine, user)) == []
        usage = ctx.ledger.usage(user)
        assert usage.used_this_year == 50  # 50 mockups, 50 credits: the refunded crash reservations cost nothing
    finally:
        ctx.close()
    reliability_record("faults", "SIGKILL mid 50-render batch, sweeper, re-run",
           f"SIGKILL of the render process after {done_at_kill} of 50 renders, {open_at_kill} reservation(s) open",
           "sweeper refunded the open reservations; the re-run skipped the finished mockups and rendered the rest once",
           invariants + ["nothing_undone", "no_double_render"],
           {"renders_planned": 50, "renders_before_kill": done_at_kill, "reservations_swept": len(swept),
            "renders_after_rerun": result.rendered, "renders_verified": 50, "credits_charged": usage.used_this_year,
            "faults_injected": 1, "lost": 0})


@dataclass(frozen=True)
class Window:
    """A crash window of one render: where the child is killed and the state the kill must leave."""

    name: str
    kill: dict
    injected: str
    done: int  # finished (completed or approved) mockups at the kill
    open_: int  # open reservations at the kill
    generating: int  # mockups left in ``generating`` at the kill
    fail_third: bool = False  # the 3rd render fails, so that the kill lands on the failure path


# A render is: reserve (own transaction) -> start the mockup (own transaction) -> render -> store the
# image and thumbnail -> one transaction that completes the mockup, commits the credit and routes it;
# a failed render is refunded (own transaction) and then marked failed with a retry entry. Every
# boundary between those steps where a process can die is a window; the kill lands at the 3rd render
# of four (one worker), so two mockups are finished before it. The window mid-render is the 50-render
# test above.
WINDOWS = [
    Window("after a finished render, before the next reservation",
           {"method": "reserve", "side": "before", "call": 3},
           "SIGKILL right before the 3rd reservation (two mockups finished and paid, nothing open)",
           done=2, open_=0, generating=0),
    Window("after a reservation, before its mockup row",
           {"method": "reserve", "side": "after", "call": 3},
           "SIGKILL right after the 3rd reservation committed (credit held, no mockup row yet)",
           done=2, open_=1, generating=0),
    Window("image stored, finishing transaction open",
           {"method": "commit", "side": "before", "call": 3},
           "SIGKILL inside the 3rd render's finishing transaction, after its image and thumbnail were stored and "
           "the mockup marked completed in that transaction, before the credit commit (the database rolls the "
           "transaction back: mockup generating, reservation open)",
           done=2, open_=1, generating=1),
    Window("failed render refunded, not yet marked failed",
           {"method": "refund", "side": "after", "call": 1},
           "the 3rd render fails; SIGKILL right after its refund committed, before the mockup is marked failed "
           "and queued for retry (mockup generating, nothing open)",
           done=2, open_=0, generating=1, fail_third=True),
]


def _generating(engine, user_id) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(mockups).where(
            mockups.c.user_id == user_id, mockups.c.status == "generating")).scalar_one()


@pytest.mark.parametrize("window", WINDOWS, ids=[w.name for w in WINDOWS])
def test_sigkill_in_each_crash_window_then_sweep_and_rerun(window, pg_url, pg_engine, tmp_path, reliability_record):
    """Kill the render process in one window; the sweeper and a re-run leave the ledger exact."""
    images = tmp_path / "images"
    blob = LocalBlobStore(images)
    user = fw.make_user(pg_engine, "window@example.com")
    designs = fw.make_designs(pg_engine, blob, user, 2)
    tasks = [(d, s) for d in designs for s in ("bedroom", "living_room")]
    fail_keys = [f"{tasks[2][0]}:{tasks[2][1]}"] if window.fail_third else []
    child = _start_child({"database_url": pg_url, "images": str(images), "user_id": user, "tasks": tasks,
                          "workers": 1, "kill": window.kill, "fail_keys": fail_keys})
    _wait_exit(child)
    killed_at = datetime.now(UTC)
    done_at_kill, open_at_kill = _counts(pg_engine, user)
    assert (done_at_kill, open_at_kill, _generating(pg_engine, user)) == (window.done, window.open_, window.generating)
    before = done_mockups(pg_engine, user)

    ctx, blob, renderer, swept, result = _sweep_and_rerun(pg_engine, images, user, tasks, killed_at)
    try:
        assert len(swept) == open_at_kill  # exactly the reservations the crash left open were refunded
        assert (result.rendered, result.skipped, result.failed) == (4 - done_at_kill, done_at_kill, 0)
        # The re-run rendered exactly what was not finished, each once.
        finished_keys = {f"{a}:{s}" for a, s in before}
        assert set(renderer.rendered) == {f"{a}:{s}" for a, s in tasks} - finished_keys
        assert all(n == 1 for n in renderer.rendered.values())
        invariants = assert_invariants(pg_engine, blob, user)
        assert nothing_undone(before, done_mockups(pg_engine, user)) == []
        charged = ctx.ledger.usage(user).used_this_year
        assert charged == 4  # four mockups, four credits: nothing paid twice, nothing delivered unpaid
    finally:
        ctx.close()
    reliability_record("faults", f"SIGKILL {window.name}", window.injected,
           "the sweeper refunded exactly the reservations left open and the re-run rendered the unfinished mockups "
           "once; every finished mockup is paid exactly once",
           invariants + ["nothing_undone", "no_double_render"],
           {"renders_planned": 4, "renders_before_kill": done_at_kill, "reservations_open_at_kill": open_at_kill,
            "reservations_swept": len(swept), "renders_after_rerun": result.rendered, "renders_verified": 4,
            "credits_charged": charged, "faults_injected": 1, "lost": 0})
