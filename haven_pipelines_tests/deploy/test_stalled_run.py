"""A run that stalls is failed by Dagster's run monitor, the sweeper releases what it held, and Dagster's
run retry finishes the work without charging twice (issue 15), on a running deployment.

The deployment of :mod:`haven_pipelines_tests.deploy.harness`: ``deploy/dagster.postgres.yaml`` in a
temporary ``DAGSTER_HOME`` (only its monitor poll interval shortened to 2 s, so the test waits
seconds rather than half a minute), a real ``dagster-daemon run``, and the application database on
PostgreSQL reached as a login in the application role, so every run works under row-level security.

How the run stalls, deterministically and without touching the code: the test holds a lock on the
``mockups`` table, so the render, which has reserved its credits, waits on the database (as a run
stuck on a lock or a silent socket would). The run is launched with ``dagster/max_runtime`` 20 s
(the job's own tag is 45 minutes; a launch may override it). Then:

1. the monitor fails the run ("Exceeded maximum runtime") and terminates it; its render thread is
   still blocked, holding an open reservation;
2. the stalled run is tagged ``haven/test-hold=held``, a tag the test's copy of the profile limits
   to 0 runs at once: the retry Dagster launches inherits the tag and waits in the queue, so the
   sweeper below runs first (in production the sweeper runs nightly, and a retry launched at once
   takes the open reservation over under the same idempotency key instead);
3. the sweeper runs (``CreditLedger.sweep``, the nightly's op) and refunds exactly that reservation;
4. the stalled run's database session is ended (its worker would otherwise carry on later), the
   lock is released, and the retry is let out of the queue (its hold tag changed, and its time
   limit put back to the job's own: it inherited the launch's short one);
5. the retry renders the mockup under a new reservation and succeeds.

Then the ledger is exact: one reservation refunded by the sweeper, one committed to the mockup,
the mockup rendered once, and the chain audit clean.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from haven_pipelines import settings
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import credit_reservations, mockups, new_id
from haven_pipelines.defs.run_limits import MAX_RUNTIME_TAG, RENDER_MAX_RUNTIME_SECONDS
from haven_pipelines.domain.keys import design_key
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.demo import SIZE, draw_design
from haven_pipelines_tests.conftest import admin_execute, create_pg_database, drop_pg_database, session_role_prefix
from haven_pipelines_tests.deploy.harness import WORKSPACE, Deployment

pytestmark = [pytest.mark.slow, pytest.mark.daemon, pytest.mark.postgres, pytest.mark.timeout(1200)]

EMAIL = "stall@haven.test"
SCENE = "bedroom"
MAX_RUNTIME = 20  # seconds: long enough for the run to load and reserve on a shared 2-core machine
POLL_SECONDS = 2
HOLD_TAG = "haven/test-hold"
WAIT = 300.0


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """Databases, an application login, the deployment; everything removed afterwards."""
    with ExitStack() as cleanup:
        app_url = create_pg_database("haven_stall_app")
        cleanup.callback(drop_pg_database, app_url)
        instance_url = create_pg_database("haven_stall_dagster")
        cleanup.callback(drop_pg_database, instance_url)
        upgrade(app_url)
        login = f"{session_role_prefix()}stall_{new_id()[:8]}"
        admin_execute(f'CREATE ROLE "{login}" LOGIN IN ROLE "{settings.db_roles().app}"')
        cleanup.callback(admin_execute, f'DROP ROLE IF EXISTS "{login}"')
        deploy = Deployment.create(tmp_path, app_url, instance_url, generate_key(), shops={})
        cleanup.callback(_stop_and_check, deploy)
        # The runs reach the database as the application's login, never as the admin.
        deploy.env["HAVEN_DATABASE_URL"] = make_url(app_url).set(username=login).render_as_string(hide_password=False)
        profile = deploy.root / "dagster_home" / "dagster.yaml"
        text_ = profile.read_text()
        assert text_.count("poll_interval_seconds: 30") == 1, "deploy profile: expected one monitor poll interval"
        text_ = text_.replace("poll_interval_seconds: 30", f"poll_interval_seconds: {POLL_SECONDS}")
        anchor = "    tag_concurrency_limits:\n"
        assert text_.count(anchor) == 1, "deploy profile: expected one tag_concurrency_limits list"
        profile.write_text(text_.replace(anchor, anchor + f"      - key: {HOLD_TAG}\n        value: held\n        limit: 0\n"))
        for name, value in deploy.env.items():
            monkeypatch.setenv(name, value)
        yield deploy


def _stop_and_check(deploy: Deployment) -> None:
    deploy.stop()
    left = deploy.leftover_processes()
    assert not left, f"processes left behind: {left}"


def _autopilot_design(deploy: Deployment) -> tuple[str, str]:
    """An autopilot user with one approved design (stored image first); returns (user id, design id)."""
    blob_store = LocalBlobStore(deploy.root / "data" / "images")
    with deploy.engine() as engine, engine.begin() as conn:
        user_id = get_or_create_user(conn, EMAIL)["id"]
        SettingsStore(conn, user_id).update(global_mode="autopilot")
        data = draw_design(7, "Stay rooted", "grounding")
        asset_id = new_id()
        stored = blob_store.put(design_key(user_id, asset_id, data, "png"), data, "image/png")
        store = DesignStore(conn, user_id)
        quote = store.create_quote("Stay rooted", "grounding", "calm")
        store.create_asset(stored.url, stored.key, "png", *SIZE, quote["id"], "approved", asset_id=asset_id)
    return user_id, asset_id


def _reservations(deploy: Deployment, user_id: str) -> list[dict]:
    with deploy.engine() as engine, engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(credit_reservations).where(credit_reservations.c.user_id == user_id)
            .order_by(credit_reservations.c.created_at)).mappings()]


def _waiting_on(conn, table: str) -> list[int]:
    """Backends of the application database waiting for a lock on ``table``."""
    return list(conn.execute(text(
        "SELECT l.pid FROM pg_locks l WHERE NOT l.granted AND l.relation = CAST(:t AS regclass)"), {"t": table}).scalars())


def test_a_stalled_run_is_failed_swept_and_retried_without_charging_twice(deployment: Deployment):
    deploy = deployment
    started = time.monotonic()
    try:
        _scenario(deploy)
    finally:
        print(f"\nstalled-run deployment test: wall time {time.monotonic() - started:.1f} s")


def _scenario(deploy: Deployment) -> None:
    user_id, asset_id = _autopilot_design(deploy)
    assert deploy.instance.get_run_records() == []
    deploy.start_daemon()

    admin = create_engine(deploy.app_url)  # the admin's (the deployment's engine() keeps one connection)
    try:
        _stall_fail_sweep(deploy, admin, user_id, asset_id)
    finally:
        admin.dispose()


def _stall_fail_sweep(deploy: Deployment, admin, user_id: str, asset_id: str) -> None:
    with admin.connect() as hold_mockups:
        hold_mockups.execute(text("LOCK TABLE mockups IN SHARE MODE"))  # an INSERT waits; reads go on
        config = {"ops": {"generate_mockups": {"config": {"user": EMAIL, "asset_ids": [asset_id], "scenes": [SCENE]}}}}
        deploy.run_program("dagster", "job", "launch", "-j", "generate_mockups_job", "-w", str(WORKSPACE),
                           "--config-json", json.dumps(config), "--tags", json.dumps({"dagster/max_runtime": str(MAX_RUNTIME)}))

        # The run reserves its credit, then blocks on the mockups table.
        held = deploy.wait_for("the first run to reserve its credit and block",
                               lambda: [r for r in _reservations(deploy, user_id) if r["status"] == "open"]
                               if _waiting_on(hold_mockups, "mockups") else None, WAIT)
        assert len(held) == 1
        stalled_pid = _waiting_on(hold_mockups, "mockups")
        # The retry inherits this tag and stays queued until the test lets it go.
        running = next(r for r in deploy.runs() if r.status == "STARTED")
        deploy.instance.add_run_tags(running.run_id, {HOLD_TAG: "held"})

        first = deploy.wait_for("the run monitor to fail the stalled run",
                                lambda: next((r for r in deploy.runs() if r.status == "FAILURE"), None), WAIT)
        # The monitor's words are on the run's CANCELING and FAILURE events.
        entries = deploy.instance.all_logs(first.run_id)
        messages = [(e.dagster_event.message if e.dagster_event else None) or e.user_message for e in entries]
        stamps = {e.dagster_event.event_type_value: e.timestamp for e in entries if e.dagster_event}
        monitor_seconds = stamps["PIPELINE_FAILURE"] - stamps["PIPELINE_START"]
        assert any(f"Exceeded maximum runtime of {MAX_RUNTIME} seconds" in (m or "") for m in messages), messages[-15:]
        assert MAX_RUNTIME <= monitor_seconds, monitor_seconds
        # Dagster creates the retry NOT_STARTED and then submits it to the queue: wait past that step.
        retry = deploy.wait_for("Dagster to queue the retry",
                                lambda: next((r for r in deploy.runs() if r.tags.get("dagster/parent_run_id") == first.run_id
                                              and r.status != "NOT_STARTED"), None), WAIT)
        assert retry.status == "QUEUED" and retry.tags.get(HOLD_TAG) == "held"
        assert retry.tags.get("dagster/retry_number") == "1" and retry.job_name == "generate_mockups_job"
        assert [r["id"] for r in _reservations(deploy, user_id) if r["status"] == "open"] == [held[0]["id"]]

        # The sweeper releases what the failed run held (the nightly's sweeper, here with age 0).
        swept = CreditLedger(admin).sweep(timedelta(0), now=datetime.now(UTC))
        assert swept == [held[0]["id"]]
        # The stalled worker would carry on once the lock went; it was failed, so it is ended.
        for pid in stalled_pid:
            hold_mockups.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        hold_mockups.rollback()
    # Let the retry go, with the job's own time limit (it inherited the short one this test launched with).
    deploy.instance.add_run_tags(retry.run_id, {HOLD_TAG: "released", MAX_RUNTIME_TAG: str(RENDER_MAX_RUNTIME_SECONDS)})
    _retry_finishes(deploy, user_id, first, retry, monitor_seconds)


def _retry_finishes(deploy: Deployment, user_id: str, first, retry, monitor_seconds: float) -> None:
    done = deploy.wait_for("the retry to finish", lambda: next(
        (r for r in deploy.runs() if r.run_id == retry.run_id and r.finished), None), WAIT)
    assert done.status == "SUCCESS", deploy.report()
    runs = deploy.runs()
    assert [(r.run_id, r.status) for r in runs] == [(first.run_id, "FAILURE"), (retry.run_id, "SUCCESS")]

    with deploy.engine() as admin, admin.connect() as conn:
        mockup = conn.execute(select(mockups).where(mockups.c.user_id == user_id)).mappings().one()
    reservations = _reservations(deploy, user_id)
    assert [(r["status"], r["mockup_id"]) for r in reservations] == [("refunded", None), ("committed", mockup["id"])]
    assert reservations[0]["close_reason"].startswith("swept")
    assert (mockup["status"], mockup["render_count"], mockup["scene"]) == ("approved", 1, SCENE)
    assert mockup["credits_used"] == reservations[1]["credits"]
    with deploy.engine() as admin:
        assert CreditLedger(admin).check_chain(user_id, reservations[0]["created_at"].year) == []
    print(f"\nmonitor failed the stalled run {monitor_seconds:.1f} s after it started (max runtime {MAX_RUNTIME} s, "
          f"poll {POLL_SECONDS} s)")
