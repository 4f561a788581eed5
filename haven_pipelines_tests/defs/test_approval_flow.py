"""Supervised operation through the Dagster layer: sensors only decide, the runs they request apply
decisions and publish, and approvals stick until the content changes.

Sensors are evaluated with ``build_sensor_context``; the run a tick requests is executed in process
from the same ``Definitions`` (job, partition and tags as requested).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.tables import approval_items, metadata, mockups, retry_queue, shopify_outbox
from haven_pipelines.definitions import ASSETS, build_resources
from haven_pipelines.defs.jobs import DESIGN_GRAPH, JOBS
from haven_pipelines.defs.sensors import SENSORS, approval_decisions_sensor, approved_designs_sensor, retry_queue_sensor
from haven_pipelines.services.approvals import decide


@dataclass
class Shop:
    """One shop's user, its engine on the app database and the Dagster resources bound to it."""

    user: str
    engine: Engine
    resources: dict


@pytest.fixture
def shop_of(app_db, instance):
    """``shop_of(mode)``: a user in ``mode`` with ``designs`` approved designs registered as partitions.

    Returns ``(shop, partition keys of the designs)``; every engine made is disposed of at the end of the test.
    """
    engines: list[Engine] = []

    def make(mode: str, designs: int = 1, email: str = "ops@example.com") -> tuple[Shop, list[str]]:
        user = app_db.user(email, mode=mode)
        made = app_db.partition_keys(app_db.designs(user, designs))
        assert all(key.startswith(f"quote-{i}-") for i, key in enumerate(made))  # readable keys, not ids
        instance.add_dynamic_partitions("designs", made)
        engine = create_engine(app_db.url)
        engines.append(engine)
        return Shop(user, engine, build_resources(app_db.haven())), made

    yield make
    for engine in engines:
        engine.dispose()


def _defs(resources) -> dg.Definitions:
    """The project's assets, jobs and sensors bound to the test resources."""
    return dg.Definitions(assets=ASSETS, jobs=JOBS, sensors=SENSORS, resources=resources)


def _tick(sensor, instance, resources, cursor=None):
    # A partitioned run request is resolved against the definitions and the instance's dynamic
    # partitions, as the daemon does.
    with dg.partition_loading_context(dynamic_partitions_store=instance), dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources, definitions=_defs(resources)
    ) as context:
        return sensor.evaluate_tick(context)


