"""Render mockups: the use case behind the mockups asset, `haven render` and the retry queue.

For one (design asset, scene): check that the design is the user's and approved; reserve the credits
(zero for the local renderer, recorded all the same); mark the mockup generating; render; store the
image and a thumbnail; mark the mockup completed; commit the reservation (which adds the credits to the
mockup); route it (approved at once in autopilot or with skip-approval, else an approval item with
Haven Hub's payload); log the activity.

A batch reads what it needs once, as it starts: its designs, scenes, the user's existing mockups of
those designs, and the user's settings (so a mode changed while a batch runs applies from the next
batch). Each render then only writes: a reservation, the mockup's start, and one finishing
transaction: 15 SQL statements on SQLite and 10 on PostgreSQL for a mockup approved at once (pinned
by ``haven_pipelines_tests/services/test_render_statements.py``; an approval item adds its own).

Failures are of two kinds, told apart by type (:data:`OUTSIDE_WORLD_ERRORS`):

* the outside world failed (the renderer, the blob store, an integration, bad artwork, the operating
  system, a dropped database connection): refund, mark the mockup failed with the error, queue a
  retry, and go on with the next render;
* anything else is a bug: refund the interrupted renders, mark them failed (no retry: a bug fails
  again), start no further render of the batch, and raise, so that the run fails loudly instead of
  hiding the bug as retry-queue churn.

Credits are never left held by an error the service saw: a reservation whose mockup could not be
started is refunded at once.

Where Haven Hub was wrong, this does better: its credit check reserved nothing (two batches could both
pass and overspend); it never refunded a failed render; it counted regenerations as free; it rendered
one image at a time with 2-second polling. Here the ledger reserves atomically, failures are refunded,
regenerations are charged, and a batch fans out over a bounded pool (and the Dynamic Mockups batch
endpoint).

A re-run of a (design, scene) that already has a completed or approved mockup does nothing and charges
nothing unless ``regenerate`` is asked for. A crash leaves an open reservation (the sweeper refunds it)
and a mockup in ``generating``, which the next run renders again under the same idempotency key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from PIL import Image
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import OperationalError

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.mockups import MockupStore, mockup_statuses
from haven_pipelines.db.tenancy import cross_tenant_connection
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.stores.scenes import SceneStore
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.domain.approval import auto_approve, image_digest
from haven_pipelines.domain.credits import CreditUsage
from haven_pipelines.domain.errors import BudgetExceeded, HavenError, NotFound, ValidationError
from haven_pipelines.domain.keys import mockup_key, thumbnail_key
from haven_pipelines.rendering.images import make_thumbnail
from haven_pipelines.services.approvals import route_mockup
from haven_pipelines.services.renderers import RenderedOutput, RendererExhausted, RenderFailure, RenderJob, SharedArtwork

log = logging.getLogger(__name__)

MAX_ASSETS_PER_REQUEST = 20
MAX_SCENES_PER_REQUEST = 5
# A rejected mockup is a decision, not unfinished work: rendering it again would spend a credit on
# Dynamic Mockups for the same scene every run (and the local renderer draws the same picture). A
# reviewer who wants a new picture asks for a regeneration.
DONE_STATUSES = ("completed", "approved", "rejected")

# What the outside world raises at a render; each is recorded as a refunded failure and retried later.
# HavenError covers our own typed errors: RenderFailure, the blob store's and the integrations' errors,
# ImageError for bad artwork. OSError covers disks and sockets (and Pillow's "cannot identify image").
# OperationalError is a database connection lost or a transaction the server aborted (both transient).
# Anything else (TypeError, AttributeError, KeyError, ...) is a bug in this code and fails the run.
OUTSIDE_WORLD_ERRORS: tuple[type[Exception], ...] = (HavenError, OSError, Image.DecompressionBombError, OperationalError)


@dataclass(frozen=True)
class RenderTask:
    """One (design asset, scene) to render."""

    asset_id: str
    scene: str


@dataclass(frozen=True)
class RenderOutcome:
    """What happened to one task, shaped like Haven Hub's per-render result."""

    asset_id: str
    scene: str
    status: str  # completed | approved | skipped | failed | refused
    mockup_id: str | None = None
    url: str | None = None
    thumbnail_url: str | None = None
    error: str | None = None
    credits_used: int = 0
    approval_item_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The source's JSON shape (``mockupId``, ``assetId``, ...)."""
        return {
            "mockupId": self.mockup_id,
            "assetId": self.asset_id,
            "scene": self.scene,
            "status": self.status,
            "url": self.url,
            "thumbnailUrl": self.thumbnail_url,
            "error": self.error,
            "creditsUsed": self.credits_used,
            "approvalItemId": self.approval_item_id,
        }


