"""The demo history: booked through the real ledger (the chain audits clean, credits on mockups equal
credits charged), marked demo in the analyst tables, idempotent, and a later window adds only new days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.tables import credit_reservations, mockup_credit_usage, mockups
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services import analytics
from haven_pipelines.services.demo import load_demo
from haven_pipelines.services.demo_history import day_events, designs_on, load_demo_history

TODAY = date(2026, 3, 4)  # the window crosses February and March


@pytest.fixture
def demo(engine, tmp_path):
    blobs = LocalBlobStore(tmp_path / "images")
    return engine, blobs, load_demo(engine, blobs, designs=1).user_id


def _ledger_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(mockup_credit_usage)).scalar_one()


def _expected(days: int, today: date) -> tuple[int, int, int, int]:
    """Renders (attempts), failed attempts, regenerations and regeneration attempts the days' events
    make, counted from the event plan itself; a regeneration whose design is before the window is
    not booked. A failed attempt is retried, so it makes two attempts."""
    first = today - timedelta(days=days)
    window = {first + timedelta(days=i) for i in range(days)}
    renders = failed = regenerations = regeneration_attempts = 0
    for day in sorted(window):
        for event in day_events(day):
            design_day = date.fromisoformat(event.design.split(":")[0])
            if event.regeneration and design_day not in window:
                continue
            renders += 1 + (event.failure is not None)
            failed += event.failure is not None
            regenerations += event.regeneration
            regeneration_attempts += (1 + (event.failure is not None)) if event.regeneration else 0
    return renders, failed, regenerations, regeneration_attempts


def test_history_goes_through_the_real_ledger_and_is_marked_demo(demo):
    engine, blobs, user_id = demo
    summary = load_demo_history(engine, blobs, days=12, today=TODAY)
    renders, failed, regenerations, regeneration_attempts = _expected(12, TODAY)
    assert (summary.renders, summary.failures_refunded, summary.regenerations) == (renders, failed, regenerations)
    assert summary.credits_charged == renders - failed > 0
    assert summary.designs_created == sum(designs_on(TODAY - timedelta(days=d)) for d in range(1, 13))
    assert (summary.first_day, summary.last_day) == (date(2026, 2, 20), date(2026, 3, 3))
    # The ledger audits clean and balances with the mockups.
    ledger = CreditLedger(engine)
    assert ledger.check_chain(user_id, 2026) == []
    assert analytics.ledger_totals(engine) == {"charged": summary.credits_charged, "on_mockups": summary.credits_charged}
    assert ledger.usage(user_id, 2026, 2).used_this_month + ledger.usage(user_id, 2026, 3).used_this_month == summary.credits_charged
    with engine.connect() as conn:
        keys = conn.execute(select(credit_reservations.c.idempotency_key)).scalars().all()
        states = conn.execute(select(mockups.c.status, mockups.c.renderer_metadata)).all()
    assert len(keys) == renders and all(k.startswith(analytics.DEMO_HISTORY_KEY_PREFIX) for k in keys)
    # Every failure was retried: the mockups end approved, each marked demo.
    assert {s for s, _ in states} == {"approved"}
    assert all(m[analytics.DEMO_HISTORY_METADATA_FLAG] is True for _, m in states)
    # The analyst tables: every row demo, sums equal to the summary, days inside the window.
    daily = analytics.credit_usage_daily(engine)
    assert daily["demo"].all()
    assert (int(daily["renders"].sum()), int(daily["failed_renders"].sum()), int(daily["net_credits"].sum())) == (
        renders, failed, summary.credits_charged)
    assert daily["day"].min() >= "2026-02-20" and daily["day"].max() <= "2026-03-03"
    monthly = analytics.credit_usage_monthly(engine)
    assert sorted(monthly["month"]) == [2, 3] and monthly["demo"].all()
    assert int(monthly["regeneration_renders"].sum()) == regeneration_attempts >= regenerations > 0
    outcomes = analytics.render_outcomes(engine)
    assert outcomes["demo"].all() and set(outcomes["renderer"]) == {"dynamic_mockups"}
    assert int(outcomes["failed_attempts"].sum()) == failed


def test_loading_twice_adds_nothing_and_a_later_window_adds_only_new_days(demo):
    engine, blobs, user_id = demo
    first = load_demo_history(engine, blobs, days=10, today=TODAY)
    rows = _ledger_count(engine)
    again = load_demo_history(engine, blobs, days=10, today=TODAY)
    assert not again.changed and again.events_existing == first.renders and _ledger_count(engine) == rows
    assert again.designs_existing == first.designs_created

    before = analytics.credit_usage_daily(engine).set_index("day")["renders"]
    later = load_demo_history(engine, blobs, days=10, today=TODAY + timedelta(days=3))
    after = analytics.credit_usage_daily(engine).set_index("day")["renders"]
    # The days both windows share are unchanged; the three new days are added.
    shared = [d for d in before.index if d >= "2026-02-25"]
    assert all(after[d] == before[d] for d in shared)
    assert set(after.index) - set(before.index) <= {"2026-03-04", "2026-03-05", "2026-03-06"}
    assert later.renders > 0 and later.designs_existing > 0
    assert later.renders == int(after.sum() - before.sum())
    assert CreditLedger(engine).check_chain(user_id, 2026) == []


def test_bad_days_and_missing_demo_user(engine, tmp_path):
    blobs = LocalBlobStore(tmp_path / "images")
    with pytest.raises(ValidationError, match="history"):
        load_demo_history(engine, blobs, days=0)
    with pytest.raises(NotFound):
        load_demo_history(engine, blobs, days=3, today=TODAY)


def test_events_depend_on_the_date_alone():
    day = date(2026, 11, 17)
    assert day_events(day) == day_events(day)
    events = day_events(day)
    keys = [e.key for e in events]
    assert len(keys) == len(set(keys))
    assert all(e.at.date() == day for e in events)
