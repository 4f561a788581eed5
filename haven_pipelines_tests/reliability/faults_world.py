"""Set-up shared by the fault scenarios: users, approved designs, charging renderers, a crash child.

Not a test module. The crash scenario runs :func:`child_render` in a separate Python process (so it
can be killed with SIGKILL); everything it needs is importable from here.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
from collections import Counter

from PIL import Image
from sqlalchemy import update

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import assets
from haven_pipelines.domain.keys import design_key
from haven_pipelines.services.renderers import LocalRendererAdapter, RenderFailure

SCENES = ("bedroom", "therapy_office", "living_room", "reading_nook", "home_office")


def png_bytes(index: int = 0, size: tuple[int, int] = (200, 250)) -> bytes:
    """A small real PNG, different per ``index`` (so each design has its own content key)."""
    buf = io.BytesIO()
    Image.new("RGB", size, (120 + index % 100, 90 + (index * 7) % 120, 60 + (index * 13) % 150)).save(buf, "PNG")
    return buf.getvalue()


def make_user(engine, email: str, **settings) -> str:
    """Create a user (autopilot unless told otherwise) and return its id."""
    settings.setdefault("global_mode", "autopilot")
    with engine.begin() as conn:
        user_id = get_or_create_user(conn, email)["id"]
        SettingsStore(conn, user_id).update(**settings)
    return user_id


def make_designs(engine, blob_store, user_id: str, count: int, *, collection: str = "grounding") -> list[str]:
    """``count`` approved designs whose artwork is stored in ``blob_store``; returns their asset ids."""
    ids = []
    for i in range(count):
        data = png_bytes(i)
        with engine.begin() as conn:
            store = DesignStore(conn, user_id)
            quote = store.create_quote(f"Rest is a form of courage, part {i + 1}", collection, mood="calm")
            asset = store.create_asset("pending://", "pending", "png", 200, 250, quote_id=quote["id"])
            key = design_key(user_id, asset["id"], data, "png")
            stored = blob_store.put(key, data, "image/png")
            conn.execute(update(assets).where(assets.c.id == asset["id"]).values(file_url=stored.url, file_key=key))
            store.approve_asset(asset["id"])
        ids.append(asset["id"])
    return ids


def small_local_renderer(workers: int = 2) -> LocalRendererAdapter:
    """The local compositor at 320 px wide: real JPEG renders, fast enough for fault loops."""
    return LocalRendererAdapter(workers=workers, width=320)  # the size rule is tested in rendering/; here only speed matters


class ChargingRenderer:
    """A one-credit renderer over the local compositor that counts (and can slow) its renders.

    ``rendered`` counts finished renders per job key; ``log_path`` (optional) gets one line per
    finished render, flushed at once, so a parent process can count what a killed child rendered.
    """

    name = "charging"
    credits_per_render = 1
    needs_public_artwork_url = False
    batch_size = 1

    def __init__(self, inner=None, *, delay: float = 0.0, log_path: str | None = None, workers: int = 2,
                 fail_keys: frozenset[str] = frozenset(), hold_at: int | None = None):
        self.inner = inner or small_local_renderer(workers)
        self.max_workers = workers
        self.delay = delay
        # The hold_at-th job to start never finishes: the process waits there until it is killed, so a
        # parent kills it mid-render however slow the machine is (a sleep would race the parent's poll).
        self.hold_at = hold_at
        self._started = 0
        self.log_path = log_path
        self.fail_keys = frozenset(fail_keys)  # job keys whose render fails (the service's failure path)
        self.rendered: Counter[str] = Counter()
        self._lock = threading.Lock()

    def render_many(self, jobs):
        """Render through the local compositor after ``delay`` seconds per job."""
        self._log("start", jobs)  # the credits are reserved by now: a kill from here leaves them open
        with self._lock:
            first, self._started = self._started + 1, self._started + len(jobs)
        if self.hold_at is not None and first <= self.hold_at <= self._started:
            threading.Event().wait()  # until the parent's SIGKILL
        if self.delay:
            time.sleep(self.delay * len(jobs))
        out = self.inner.render_many(jobs)
        out = [RenderFailure(f"injected render failure for {job.key}") if job.key in self.fail_keys else result
               for job, result in zip(jobs, out, strict=True)]
        done = [job for job, result in zip(jobs, out, strict=True) if not isinstance(result, BaseException)]
        with self._lock:
            self.rendered.update(job.key for job in done)
        self._log("done", done)
        return out

    def _log(self, event: str, jobs) -> None:
        if self.log_path and jobs:
            with self._lock, open(self.log_path, "a", encoding="utf-8") as fh:
                fh.writelines(f"{event} {job.key}\n" for job in jobs)


def read_render_log(path) -> tuple[list[str], list[str]]:
    """(started, finished) job keys of a :class:`ChargingRenderer` log, in order."""
    started: list[str] = []
    finished: list[str] = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                event, _, key = line.strip().partition(" ")
                (started if event == "start" else finished).append(key)
    return started, finished


# The ledger calls a crash child can be killed at, and on which side of the call.
KILL_METHODS = ("reserve", "commit", "refund")
KILL_SIDES = ("before", "after")


def child_render(spec_json: str) -> None:
    """Entry point of the crash child: render ``spec['tasks']`` for ``spec['user_id']`` and exit.

    ``spec``: ``database_url``, ``images`` (LocalBlobStore root), ``user_id``, ``tasks`` ([asset, scene]
    pairs), ``delay`` (seconds per render), ``log_path``, ``workers``, ``fail_keys`` (job keys whose
    render fails), ``hold_at`` (the n-th render to start waits until the process is killed), and ``kill`` (``{"method": "reserve" | "commit" | "refund", "side": "before" | "after",
    "call": n}``: SIGKILL this process on that side of its n-th call of that ledger method).

    ``commit`` is called inside the transaction that completes the mockup and routes it, so a kill
    "before" it dies with that transaction open: the database rolls all of it back.
    """
    from haven_pipelines.db.engine import create_engine
    from haven_pipelines.integrations.blobstore import LocalBlobStore
    from haven_pipelines.services.context import build_context
    from haven_pipelines.services.render import RenderService, RenderTask

    spec = json.loads(spec_json)
    engine = create_engine(spec["database_url"])
    renderer = ChargingRenderer(delay=spec.get("delay", 0.0), log_path=spec.get("log_path"), workers=spec.get("workers", 2),
                                fail_keys=frozenset(spec.get("fail_keys", ())), hold_at=spec.get("hold_at"))
    ctx = build_context(engine=engine, blob=LocalBlobStore(spec["images"]), renderer_impl=renderer)
    kill = spec.get("kill")
    if kill:
        method, side, nth = kill["method"], kill["side"], kill["call"]
        if method not in KILL_METHODS or side not in KILL_SIDES or nth < 1:
            raise ValueError(f"kill: unknown kill point {kill!r}")
        original = getattr(ctx.ledger, method)
        calls = Counter()

        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if side == "before" and calls["n"] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
            result = original(*args, **kwargs)
            if side == "after" and calls["n"] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(ctx.ledger, method, wrapped)
    RenderService(ctx).render_batch(spec["user_id"], [RenderTask(a, s) for a, s in spec["tasks"]])
    ctx.close()
    sys.exit(0)