@dataclass(frozen=True)
class BatchResult:
    """Per-render outcomes of a batch and its totals."""

    outcomes: list[RenderOutcome]
    usage: CreditUsage | None
    elapsed_s: float
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent by phase over the whole batch, summed over its threads: fetch, decode, colour,
    composite, encode, thumbnail, store, database, ledger (see :data:`TIMING_PHASES`)."""
    rendered: int = field(init=False)
    skipped: int = field(init=False)
    failed: int = field(init=False)
    refused: int = field(init=False)
    credits_charged: int = field(init=False)

    def __post_init__(self) -> None:
        count = lambda *statuses: sum(o.status in statuses for o in self.outcomes)  # noqa: E731
        object.__setattr__(self, "rendered", count("completed", "approved"))
        object.__setattr__(self, "skipped", count("skipped"))
        object.__setattr__(self, "failed", count("failed"))
        object.__setattr__(self, "refused", count("refused"))
        object.__setattr__(self, "credits_charged", sum(o.credits_used for o in self.outcomes))

    def as_dict(self) -> dict[str, object]:
        """Totals and per-render results, JSON-ready."""
        return {
            "rendered": self.rendered,
            "skipped": self.skipped,
            "failed": self.failed,
            "refused": self.refused,
            "creditsCharged": self.credits_charged,
            "elapsedSeconds": round(self.elapsed_s, 3),
            "usage": self.usage.as_dict() if self.usage else None,
            "results": [o.as_dict() for o in self.outcomes],
        }


TIMING_PHASES = ("fetch", "decode", "colour", "composite", "encode", "thumbnail", "store", "database", "ledger")


class _Timings:
    """Seconds by phase, added to from every render thread of a batch."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, phase: str, seconds: float) -> None:
        with self._lock:
            self.seconds[phase] += seconds

    def add_all(self, timings) -> None:
        with self._lock:
            self.seconds.update({k: float(v) for k, v in timings.items()})

    def since(self, phase: str, started: float) -> float:
        """Add the time since ``started`` to ``phase``; returns now."""
        now = time.perf_counter()
        self.add(phase, now - started)
        return now


class _BatchArtworks:
    """The designs of one batch: each fetched once, shared by its renders, released after its last.

    The render service used to fetch and decode a design once per scene; here the first render of a
    design fetches it and every render of the batch gets the same :class:`SharedArtwork` (decoded at
    most once, by the renderer). A fetch that fails is not kept: the next render of the design tries
    again, as it did before.
    """

    def __init__(self, blob_store, scenes_by_file: dict[str, list[tuple[str, dict]]], uses: Counter[str], timings: _Timings):
        self.blob_store = blob_store
        self.scenes_by_file = scenes_by_file
        self.uses = uses
        self.timings = timings
        self.file_of: dict[str, str] = {}  # design (asset id) to its file key
        self._items: dict[str, SharedArtwork] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get(self, file_key: str) -> SharedArtwork:
        """The design's shared artwork, fetched from the blob store on first use."""
        with self._lock:
            item = self._items.get(file_key)
            if item is not None:
                return item
            key_lock = self._key_locks.setdefault(file_key, threading.Lock())
        with key_lock:
            with self._lock:
                if file_key in self._items:
                    return self._items[file_key]
            started = time.perf_counter()
            data = self.blob_store.get(file_key)
            self.timings.since("fetch", started)
            item = SharedArtwork(data, self.scenes_by_file.get(file_key, ()))
            with self._lock:
                self._items[file_key] = item
            return item

    def done(self, file_key: str) -> None:
        """One render of the design is settled; the last one frees its decoded image and bytes."""
        with self._lock:
            self.uses[file_key] -= 1
            if self.uses[file_key] > 0:
                return
            item = self._items.pop(file_key, None)
        if item is not None:
            item.release()


