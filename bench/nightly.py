"""Benchmark: the nightly render batch as one Dagster backfill, against one run per partition; and
(``--repeat``) the nightly job twice, the second with nothing changed.

Run: ``.venv/bin/python bench/nightly.py [--designs 100] [--per-partition-sample 10] [--workers N]``
or ``.venv/bin/python bench/nightly.py --repeat --designs 1000 [--workers N]``

``--repeat`` (issue 12): a fresh SQLite app database and temporary ``DAGSTER_HOME``; the demo user
(autopilot, so products publish without review) with ``--designs`` approved designs, any number:
``load_demo`` stops at 200, so :func:`load_catalogue` continues its drawing (the demo's quotes in
turn, each index its own artwork, real PNGs the local renderer composites); the user's shop is the
project's fake Shopify (a Standard shop's bucket, 2000 points restoring 100 a second), connected as
the tests do (``IntegrationStore.connect``, a generated ``HAVEN_SECRET_KEY`` unless one is set),
``HAVEN_SHOPIFY_MODE=auto``. ``nightly_catalog_job`` runs in process, with the run config and tags of
a ``nightly_catalog_schedule`` tick, twice; between the two a day passes on the fake shop's clock (its
bucket is full again, as after a night). Printed for each nightly: wall time and each step's, mockups
rendered, credits (the local renderer charges none), products built (created or rewritten; a product
found as stored is counted apart), listings sent and unchanged, and as the fake saw them: requests,
mutations (writes: ``productSet``, ``stagedUploadsCreate``, ``bulkOperationRunMutation``...; the
bulk *query* reconcile runs reads), ``productSet`` calls, bulk operations, ``stagedUploadsCreate``
calls, staged files uploaded, points charged, and rows added to the dry-run outbox. Above
``HAVEN_SHOPIFY_BULK_THRESHOLD`` (default 250) products the first nightly publishes them in one bulk
operation and reconcile reads the shop with one bulk query, as in production. Then the ratio of
the second nightly's wall time to the first's, with the goal: the second renders nothing, builds
nothing, sends nothing (no mutation, no upload, no outbox row) and takes under 5 % of the first;
exit status 1 when missed. Design loading is not timed.

Without ``--repeat``:

Three measurements in this one process, each on a fresh SQLite app database and image folder loaded
with the same demo designs (``load_demo``), and one temporary ``DAGSTER_HOME`` (SQLite instance):

1. ``pure``: the same (design, scene) renders through :class:`RenderService` directly, no Dagster.
2. ``backfill``: ``approved_design_assets`` and ``mockups`` of ``catalogue_job`` over the whole
   partition range as ONE run (``BackfillPolicy.single_run()``, the range tags that ``haven pipeline
   run`` uses), executed in process as that command does.
3. ``per-partition``: the same selection, one run per design partition, measured on the first
   ``--per-partition-sample`` designs and scaled linearly to all of them.

Scenes: every run asks the ``mockups`` asset for all five system scenes through its launchpad
config (``scenes``), so ``--designs 100`` renders 500 mockups; the pure measurement renders the same
500 (design, scene) pairs.

Before them, in the same process, ``compositor``: the same demo designs, decoded beforehand, through
:meth:`LocalRenderer.render_batch` on one thread (what ``bench/render.py`` times). The pure way's
per-mockup time is printed split by phase (fetch, decode, colour, composite, encode, thumbnail,
store, database, ledger: :attr:`BatchResult.timings`), with the SQL statements it sent per mockup
and the time of the phases the compositor's figure leaves out (all but composite and encode), and
set against the compositor's: the goal is the pure way at most 1.5x the compositor per mockup, in
CPU time (the machine is shared, so wall time swings with the other load; with ``--workers 1`` the
wall ratio is printed too). It also prints the floor no render path can pass on these designs: the
compositor plus decoding each design once, shared by its scenes, with every other phase at zero.
``--render-only`` stops after these two (no Dagster runs).

Dagster overhead = backfill wall time minus pure rendering time, as a share of the backfill's wall
time. The run-per-partition way is measured twice: in process (a lower bound: no process start-up)
and launched, each run in its own ``dagster asset materialize`` process, as Dagster's default run
launcher starts every run in a new process that loads the code location.
Products and listings are left out on purpose: the comparison is about rendering.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import warnings

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Dagster flags the beta parameters the definitions use each time they load.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")

from sqlalchemy import event, func, select  # noqa: E402

from haven_pipelines.db.engine import create_engine  # noqa: E402
from haven_pipelines.db.migrate import upgrade  # noqa: E402
from haven_pipelines.db.tables import mockups  # noqa: E402
from haven_pipelines.services.context import build_context  # noqa: E402
from haven_pipelines.services.demo import load_demo  # noqa: E402
from haven_pipelines.services.render import TIMING_PHASES, RenderService, RenderTask  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
# Dagster's console logger prints every step event at DEBUG; the events are still stored.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
ALL_SCENES = ["bedroom", "therapy_office", "living_room", "reading_nook", "home_office"]
RUN_CONFIG = {**QUIET, "ops": {"mockups": {"config": {"scenes": ALL_SCENES}}}}
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def fresh_app(root: Path, name: str, designs: int) -> tuple[str, Path, str, list[str]]:
    """A migrated SQLite app DB and data folder with ``designs`` demo designs.

    Returns:
        (database url, data folder, demo user id, design ids in load order).
    """
    data_dir = root / name
    url = f"sqlite:///{root / (name + '.db')}"
    upgrade(url)
    ctx = build_context(database_url=url, data_dir=str(data_dir))
    try:
        summary = load_demo(ctx.engine, ctx.blob_store, designs=designs)
    finally:
        ctx.close()
    return url, data_dir, summary.user_id, list(summary.designs_created)


def point_env_at(url: str, data_dir: Path, workers: int | None) -> None:
    """The Dagster resources read these when a run starts (local renderer, local images, dry run)."""
    os.environ.update({"HAVEN_DATABASE_URL": url, "HAVEN_DATA_DIR": str(data_dir), "HAVEN_RENDERER": "local",
                       "HAVEN_BLOB_STORE": "local", "HAVEN_SHOPIFY_MODE": "dry_run"})
    if workers:
        os.environ["HAVEN_RENDER_WORKERS"] = str(workers)


def rendered(url: str) -> tuple[int, int]:
    """(mockups done, mockups failed) in the app DB at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(select(mockups.c.status, func.count()).group_by(mockups.c.status)).all())
    finally:
        engine.dispose()
    return rows.get("completed", 0) + rows.get("approved", 0), rows.get("failed", 0)


