"""Sensors: newly approved designs, approval decisions, and the retry queue.

A sensor only decides: its evaluation reads the application database and returns run requests, a
cursor and partition requests; it writes nothing else, because Dagster may evaluate a tick again,
late, or not at all. The runs it requests do the writes, idempotently.

Each keeps a cursor in Dagster (the last row it handled), so a tick reads only what is new, and
gives every run request a key derived from what it covers: a repeated tick, or a cursor reset,
never launches the same work twice.

All three start STOPPED (a deployment turns on what it wants): in the UI, Automation -> the sensor
-> Start, or ``dagster sensor start <name>``.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from haven_pipelines.defs.jobs import design_listing_job, generate_mockups_job, retry_queue_job
from haven_pipelines.defs.partitions import DESIGNS_PARTITION
from haven_pipelines.defs.resources import CreditBudgetResource, HavenResource
from haven_pipelines.domain.errors import BudgetExceeded
from haven_pipelines.services.approvals import decisions_page
from haven_pipelines.services.designs import (
    approved_designs_tick, decode_cursor, encode_cursor, partition_key_of, partition_keys,
)
from haven_pipelines.services.render import MAX_ASSETS_PER_REQUEST
from haven_pipelines.services.retries import due_entries

# Designs read per tick; at most 20 go into one run (Haven Hub's request limit), so a tick asks
# for at most 5 runs per user and a burst of approvals drains over a few ticks.
DESIGNS_PER_TICK = 100
DECISIONS_PER_TICK = 100
RETRIES_PER_RUN = 50


def stable_key(prefix: str, parts: Sequence[str]) -> str:
    """A run key naming ``prefix`` and a digest of ``parts`` (same parts, same key)."""
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}:{digest}"


@dg.sensor(
    job=generate_mockups_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Every minute: finds newly approved designs, adds their `designs` partitions and launches "
        "`generate_mockups_job` (up to 20 designs per run, in the scenes each design's collection "
        "recommends); the same run builds each design's product and, in autopilot, publishes it "
        "(supervised designs wait for review). Spends render credits (one per mockup with Dynamic Mockups; none with the local "
        "renderer); a user whose annual budget cannot cover the designs gets no run. Stopped by "
        "default: start it under Automation, or `dagster sensor start approved_designs_sensor`."
    ),
)
def approved_designs_sensor(
    context: dg.SensorEvaluationContext, haven: HavenResource, budget: CreditBudgetResource
) -> dg.SensorResult | dg.SkipReason:
    """Finds newly approved designs, adds their partitions, and requests mockup runs (up to 20
    designs per run, each in the scenes its collection recommends). Read only: the runs render.

    A user whose remaining annual credits cannot cover their new designs gets no run; the tick says
    so, and the nightly job renders those designs once credits allow.
    """
    ctx = haven.ctx
    # A constant number of statements per tick, whatever the catalogue's size: the page, its
    # designs' collections and mockups (one connection), then the budgets of all its owners, each
    # read by one set-based query instead of one per design, scene or user.
    page = approved_designs_tick(ctx.engine, context.cursor, DESIGNS_PER_TICK)
    if not page.rows:
        return dg.SkipReason("no newly approved designs")
    known = set(context.instance.get_dynamic_partitions(DESIGNS_PARTITION))
    # The page's rows carry each design's stored partition key: no read more per design.
    new_keys = [k for k in dict.fromkeys(partition_key_of(r) for r in page.rows) if k not in known]
    usages = budget.usages(list(page.designs_by_user))
    run_requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    for user_id, asset_ids in page.designs_by_user.items():
        try:
            budget.check_usage(usages[user_id], len(page.to_render[user_id]) * ctx.renderer.credits_per_render)
        except BudgetExceeded as exc:
            skipped.append(f"user {user_id}: {len(asset_ids)} design(s) not requested: {exc}")
            continue
        for i in range(0, len(asset_ids), MAX_ASSETS_PER_REQUEST):
            chunk = asset_ids[i : i + MAX_ASSETS_PER_REQUEST]
            run_requests.append(dg.RunRequest(
                run_key=stable_key("approved-designs", [user_id, *sorted(chunk)]),
                run_config={"ops": {"generate_mockups": {"config": {"user": user_id, "asset_ids": chunk}}}},
                tags={"haven/user": user_id, "haven/trigger": "approved_designs_sensor"},
            ))
    for line in skipped:
        context.log.warning(line)
    partitions = [dg.AddDynamicPartitionsRequest(DESIGNS_PARTITION, new_keys)] if new_keys else []
    if not run_requests:
        return dg.SensorResult(skip_reason="; ".join(skipped), cursor=page.cursor, dynamic_partitions_requests=partitions)
    return dg.SensorResult(run_requests=run_requests, cursor=page.cursor, dynamic_partitions_requests=partitions)


@dg.sensor(
    job=design_listing_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Every 30 seconds: reads new approval decisions and launches `design_listing_job` for each "
        "design concerned, which applies the decisions, builds the product (asking for its approval "
        "once the mockups are decided) and publishes it once approved. Writes nothing itself. Spends "
        "no render credits; publishing writes to Shopify (or the dry-run outbox). Stopped by default: "
        "start it under Automation, or `dagster sensor start approval_decisions_sensor`."
    ),
)
def approval_decisions_sensor(context: dg.SensorEvaluationContext, haven: HavenResource) -> dg.SensorResult | dg.SkipReason:
    """Requests the design's catalogue run for each new decision: every mockup decision (the
    product may now be ready for review) and every product approval (it may now be published).

    Read only: the run applies the decisions (``products`` asset, first step). The run key names the
    item and its decision time, so a reopened item decided again gets a new run, and a repeated tick
    gets none.
    """
    engine = haven.ctx.engine
    items = decisions_page(engine, decode_cursor(context.cursor), DECISIONS_PER_TICK)
    if not items:
        return dg.SkipReason("no new approval decisions")
    latest_by_design: dict[str, dict] = {}
    for item in items:
        # A rejected product needs no run: nothing changes until its content does.
        wanted = item["type"] == "mockup" or item["status"] == "approved"
        if wanted and item["asset_id"]:
            latest_by_design[item["asset_id"]] = item
    cursor = encode_cursor(items[-1]["decided_at"], items[-1]["id"])
    if not latest_by_design:
        return dg.SensorResult(skip_reason=f"{len(items)} decision(s) read; none needs a run", cursor=cursor)
    # One read for all the tick's designs; a design deleted since its decision gets no run.
    keys = partition_keys(engine, list(latest_by_design))
    known = set(context.instance.get_dynamic_partitions(DESIGNS_PARTITION))
    missing = [keys[a] for a in latest_by_design if a in keys and keys[a] not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"approval:{item['id']}:{item['decided_at'].isoformat()}",
                partition_key=keys[asset_id],
                tags={"haven/user": item["user_id"], "haven/trigger": "approval_decisions_sensor"},
            )
            for asset_id, item in latest_by_design.items() if asset_id in keys
        ],
        cursor=cursor,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(DESIGNS_PARTITION, missing)] if missing else [],
    )


@dg.sensor(
    job=retry_queue_job,
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Every 2 minutes: launches `retry_queue_job` when entries of the retry queue (failed renders) "
        "are due after their backoff. Retried renders spend credits again (failures are refunded). "
        "Stopped by default: start it under Automation, or `dagster sensor start retry_queue_sensor`."
    ),
)
def retry_queue_sensor(context: dg.SensorEvaluationContext, haven: HavenResource) -> dg.RunRequest | dg.SkipReason:
    """Requests a retry run when entries of the retry queue are due (their backoff has passed).
    Read only: the run retries and updates the entries.

    The run key names the due entries and their attempt counts, so one set of due entries gets one
    run; after the run the entries change (retried, rescheduled or dead) and a later tick may ask again.
    """
    due = due_entries(haven.ctx.engine, datetime.now(UTC), RETRIES_PER_RUN)
    if not due:
        return dg.SkipReason("no retries due")
    return dg.RunRequest(
        run_key=stable_key("retries", [f"{r['id']}:{r['attempts']}" for r in due]),
        run_config={"ops": {"retry_due": {"config": {"limit": RETRIES_PER_RUN}}}},
        tags={"haven/trigger": "retry_queue_sensor"},
    )


SENSORS = [approved_designs_sensor, approval_decisions_sensor, retry_queue_sensor]