@dataclass
class _BatchRows:
    """What a batch read before its first write (:meth:`RenderService._read_batch`)."""

    designs: dict[str, RowMapping]  # asset id -> the design with its quote (the user's only)
    scenes: dict[str, RowMapping]  # scene key -> the active scene row
    mockups: dict[tuple[str, str], RowMapping]  # (asset id, scene) -> the user's existing mockup
    settings: RowMapping
    auto: bool = False  # finished mockups are approved at once (set by render_batch)
    _configs: dict[str, dict] = field(default_factory=dict)

    def scene_config(self, scene: str) -> dict:
        """The scene's config (one dict per scene for the whole batch: renders only read it)."""
        config = self._configs.get(scene)
        if config is None:
            config = self._configs[scene] = dict(self.scenes[scene].get("config") or {})
        return config


def _check_tasks(rows: _BatchRows, tasks: Sequence[RenderTask]) -> None:
    """NotFound for a design that is not the user's, ValidationError for one not approved or an
    unknown scene: the first bad task in order names the problem."""
    for i, task in enumerate(tasks):
        asset = rows.designs.get(task.asset_id)
        if asset is None:
            raise NotFound("design asset", task.asset_id)
        if asset["approval_status"] != "approved":
            raise ValidationError(f"tasks[{i}].asset_id", f"design {task.asset_id} is not approved ({asset['approval_status']})")
        if task.scene not in rows.scenes:
            raise ValidationError(f"tasks[{i}].scene", f"unknown scene {task.scene!r}")


@dataclass
class _Prepared:
    """A task that passed its checks and holds a reservation and a ``generating`` mockup."""

    task: RenderTask
    user_id: str
    mockup_id: str
    reservation_id: str
    credits: int
    job: RenderJob
    design: dict
    regeneration: bool
    file_key: str = ""