def run_compositor(root: Path, designs: int) -> dict[str, float]:
    """The compositor alone on the demo designs (decoded beforehand), one thread, as bench/render.py.

    Returns per-mockup figures in ms: ``wall`` (median of the steady batch) and ``cpu`` (the
    steady batch's thread CPU time per mockup).
    """
    from haven_pipelines.rendering.local import LocalRenderer
    from haven_pipelines.rendering.scenes import get_scene

    from haven_pipelines.db.stores.designs import DesignStore

    url, data_dir, user_id, ids = fresh_app(root, "compositor", designs)
    ctx = build_context(database_url=url, data_dir=str(data_dir))
    try:
        with ctx.engine.connect() as conn:
            keys = [DesignStore(conn, user_id).get_design(i)["file_key"] for i in ids]
        renderer = LocalRenderer(width=2400)  # the process-wide room cache, as the render service's
        scenes = [get_scene(k) for k in ALL_SCENES]
        images = [renderer.load(ctx.blob_store.get(k), scenes) for k in keys]
    finally:
        ctx.close()
    figures = {}
    for label in ("first", "steady"):
        c0 = time.thread_time()
        items = renderer.render_batch(images, scenes, workers=1)
        cpu = (time.thread_time() - c0) * 1000 / len(items)
        if any(i.error for i in items):
            raise SystemExit(f"compositor: {next(i.error for i in items if i.error)}")
        figures = {"wall": statistics.median(i.image.elapsed_ms for i in items), "cpu": cpu, "renders": len(items)}
    return figures


