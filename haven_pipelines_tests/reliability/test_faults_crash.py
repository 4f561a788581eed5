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
                          "delay": 0.08, "log_path": str(log_path), "workers": 1})
    deadline = time.monotonic() + 60
    try:
        # One worker, killed just after the 16th render started: 15 mockups are finished and stored,
        # the 16th has its credit reserved and sleeps 80 ms in the renderer, so the kill lands mid-render.
        while time.monotonic() < deadline and child.poll() is None and len(fw.read_render_log(log_path)[1]) < 15:
            time.sleep(0.01)
        started = len(fw.read_render_log(log_path)[0])
        while time.monotonic() < deadline and child.poll() is None and len(fw.read_render_log(log_path)[0]) == started:
            time.sleep(0.002)
        assert child.poll() is None, "the child finished before it could be killed; slow the renderer down"
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


def test_sigkill_between_stored_mockup_and_ledger_commit(pg_url, pg_engine, tmp_path, reliability_record):
    """The narrowest window: the image is stored and the mockup completed, the credit not yet committed."""
    images = tmp_path / "images"
    blob = LocalBlobStore(images)
    user = fw.make_user(pg_engine, "window@example.com")
    designs = fw.make_designs(pg_engine, blob, user, 2)
    tasks = [(d, s) for d in designs for s in ("bedroom", "living_room")]
    child = _start_child({"database_url": pg_url, "images": str(images), "user_id": user, "tasks": tasks,
                          "workers": 1, "kill_on_commit": 3})
    _wait_exit(child)
    killed_at = datetime.now(UTC)
    before = done_mockups(pg_engine, user)
    ctx, blob, renderer, swept, result = _sweep_and_rerun(pg_engine, images, user, tasks, killed_at)
    try:
        invariants = assert_invariants(pg_engine, blob, user)
        assert nothing_undone({k: v for k, v in before.items() if v["credits_used"]}, done_mockups(pg_engine, user)) == []
        assert ctx.ledger.usage(user).used_this_year == 4
        assert swept and len(swept) == 1 and result.rendered == 2 and result.skipped == 2
        total_renders = 3 + sum(renderer.rendered.values())  # the child rendered 3 before it died
    finally:
        ctx.close()
    reliability_record("faults", "SIGKILL between a stored mockup and its credit commit",
           "SIGKILL right before the 3rd ledger commit (mockup row completed, reservation open)",
           "the sweeper and the re-run left every finished mockup paid exactly once",
           invariants + ["nothing_undone"],
           {"renders_planned": 4, "render_calls": total_renders, "reservations_swept": len(swept),
            "renders_verified": 4, "credits_charged": 4, "faults_injected": 1, "lost": 0})