class RenderService:
    """Renders batches of (design, scene) pairs for one user through the configured renderer."""

    def __init__(self, ctx):
        """``ctx`` is an :class:`~haven_pipelines.services.context.AppContext`."""
        self.ctx = ctx
        self.engine = ctx.engine
        self.renderer = ctx.renderer
        self.blob_store = ctx.blob_store
        self.ledger = ctx.ledger

    # -- checks ---------------------------------------------------------------------------------

    def validate(self, user_id: str, tasks: Sequence[RenderTask]) -> None:
        """Refuse the whole batch before anything is written when any task names a design that is not
        the user's, not approved, or an unknown scene. Raises NotFound or ValidationError."""
        _check_tasks(self._read_batch(user_id, tasks), tasks)

    def _read_batch(self, user_id: str, tasks: Sequence[RenderTask]) -> _BatchRows:
        """Everything a batch reads before it writes, in four queries whatever its size: its designs
        (with their quotes), its scenes, the user's mockups of its designs, and the user's settings."""
        asset_ids = list(dict.fromkeys(t.asset_id for t in tasks))
        with self.engine.connect() as conn:
            designs = DesignStore(conn, user_id).get_designs(asset_ids)
            scenes = SceneStore(conn, user_id).get_many(t.scene for t in tasks)
            existing = MockupStore(conn, user_id).by_design_scene(asset_ids)
            settings = SettingsStore(conn, user_id).get()
        return _BatchRows(designs, scenes, existing, settings)

    def plan(self, user_id: str, tasks: Iterable[RenderTask], *, regenerate: bool = False) -> tuple[list[RenderTask], list[RenderTask]]:
        """Split tasks into (to render, already done). Done means a completed, approved or rejected mockup exists."""
        return self.plan_for_users({user_id: tasks}, regenerate=regenerate)[user_id]

    def plan_for_users(
        self, tasks_by_user: Mapping[str, Iterable[RenderTask]], *, regenerate: bool = False
    ) -> dict[str, tuple[list[RenderTask], list[RenderTask]]]:
        """:meth:`plan` for several users at once: user id -> (to render, already done).

        One query reads the statuses of every design's mockups, however many users and designs
        (the approved-designs sensor plans a whole page per tick). Each user sees only their own
        mockups: a row counts for a task only when it belongs to that task's user.
        """
        wanted = {user_id: list(tasks) for user_id, tasks in tasks_by_user.items()}
        asset_ids = list(dict.fromkeys(t.asset_id for tasks in wanted.values() for t in tasks))
        statuses: dict[tuple[str, str, str], str] = {}
        if asset_ids and not regenerate:
            with cross_tenant_connection(self.engine) as conn:  # several users' rows, filtered per user below
                statuses = mockup_statuses(conn, asset_ids)
        return split_planned(wanted, statuses, regenerate=regenerate)

    # -- the batch --------------------------------------------------------------------------------

    def render_batch(
        self,
        user_id: str,
        tasks: Sequence[RenderTask],
        *,
        regenerate: bool = False,
        skip_approval: bool = False,
        workers: int | None = None,
    ) -> BatchResult:
        """Render ``tasks`` for ``user_id``; returns per-task outcomes and totals.

        Bad input (someone else's design, an unapproved design, an unknown scene) raises before
        anything is written. Each render that the outside world fails is refunded, marked failed and
        queued for retry; a render refused by the budget is reported ``refused`` and charged nothing.

        Raises:
            NotFound, ValidationError: bad input, before anything is written.
            Exception: a bug (any error outside :data:`OUTSIDE_WORLD_ERRORS`), after the renders it
                interrupted are refunded and marked failed; the batch starts no further render.
        """
        started = time.perf_counter()
        tasks = list(dict.fromkeys(tasks))
        timings = _Timings()
        # The batch's designs, scenes, mockups and settings are read once, up front: a render then
        # reads nothing before it writes (issue 14: a mockup cost 38 statements on SQLite, now 15).
        rows = self._read_batch(user_id, tasks)
        timings.since("database", started)
        _check_tasks(rows, tasks)
        statuses = {(user_id, asset_id, scene): row["status"] for (asset_id, scene), row in rows.mockups.items()}
        to_render, done = split_planned({user_id: tasks}, statuses, regenerate=regenerate)[user_id]
        outcomes: dict[RenderTask, RenderOutcome] = {}
        for task in done:
            row = rows.mockups[(task.asset_id, task.scene)]
            outcomes[task] = RenderOutcome(task.asset_id, task.scene, "skipped", mockup_id=row["id"],
                                           url=row["file_url"], thumbnail_url=row["thumbnail_url"],
                                           error="already rendered")
        # Whether finished mockups are approved at once is the user's setting as the batch starts.
        rows.auto = auto_approve(rows.settings["global_mode"], rows.settings["module_overrides"], skip_approval=skip_approval)
        workers = max(1, workers or self.renderer.max_workers)
        chunk = max(1, self.renderer.batch_size)
        chunks = [to_render[i : i + chunk] for i in range(0, len(to_render), chunk)]
        stop = _StopFlag()
        artworks = self._batch_artworks(rows, to_render, timings)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
            for result in pool.map(lambda c: self._run_chunk(user_id, c, regenerate, rows, stop, artworks), chunks):
                outcomes.update(result)
        ordered = [outcomes[t] for t in tasks]
        usage = self.ledger.usage(user_id)
        return BatchResult(outcomes=ordered, usage=usage, elapsed_s=time.perf_counter() - started,
                           timings=dict(timings.seconds))

    def _batch_artworks(self, rows: _BatchRows, tasks: Sequence[RenderTask], timings: _Timings) -> _BatchArtworks:
        """Which file each design is, which scenes the batch renders it into, and how many renders use it."""
        scenes_by_file: dict[str, list[tuple[str, dict]]] = {}
        uses: Counter[str] = Counter()
        file_of: dict[str, str] = {}
        for task in tasks:
            key = file_of.setdefault(task.asset_id, rows.designs[task.asset_id]["file_key"])
            scenes_by_file.setdefault(key, []).append((task.scene, rows.scene_config(task.scene)))
            uses[key] += 1
        artworks = _BatchArtworks(self.blob_store, scenes_by_file, uses, timings)
        artworks.file_of = file_of
        return artworks

    def _run_chunk(self, user_id, chunk, regenerate, rows: _BatchRows, stop, artworks: _BatchArtworks) -> dict[RenderTask, RenderOutcome]:
        try:
            return self._render_chunk(user_id, chunk, regenerate, rows, stop, artworks)
        finally:
            for task in chunk:  # settled one way or another: the design's last render frees it
                artworks.done(artworks.file_of[task.asset_id])

    def _render_chunk(self, user_id, chunk, regenerate, rows: _BatchRows, stop, artworks: _BatchArtworks) -> dict[RenderTask, RenderOutcome]:
        outcomes: dict[RenderTask, RenderOutcome] = {}
        timings = artworks.timings
        # Renders holding an open reservation and a ``generating`` mockup, until each is settled
        # (finished or failed). A bug leaves them to _abandon, which refunds them before raising.
        pending: list[_Prepared] = []
        try:
            for task in chunk:
                if stop.reason:
                    outcomes[task] = RenderOutcome(task.asset_id, task.scene, "refused", error=stop.reason)
                    continue
                try:
                    pending.append(self._prepare(user_id, task, rows, artworks))
                except BudgetExceeded as exc:
                    outcomes[task] = RenderOutcome(task.asset_id, task.scene, "refused", error=str(exc))
                except OUTSIDE_WORLD_ERRORS as exc:
                    outcomes[task] = RenderOutcome(task.asset_id, task.scene, "failed", error=_describe(exc))
            if not pending:
                return outcomes
            try:
                results = list(self.renderer.render_many([p.job for p in pending]))
                for result in results:
                    if isinstance(result, RenderedOutput):
                        timings.add_all(result.timings)
            except OUTSIDE_WORLD_ERRORS as exc:  # the renderer itself failed: every job of the chunk failed alike
                failure = exc if isinstance(exc, RenderFailure) else RenderFailure(f"renderer error: {_describe(exc)}")
                results = [failure] * len(pending)
            if len(results) != len(pending):
                raise RuntimeError(f"renderer {self.renderer.name} returned {len(results)} results for {len(pending)} jobs")
            for prep, result in zip(list(pending), results, strict=True):
                if isinstance(result, RendererExhausted):
                    stop.reason = stop.reason or f"renderer refused further work: {result}"
                if isinstance(result, BaseException):
                    if not isinstance(result, OUTSIDE_WORLD_ERRORS):
                        raise result  # the renderer handed back a bug of its own as a result
                    outcomes[prep.task] = self._fail(prep, str(result))
                else:
                    try:
                        outcomes[prep.task] = self._finish(prep, result, rows.auto, timings)
                    except OUTSIDE_WORLD_ERRORS as exc:  # storage or database failed after the render
                        outcomes[prep.task] = self._fail(prep, _describe(exc))
                pending.remove(prep)
        except Exception as exc:
            # A bug. Start nothing more (the other chunks see the flag), give back what this chunk
            # holds, and let the error fail the run.
            stop.reason = stop.reason or f"batch stopped by an internal error: {_describe(exc)}"
            self._abandon(pending, exc)
            raise
        return outcomes

    # -- one render ------------------------------------------------------------------------------

    def _prepare(self, user_id: str, task: RenderTask, rows: _BatchRows, artworks: _BatchArtworks) -> _Prepared:
        timings = artworks.timings
        # Read with the batch: a batch renders each (design, scene) once, so its row is as read.
        design = rows.designs[task.asset_id]
        scene = rows.scenes[task.scene]
        existing = rows.mockups.get((task.asset_id, task.scene))
        regeneration = existing is not None and existing["render_count"] > 0
        artwork = artworks.get(design["file_key"])  # fetched once per batch (timed as fetch)
        artwork_url = self.blob_store.public_url(design["file_key"])
        if self.renderer.needs_public_artwork_url and not artwork_url:
            raise RenderFailure(
                f"{self.renderer.name} needs a public URL for design {task.asset_id}; "
                "use S3 storage with HAVEN_S3_PUBLIC_URL_BASE or presigned URLs"
            )
        scene_config = rows.scene_config(task.scene)
        job = RenderJob(
            key=f"{task.asset_id}:{task.scene}",
            artwork=artwork,
            artwork_url=artwork_url,
            scene_key=task.scene,
            scene_config=scene_config,
            dm_mockup_uuid=scene.get("dm_mockup_uuid"),
            dm_smart_object_uuid=scene.get("dm_smart_object_uuid"),
            label=f"{task.asset_id[:8]}-{task.scene}",
        )
        started = time.perf_counter()
        reservation = self._reserve(user_id, task, existing, regeneration)
        started = timings.since("ledger", started)
        try:
            with self.engine.begin() as conn:
                mockup = MockupStore(conn, user_id).start(
                    task.asset_id, task.scene, scene_config, self.renderer.name, design.get("quote_id"),
                    asset=design, existing=existing,
                )
        except Exception as exc:
            # Nothing was started: give the credits back now instead of holding them until the sweeper.
            self._refund_quietly(user_id, reservation.id, f"render not started: {_describe(exc)}")
            raise
        timings.since("database", started)
        return _Prepared(task, user_id, mockup["id"], reservation.id, reservation.credits, job, dict(design), regeneration,
                         design["file_key"])

    def _reserve(self, user_id: str, task: RenderTask, existing, regeneration: bool):
        """Reserve under a key stable across a crash and re-run of the same attempt.

        The key names the design, scene and how many renders the mockup has had; a key whose earlier
        reservation is already closed (a refunded failure) moves on to the next suffix.
        """
        generation = existing["render_count"] if existing is not None else 0
        base = f"render:{task.asset_id}:{task.scene}:g{generation}"
        operation = "regeneration" if regeneration else "generation"
        for attempt in range(1, 1000):
            key = base if attempt == 1 else f"{base}:a{attempt}"
            reservation = self.ledger.reserve(
                user_id, self.renderer.credits_per_render, idempotency_key=key, operation=operation,
                renderer=self.renderer.name, scene=task.scene, purpose=f"mockup {task.asset_id} {task.scene}",
            )
            if reservation.status == "open":
                return reservation
        raise RenderFailure(f"too many render attempts for {task.asset_id} {task.scene}")

    def _finish(self, prep: _Prepared, output: RenderedOutput, auto: bool, timings: _Timings) -> RenderOutcome:
        user_id, task = prep.user_id, prep.task
        digest = image_digest(output.data)  # one hash for both the storage key and the approval
        key = mockup_key(user_id, task.asset_id, task.scene, output.data, output.ext, sha256=digest)
        started = time.perf_counter()
        thumbnail = output.thumbnail
        if thumbnail is None:  # a renderer that made none (Dynamic Mockups): from the output's bytes
            thumbnail = make_thumbnail(output.data).data
            started = timings.since("thumbnail", started)
        stored = self.blob_store.put(key, output.data, output.content_type)
        thumb = self.blob_store.put(thumbnail_key(key), thumbnail, "image/jpeg")
        started = timings.since("store", started)
        # One transaction: the mockup completes, its credits are committed and it is routed together.
        # Apart, a crash between them left a finished mockup whose open reservation the sweeper
        # then refunded (a render delivered unpaid), or a finished mockup never routed.
        with self.engine.begin() as conn:
            MockupStore(conn, user_id).complete(
                prep.mockup_id, stored.url, stored.key, thumb.url, thumb.key, output.render_id,
                {**dict(output.metadata), "width": output.width, "height": output.height, "renderer": self.renderer.name},
            )
            ledger_started = time.perf_counter()
            self.ledger.commit(user_id, prep.reservation_id, prep.mockup_id, conn=conn, read_back=False)
            ledger_s = time.perf_counter() - ledger_started
            # The same picture rendered again keeps its decision; a new picture asks again.
            approval_id, status = route_mockup(
                conn, user_id, prep.mockup_id, digest, _approval_payload(prep, stored.url, thumb.url),
                prep.design.get("collection"), auto=auto,
            )
            approved = status == "approved"
            ActivityStore(conn, user_id).log(
                "mockup.regenerated" if prep.regeneration else "mockup.generated", "mockup", prep.mockup_id,
                {"asset_id": task.asset_id, "scene": task.scene, "credits": prep.credits, "renderer": self.renderer.name,
                 "approved": approved},
            )
        timings.add("ledger", ledger_s)
        timings.add("database", time.perf_counter() - started - ledger_s)
        return RenderOutcome(
            task.asset_id, task.scene, "approved" if approved else "completed", mockup_id=prep.mockup_id,
            url=stored.url, thumbnail_url=thumb.url, credits_used=prep.credits, approval_item_id=approval_id,
        )

    def _fail(self, prep: _Prepared, error: str) -> RenderOutcome:
        user_id, task = prep.user_id, prep.task
        log.warning("render of %s/%s failed: %s", task.asset_id, task.scene, error)
        self.ledger.refund(user_id, prep.reservation_id, f"render failed: {error}"[:500])
        with self.engine.begin() as conn:
            MockupStore(conn, user_id).fail(prep.mockup_id, error)
            RetryStore(conn, user_id).enqueue(
                "render_mockup", prep.mockup_id, {"asset_id": task.asset_id, "scene": task.scene}, error
            )
            ActivityStore(conn, user_id).log(
                "mockup.failed", "mockup", prep.mockup_id, {"asset_id": task.asset_id, "scene": task.scene, "error": error}
            )
        return RenderOutcome(task.asset_id, task.scene, "failed", mockup_id=prep.mockup_id, error=error)

    def _abandon(self, pending: Sequence[_Prepared], exc: Exception) -> None:
        """Settle the renders a bug interrupted: refund each and mark its mockup failed, with no retry.

        Best effort, so that the bug's own error is what the run reports: what cannot be settled here
        (the database is gone too) is logged, and the sweeper releases its reservation later.
        """
        error = f"internal error: {_describe(exc)}"
        for prep in pending:
            self._refund_quietly(prep.user_id, prep.reservation_id, error)
            try:
                with self.engine.begin() as conn:
                    MockupStore(conn, prep.user_id).fail(prep.mockup_id, error)
                    ActivityStore(conn, prep.user_id).log(
                        "mockup.failed", "mockup", prep.mockup_id,
                        {"asset_id": prep.task.asset_id, "scene": prep.task.scene, "error": error, "retry": False},
                    )
            except Exception:  # cleanup only; the bug itself is re-raised by the caller
                log.exception("could not mark mockup %s failed after an internal error", prep.mockup_id)

    def _refund_quietly(self, user_id: str, reservation_id: str, reason: str) -> None:
        """Refund a reservation on the way out of an error; a refund that fails is logged, not raised
        (the error being handled is the one to report; the sweeper releases the reservation)."""
        try:
            self.ledger.refund(user_id, reservation_id, reason[:500])
        except Exception:  # cleanup only
            log.exception("could not refund reservation %s; the sweeper will release it", reservation_id)


