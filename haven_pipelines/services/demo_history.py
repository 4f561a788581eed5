"""A demo history: 90 days (or N) of Dynamic Mockups renders for the demo user, clearly marked.

``haven demo --load --history N`` calls :func:`load_demo_history` after the demo itself, so that a
first look at the analyst tables, ``haven credits report`` and the Dagster UI shows numbers worth
reading (the local renderer of the quickstart costs nothing, so its tables read 0 credits).

What it makes, day by day over the N days before today (UTC), as Dynamic Mockups would have:

- new approved designs (a growing shop: about 0.5 a day at the start, 1.5 at the end, fewer at
  weekends), each rendered in all five system scenes at one credit a render;
- regenerations of designs from the week before (a reviewer asked for another take; 1 to 3 a day,
  growing likewise), one credit each;
- failed renders (about 4 %: a 502, a timeout, a smart object that would not take the artwork),
  refunded at once and retried successfully half an hour later.

Everything goes through the real ledger (:class:`~haven_pipelines.db.stores.ledger.CreditLedger`:
reserve at the event's time, then commit with the finished mockup, or refund) and the mockup store, so
the ledger chain, the month balances and ``mockups.credits_used`` agree exactly as after real renders,
and the history counts against the demo user's annual budget like any render. A render the budget
refuses stops the history there (reported).

How it is marked: each reservation's idempotency key starts with ``demo-history:`` (the analyst
tables' ``demo`` column), each mockup's renderer metadata has ``demo_history: true``, each event's
purpose says "demo history". The history's designs are approved designs of the demo user that set the
demo quotes; their mockup images are one local render per scene, shared by all of them.

Idempotent: every event has a key built from its day and what it renders, so loading again adds
nothing twice, and a later load (a later "today") adds only the days that are new. Each day's events
depend on that date alone, never on the window, so two windows agree on the days they share.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.scenes import SceneStore
from haven_pipelines.db.stores.users import resolve_user
from haven_pipelines.domain.errors import BudgetExceeded, ValidationError
from haven_pipelines.domain.keys import design_key, mockup_key, thumbnail_key
from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.integrations.blobstore import BlobStore
from haven_pipelines.rendering.images import make_thumbnail
from haven_pipelines.services.analytics import DEMO_HISTORY_KEY_PREFIX, DEMO_HISTORY_METADATA_FLAG
from haven_pipelines.services.demo import DEMO_EMAIL, DEMO_QUOTES, demo_id, draw_design
from haven_pipelines.services.renderers import LocalRendererAdapter, RenderJob

MAX_DAYS = 365
RENDERER = "dynamic_mockups"
CREDITS_PER_RENDER = 1
SCENES = tuple(s.key for s in SYSTEM_SCENES)
FAILURE_RATE = 0.04
# What Dynamic Mockups failures look like to the render service (its typed errors' messages).
FAILURES = (
    "Dynamic Mockups answered 502 Bad Gateway",
    "Dynamic Mockups render timed out after 60 s",
    "Dynamic Mockups: the smart object could not place the artwork",
)
_NAMESPACE = uuid.UUID("6b3f2d0e-8c4a-4f1e-9d2b-7a5c3e1f0b92")


@dataclass(frozen=True)
class RenderEvent:
    """One render of the history: when, which design and scene, a first render or a regeneration,
    and whether its first attempt failed (then it is refunded and retried 30 minutes later)."""

    at: datetime
    design: str  # the design's name in the history: "<day>:<n>"
    scene: str
    regeneration: bool
    failure: str | None
    take: int = 0  # the day's n-th regeneration (two may re-render the same mockup)

    @property
    def key(self) -> str:
        """The reservation's idempotency key (the retry adds ``:retry``)."""
        kind = f"regen{self.take}" if self.regeneration else "gen"
        return f"{DEMO_HISTORY_KEY_PREFIX}{self.at:%Y-%m-%d}:{self.design}:{self.scene}:{kind}"


@dataclass(frozen=True)
class HistorySummary:
    """What :func:`load_demo_history` booked and what was already there."""

    days: int
    first_day: date
    last_day: date
    designs_created: int
    designs_existing: int
    renders: int
    regenerations: int
    failures_refunded: int
    credits_charged: int
    events_existing: int
    refused: str | None = None

    @property
    def changed(self) -> bool:
        """Whether this load booked anything."""
        return bool(self.designs_created or self.renders)


