"""Sensors through build_sensor_context: cursors advance, run keys are stable, skips say why."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import insert, update

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.tables import mockups, new_id, retry_queue
from haven_pipelines.definitions import build_resources
from haven_pipelines.defs.sensors import approved_designs_sensor, retry_queue_sensor
from haven_pipelines.services.render import RenderTask, split_planned
from haven_pipelines_tests.defs.conftest import paid_haven


def _tick(sensor, instance, resources, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return sensor.evaluate_tick(context)


def test_approved_designs_sensor_adds_partitions_batches_runs_and_is_idempotent(app_db, instance):
    user = app_db.user()
    ids = app_db.designs(user, 22)
    resources = build_resources(app_db.haven())

    first = _tick(approved_designs_sensor, instance, resources)
    # Each partition is named by its quote and the start of its id (Quote 0 ... Quote 21).
    keys = app_db.partition_keys(ids)
    assert keys[0] == f"quote-0-{ids[0].replace('-', '')[:8]}"
    assert [r.partition_keys for r in first.dynamic_partitions_requests] == [keys]
    # 22 designs of one user: two runs, 20 + 2 designs (the source's request limit).
    sizes = [len(r.run_config["ops"]["generate_mockups"]["config"]["asset_ids"]) for r in first.run_requests]
    assert sizes == [20, 2]
    assert first.cursor and ids[-1] in first.cursor

    second = _tick(approved_designs_sensor, instance, resources, cursor=first.cursor)
    assert second.run_requests == [] and second.skip_message == "no newly approved designs"

    # A reset cursor asks for the same runs under the same keys, so Dagster launches nothing twice.
    replay = _tick(approved_designs_sensor, instance, resources)
    assert [r.run_key for r in replay.run_requests] == [r.run_key for r in first.run_requests]


def test_approved_designs_sensor_skips_a_user_the_budget_cannot_cover(app_db, instance):
    user = app_db.user(annual_budget=2)
    app_db.designs(user, 1)
    result = _tick(approved_designs_sensor, instance, build_resources(paid_haven(app_db)))
    assert result.run_requests == []
    assert "requested 3 credit(s), 2 of 2 remaining" in result.skip_message
    assert result.cursor is not None  # the nightly job picks those designs up once credits allow


def test_approved_designs_sensor_counts_only_the_renders_still_needed_against_the_budget(app_db, instance):
    """Mockups already made (completed, approved or rejected) cost nothing again; a failed one does."""
    user = app_db.user(annual_budget=2)
    [design] = app_db.designs(user, 1)  # growth: three scenes
    resources = build_resources(paid_haven(app_db))
    engine = create_engine(app_db.url)
    try:
        with engine.begin() as conn:
            for scene, status in (("therapy_office", "completed"), ("living_room", "rejected"), ("home_office", "failed")):
                conn.execute(insert(mockups).values(id=new_id(), user_id=user, asset_id=design, scene=scene,
                                                    status=status, scene_config={}))
        result = _tick(approved_designs_sensor, instance, resources)
        assert [r.run_config["ops"]["generate_mockups"]["config"]["asset_ids"] for r in result.run_requests] == [[design]]

        # One more failed render and the design needs 2 credits: still within 2; 3 are not.
        with engine.begin() as conn:
            conn.execute(update(mockups).where(mockups.c.scene == "therapy_office").values(status="failed"))
        assert len(_tick(approved_designs_sensor, instance, resources).run_requests) == 1
        with engine.begin() as conn:
            conn.execute(update(mockups).where(mockups.c.scene == "living_room").values(status="failed"))
        refused = _tick(approved_designs_sensor, instance, resources)
        assert refused.run_requests == [] and "requested 3 credit(s), 2 of 2 remaining" in refused.skip_message
    finally:
        engine.dispose()


def test_split_planned_counts_a_mockup_only_for_its_own_user():
    """Render planning keys statuses by owner: another user's row never marks a task done."""
    task = RenderTask("design-1", "bedroom")
    statuses = {("owner", "design-1", "bedroom"): "completed", ("other", "design-1", "bedroom"): "approved"}
    plans = split_planned({"owner": [task, task], "stranger": [task]}, statuses)
    assert plans == {"owner": ([], [task]), "stranger": ([task], [])}
    assert split_planned({"owner": [task]}, statuses, regenerate=True) == {"owner": ([task], [])}
    assert split_planned({"owner": [task]}, {("owner", "design-1", "bedroom"): "failed"}) == {"owner": ([task], [])}


def test_retry_queue_sensor_requests_one_run_per_set_of_due_entries(app_db, instance):
    user = app_db.user()
    resources = build_resources(app_db.haven())
    assert _tick(retry_queue_sensor, instance, resources).skip_message == "no retries due"
    engine = create_engine(app_db.url)
    try:
        with engine.begin() as conn:
            entry = RetryStore(conn, user).enqueue("render_mockup", "00000000-0000-0000-0000-000000000001", {}, "timeout")
            conn.execute(update(retry_queue).where(retry_queue.c.id == entry["id"])
                         .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        engine.dispose()
    first = _tick(retry_queue_sensor, instance, resources)
    again = _tick(retry_queue_sensor, instance, resources)
    assert len(first.run_requests) == 1
    assert first.run_requests[0].run_key == again.run_requests[0].run_key