def _describe(exc: BaseException) -> str:
    """An error for people: our own errors by their message, others with their type in front."""
    return str(exc) if isinstance(exc, HavenError) else f"{exc.__class__.__name__}: {exc}"


class _StopFlag:
    """Set once when the renderer refuses further work; later tasks are refused, not failed."""

    reason: str | None = None


def _approval_payload(prep: _Prepared, url: str, thumbnail_url: str) -> dict:
    """Haven Hub's approval payload: url, thumbnail, scene, credits, design asset and quote."""
    design = prep.design
    return {
        "mockupUrl": url,
        "thumbnailUrl": thumbnail_url,
        "scene": prep.task.scene,
        "creditsUsed": prep.credits,
        "assetId": prep.task.asset_id,
        "quoteId": design.get("quote_id"),
        "quoteText": design.get("quote_text"),
        "collection": design.get("collection"),
    }


def validate_request(asset_ids: Sequence[str], scenes: Sequence[str]) -> list[RenderTask]:
    """Haven Hub's generate-mockups request limits: 1 to 20 design assets and 1 to 5 scenes."""
    asset_ids = list(dict.fromkeys(a.strip() for a in asset_ids if a and a.strip()))
    scenes = list(dict.fromkeys(s.strip() for s in scenes if s and s.strip()))
    if not 1 <= len(asset_ids) <= MAX_ASSETS_PER_REQUEST:
        raise ValidationError("asset_ids", f"give 1 to {MAX_ASSETS_PER_REQUEST} design assets, got {len(asset_ids)}")
    if not 1 <= len(scenes) <= MAX_SCENES_PER_REQUEST:
        raise ValidationError("scenes", f"give 1 to {MAX_SCENES_PER_REQUEST} scenes, got {len(scenes)}")
    return [RenderTask(a, s) for a in asset_ids for s in scenes]