def day_events(day: date) -> list[RenderEvent]:
    """The history's render events of ``day``, which depend on the date alone (seeded by it)."""
    rng = random.Random(f"haven-demo-history:{day.isoformat()}:renders")
    events: list[RenderEvent] = []
    for n in range(designs_on(day)):
        hour = rng.randint(8, 17)
        for i, scene in enumerate(SCENES):
            at = datetime.combine(day, time(hour, rng.randint(0, 50), i), UTC)
            events.append(RenderEvent(at, f"{day.isoformat()}:{n}", scene, False, _failure(rng)))
    # Regenerations of the week before's designs (days with none are passed over).
    recent = [(earlier, count) for back in range(1, 8)
              if (count := designs_on(earlier := day - timedelta(days=back))) > 0]
    for take in range(_draw(rng, (1.0 + 2.0 * _growth(day)) * _weekend(day)) if recent else 0):
        earlier, count = rng.choice(recent)
        target = f"{earlier.isoformat()}:{rng.randrange(count)}"
        at = datetime.combine(day, time(rng.randint(9, 18), rng.randint(0, 59)), UTC)
        events.append(RenderEvent(at, target, rng.choice(SCENES), True, _failure(rng), take))
    return sorted(events, key=lambda e: e.at)


def designs_on(day: date) -> int:
    """How many new designs the history's shop approved on ``day`` (seeded by the date alone)."""
    rng = random.Random(f"haven-demo-history:{day.isoformat()}:designs")
    return _draw(rng, (0.5 + _growth(day)) * _weekend(day))


def _growth(day: date) -> float:
    """The shop grows through the year: 0 on 1 January to 1 on 31 December."""
    return day.timetuple().tm_yday / 366.0


def _weekend(day: date) -> float:
    """Half the work at weekends."""
    return 0.5 if day.weekday() >= 5 else 1.0


def _draw(rng: random.Random, rate: float) -> int:
    """A whole count with mean ``rate`` (the whole part, plus one with the fraction's chance)."""
    whole = int(rate)
    return whole + (1 if rng.random() < rate - whole else 0)


def _failure(rng: random.Random) -> str | None:
    return rng.choice(FAILURES) if rng.random() < FAILURE_RATE else None


def history_design_id(user_id: str, design: str) -> str:
    """The stable asset id of the history's design named ``design`` (``<day>:<n>``)."""
    return str(uuid.uuid5(_NAMESPACE, f"{user_id}:design:{design}"))


def load_demo_history(engine: Engine, blob_store: BlobStore, days: int = 90, today: date | None = None) -> HistorySummary:
    """Book the demo history of the ``days`` days before ``today`` (UTC) for the demo user.

    The demo user and its quotes must exist (:func:`~haven_pipelines.services.demo.load_demo`).

    Raises:
        ValidationError: ``days`` outside 1..365.
        NotFound: no demo user (load the demo first).
    """
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationError("history", f"must be a whole number of days from 1 to {MAX_DAYS}, got {days!r}")
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days)
    with engine.connect() as conn:
        user_id = resolve_user(conn, DEMO_EMAIL)["id"]
    loader = _Loader(engine, blob_store, user_id)
    refused = None
    for offset in range(days):
        try:
            for event in day_events(first + timedelta(days=offset)):
                loader.book(event)
        except BudgetExceeded as exc:
            refused = str(exc)
            break
    return HistorySummary(
        days=days, first_day=first, last_day=today - timedelta(days=1), designs_created=loader.designs_created,
        designs_existing=loader.designs_existing, renders=loader.renders, regenerations=loader.regenerations,
        failures_refunded=loader.failures, credits_charged=loader.credits, events_existing=loader.existing,
        refused=refused,
    )