def run_pure(root: Path, designs: int, workers: int | None) -> tuple[float, int, float, dict[str, float], int]:
    """Render every design's scenes through RenderService.

    Returns:
        (wall seconds, renders, process CPU seconds, seconds by phase from the batch, SQL statements
        the batch sent to the app database, counted with SQLAlchemy's ``before_cursor_execute``).
    """
    url, data_dir, user_id, ids = fresh_app(root, "pure", designs)
    ctx = build_context(database_url=url, data_dir=str(data_dir), render_workers=workers)
    statements = [0]

    def count(*_args) -> None:
        statements[0] += 1

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        tasks = [RenderTask(a, s) for a in ids for s in ALL_SCENES]
        started, cpu_started = time.perf_counter(), time.process_time()
        result = RenderService(ctx).render_batch(user_id, tasks)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
        ctx.close()
    failed = sum(o.status == "failed" for o in result.outcomes)
    if failed:
        raise SystemExit(f"pure rendering: {failed} render(s) failed")
    return elapsed, rendered(url)[0], cpu, result.timings, statements[0]


def print_render_path(comp: dict[str, float], pure_s: float, pure_n: int, pure_cpu: float,
                      timings: dict[str, float], workers: int | None, statements: int) -> None:
    """The pure way's time split per mockup, its SQL statements, and its ratio to the compositor's."""
    print()
    print(f"compositor (bench/render.py's fast path, 1 thread): {comp['wall']:.1f} ms wall median, "
          f"{comp['cpu']:.1f} ms cpu per mockup ({comp['renders']:.0f} renders)")
    print(f"pure RenderService: {pure_n} renders, {pure_s * 1000 / pure_n:.1f} ms wall and "
          f"{pure_cpu * 1000 / pure_n:.1f} ms cpu (all threads) per mockup")
    total = sum(timings.get(p, 0.0) for p in TIMING_PHASES)
    print(f"{'phase':<12}{'ms/mockup':>11}{'share':>8}   (seconds summed over the render threads)")
    for phase in TIMING_PHASES:
        sec = timings.get(phase, 0.0)
        print(f"{phase:<12}{sec * 1000 / pure_n:>11.1f}{sec / total if total else 0:>8.1%}")
    print(f"{'sum':<12}{total * 1000 / pure_n:>11.1f}")
    # What the compositor's own figure leaves out: it renders designs decoded beforehand, makes no
    # thumbnail, stores nothing and writes no row.
    beyond = sum(timings.get(p, 0.0) for p in TIMING_PHASES if p not in ("composite", "encode"))
    print(f"beyond the compositor's work (all but composite and encode): {beyond * 1000 / pure_n:.1f} ms/mockup; "
          f"SQL statements: {statements / pure_n:.1f} per mockup ({statements} for the batch)")
    # The floor no change to the render path can pass: the compositor's own work plus decoding each
    # design once (its file must be read to be rendered), shared by the design's scenes.
    decode = (timings.get("decode", 0.0) + timings.get("colour", 0.0)) * 1000 / pure_n
    print(f"floor: compositor + decode alone = {comp['cpu']:.1f} + {decode:.1f} ms = "
          f"{(comp['cpu'] + decode) / comp['cpu']:.2f}x the compositor (everything else at zero)")
    ratio_cpu = pure_cpu * 1000 / pure_n / comp["cpu"]
    print(f"GOAL pure render path / compositor per mockup: {ratio_cpu:.2f}x cpu (goal <= 1.5x)")
    if workers == 1:
        print(f"     with one worker, wall: {pure_s * 1000 / pure_n / comp['wall']:.2f}x (phase sum / compositor: "
              f"{total * 1000 / pure_n / comp['wall']:.2f}x)")


