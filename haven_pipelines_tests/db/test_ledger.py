"""The credit ledger on SQLite and PostgreSQL: reserve, commit, refund, sweep, audit, isolation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import (
    assets,
    credit_balances,
    credit_month_balances,
    credit_reservations,
    mockup_credit_usage,
    mockups,
    new_id,
    user_settings,
)
from haven_pipelines.domain.errors import BudgetExceeded, Conflict, NotFound, ValidationError

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def make_user(engine: Engine, email: str, *, budget: int | None = None, soft_limit: int | None = None) -> str:
    """A user with optional guardrails; returns the id."""
    with engine.begin() as conn:
        user_id = get_or_create_user(conn, email)["id"]
        values = {}
        if budget is not None:
            values["annual_mockup_budget"] = budget
        if soft_limit is not None:
            values["monthly_mockup_soft_limit"] = soft_limit
        if values:
            SettingsStore(conn, user_id).update(**values)
    return user_id


def make_mockup(engine: Engine, user_id: str, scene: str = "bedroom") -> str:
    """A design asset and one mockup of it for ``user_id``, by plain inserts; returns the mockup id."""
    asset_id, mockup_id = new_id(), new_id()
    with engine.begin() as conn:
        conn.execute(
            insert(assets).values(
                id=asset_id, user_id=user_id, file_url=f"file:///{asset_id}.png", file_key=f"designs/{asset_id}.png",
                format="png", approval_status="approved",
            )
        )
        conn.execute(insert(mockups).values(id=mockup_id, user_id=user_id, asset_id=asset_id, scene=scene, scene_config={}))
    return mockup_id


def counts(engine: Engine, user_id: str) -> tuple[int, int, int]:
    """(reservations, ledger rows, credits used over all years) for the user."""
    with engine.connect() as conn:
        reservations = conn.execute(select(func.count()).where(credit_reservations.c.user_id == user_id)).scalar_one()
        rows = conn.execute(select(func.count()).where(mockup_credit_usage.c.user_id == user_id)).scalar_one()
        used = conn.execute(
            select(func.coalesce(func.sum(credit_balances.c.used), 0)).where(credit_balances.c.user_id == user_id)
        ).scalar_one()
    return reservations, rows, int(used)


def ledger_rows(engine: Engine, user_id: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(mockup_credit_usage).where(mockup_credit_usage.c.user_id == user_id).order_by(mockup_credit_usage.c.seq)
        ).mappings().all()


@pytest.fixture
def ledger(engine) -> CreditLedger:
    return CreditLedger(engine)


def test_reserve_takes_credits_and_writes_a_chained_ledger_row(engine, ledger):
    user = make_user(engine, "a@haven.test")
    first = ledger.reserve(user, 3, idempotency_key="k1", renderer="local", scene="bedroom", purpose="batch 1", now=NOW)
    second = ledger.reserve(user, 2, idempotency_key="k2", operation="regeneration", now=NOW)

    assert (first.status, first.credits, first.year, first.month, first.replayed) == ("open", 3, 2025, 6, False)
    assert (first.usage.used_this_year, first.usage.used_this_month) == (3, 3)
    # Regenerations cost credits too (the source counted them as free).
    assert (second.usage.used_this_year, second.usage.remaining_annual) == (5, 3495)
    rows = ledger_rows(engine, user)
    assert [(r["seq"], r["credits"], r["operation"], r["balance_before"], r["balance_after"]) for r in rows] == [
        (1, 3, "generation", 0, 3),
        (2, 2, "regeneration", 3, 5),
    ]
    assert rows[0]["scene"] == "bedroom" and rows[0]["renderer"] == "local"
    assert rows[0]["reservation_id"] == first.id and (rows[0]["year"], rows[0]["month"]) == (2025, 6)
    assert ledger.usage(user, 2025, 6).used_this_month == 5
    assert ledger.check_chain(user, 2025) == []


def test_zero_credit_reservation_is_recorded(engine, ledger):
    user = make_user(engine, "zero@haven.test")
    reservation = ledger.reserve(user, 0, idempotency_key="local-1", renderer="local", now=NOW)
    assert reservation.usage.used_this_year == 0
    assert counts(engine, user) == (1, 1, 0)
    assert ledger.check_chain(user, 2025) == []


def test_same_idempotency_key_replays_without_charging(engine, ledger):
    user = make_user(engine, "idem@haven.test")
    other = make_user(engine, "idem2@haven.test")
    first = ledger.reserve(user, 2, idempotency_key="asset-1:bedroom", now=NOW)
    again = ledger.reserve(user, 2, idempotency_key="asset-1:bedroom", now=NOW)

    assert again.replayed and again.id == first.id and again.usage.used_this_year == 2
    assert counts(engine, user) == (1, 1, 2)
    # The key is per user: another user's identical key is a new reservation.
    theirs = ledger.reserve(other, 2, idempotency_key="asset-1:bedroom", now=NOW)
    assert not theirs.replayed and theirs.id != first.id
    # A retry must ask for the same thing.
    with pytest.raises(Conflict, match="asset-1:bedroom"):
        ledger.reserve(user, 5, idempotency_key="asset-1:bedroom", now=NOW)


def test_replay_reports_the_current_state(engine, ledger):
    user = make_user(engine, "replay@haven.test")
    mockup = make_mockup(engine, user)
    reservation = ledger.reserve(user, 1, idempotency_key="r", now=NOW)
    ledger.commit(user, reservation.id, mockup)
    again = ledger.reserve(user, 1, idempotency_key="r", now=NOW)
    assert (again.replayed, again.status, again.mockup_id) == (True, "committed", mockup)


def test_refusal_names_what_remains_and_writes_nothing(engine, ledger):
    user = make_user(engine, "budget@haven.test", budget=5)
    ledger.reserve(user, 3, idempotency_key="a", now=NOW)
    before = counts(engine, user)

    with pytest.raises(BudgetExceeded) as refused:
        ledger.reserve(user, 3, idempotency_key="b", now=NOW)

    assert (refused.value.requested, refused.value.remaining, refused.value.budget) == (3, 2, 5)
    assert "2 of 5 remaining" in str(refused.value)
    assert counts(engine, user) == before
    # Exactly the remainder still fits.
    assert ledger.reserve(user, 2, idempotency_key="c", now=NOW).usage.remaining_annual == 0


def test_refusal_on_the_first_reservation_of_a_year_leaves_no_balance_row(engine, ledger):
    user = make_user(engine, "first@haven.test", budget=1)
    with pytest.raises(BudgetExceeded, match="1 of 1 remaining"):
        ledger.reserve(user, 2, idempotency_key="too-big", now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(credit_balances).where(credit_balances.c.user_id == user)).first() is None
    assert counts(engine, user) == (0, 0, 0)


def test_budget_is_per_calendar_year(engine, ledger):
    user = make_user(engine, "years@haven.test", budget=2)
    ledger.reserve(user, 2, idempotency_key="2024", now=datetime(2024, 12, 31, 23, 59, tzinfo=UTC))
    nxt = ledger.reserve(user, 2, idempotency_key="2025", now=datetime(2025, 1, 1, 0, 0, tzinfo=UTC))
    assert (nxt.year, nxt.month, nxt.usage.used_this_year) == (2025, 1, 2)
    assert ledger.usage(user, 2024, 12).used_this_year == 2
    assert ledger.check_chain(user, 2024) == [] and ledger.check_chain(user, 2025) == []


def test_commit_charges_the_mockup_once(engine, ledger):
    user = make_user(engine, "commit@haven.test")
    mockup = make_mockup(engine, user)
    reservation = ledger.reserve(user, 2, idempotency_key="m1", scene="bedroom", now=NOW)

    committed = ledger.commit(user, reservation.id, mockup)
    repeated = ledger.commit(user, reservation.id, mockup)

    assert (committed.status, committed.mockup_id) == ("committed", mockup)
    assert repeated.status == "committed"
    with engine.connect() as conn:
        row = conn.execute(select(mockups.c.credits_used, mockups.c.render_count).where(mockups.c.id == mockup)).one()
    assert tuple(row) == (2, 1)
    assert ledger_rows(engine, user)[0]["mockup_id"] == mockup
    # A regeneration of the same mockup adds to it.
    regen = ledger.reserve(user, 1, idempotency_key="m1-regen", operation="regeneration", now=NOW)
    ledger.commit(user, regen.id, mockup)
    with engine.connect() as conn:
        row = conn.execute(select(mockups.c.credits_used, mockups.c.render_count).where(mockups.c.id == mockup)).one()
    assert tuple(row) == (3, 2)
    assert ledger.check_chain(user, 2025) == []


def test_a_closed_reservation_cannot_close_again(engine, ledger):
    user = make_user(engine, "closed@haven.test")
    mockup, other_mockup = make_mockup(engine, user), make_mockup(engine, user, "living_room")
    committed = ledger.reserve(user, 1, idempotency_key="c", now=NOW)
    ledger.commit(user, committed.id, mockup)
    refunded = ledger.reserve(user, 1, idempotency_key="r", now=NOW)
    ledger.refund(user, refunded.id, "render failed")

    with pytest.raises(Conflict, match="committed"):
        ledger.commit(user, committed.id, other_mockup)
    with pytest.raises(Conflict, match="committed"):
        ledger.refund(user, committed.id, "too late")
    with pytest.raises(Conflict, match="refunded"):
        ledger.refund(user, refunded.id, "twice")
    with pytest.raises(Conflict, match="refunded"):
        ledger.commit(user, refunded.id, mockup)
    assert counts(engine, user) == (2, 3, 1)
    assert ledger.check_chain(user, 2025) == []


def test_commit_needs_the_users_own_existing_mockup(engine, ledger):
    user = make_user(engine, "own@haven.test")
    stranger = make_user(engine, "stranger@haven.test")
    theirs = make_mockup(engine, stranger)
    reservation = ledger.reserve(user, 1, idempotency_key="x", now=NOW)

    with pytest.raises(NotFound, match="mockup"):
        ledger.commit(user, reservation.id, theirs)
    with pytest.raises(NotFound, match="mockup"):
        ledger.commit(user, reservation.id, new_id())
    with engine.connect() as conn:
        assert conn.execute(select(mockups.c.credits_used).where(mockups.c.id == theirs)).scalar_one() == 0
        status = conn.execute(select(credit_reservations.c.status).where(credit_reservations.c.id == reservation.id)).scalar_one()
    assert status == "open"


def test_refund_gives_credits_back_with_a_negative_chained_row(engine, ledger):
    user = make_user(engine, "refund@haven.test", budget=3)
    kept = ledger.reserve(user, 1, idempotency_key="kept", now=NOW)
    failed = ledger.reserve(user, 2, idempotency_key="failed", scene="bedroom", now=NOW)

    refunded = ledger.refund(user, failed.id, "renderer returned 500")

    assert refunded.status == "refunded"
    assert (refunded.usage.used_this_year, refunded.usage.used_this_month) == (1, 1)
    rows = ledger_rows(engine, user)
    assert [(r["seq"], r["credits"], r["operation"], r["balance_before"], r["balance_after"]) for r in rows] == [
        (1, 1, "generation", 0, 1),
        (2, 2, "generation", 1, 3),
        (3, -2, "refund", 3, 1),
    ]
    assert rows[2]["scene"] == "bedroom" and (rows[2]["year"], rows[2]["month"]) == (2025, 6)
    with engine.connect() as conn:
        reason = conn.execute(select(credit_reservations.c.close_reason).where(credit_reservations.c.id == failed.id)).scalar_one()
    assert reason == "renderer returned 500"
    # The refunded credits can be reserved again.
    assert ledger.reserve(user, 2, idempotency_key="retry", now=NOW).usage.remaining_annual == 0
    assert kept.status == "open" and ledger.check_chain(user, 2025) == []
    with pytest.raises(ValidationError, match="reason"):
        ledger.refund(user, kept.id, "  ")


def test_refund_is_booked_in_the_reservations_month(engine, ledger):
    user = make_user(engine, "months@haven.test")
    may = ledger.reserve(user, 4, idempotency_key="may", now=datetime(2025, 5, 31, 23, 0, tzinfo=UTC))
    ledger.reserve(user, 1, idempotency_key="june", now=NOW)
    ledger.refund(user, may.id, "failed")
    assert ledger.usage(user, 2025, 5).used_this_month == 0
    assert ledger.usage(user, 2025, 6).used_this_month == 1
    assert ledger.usage(user, 2025, 6).used_this_year == 1


def test_sweep_refunds_only_stale_open_reservations(engine, ledger):
    alice = make_user(engine, "sweep-a@haven.test")
    bob = make_user(engine, "sweep-b@haven.test")
    mockup = make_mockup(engine, alice)
    old_a = ledger.reserve(alice, 2, idempotency_key="old-a", now=NOW - timedelta(hours=3))
    old_b = ledger.reserve(bob, 1, idempotency_key="old-b", now=NOW - timedelta(hours=2))
    old_done = ledger.reserve(alice, 1, idempotency_key="old-done", now=NOW - timedelta(hours=3))
    ledger.commit(alice, old_done.id, mockup)
    fresh = ledger.reserve(alice, 1, idempotency_key="fresh", now=NOW - timedelta(minutes=5))

    swept = ledger.sweep(timedelta(hours=1), now=NOW)

    assert sorted(swept) == sorted([old_a.id, old_b.id])
    assert ledger.sweep(timedelta(hours=1), now=NOW) == []
    assert ledger.usage(alice, 2025, 6).used_this_year == 2  # old_done (committed) + fresh (open)
    assert ledger.usage(bob, 2025, 6).used_this_year == 0
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(credit_reservations.c.id, credit_reservations.c.status)).all())
        reason = conn.execute(select(credit_reservations.c.close_reason).where(credit_reservations.c.id == old_a.id)).scalar_one()
    assert statuses[fresh.id] == "open" and statuses[old_done.id] == "committed"
    assert reason.startswith("swept")
    assert ledger.check_chain(alice, 2025) == [] and ledger.check_chain(bob, 2025) == []


def test_soft_limit_warns_at_80_percent_and_flags_past_it_without_refusing(engine, ledger, caplog):
    user = make_user(engine, "soft@haven.test", budget=100, soft_limit=10)
    caplog.set_level(logging.WARNING, logger="haven_pipelines.db.stores.ledger")

    below = ledger.reserve(user, 7, idempotency_key="s1", now=NOW)
    assert (below.soft_limit_warning, below.soft_limit_exceeded) == (False, False)
    assert caplog.records == []

    at_80 = ledger.reserve(user, 1, idempotency_key="s2", now=NOW)
    assert (at_80.soft_limit_warning, at_80.soft_limit_exceeded) == (True, False)
    assert len(caplog.records) == 1 and "8 of 10" in caplog.records[0].getMessage()

    at_limit = ledger.reserve(user, 2, idempotency_key="s3", now=NOW)
    assert (at_limit.soft_limit_warning, at_limit.soft_limit_exceeded) == (True, False)
    past = ledger.reserve(user, 3, idempotency_key="s4", now=NOW)
    assert (past.soft_limit_warning, past.soft_limit_exceeded) == (True, True)
    assert past.usage.used_this_month == 13 and past.usage.remaining_monthly == 0
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert "past the monthly" in caplog.records[1].getMessage()


def test_users_are_isolated(engine, ledger):
    alice = make_user(engine, "iso-a@haven.test")
    bob = make_user(engine, "iso-b@haven.test")
    bobs_mockup = make_mockup(engine, bob)
    reservation = ledger.reserve(alice, 4, idempotency_key="a1", now=NOW)

    with pytest.raises(NotFound):
        ledger.commit(bob, reservation.id, bobs_mockup)
    with pytest.raises(NotFound):
        ledger.refund(bob, reservation.id, "not yours")
    # Bob's replay of Alice's key is his own new reservation, and his usage excludes hers.
    assert ledger.reserve(bob, 1, idempotency_key="a1", now=NOW).usage.used_this_year == 1
    assert ledger.usage(bob, 2025, 6).used_this_year == 1
    assert ledger.usage(alice, 2025, 6).used_this_year == 4
    with engine.connect() as conn:
        status = conn.execute(select(credit_reservations.c.status).where(credit_reservations.c.id == reservation.id)).scalar_one()
    assert status == "open"


def test_usage_defaults_and_validation(engine, ledger):
    user = make_user(engine, "usage@haven.test")
    usage = ledger.usage(user, 2025, 6)
    assert (usage.used_this_year, usage.annual_budget, usage.monthly_soft_limit) == (0, 3500, 292)
    # A user without a settings row gets the guardrail defaults.
    with engine.begin() as conn:
        conn.execute(delete(user_settings).where(user_settings.c.user_id == user))
    assert ledger.usage(user, 2025, 6).annual_budget == 3500
    assert ledger.reserve(user, 1, idempotency_key="no-settings", now=NOW).usage.remaining_annual == 3499
    with pytest.raises(NotFound, match="user"):
        ledger.usage(new_id())
    with pytest.raises(ValidationError, match="month"):
        ledger.usage(user, 2025, 13)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"credits": -1}, "credits"),
        ({"credits": True}, "credits"),
        ({"credits": 1.5}, "credits"),
        ({"operation": "refund"}, "operation"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "x" * 201}, "idempotency_key"),
    ],
)
def test_bad_reservation_arguments_are_named(engine, ledger, kwargs, field):
    user = make_user(engine, "args@haven.test")
    call = {"credits": 1, "idempotency_key": "k"} | kwargs
    with pytest.raises(ValidationError) as error:
        ledger.reserve(user, call.pop("credits"), **call)
    assert error.value.field == field
    assert counts(engine, user) == (0, 0, 0)


def test_unknown_user_cannot_reserve(engine, ledger):
    with pytest.raises(NotFound, match="user"):
        ledger.reserve(new_id(), 1, idempotency_key="ghost", now=NOW)


def test_check_chain_reports_tampering(engine, ledger):
    user = make_user(engine, "audit@haven.test")
    mockup = make_mockup(engine, user)
    for i in range(3):
        ledger.reserve(user, 1, idempotency_key=f"t{i}", now=NOW)
    done = ledger.reserve(user, 2, idempotency_key="done", now=NOW)
    ledger.commit(user, done.id, mockup)
    assert ledger.check_chain(user, 2025) == []

    with engine.begin() as conn:
        conn.execute(update(credit_balances).where(credit_balances.c.user_id == user).values(used=credit_balances.c.used + 1))
        conn.execute(delete(mockup_credit_usage).where(mockup_credit_usage.c.user_id == user, mockup_credit_usage.c.seq == 2))
        conn.execute(update(mockups).where(mockups.c.id == mockup).values(credits_used=7))
        conn.execute(update(credit_month_balances).where(credit_month_balances.c.user_id == user).values(used=9))
    problems = ledger.check_chain(user, 2025)
    report = "\n".join(problems)
    assert "month 6: ledger rows sum to 4 but credit_month_balances.used is 9" in report
    assert "seq 3 where 2 was expected" in report
    assert "balance_before 2 != previous balance_after 1" in report
    assert "credit_balances.used is 6" in report
    assert "mockups.credits_used sums to 7" in report


def test_month_usage_is_exact_across_ledger_instances(engine):
    """The month's usage is the shared running total: bookings by another instance count at once."""
    user = make_user(engine, "two@haven.test")
    mine, theirs = CreditLedger(engine), CreditLedger(engine)
    first = mine.reserve(user, 2, idempotency_key="m1", now=NOW)
    assert theirs.reserve(user, 3, idempotency_key="t1", now=NOW).usage.used_this_month == 5
    assert theirs.reserve(user, 4, idempotency_key="t2", now=datetime(2025, 5, 1, tzinfo=UTC)).usage.used_this_month == 4
    theirs.refund(user, first.id, "failed")

    latest = mine.reserve(user, 1, idempotency_key="m2", now=NOW)

    assert (latest.usage.used_this_year, latest.usage.used_this_month) == (8, 4)
    assert mine.usage(user, 2025, 6).used_this_month == 4
    assert mine.usage(user, 2025, 5).used_this_month == 4