class _Loader:
    """Books events one by one, drawing each design and scene image once."""

    def __init__(self, engine: Engine, blob_store: BlobStore, user_id: str):
        self.engine, self.blob_store, self.user_id = engine, blob_store, user_id
        self.ledger = CreditLedger(engine)
        self._artwork: dict[int, tuple[str, str, bytes]] = {}
        self._scene_images: dict[str, tuple[str, str, str, str]] = {}
        self._known_designs: dict[str, bool] = {}
        self._seen: set[str] = set()
        self.designs_created = self.designs_existing = self.renders = self.regenerations = 0
        self.failures = self.credits = self.existing = 0

    def book(self, event: RenderEvent) -> None:
        """Book one event (and its retry); skip what an earlier load booked."""
        asset_id = history_design_id(self.user_id, event.design)
        if event.regeneration:
            if not self._design_exists(asset_id):
                return  # its design is before the window: no regeneration of a design never loaded
        else:
            self._ensure_design(asset_id, event)
        key = event.key
        if event.failure:
            outcome = self._attempt(event, asset_id, key, fail=event.failure)
            if outcome == "existing":
                self.existing += 1
            key += ":retry"
            event = RenderEvent(event.at + timedelta(minutes=30), event.design, event.scene, event.regeneration, None,
                                event.take)
        if self._attempt(event, asset_id, key, fail=None) == "existing":
            self.existing += 1

    def _attempt(self, event: RenderEvent, asset_id: str, key: str, fail: str | None) -> str:
        reservation = self.ledger.reserve(
            self.user_id, CREDITS_PER_RENDER, idempotency_key=key,
            operation="regeneration" if event.regeneration else "generation", renderer=RENDERER, scene=event.scene,
            purpose=f"demo history: mockup {asset_id} {event.scene}", now=event.at,
        )
        if reservation.replayed and reservation.status != "open":
            return "existing"
        if fail:
            self.ledger.refund(self.user_id, reservation.id, f"render failed: {fail}")
            with self.engine.begin() as conn:
                store = MockupStore(conn, self.user_id)
                store.fail(store.start(asset_id, event.scene, {}, RENDERER)["id"], fail)
            self.renders += 1
            self.failures += 1
            return "failed"
        url, key_, thumb_url, thumb_key = self._scene_image(event.scene)
        rng = random.Random(key)
        metadata = {DEMO_HISTORY_METADATA_FLAG: True, "renderer": RENDERER, "scene": event.scene,
                    "elapsed_ms": round(rng.uniform(2200, 6800), 1), "width": 2400}
        # One transaction, as the render service finishes a render: started, completed, paid, approved.
        with self.engine.begin() as conn:
            store = MockupStore(conn, self.user_id)
            mockup_id = store.start(asset_id, event.scene, {}, RENDERER)["id"]
            store.complete(mockup_id, url, key_, thumb_url, thumb_key, f"demo-{uuid.uuid5(_NAMESPACE, key)}", metadata)
            self.ledger.commit(self.user_id, reservation.id, mockup_id, conn=conn)
            # The demo user works in autopilot: a finished render is approved at once.
            store.set_status(mockup_id, "approved")
        self.renders += 1
        self.regenerations += event.regeneration
        self.credits += CREDITS_PER_RENDER
        return "booked"

    def _design_exists(self, asset_id: str) -> bool:
        if asset_id not in self._known_designs:
            with self.engine.connect() as conn:
                self._known_designs[asset_id] = DesignStore(conn, self.user_id).find_asset(asset_id) is not None
        return self._known_designs[asset_id]

    def _ensure_design(self, asset_id: str, event: RenderEvent) -> None:
        if asset_id in self._seen:
            return
        self._seen.add(asset_id)
        if self._design_exists(asset_id):
            self.designs_existing += 1
            return
        quote_index = int(uuid.uuid5(_NAMESPACE, event.design).int % len(DEMO_QUOTES))
        url, key = self._design_image(quote_index)
        with self.engine.begin() as conn:
            DesignStore(conn, self.user_id).create_asset(
                url, key, "png", 1600, 2000, demo_id(self.user_id, "quote", quote_index), "approved", asset_id=asset_id,
            )
        self._known_designs[asset_id] = True
        self.designs_created += 1

    def _design_image(self, quote_index: int) -> tuple[str, str]:
        """The artwork of a demo quote, drawn and stored once, shared by the history's designs of it."""
        if quote_index not in self._artwork:
            text, collection, _mood = DEMO_QUOTES[quote_index]
            data = draw_design(quote_index, text, collection)
            art_id = str(uuid.uuid5(_NAMESPACE, f"{self.user_id}:artwork:{quote_index}"))
            stored = self.blob_store.put(design_key(self.user_id, art_id, data, "png"), data, "image/png")
            self._artwork[quote_index] = (stored.url, stored.key, data)
        url, key, _data = self._artwork[quote_index]
        return url, key

    def _scene_image(self, scene: str) -> tuple[str, str, str, str]:
        """One local render of a demo artwork in ``scene`` (800 px), stored once with its thumbnail."""
        if scene not in self._scene_images:
            self._design_image(0)
            artwork = self._artwork[0][2]
            with self.engine.connect() as conn:
                config = dict(SceneStore(conn, self.user_id).get(scene).get("config") or {})
            job = RenderJob(key=f"demo-history:{scene}", artwork=artwork, artwork_url=None, scene_key=scene,
                            scene_config=config, label=f"demo-history-{scene}")
            [output] = LocalRendererAdapter(width=800, workers=1).render_many([job])
            if isinstance(output, BaseException):
                raise output
            owner = str(uuid.uuid5(_NAMESPACE, f"{self.user_id}:scene-image"))
            key = mockup_key(self.user_id, owner, scene, output.data, output.ext)
            stored = self.blob_store.put(key, output.data, output.content_type)
            thumb = self.blob_store.put(thumbnail_key(key), make_thumbnail(output.data).data, "image/jpeg")
            self._scene_images[scene] = (stored.url, stored.key, thumb.url, thumb.key)
        return self._scene_images[scene]