def run_dagster(instance, job, selection, root: Path, name: str, designs: int, sample: int | None,
                workers: int | None, launched: bool = False) -> tuple[float, int, int, int]:
    """Materialise designs+mockups for a fresh demo DB, as one run or (``sample``) one run per partition.

    Returns:
        (seconds, renders done, runs, partitions covered).
    """
    url, data_dir, _user, design_ids = fresh_app(root, name, designs)
    point_env_at(url, data_dir, workers)
    from haven_pipelines.defs.partitions import DESIGNS_PARTITION
    from haven_pipelines.services.designs import partition_keys

    engine = create_engine(url)
    try:
        by_id = partition_keys(engine, design_ids)
    finally:
        engine.dispose()
    ids = [by_id[a] for a in design_ids]  # the designs' partition keys
    instance.add_dynamic_partitions(DESIGNS_PARTITION, ids)
    runs = 0
    started = time.perf_counter()
    if sample is None:
        tag_sets = [{RANGE_START: ids[0], RANGE_END: ids[-1]}]
    else:
        tag_sets = [{"dagster/partition": key} for key in ids[:sample]]
    for tags in tag_sets:
        runs += 1
        if launched:
            command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "haven_pipelines.definitions",
                       "--select", ",".join(k.to_user_string() for k in selection),
                       "--partition", tags["dagster/partition"], "--config-json", json.dumps(RUN_CONFIG)]
            done = subprocess.run(command, cwd=REPO_ROOT, env=os.environ.copy(), capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{name}: launched run failed: {done.stderr[-2000:]}")
            continue
        result = job.execute_in_process(instance=instance, tags=tags, asset_selection=selection, raise_on_error=False,
                                        run_config=RUN_CONFIG)
        if not result.success:
            raise SystemExit(f"{name}: run {result.run_id} failed")
    elapsed = time.perf_counter() - started
    done, failed = rendered(url)
    if failed:
        raise SystemExit(f"{name}: {failed} render(s) failed")
    return elapsed, done, runs, len(ids) if sample is None else min(sample, len(ids))


# -- the nightly twice (--repeat) -------------------------------------------------------------------------------------


def draw_catalogue_design(index: int) -> bytes:
    """The ``index``-th design's artwork: the demo's drawing of its quote (the same quote every ten
    designs), with a background and motif seeded by ``index``, so every design's bytes differ."""
    from haven_pipelines.services.demo import DEMO_QUOTES, DESIGN_QUOTES, draw_design

    text, collection, _mood = DEMO_QUOTES[DESIGN_QUOTES[index % len(DESIGN_QUOTES)]]
    return draw_design(index, text, collection)


def load_catalogue(engine, blob_store, designs: int, workers: int) -> tuple[str, list[str]]:
    """The demo user (autopilot) with ``designs`` approved designs, beyond the demo's cap of 200.

    ``load_demo`` makes the user, its quotes and the first design; the others are drawn on ``workers``
    processes the way ``load_demo`` draws them (same ids, same quote per index, same bytes), so the first
    200 are exactly what ``haven demo --load`` makes and the rest continue its sequence (the demo's
    quotes in turn, each index its own background and motif). The user's annual budget is raised to
    cover five renders a design, so the budget gate admits them all.

    Returns:
        (user id, design ids in load order).
    """
    from concurrent.futures import ProcessPoolExecutor

    from haven_pipelines.db.stores.designs import DesignStore
    from haven_pipelines.db.stores.users import SettingsStore
    from haven_pipelines.domain.keys import design_key
    from haven_pipelines.services.demo import DEMO_QUOTES, DESIGN_QUOTES, SIZE, demo_id

    summary = load_demo(engine, blob_store, designs=1)
    user_id, ids = summary.user_id, list(summary.designs_created)
    with engine.begin() as conn:
        SettingsStore(conn, user_id).update(annual_mockup_budget=max(3500, 5 * designs))
    extra = range(1, designs)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for index, data in zip(extra, pool.map(draw_catalogue_design, extra, chunksize=8)):
            asset_id = demo_id(user_id, "design", index)
            stored = blob_store.put(design_key(user_id, asset_id, data, "png"), data, "image/png")
            quote_index = DESIGN_QUOTES[index % len(DESIGN_QUOTES)]
            with engine.begin() as conn:
                DesignStore(conn, user_id).create_asset(
                    stored.url, stored.key, "png", SIZE[0], SIZE[1], demo_id(user_id, "quote", quote_index),
                    "approved", asset_id=asset_id,
                )
            ids.append(asset_id)
    assert len(DEMO_QUOTES) == len(DESIGN_QUOTES)
    return user_id, ids


@dataclass
class Nightly:
    """What one nightly run did: from its own metadata and as the fake Shopify saw it."""

    seconds: float
    renders: int
    credits: int
    products_built: int
    products_unchanged: int
    products_logged: int
    sent: int
    unchanged: int
    product_sets: int
    bulk_operations: int
    staged_upload_calls: int
    uploads: int
    requests: int
    mutations: int
    points: int
    outbox_rows: int
    operations: dict
    steps: dict


def step_seconds(instance, run_id: str) -> dict[str, float]:
    """Each step's wall time in a run, from its stored start and success events."""
    started: dict[str, float] = {}
    out: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
            out[event.step_key] = entry.timestamp - started[event.step_key]
    return out


def op_metadata(result) -> dict[str, dict]:
    """Each op's output metadata in a run (plain values), by op name."""
    out: dict[str, dict] = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_OUTPUT":
            data = event.event_specific_data.metadata or {}
            out.setdefault(event.step_key, {}).update({k: getattr(v, "value", v) for k, v in data.items()})
    return out


def count_rows(url: str, table) -> int:
    """Rows in ``table`` of the app DB at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def product_writes(url: str) -> int:
    """Products created or rebuilt with other content so far (their activity log entries)."""
    from haven_pipelines.db.tables import activity_log

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(activity_log).where(
                activity_log.c.action.in_(["product.created", "product.rebuilt"]))).scalar_one()
    finally:
        engine.dispose()


def run_nightly(instance, job, run_config: dict, tags: dict, url: str, fake) -> Nightly:
    """Execute ``nightly_catalog_job`` in process once, and count what it did."""
    from haven_pipelines.db.tables import shopify_outbox

    fake.reset_stats()
    uploads, outbox, writes = fake.stats.uploads, count_rows(url, shopify_outbox), product_writes(url)
    started = time.perf_counter()
    result = job.execute_in_process(run_config=run_config, instance=instance, tags=tags, raise_on_error=False)
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"nightly run {result.run_id} failed")
    meta = op_metadata(result)
    render, build, publish = meta["render_pending"], meta["build_pending_products"], meta["publish_approved"]
    if render.get("renders_failed") or build.get("failed") or publish.get("failed"):
        raise SystemExit(f"nightly: failures: render {render.get('renders_failed')}, build {build.get('failed')}, "
                         f"publish {publish.get('failed')}")
    ops = dict(fake.operation_counts)
    mutations = sum(n for name, n in ops.items() if not name.startswith(("bulkOperation(", "currentBulkOperation")) and
                    name in MUTATIONS)
    return Nightly(
        seconds=seconds, renders=int(render["renders_done"]), credits=int(render["credits_charged"]),
        products_built=int(build["products_built"]) - int(build.get("products_unchanged", 0)),
        products_unchanged=int(build.get("products_unchanged", 0)), products_logged=product_writes(url) - writes,
        sent=int(publish["sent"]), unchanged=int(publish["unchanged"]),
        product_sets=ops.get("productSet", 0), bulk_operations=ops.get("bulkOperationRunMutation", 0),
        staged_upload_calls=ops.get("stagedUploadsCreate", 0), uploads=fake.stats.uploads - uploads,
        requests=fake.stats.requests, mutations=mutations, points=fake.stats.points_charged,
        outbox_rows=count_rows(url, shopify_outbox) - outbox, operations=ops, steps=step_seconds(instance, result.run_id),
    )


#: Operations on the fake that change the shop (everything else it counts is a read).
MUTATIONS = {"productSet", "stagedUploadsCreate", "bulkOperationRunMutation", "productUpdate", "productDelete",
             "productCreateMedia", "fileCreate", "fileUpdate", "productVariantsBulkUpdate", "bulkOperationCancel"}


def nightly_schedule_run(defs) -> tuple[dict, dict]:
    """The run config and tags nightly_catalog_schedule gives its run (one tick's request)."""
    import dagster as dg

    schedule = defs.resolve_schedule_def("nightly_catalog_schedule")
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 2, 2, tzinfo=UTC)) as context:
        data = schedule.evaluate_tick(context)
    request = data.run_requests[0]
    return dict(request.run_config or {}), dict(request.tags or {})