def split_planned(
    tasks_by_user: Mapping[str, Iterable[RenderTask]], statuses: Mapping[tuple[str, str, str], str], *,
    regenerate: bool = False,
) -> dict[str, tuple[list[RenderTask], list[RenderTask]]]:
    """User id -> (to render, already done), from the mockup statuses keyed ``(user, design, scene)``
    (:func:`~haven_pipelines.db.stores.mockups.mockup_statuses`). Tasks are de-duplicated in order;
    a mockup counts only for its own user's task; with ``regenerate`` nothing is done.
    """
    plans: dict[str, tuple[list[RenderTask], list[RenderTask]]] = {}
    for user_id, tasks in tasks_by_user.items():
        to_render: list[RenderTask] = []
        done: list[RenderTask] = []
        for task in dict.fromkeys(tasks):  # de-duplicate, keep order
            if not regenerate and statuses.get((user_id, task.asset_id, task.scene)) in DONE_STATUSES:
                done.append(task)
            else:
                to_render.append(task)
        plans[user_id] = (to_render, done)
    return plans


def check_budget(ledger, user_id: str, renders: int, credits_per_render: int) -> CreditUsage:
    """Refuse up front when ``renders`` cannot all fit the annual budget; returns the usage otherwise.

    This is advice for a clear early message (the reservations themselves are what guarantee the
    budget under concurrency).
    """
    return require_credits(ledger.usage(user_id), renders * credits_per_render)


def require_credits(usage: CreditUsage, needed: int) -> CreditUsage:
    """``usage`` when ``needed`` more credits fit the annual budget it shows.

    Raises:
        BudgetExceeded: naming the requested and remaining credits.
    """
    if needed > usage.remaining_annual:
        raise BudgetExceeded(needed, usage.remaining_annual, usage.annual_budget, usage.year)
    return usage