def _snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every application table, in a stable order."""
    with engine.connect() as conn:
        return {name: sorted((tuple(map(repr, row)) for row in conn.execute(select(table))))
                for name, table in metadata.tables.items()}


def _items(engine, type_=None):
    stmt = select(approval_items)
    if type_:
        stmt = stmt.where(approval_items.c.type == type_)
    with engine.connect() as conn:
        return conn.execute(stmt).mappings().all()


def _mockup_statuses(engine):
    with engine.connect() as conn:
        return conn.execute(select(mockups.c.status)).scalars().all()


def _product_sets(engine):
    with engine.connect() as conn:
        return conn.execute(select(shopify_outbox.c.variables).where(shopify_outbox.c.operation == "ProductSet")
                            .order_by(shopify_outbox.c.id)).scalars().all()


def _price(variables, sku_suffix="8X10-UNF"):
    [price] = [v["price"] for v in variables["input"]["variants"] if v["sku"].endswith(f"-{sku_suffix}")]
    return price


def _run_requested(request: dg.RunRequest, instance, resources) -> None:
    """Execute the run a sensor requested, as the daemon would launch it."""
    job = _defs(resources).resolve_job_def(request.job_name or approval_decisions_sensor.job_name)
    result = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags)
    assert result.success


def _catalogue_run(design, instance, resources) -> None:
    assert dg.materialize(DESIGN_GRAPH, resources=resources, instance=instance, partition_key=design).success


def test_a_supervised_shop_publishes_on_the_tick_after_the_last_approval_and_only_then(shop_of, instance):
    shop, [design] = shop_of("supervised")
    user, engine, resources = shop.user, shop.engine, shop.resources
    _catalogue_run(design, instance, resources)
    mockup_items = _items(engine, "mockup")
    assert len(mockup_items) == 3 and _items(engine, "product") == []  # growth: three scenes

    for item in mockup_items:
        decide(engine, user, item["id"], "approved")
    before = _snapshot(engine)
    tick = _tick(approval_decisions_sensor, instance, resources)
    assert _snapshot(engine) == before  # the tick decided; it wrote nothing
    [request] = tick.run_requests
    assert request.partition_key == design and request.tags["haven/user"] == user
    _run_requested(request, instance, resources)
    [product_item] = _items(engine, "product")
    assert product_item["status"] == "pending" and product_item["payload"]["changes"] == ["new"]
    assert _product_sets(engine) == []  # nothing goes out before the product is approved

    decide(engine, user, product_item["id"], "approved")
    second = _tick(approval_decisions_sensor, instance, resources, cursor=tick.cursor)
    [publish_request] = second.run_requests
    _run_requested(publish_request, instance, resources)
    [first_set] = _product_sets(engine)
    assert _price(first_set) == "24.99"

    # A second round changes nothing: the sensor has nothing new, and a catalogue run opens no
    # approval and sends nothing again.
    assert _tick(approval_decisions_sensor, instance, resources, cursor=second.cursor).run_requests == []
    _catalogue_run(design, instance, resources)
    assert [i["status"] for i in _items(engine)] == ["approved"] * 4
    assert _product_sets(engine) == [first_set]

    # A price change reopens the product's approval naming the prices; the shop keeps 24.99.
    with engine.begin() as conn:
        PricingStore(conn, user).set_override("8x10", "27.50", "52.00", "11.00", "8.00")
    _catalogue_run(design, instance, resources)
    [reopened] = _items(engine, "product")
    assert reopened["status"] == "pending" and "prices" in reopened["payload"]["changes"]
    assert _product_sets(engine) == [first_set]

    decide(engine, user, reopened["id"], "approved")
    third = _tick(approval_decisions_sensor, instance, resources, cursor=second.cursor)
    [again] = third.run_requests
    # The same item decided again is a new decision: a new run key, so Dagster launches it.
    assert again.run_key != publish_request.run_key
    _run_requested(again, instance, resources)
    sets = _product_sets(engine)
    assert len(sets) == 2 and _price(sets[-1]) == "27.50"


def test_an_autopilot_shop_publishes_once_per_change_without_approvals(shop_of, instance):
    shop, [design] = shop_of("autopilot")
    user, engine, resources = shop.user, shop.engine, shop.resources
    _catalogue_run(design, instance, resources)
    _catalogue_run(design, instance, resources)
    assert len(_product_sets(engine)) == 1 and _items(engine) == []
    with engine.begin() as conn:
        PricingStore(conn, user).set_override("8x10", "27.50", "52.00", "11.00", "8.00")
    _catalogue_run(design, instance, resources)
    sets = _product_sets(engine)
    assert len(sets) == 2 and _price(sets[-1]) == "27.50"


def _sensor_run(request: dg.RunRequest, instance, resources) -> None:
    """Execute the op job an approved_designs_sensor request names, with its run config."""
    job = _defs(resources).resolve_job_def(request.job_name or approved_designs_sensor.job_name)
    result = job.execute_in_process(instance=instance, run_config=request.run_config, tags=request.tags)
    assert result.success


def test_the_sensor_run_carries_an_autopilot_design_to_its_listing_and_a_supervised_one_to_review(app_db, instance):
    # On a running deployment the approved-designs sensor is all that starts a design: its one run
    # must reach the listing in autopilot (nothing else would until the nightly), and must publish
    # nothing for a supervised shop, whose mockups wait for review.
    auto = app_db.user("auto@example.com", mode="autopilot")
    supervised = app_db.user("review@example.com", mode="supervised")
    assert auto != supervised
    [auto_design] = app_db.designs(auto, 1)
    [supervised_design] = app_db.designs(supervised, 1)
    resources = build_resources(app_db.haven())
    engine = create_engine(app_db.url)
    try:
        tick = _tick(approved_designs_sensor, instance, resources)
        assert {r.tags["haven/user"] for r in tick.run_requests} == {auto, supervised}
        for request in tick.run_requests:
            _sensor_run(request, instance, resources)
        assert len(_product_sets(engine)) == 1
        with engine.connect() as conn:
            owners = conn.execute(select(shopify_outbox.c.user_id).where(shopify_outbox.c.operation == "ProductSet")).scalars().all()
        assert owners == [auto]
        assert {i["type"] for i in _items(engine)} == {"mockup"}  # the supervised design waits for review
        assert all(i["user_id"] == supervised and i["status"] == "pending" for i in _items(engine))
    finally:
        engine.dispose()


def test_no_sensor_tick_writes_to_the_application_database(app_db, shop_of, instance):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    shop, [design] = shop_of("supervised")
    user, engine, resources = shop.user, shop.engine, shop.resources
    _catalogue_run(design, instance, resources)
    # Decisions recorded but not yet applied to their mockups (as a reviewer tool writing only the
    # queue would leave them): applying them is the run's work, never the tick's.
    with engine.begin() as conn:
        conn.execute(update(approval_items).where(approval_items.c.type == "mockup")
                     .values(status="approved", decided_at=datetime.now(UTC)))
    with engine.begin() as conn:
        entry = RetryStore(conn, user).enqueue("render_mockup", "00000000-0000-0000-0000-000000000001", {}, "timeout")
        conn.execute(update(retry_queue).where(retry_queue.c.id == entry["id"])
                     .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1)))
    app_db.designs(user, 1)  # a newly approved design for approved_designs_sensor
    before = _snapshot(engine)
    results = [_tick(sensor, instance, resources)
               for sensor in (approved_designs_sensor, approval_decisions_sensor, retry_queue_sensor)]
    assert all(r.run_requests for r in results)  # each tick had work to ask for
    assert _snapshot(engine) == before
    assert _mockup_statuses(engine) == ["completed"] * 3

    _run_requested(results[1].run_requests[0], instance, resources)
    assert _mockup_statuses(engine) == ["approved"] * 3  # the requested run applied the decisions
    [product_item] = _items(engine, "product")
    assert product_item["status"] == "pending"


def test_every_sensor_schedule_and_job_says_what_it_does():
    from haven_pipelines.definitions import defs

    for sensor in defs.sensors:
        assert sensor.name.endswith("_sensor") and "Stopped by default" in sensor.description
        assert "credit" in sensor.description
    for schedule in defs.schedules:
        assert schedule.name.endswith("_schedule") and "Stopped by default" in schedule.description
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):
            continue  # Dagster's implicit asset job
        assert job.name.endswith("_job") and job.description and "credit" in job.description, job.name
    assert defs.resolve_job_def("catalogue_job").description.startswith("The main catalogue job")