def print_nightly(label: str, n: Nightly) -> None:
    """One nightly's figures, one line each."""
    print(f"{label}: {n.seconds:.1f} s wall; mockups rendered {n.renders}, credits {n.credits}; products built "
          f"{n.products_built} (content created or changed {n.products_logged}, found as stored {n.products_unchanged}); "
          f"listings sent {n.sent}, unchanged {n.unchanged}")
    print(f"{'':>{len(label) + 2}}Shopify: requests {n.requests}, mutations {n.mutations}, productSet {n.product_sets}, "
          f"bulk operations {n.bulk_operations}, stagedUploadsCreate {n.staged_upload_calls}, staged files uploaded "
          f"{n.uploads}, points {n.points}; outbox rows added {n.outbox_rows}")
    print(f"{'':>{len(label) + 2}}operations: {', '.join(f'{k} {v}' for k, v in sorted(n.operations.items())) or 'none'}")
    print(f"{'':>{len(label) + 2}}steps (s): {', '.join(f'{k} {v:.1f}' for k, v in n.steps.items())}")


def run_repeat(designs: int, workers: int | None, keep: bool) -> int:
    """The first nightly on ``designs`` approved designs, then a second with nothing changed; exit status."""
    root = Path(tempfile.mkdtemp(prefix="haven-nightly-repeat-"))
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())))
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        import dagster as dg

        from haven_pipelines.db.crypto import generate_key
        from haven_pipelines.db.stores.integrations import IntegrationStore
        from haven_pipelines.definitions import defs
        from haven_pipelines.settings import DEFAULT_SHOPIFY_BULK_THRESHOLD
        from haven_pipelines_tests.fakes.shopify_server import FakeShopify

        os.environ.setdefault("HAVEN_SECRET_KEY", generate_key())
        url, data_dir = f"sqlite:///{root / 'app.db'}", root / "data"
        upgrade(url)
        ctx = build_context(database_url=url, data_dir=str(data_dir))
        started = time.perf_counter()
        try:
            user_id, ids = load_catalogue(ctx.engine, ctx.blob_store, designs, workers or os.cpu_count() or 1)
        finally:
            ctx.close()
        load_s = time.perf_counter() - started
        point_env_at(url, data_dir, workers)
        os.environ["HAVEN_SHOPIFY_MODE"] = "auto"  # live for the user whose shop is connected: the fake
        threshold = os.environ.get("HAVEN_SHOPIFY_BULK_THRESHOLD", str(DEFAULT_SHOPIFY_BULK_THRESHOLD))
        job = defs.resolve_job_def("nightly_catalog_job")
        schedule_config, schedule_tags = nightly_schedule_run(defs)
        run_config = {**QUIET, **schedule_config}
        print(f"nightly twice: {designs} approved designs (loaded in {load_s:.0f} s), one user in autopilot, local "
              f"renderer, fake Shopify (Standard shop: bucket 2000, 100 points/s), HAVEN_SHOPIFY_BULK_THRESHOLD="
              f"{threshold}, {os.cpu_count()} cores, folder {root}")
        # A Standard shop's bucket; bulk operations run outside it, as on Shopify. Its clock moves a
        # day on between the nightlies, so the second starts with the full bucket a night leaves.
        night = [0.0]
        with FakeShopify(bucket_size=2000, restore_rate=100, clock=lambda: time.monotonic() + night[0]) as fake, \
                dg.DagsterInstance.get() as instance:
            engine = create_engine(url)
            try:
                with engine.begin() as conn:
                    IntegrationStore(conn, user_id).connect("shopify", fake.shop_domain, fake.token, {"base_url": fake.base_url})
            finally:
                engine.dispose()
            first = run_nightly(instance, job, run_config, schedule_tags, url, fake)
            print_nightly("first nightly ", first)
            night[0] += 24 * 3600
            second = run_nightly(instance, job, run_config, schedule_tags, url, fake)
            print_nightly("second nightly", second)
            live = len(fake.products)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)

    ratio = second.seconds / first.seconds
    print()
    print(f"products on the shop: {live} of {designs}")
    print(f"second / first nightly wall time: {ratio:.1%}   (goal < 5 %, rendering nothing and sending nothing)")
    quiet = (second.renders == 0 and second.products_built == 0 and second.credits == 0 and second.mutations == 0 and second.uploads == 0
             and second.product_sets == 0 and second.bulk_operations == 0 and second.outbox_rows == 0)
    complete = live == designs and first.sent == designs
    met = quiet and complete and ratio < 0.05
    print(f"GOAL {'met' if met else 'MISSED'}: second renders {second.renders}, sends {second.mutations} mutation(s) and "
          f"{second.uploads} upload(s), takes {ratio:.1%} of the first; every product live: {complete}")
    return 0 if met else 1