def test_month_totals_follow_charges_and_refunds(engine, ledger):
    """credit_month_balances holds each month's net credits, which usage() reports."""
    user = make_user(engine, "totals@haven.test")
    may = ledger.reserve(user, 4, idempotency_key="may", now=datetime(2025, 5, 2, tzinfo=UTC))
    ledger.reserve(user, 2, idempotency_key="june-1", now=NOW)
    june = ledger.reserve(user, 3, idempotency_key="june-2", now=NOW)
    assert june.usage.used_this_month == 5
    ledger.refund(user, may.id, "failed")
    with engine.connect() as conn:
        totals = dict(
            conn.execute(
                select(credit_month_balances.c.month, credit_month_balances.c.used).where(credit_month_balances.c.user_id == user)
            ).all()
        )
    assert totals == {5: 0, 6: 5}
    assert ledger.usage(user, 2025, 5).used_this_month == 0
    assert ledger.usage(user, 2025, 7).used_this_month == 0
    assert ledger.check_chain(user, 2025) == []


@pytest.fixture
def one_connection_engine(pg_url) -> Iterator[Engine]:
    """A migrated PostgreSQL engine whose pool holds one connection, so every use shares it."""
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reservations_hand_back_pooled_connections_as_they_found_them(one_connection_engine):
    """The reservation runs through the driver in autocommit; the next user of that connection
    must still get a transaction that rolls back."""
    engine = one_connection_engine
    ledger = CreditLedger(engine)
    user = make_user(engine, "pool@haven.test")
    ledger.reserve(user, 1, idempotency_key="first", now=NOW)
    with engine.connect() as conn:
        conn.execute(update(user_settings).where(user_settings.c.user_id == user).values(annual_mockup_budget=1))
        conn.rollback()
    assert ledger.usage(user, 2025, 6).annual_budget == 3500
    with pytest.raises(BudgetExceeded):
        CreditLedger(engine).reserve(user, 3500, idempotency_key="too-much", now=NOW)
    with engine.connect() as conn:
        conn.execute(update(user_settings).where(user_settings.c.user_id == user).values(annual_mockup_budget=2))
        conn.rollback()
    assert ledger.usage(user, 2025, 6).annual_budget == 3500


@pytest.mark.postgres
def test_database_errors_in_a_reservation_are_sqlalchemy_errors(one_connection_engine):
    """A server error inside the reservation call surfaces as sqlalchemy.exc.DBAPIError, as every
    other statement's does, and the pooled connection stays usable."""
    engine = one_connection_engine
    user = make_user(engine, "errors@haven.test")
    with engine.begin() as conn:
        # A broken ledger table makes the function fail after it has written the reservation.
        conn.execute(text("ALTER TABLE mockup_credit_usage ADD CONSTRAINT no_rows CHECK (credits < 0)"))
    with pytest.raises(DBAPIError, match="no_rows"):
        CreditLedger(engine).reserve(user, 1, idempotency_key="k", now=NOW)
    assert counts(engine, user) == (0, 0, 0)  # the whole call rolled back
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE mockup_credit_usage DROP CONSTRAINT no_rows"))
    assert CreditLedger(engine).reserve(user, 1, idempotency_key="k", now=NOW).usage.used_this_year == 1
