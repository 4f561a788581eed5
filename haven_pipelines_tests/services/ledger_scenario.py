"""A small, fixed ledger (two users, May and June 2026) booked through the real ledger and mockup
store, with the analyst-table figures it must give; shared by the analytics and docs tests.

User A (a@haven.test; soft limit 10, annual budget 3):
  2026-05-03 design 1 bedroom, Dynamic Mockups, 1 credit                      committed
  2026-05-03 design 1 living room, 1 credit, failed                          refunded
  2026-05-03 design 1 living room again (the retry), 1 credit                committed
  2026-06-10 design 1 bedroom regenerated, 1 credit                          committed
  2026-06-11 design 2 bedroom, local renderer, 0 credits                     committed
User B (b@haven.test; default guardrails), demo history keys:
  2026-06-10 design 3 bedroom, 1 credit                                      committed
  2026-06-10 design 3 reading nook, 1 credit, failed                         refunded
  2026-06-10 design 3 reading nook again, 1 credit                           committed
"""

from __future__ import annotations

from datetime import UTC, datetime

from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.services.analytics import DEMO_HISTORY_KEY_PREFIX, DEMO_HISTORY_METADATA_FLAG


def _book(ctx, user, asset, scene, key, when, *, credits=1, operation="generation", renderer="dynamic_mockups",
          fail=False, demo=False, elapsed_ms=4000.0):
    ledger = ctx.ledger
    reservation = ledger.reserve(user, credits, idempotency_key=key, operation=operation, renderer=renderer,
                                 scene=scene, now=when)
    with ctx.engine.begin() as conn:
        store = MockupStore(conn, user)
        mockup_id = store.start(asset, scene, {}, renderer)["id"]
        if fail:
            store.fail(mockup_id, "Dynamic Mockups answered 502 Bad Gateway")
    if fail:
        ledger.refund(user, reservation.id, "render failed")
        return
    metadata = {"elapsed_ms": elapsed_ms, **({DEMO_HISTORY_METADATA_FLAG: True} if demo else {})}
    with ctx.engine.begin() as conn:
        MockupStore(conn, user).complete(mockup_id, f"file:///{key}.jpg", f"{key}.jpg", None, None, None, metadata)
        ledger.commit(user, reservation.id, mockup_id, conn=conn)


def book_scenario(world) -> dict[str, str]:
    """Book the scenario in ``world`` (services conftest); returns the user ids by name."""
    a = world.user("a@haven.test", monthly_mockup_soft_limit=10, annual_mockup_budget=3)
    b = world.user("b@haven.test")
    d1, d2, d3 = world.design(a), world.design(a), world.design(b)
    at = lambda day, month, hour=10: datetime(2026, month, day, hour, tzinfo=UTC)  # noqa: E731
    ctx = world.ctx
    _book(ctx, a, d1, "bedroom", "a1", at(3, 5), elapsed_ms=3000.0)
    _book(ctx, a, d1, "living_room", "a2", at(3, 5, 11), fail=True)
    _book(ctx, a, d1, "living_room", "a2:retry", at(3, 5, 12), elapsed_ms=5000.0)
    _book(ctx, a, d1, "bedroom", "a3", at(10, 6), operation="regeneration", elapsed_ms=4000.0)
    _book(ctx, a, d2, "bedroom", "a4", at(11, 6), credits=0, renderer="local", elapsed_ms=30.0)
    demo = DEMO_HISTORY_KEY_PREFIX
    _book(ctx, b, d3, "bedroom", f"{demo}b1", at(10, 6), demo=True, elapsed_ms=2000.0)
    _book(ctx, b, d3, "reading_nook", f"{demo}b2", at(10, 6, 11), fail=True, demo=True)
    _book(ctx, b, d3, "reading_nook", f"{demo}b2:retry", at(10, 6, 12), demo=True, elapsed_ms=6000.0)
    return {"a": a, "b": b}