def main() -> None:
    """Parse the options, run the three measurements, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=100, help="demo designs (1-200; with --repeat, any number)")
    parser.add_argument("--repeat", action="store_true",
                        help="the nightly job twice against the fake Shopify, the second with nothing changed")
    parser.add_argument("--per-partition-sample", type=int, default=10, help="partitions actually run one by one")
    parser.add_argument("--workers", type=int, default=None, help="render threads (default: the renderer's, one per core)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--render-only", action="store_true", help="only the compositor and the pure way (no Dagster)")
    args = parser.parse_args()
    if args.repeat:
        sys.exit(run_repeat(args.designs, args.workers, args.keep))

    root = Path(tempfile.mkdtemp(prefix="haven-nightly-"))
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())))
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        if args.render_only:
            print(f"render path: {args.designs} demo designs x 5 scenes, {os.cpu_count()} cores, "
                  f"load average {os.getloadavg()[0]:.2f}, folder {root}")
            comp = run_compositor(root, args.designs)
            pure = run_pure(root, args.designs, args.workers)
            print_render_path(comp, *pure[:4], args.workers, pure[4])
            return
        import dagster as dg

        from haven_pipelines.definitions import defs

        job = defs.resolve_job_def("catalogue_job")
        selection = [dg.AssetKey("approved_design_assets"), dg.AssetKey("mockups")]
        print(f"nightly bench: {args.designs} demo designs x 5 scenes, local renderer, "
              f"{os.cpu_count()} cores, folder {root}")
        with dg.DagsterInstance.get() as instance:
            # Warm-up (not timed): imports, definitions, the instance's SQLite schema, scene caches.
            run_dagster(instance, job, selection, root, "warmup", 1, None, args.workers)

            comp = run_compositor(root, args.designs)
            pure_s, pure_n, pure_cpu, timings, statements = run_pure(root, args.designs, args.workers)
            bf_s, bf_n, bf_runs, _ = run_dagster(instance, job, selection, root, "backfill", args.designs, None, args.workers)
            pp_s, pp_n, pp_runs, pp_parts = run_dagster(instance, job, selection, root, "per_partition", args.designs,
                                                        args.per_partition_sample, args.workers)
            la_s, la_n, la_runs, la_parts = run_dagster(instance, job, selection, root, "launched", args.designs,
                                                        args.per_partition_sample, args.workers, launched=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    scale = args.designs / pp_parts
    pp_total = pp_s * scale
    overhead_bf = max(bf_s - pure_s, 0.0) / bf_s
    overhead_pp = max(pp_total - pure_s, 0.0) / pp_total
    print()
    la_total = la_s * args.designs / la_parts
    print(f"{'way':<34}{'runs':>6}{'renders':>9}{'wall s':>10}{'renders/s':>11}{'Dagster share':>15}")
    print(f"{'pure RenderService (no Dagster)':<34}{0:>6}{pure_n:>9}{pure_s:>10.1f}{pure_n / pure_s:>11.2f}{'-':>15}")
    print(f"{'one backfill run':<34}{bf_runs:>6}{bf_n:>9}{bf_s:>10.1f}{bf_n / bf_s:>11.2f}{overhead_bf:>14.1%}")
    print(f"{f'run per partition (measured {pp_parts})':<34}{pp_runs:>6}{pp_n:>9}{pp_s:>10.1f}{pp_n / pp_s:>11.2f}{'':>15}")
    print(f"{'run per partition (scaled x' + f'{scale:g})':<34}{round(pp_runs * scale):>6}{round(pp_n * scale):>9}"
          f"{pp_total:>10.1f}{pp_n * scale / pp_total:>11.2f}{overhead_pp:>14.1%}")
    print(f"{f'launched run per partition ({la_parts})':<34}{la_runs:>6}{la_n:>9}{la_s:>10.1f}{la_n / la_s:>11.2f}{'':>15}")
    print(f"{'launched, scaled x' + f'{args.designs / la_parts:g}':<34}{round(la_runs * args.designs / la_parts):>6}"
          f"{round(la_n * args.designs / la_parts):>9}{la_total:>10.1f}{la_n * args.designs / la_parts / la_total:>11.2f}"
          f"{max(la_total - pure_s, 0) / la_total:>14.1%}")
    print()
    print(f"backfill / pure rendering time:      {bf_s / pure_s:.2f}x   (goal < 1.5x)")
    print(f"run-per-partition / backfill time:   {pp_total / bf_s:.2f}x in process, "
          f"{la_total / bf_s:.2f}x launched   (goal >= 10x)")
    print(f"Dagster seconds per run (per-partition): {max(pp_s - pure_s * pp_parts / args.designs, 0) / pp_runs:.2f}")
    print_render_path(comp, pure_s, pure_n, pure_cpu, timings, args.workers, statements)


if __name__ == "__main__":
    main()
