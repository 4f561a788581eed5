"""The credit ledger: exact reservations against the annual mockup budget.

A render takes its credits *before* it starts (:meth:`CreditLedger.reserve`); the reservation is
then closed exactly once, either by the finished mockup (:meth:`CreditLedger.commit`) or by a
refund (:meth:`CreditLedger.refund`). A crash leaves a reservation open, and
:meth:`CreditLedger.sweep` refunds it later. Tables: ``credit_balances`` (one row per user and year,
the running total ``used`` and the ledger sequence), ``credit_month_balances`` (the month's net
credits), ``credit_reservations`` and ``mockup_credit_usage`` (the ledger rows, chained by ``seq``
and balance before/after).

What the source (Haven Hub's ``reserveCredits``/``get_credit_usage``) got wrong, fixed here:

- Its "reservation" read the usage, compared it with the budget and returned, reserving nothing:
  two batches could both pass the check and together overspend. Here the check and the charge are
  one conditional ``UPDATE credit_balances ... WHERE used + n <= budget``, which holds the row lock
  (PostgreSQL) or runs under ``BEGIN IMMEDIATE`` (SQLite), so concurrent reservations from any
  number of processes can never exceed the budget.
- It never gave credits back for a failed render; here a refund writes a negative ledger row.
- It counted regenerations as free; here they cost credits like a first render.
- It had no idempotency: a retried request charged again. Here the same idempotency key for the
  same user returns the first reservation (``replayed=True``) and charges nothing.

Conventions chosen here (not in the source):

- Year and month are calendar UTC, taken when the reservation is made. A refund is booked in the
  reservation's year and month, so it gives the credits back where they were taken.
- ``used_this_year`` is ``credit_balances.used``; ``used_this_month`` is the month's net credits
  (charges minus refunds), kept in ``credit_month_balances`` by the transaction that books each
  ledger row, so no reservation sums the month; :meth:`check_chain` proves the two agree. Open
  reservations count: their credits are taken.
- The month's soft limit never refuses. The result flags ``soft_limit_warning`` (at or past 80 %)
  and ``soft_limit_exceeded`` (past 100 %); a ``logging`` warning is emitted by the reservation
  that crosses 80 % and by the one that crosses the limit, not by every reservation after them.
- ``commit`` is the one writer of ``mockups.credits_used`` and ``mockups.render_count``, so the
  invariant "credits charged == sum of mockups.credits_used" can be checked (:meth:`check_chain`).

Speed on PostgreSQL: a reservation is one call of ``haven_reserve_credits`` (migration 0002), run
in autocommit, so the server commits it without another round trip. The function writes the
reservation row *before* it takes the balance row lock, so the lock is held only for the charge,
the month total, the ledger row and the commit; a refusal deletes that row again in the same
transaction. Under 8 workers on one budget the length of that locked stretch is the throughput.
SQLite runs the same steps as plain statements inside one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import BindParameter

from haven_pipelines.db.engine import is_postgres
from haven_pipelines.db.tenancy import act_as, cross_tenant
from haven_pipelines.db.tables import (
    credit_balances,
    credit_month_balances,
    credit_reservations,
    mockup_credit_usage,
    mockups,
    new_id,
    user_settings,
    users,
)
from haven_pipelines.domain.credits import (
    DEFAULT_ANNUAL_BUDGET,
    DEFAULT_MONTHLY_SOFT_LIMIT,
    SOFT_LIMIT_WARNING_RATIO,
    CreditUsage,
)
from haven_pipelines.domain.errors import BudgetExceeded, Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)

RESERVATION_OPERATIONS = ("generation", "regeneration")
_MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Reservation:
    """A credit reservation and the user's usage right after it.

    ``replayed`` is True when the idempotency key had been used before: nothing was charged and
    this is the earlier reservation, in whatever state it is now (check ``status``).
    """

    id: str
    user_id: str
    credits: int
    operation: str
    status: str
    year: int
    month: int
    idempotency_key: str
    mockup_id: str | None
    replayed: bool
    usage: CreditUsage
    soft_limit_exceeded: bool
    soft_limit_warning: bool


def _utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive values are taken to be UTC, as SQLite returns them)."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _check_credits(credits: object) -> int:
    if isinstance(credits, bool) or not isinstance(credits, int):
        raise ValidationError("credits", f"must be a whole number, got {credits!r}")
    if credits < 0:
        raise ValidationError("credits", f"must be 0 or more, got {credits}")
    return credits


def _check_year_month(year: int | None, month: int | None, now: datetime) -> tuple[int, int]:
    year = now.year if year is None else year
    month = now.month if month is None else month
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise ValidationError("year", f"must be a calendar year, got {year!r}")
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ValidationError("month", f"must be 1 to 12, got {month!r}")
    return year, month


# The reservation on PostgreSQL: one call of the function migration 0002 creates, run in
# autocommit so that the server commits it without another round trip. Sent through the driver as a
# prepared statement (see ``CreditLedger._call_reserve``).
# The user's row-level-security scope is set in the same statement (the call runs in autocommit):
# the function's first argument is set_config's answer, so the setting is in place before it runs.
_PG_RESERVE_CALL = (
    "SELECT outcome, used_after, month_used, budget, soft_limit, remaining "
    "FROM (SELECT set_config('haven.user_id', %(user_id)s, true) AS acting) AS scope, "
    "LATERAL haven_reserve_credits(scope.acting, %(key)s, %(reservation_id)s, %(credits)s, %(operation)s, "
    "%(renderer)s, %(scene)s, %(purpose)s, %(year)s, %(month)s, %(now)s, %(default_budget)s, %(default_soft)s)"
)


def _p(name: str) -> BindParameter:
    """A named parameter of a statement built once (``p_`` keeps it apart from the column names)."""
    return bindparam(f"p_{name}")


# The statements of the hot path (a reservation on SQLite, a commit), built once at import: building
# a SQLAlchemy statement costs about 100 us of CPU each time (four times its execution), and a render
# runs eight of them. Executed with the ``p_...`` parameters.
_GUARDRAILS = select(user_settings.c.annual_mockup_budget, user_settings.c.monthly_mockup_soft_limit).where(
    user_settings.c.user_id == _p("user_id"))


def _sqlite_reserve_statements() -> SimpleNamespace:
    r, b, u, m = credit_reservations, credit_balances, mockup_credit_usage, credit_month_balances
    reservation = sqlite_insert(r).values(
        id=_p("reservation_id"), user_id=_p("user_id"), idempotency_key=_p("key"), credits=_p("credits"),
        operation=_p("operation"), status="open", renderer=_p("renderer"), purpose=_p("purpose"),
        year=_p("year"), month=_p("month"), created_at=_p("now"), updated_at=_p("now"),
    ).on_conflict_do_nothing(index_elements=[r.c.user_id, r.c.idempotency_key])
    # The year's balance row is made by the user's first charge, else charged when the budget holds
    # (the caller checks a first charge against the budget: an insert has no WHERE).
    charge = sqlite_insert(b).values(user_id=_p("user_id"), year=_p("year"), used=_p("credits"), ledger_seq=1,
                                     created_at=_p("now"), updated_at=_p("now"))
    charge = charge.on_conflict_do_update(
        index_elements=[b.c.user_id, b.c.year],
        set_={"used": b.c.used + charge.excluded.used, "ledger_seq": b.c.ledger_seq + 1, "updated_at": charge.excluded.updated_at},
        where=b.c.used + charge.excluded.used <= _p("budget"),
    ).returning(b.c.used, b.c.ledger_seq)
    used = select(b.c.used).where(b.c.user_id == _p("user_id"), b.c.year == _p("year"))
    ledger_row = insert(u).values(
        user_id=_p("user_id"), reservation_id=_p("reservation_id"), credits=_p("credits"), operation=_p("operation"),
        renderer=_p("renderer"), scene=_p("scene"), balance_before=_p("before"), balance_after=_p("after"),
        seq=_p("seq"), year=_p("year"), month=_p("month"), created_at=_p("now"),
    )
    # The month's running total (created by its first charge); returns the new total.
    month = sqlite_insert(m).values(user_id=_p("user_id"), year=_p("year"), month=_p("month"), used=_p("credits"),
                                    created_at=_p("now"), updated_at=_p("now"))
    month = month.on_conflict_do_update(
        index_elements=[m.c.user_id, m.c.year, m.c.month],
        set_={"used": m.c.used + month.excluded.used, "updated_at": month.excluded.updated_at},
    ).returning(m.c.used)
    return SimpleNamespace(reservation=reservation, charge=charge, used=used, ledger_row=ledger_row, month=month)


def _commit_statements() -> SimpleNamespace:
    r = credit_reservations
    close = (
        update(r)
        .where(
            r.c.id == _p("reservation_id"),
            r.c.user_id == _p("user_id"),
            r.c.status == "open",
            select(mockups.c.id).where(mockups.c.id == _p("mockup_id"), mockups.c.user_id == _p("user_id")).exists(),
        )
        .values(status="committed", mockup_id=_p("mockup_id"), closed_at=_p("now"), updated_at=_p("now"))
        .returning(r.c.credits)
    )
    mockup = (
        update(mockups)
        .where(mockups.c.id == _p("mockup_id"), mockups.c.user_id == _p("user_id"))
        .values(credits_used=mockups.c.credits_used + _p("credits"), render_count=mockups.c.render_count + 1,
                updated_at=_p("now"))
    )
    ledger_row = (
        update(mockup_credit_usage)
        .where(mockup_credit_usage.c.reservation_id == _p("reservation_id"), mockup_credit_usage.c.credits >= 0)
        .values(mockup_id=_p("mockup_id"))
    )
    return SimpleNamespace(close=close, mockup=mockup, ledger_row=ledger_row)


_SQLITE_RESERVE = _sqlite_reserve_statements()
_COMMIT = _commit_statements()


class CreditLedger:
    """Reserve, commit, refund and sweep mockup credits; report usage; audit the chain.

    Each method runs its own short transaction on ``engine`` (SQLite or PostgreSQL) and is safe to
    call from many threads and processes at once.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._pg = is_postgres(engine)

    # -- usage ---------------------------------------------------------------------------------

    def usage(self, user_id: str, year: int | None = None, month: int | None = None) -> CreditUsage:
        """The user's usage for ``year`` and ``month`` (default: the current UTC month).

        Raises:
            NotFound: the user does not exist.
            ValidationError: year or month out of range.
        """
        year, month = _check_year_month(year, month, _utc(None))
        with self.engine.connect() as conn:
            act_as(conn, user_id)
            return self._usage(conn, user_id, year, month)

    def usages(self, user_ids: Iterable[str], year: int | None = None, month: int | None = None) -> dict[str, CreditUsage]:
        """:meth:`usage` of several users in one statement (the approved-designs sensor reads a
        page's owners at once, whatever their number); same figures, same defaults.

        Raises:
            NotFound: one of the users does not exist.
            ValidationError: year or month out of range.
        """
        year, month = _check_year_month(year, month, _utc(None))
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return {}
        s, y, m = user_settings, credit_balances, credit_month_balances
        stmt = (
            select(users.c.id, s.c.user_id.label("has_settings"), s.c.annual_mockup_budget,
                   s.c.monthly_mockup_soft_limit, y.c.used.label("used_year"), m.c.used.label("used_month"))
            .select_from(
                users.outerjoin(s, s.c.user_id == users.c.id)
                .outerjoin(y, and_(y.c.user_id == users.c.id, y.c.year == year))
                .outerjoin(m, and_(m.c.user_id == users.c.id, m.c.year == year, m.c.month == month))
            )
            .where(users.c.id.in_(wanted))
        )
        with self.engine.connect() as conn:
            cross_tenant(conn)  # several users' balances at once (row-level security on PostgreSQL)
            rows = {r.id: r for r in conn.execute(stmt)}
        found: dict[str, CreditUsage] = {}
        for user_id in wanted:
            row = rows.get(user_id)
            if row is None:
                raise NotFound("user", user_id)
            # A user without a settings row has the defaults, as in :meth:`_guardrails`.
            budget, soft = ((int(row.annual_mockup_budget), int(row.monthly_mockup_soft_limit))
                            if row.has_settings is not None else (DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT))
            found[user_id] = CreditUsage(year=year, month=month, used_this_year=int(row.used_year or 0),
                                         used_this_month=int(row.used_month or 0), annual_budget=budget,
                                         monthly_soft_limit=soft)
        return found

    def _usage(self, conn: Connection, user_id: str, year: int, month: int) -> CreditUsage:
        budget, soft_limit = self._guardrails(conn, user_id)
        used_year = conn.execute(
            select(credit_balances.c.used).where(credit_balances.c.user_id == user_id, credit_balances.c.year == year)
        ).scalar()
        return CreditUsage(
            year=year,
            month=month,
            used_this_year=int(used_year or 0),
            used_this_month=self._month_used(conn, user_id, year, month),
            annual_budget=budget,
            monthly_soft_limit=soft_limit,
        )

    @staticmethod
    def _month_used(conn: Connection, user_id: str, year: int, month: int) -> int:
        """Net credits of the month (charges minus refunds), as its running total keeps them."""
        m = credit_month_balances
        used = conn.execute(
            select(m.c.used).where(m.c.user_id == user_id, m.c.year == year, m.c.month == month)
        ).scalar()
        return int(used or 0)

    @staticmethod
    def _guardrails(conn: Connection, user_id: str) -> tuple[int, int]:
        row = conn.execute(_GUARDRAILS, {"p_user_id": user_id}).first()
        if row is not None:
            return int(row[0]), int(row[1])
        if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
            raise NotFound("user", user_id)
        return DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT

    # -- reserve -------------------------------------------------------------------------------

    def reserve(
        self,
        user_id: str,
        credits: int,
        *,
        idempotency_key: str,
        operation: str = "generation",
        renderer: str | None = None,
        scene: str | None = None,
        purpose: str | None = None,
        now: datetime | None = None,
    ) -> Reservation:
        """Take ``credits`` from the user's annual budget, or refuse and write nothing.

        Args:
            user_id: the acting user.
            credits: credits to take (0 is allowed and recorded, e.g. the local renderer).
            idempotency_key: the same key for the same user never reserves twice; the earlier
                reservation is returned with ``replayed=True``.
            operation: ``generation`` or ``regeneration`` (both cost credits).
            renderer, scene, purpose: recorded on the reservation and ledger row for reporting.
            now: the reservation time (default: now); sets the year and month it counts in.

        Returns:
            The reservation (status ``open``) with the usage right after it and the soft-limit flags.

        Raises:
            BudgetExceeded: the annual budget cannot cover ``credits``; the message gives what remains.
            Conflict: the idempotency key was used for a different amount or operation.
            NotFound: the user does not exist.
            ValidationError: a bad argument, named.
        """
        credits = _check_credits(credits)
        if operation not in RESERVATION_OPERATIONS:
            raise ValidationError("operation", f"must be one of {', '.join(RESERVATION_OPERATIONS)}, got {operation!r}")
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise ValidationError("idempotency_key", "is required")
        if len(idempotency_key) > _MAX_KEY_LENGTH:
            raise ValidationError("idempotency_key", f"must be at most {_MAX_KEY_LENGTH} characters")
        if not user_id:
            raise ValidationError("user_id", "an acting user is required")
        now = _utc(now)
        params = {
            "user_id": user_id,
            "key": idempotency_key,
            "credits": credits,
            "operation": operation,
            "renderer": renderer,
            "scene": scene,
            "purpose": purpose,
            "year": now.year,
            "month": now.month,
            "now": now,
        }
        if self._pg:
            reservation = self._reserve_postgres(params)
        else:
            reservation = self._reserve_sqlite(params)
        if not reservation.replayed:
            self._warn_on_crossing(reservation)
        return reservation

    def _reserve_postgres(self, params: dict) -> Reservation:
        params = dict(
            params,
            reservation_id=new_id(),
            default_budget=DEFAULT_ANNUAL_BUDGET,
            default_soft=DEFAULT_MONTHLY_SOFT_LIMIT,
        )
        outcome, used_after, month_used, budget, soft_limit, remaining = self._call_reserve(params)
        if outcome == "reserved":
            usage = CreditUsage(
                year=params["year"],
                month=params["month"],
                used_this_year=used_after,
                used_this_month=month_used,
                annual_budget=budget,
                monthly_soft_limit=soft_limit,
            )
            return self._new_reservation(params, usage)
        if outcome == "replayed":
            return self._replay(params)
        if outcome == "refused":
            raise BudgetExceeded(params["credits"], remaining, budget, params["year"])
        if outcome == "no_user":
            raise NotFound("user", params["user_id"])
        raise RuntimeError(f"haven_reserve_credits answered {outcome!r}; is the database migrated to head?")

    def _call_reserve(self, params: dict) -> tuple:
        """Run ``haven_reserve_credits`` once, through the driver, in autocommit.

        Through a SQLAlchemy ``Connection`` the call cost 560 us of client CPU (result set-up,
        execution options, events) against about 250 us here, and with 8 workers on 2 cores that CPU
        is throughput. The pooled connection is checked out as usual (pre-ping included) and put
        back in the state it came in: autocommit off, no transaction open. Autocommit lets the
        server commit the call without another round trip while the balance row is locked.
        """
        raw = self.engine.raw_connection()
        driver = raw.driver_connection
        try:
            driver.autocommit = True
            try:
                return tuple(driver.execute(_PG_RESERVE_CALL, params, prepare=True).fetchone())
            finally:
                if not driver.closed:
                    driver.autocommit = False
        except psycopg.Error as exc:
            if driver.closed:
                raw.invalidate()
            # The same exception types as every other statement (sqlalchemy.exc.*).
            raise DBAPIError.instance(
                _PG_RESERVE_CALL, params, exc, psycopg.Error, connection_invalidated=driver.closed
            ) from exc
        finally:
            raw.close()

    def _reserve_sqlite(self, params: dict) -> Reservation:
        user_id, year, credits = params["user_id"], params["year"], params["credits"]
        params = dict(params, reservation_id=new_id())
        bound = {f"p_{k}": v for k, v in params.items()}
        # SQLite: the engine begins with BEGIN IMMEDIATE, so this whole block holds the write lock.
        # The same steps as haven_reserve_credits on PostgreSQL, in the same order: the reservation
        # row first (its key's unique constraint tells a replay), then the charge; a refusal raises,
        # which rolls both back. Five statements, each built once (see _SQLITE_RESERVE).
        with self.engine.begin() as conn:
            act_as(conn, user_id)
            budget, soft_limit = self._guardrails(conn, user_id)
            replay = conn.execute(_SQLITE_RESERVE.reservation, bound).rowcount == 0
            if not replay:
                charged = conn.execute(_SQLITE_RESERVE.charge, dict(bound, p_budget=budget)).first() if credits <= budget else None
                if charged is None:
                    used = conn.execute(_SQLITE_RESERVE.used, bound).scalar()
                    raise BudgetExceeded(credits, max(budget - int(used or 0), 0), budget, year)
                used_after, seq = int(charged[0]), int(charged[1])
                conn.execute(_SQLITE_RESERVE.ledger_row, dict(bound, p_before=used_after - credits, p_after=used_after, p_seq=seq))
                usage = CreditUsage(
                    year=year,
                    month=params["month"],
                    used_this_year=used_after,
                    used_this_month=int(conn.execute(_SQLITE_RESERVE.month, bound).scalar_one()),
                    annual_budget=budget,
                    monthly_soft_limit=soft_limit,
                )
        if replay:
            return self._replay(params)
        return self._new_reservation(params, usage)

    def _new_reservation(self, params: dict, usage: CreditUsage) -> Reservation:
        return Reservation(
            id=params["reservation_id"],
            user_id=params["user_id"],
            credits=params["credits"],
            operation=params["operation"],
            status="open",
            year=params["year"],
            month=params["month"],
            idempotency_key=params["key"],
            mockup_id=None,
            replayed=False,
            usage=usage,
            soft_limit_exceeded=usage.over_soft_limit,
            soft_limit_warning=usage.soft_limit_warning,
        )

    def _replay(self, params: dict) -> Reservation:
        with self.engine.connect() as conn:
            act_as(conn, params["user_id"])
            row = self._find_by_key(conn, params["user_id"], params["key"])
            if row is None:  # pragma: no cover - only after a unique violation that was not ours
                raise Conflict(f"idempotency key {params['key']!r} could not be reserved; try again")
            if row["credits"] != params["credits"] or row["operation"] != params["operation"]:
                raise Conflict(
                    f"idempotency key {params['key']!r} was already used for {row['credits']} credit(s) "
                    f"({row['operation']}); a retry must ask for the same"
                )
            return self._to_reservation(conn, row, replayed=True)

    @staticmethod
    def _find_by_key(conn: Connection, user_id: str, key: str) -> RowMapping | None:
        t = credit_reservations
        return conn.execute(select(t).where(t.c.user_id == user_id, t.c.idempotency_key == key)).mappings().first()

    def _to_reservation(self, conn: Connection, row: RowMapping, *, replayed: bool) -> Reservation:
        usage = self._usage(conn, row["user_id"], row["year"], row["month"])
        return Reservation(
            id=row["id"],
            user_id=row["user_id"],
            credits=row["credits"],
            operation=row["operation"],
            status=row["status"],
            year=row["year"],
            month=row["month"],
            idempotency_key=row["idempotency_key"],
            mockup_id=row["mockup_id"],
            replayed=replayed,
            usage=usage,
            soft_limit_exceeded=usage.over_soft_limit,
            soft_limit_warning=usage.soft_limit_warning,
        )

    @staticmethod
    def _warn_on_crossing(reservation: Reservation) -> None:
        usage = reservation.usage
        limit = usage.monthly_soft_limit
        after = usage.used_this_month
        before = after - reservation.credits
        if limit <= 0 or reservation.credits == 0:
            return
        # Compare in integers (after * 100 >= 80 * limit) so that 80 % is exact.
        threshold = int(SOFT_LIMIT_WARNING_RATIO * 100)
        if before * 100 < threshold * limit <= after * 100 and after <= limit:
            log.warning(
                "user %s has used %d of %d monthly mockup credits (%d%%) in %04d-%02d",
                reservation.user_id, after, limit, after * 100 // limit, usage.year, usage.month,
            )
        if before <= limit < after:
            log.warning(
                "user %s is past the monthly mockup credit soft limit: %d of %d in %04d-%02d",
                reservation.user_id, after, limit, usage.year, usage.month,
            )

    # -- commit / refund / sweep ------------------------------------------------------------------

    def commit(self, user_id: str, reservation_id: str, mockup_id: str, *, conn: Connection | None = None,
               read_back: bool = True) -> Reservation | None:
        """Close an open reservation with the mockup it paid for.

        Adds the credits to ``mockups.credits_used`` and one to ``render_count`` in the same
        transaction. Committing an already committed reservation to the same mockup is a no-op
        that returns it.

        Args:
            conn: run inside the caller's open transaction instead of a new one. The render service
                completes the mockup and commits its credits in one transaction, so that a crash
                can never leave a finished mockup whose reservation the sweeper would then refund.
            read_back: False returns None instead of the reservation and the usage after it, which
                spares reading them back (four queries): the render service, which commits one
                reservation per mockup, does not look at them. The checks are the same.

        Raises:
            NotFound: no such reservation or mockup for this user.
            Conflict: the reservation was refunded, or committed to another mockup.
        """
        if conn is not None:
            return self._commit(conn, user_id, reservation_id, mockup_id, read_back)
        with self.engine.begin() as own:
            return self._commit(own, user_id, reservation_id, mockup_id, read_back)

    def _commit(self, conn: Connection, user_id: str, reservation_id: str, mockup_id: str,
                read_back: bool = True) -> Reservation | None:
        act_as(conn, user_id)
        now = _utc(None)
        bound = {"p_reservation_id": reservation_id, "p_user_id": user_id, "p_mockup_id": mockup_id, "p_now": now}
        row = conn.execute(_COMMIT.close, bound).first()
        if row is not None:
            conn.execute(_COMMIT.mockup, dict(bound, p_credits=row[0]))
            # The ledger row now names the mockup, for reporting by mockup and scene.
            conn.execute(_COMMIT.ledger_row, bound)
            if not read_back:
                return None
        current = self._owned_reservation(conn, user_id, reservation_id)
        if row is None:
            if current["status"] == "committed" and current["mockup_id"] == mockup_id:
                pass  # retried commit: already done
            elif current["status"] != "open":
                raise Conflict(
                    f"reservation {reservation_id} is already {current['status']}"
                    + (f" (mockup {current['mockup_id']})" if current["mockup_id"] else "")
                )
            else:
                raise NotFound("mockup", mockup_id)
        if not read_back:
            return None
        return self._to_reservation(conn, current, replayed=False)

    def refund(self, user_id: str, reservation_id: str, reason: str) -> Reservation:
        """Close an open reservation by giving its credits back (a negative, chained ledger row).

        Raises:
            NotFound: no such reservation for this user.
            Conflict: the reservation is already committed or refunded.
            ValidationError: no reason given.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError("reason", "say why the credits are refunded")
        now = _utc(None)
        r = credit_reservations
        with self.engine.begin() as conn:
            act_as(conn, user_id)
            closed = conn.execute(
                update(r)
                .where(r.c.id == reservation_id, r.c.user_id == user_id, r.c.status == "open")
                .values(status="refunded", close_reason=reason.strip(), closed_at=now, updated_at=now)
                .returning(r.c.credits, r.c.year, r.c.month, r.c.renderer)
            ).first()
            if closed is None:
                current = self._owned_reservation(conn, user_id, reservation_id)
                raise Conflict(f"reservation {reservation_id} is already {current['status']}")
            credits, year, month, renderer = closed
            b = credit_balances
            balance = conn.execute(
                update(b)
                .where(b.c.user_id == user_id, b.c.year == year)
                .values(used=b.c.used - credits, ledger_seq=b.c.ledger_seq + 1, updated_at=now)
                .returning(b.c.used, b.c.ledger_seq)
            ).one()
            scene = conn.execute(
                select(mockup_credit_usage.c.scene).where(
                    mockup_credit_usage.c.reservation_id == reservation_id, mockup_credit_usage.c.credits >= 0
                )
            ).scalar()
            conn.execute(
                insert(mockup_credit_usage).values(
                    user_id=user_id,
                    reservation_id=reservation_id,
                    credits=-credits,
                    operation="refund",
                    renderer=renderer,
                    scene=scene,
                    balance_before=balance[0] + credits,
                    balance_after=balance[0],
                    seq=balance[1],
                    year=year,
                    month=month,
                    created_at=now,
                )
            )
            # The month row exists: the reservation's charge made it (an upsert cannot carry a
            # negative amount, as the CHECK applies to the row it would insert).
            conn.execute(
                update(credit_month_balances)
                .where(
                    credit_month_balances.c.user_id == user_id,
                    credit_month_balances.c.year == year,
                    credit_month_balances.c.month == month,
                )
                .values(used=credit_month_balances.c.used - credits, updated_at=now)
            )
            current = self._owned_reservation(conn, user_id, reservation_id)
            return self._to_reservation(conn, current, replayed=False)

    def sweep(self, older_than: timedelta, now: datetime | None = None) -> list[str]:
        """Refund every open reservation (any user) made more than ``older_than`` ago.

        A crash between reserve and commit leaves such reservations; each refund is its own short
        transaction, and one closed meanwhile by its worker is skipped.

        Returns:
            The ids of the reservations refunded.
        """
        if older_than < timedelta(0):
            raise ValidationError("older_than", "must not be negative")
        cutoff = _utc(now) - older_than
        r = credit_reservations
        with self.engine.connect() as conn:
            cross_tenant(conn)  # the one cross-user read; each refund below acts as its user
            stale = conn.execute(
                select(r.c.id, r.c.user_id).where(r.c.status == "open", r.c.created_at < cutoff).order_by(r.c.created_at)
            ).all()
        refunded: list[str] = []
        reason = f"swept: left open for more than {older_than}"
        for reservation_id, user_id in stale:
            try:
                self.refund(user_id, reservation_id, reason)
            except Conflict:
                continue  # committed or refunded by its worker since we listed it
            refunded.append(reservation_id)
        if refunded:
            log.info("swept %d stale credit reservation(s)", len(refunded))
        return refunded

    @staticmethod
    def _owned_reservation(conn: Connection, user_id: str, reservation_id: str) -> RowMapping:
        r = credit_reservations
        row = conn.execute(select(r).where(r.c.id == reservation_id, r.c.user_id == user_id)).mappings().first()
        if row is None:
            raise NotFound("credit reservation", reservation_id)
        return row

    # -- audit -----------------------------------------------------------------------------------

    def check_chain(self, user_id: str, year: int) -> list[str]:
        """Audit the user's ledger for ``year``; returns the problems found (``[]`` when sound).

        Checks: seq runs 1..n without gaps; each row's balance_before is the previous row's
        balance_after (the first starts at 0) and after = before + credits; the last balance equals
        ``credit_balances.used`` and n its ``ledger_seq``; each month's rows sum to its
        ``credit_month_balances.used``; each reservation has exactly one charge row
        of its credits and, if refunded, exactly one refund row; ``used`` equals the open plus
        committed reservations. Across all years: the user's ``mockups.credits_used`` sum equals
        the credits of reservations committed to those mockups.
        """
        problems: list[str] = []
        t = mockup_credit_usage
        with self.engine.connect() as conn:
            act_as(conn, user_id)
            rows = conn.execute(
                select(t.c.seq, t.c.credits, t.c.operation, t.c.balance_before, t.c.balance_after, t.c.reservation_id, t.c.month)
                .where(t.c.user_id == user_id, t.c.year == year)
                .order_by(t.c.seq)
            ).all()
            balance = conn.execute(
                select(credit_balances.c.used, credit_balances.c.ledger_seq).where(
                    credit_balances.c.user_id == user_id, credit_balances.c.year == year
                )
            ).first()
            reservations = conn.execute(
                select(credit_reservations.c.id, credit_reservations.c.credits, credit_reservations.c.status).where(
                    credit_reservations.c.user_id == user_id, credit_reservations.c.year == year
                )
            ).all()
            month_totals = dict(
                conn.execute(
                    select(credit_month_balances.c.month, credit_month_balances.c.used).where(
                        credit_month_balances.c.user_id == user_id, credit_month_balances.c.year == year
                    )
                ).all()
            )
            mockup_total = conn.execute(
                select(func.coalesce(func.sum(mockups.c.credits_used), 0)).where(mockups.c.user_id == user_id)
            ).scalar_one()
            committed_total = conn.execute(
                select(func.coalesce(func.sum(credit_reservations.c.credits), 0))
                .select_from(credit_reservations.join(mockups, credit_reservations.c.mockup_id == mockups.c.id))
                .where(
                    and_(
                        credit_reservations.c.user_id == user_id,
                        credit_reservations.c.status == "committed",
                        mockups.c.user_id == user_id,
                    )
                )
            ).scalar_one()

        previous_after = 0
        for expected_seq, row in enumerate(rows, start=1):
            if row.seq != expected_seq:
                problems.append(f"seq {row.seq} where {expected_seq} was expected (gap or duplicate)")
            if row.balance_before != previous_after:
                problems.append(f"seq {row.seq}: balance_before {row.balance_before} != previous balance_after {previous_after}")
            if row.balance_after != row.balance_before + row.credits:
                problems.append(f"seq {row.seq}: balance_after {row.balance_after} != before {row.balance_before} + credits {row.credits}")
            previous_after = row.balance_after
        used = balance.used if balance is not None else 0
        seq = balance.ledger_seq if balance is not None else 0
        if previous_after != used:
            problems.append(f"ledger ends at {previous_after} but credit_balances.used is {used}")
        if len(rows) != seq:
            problems.append(f"{len(rows)} ledger rows but credit_balances.ledger_seq is {seq}")

        month_sums: dict[int, int] = {}
        for row in rows:
            month_sums[row.month] = month_sums.get(row.month, 0) + row.credits
        for month in sorted(set(month_sums) | set(month_totals)):
            if month_sums.get(month, 0) != month_totals.get(month, 0):
                problems.append(
                    f"month {month}: ledger rows sum to {month_sums.get(month, 0)} but credit_month_balances.used is "
                    f"{month_totals.get(month, 0)}"
                )

        charges: dict[str, list[int]] = {}
        refunds: dict[str, list[int]] = {}
        for row in rows:
            bucket = refunds if row.operation == "refund" else charges
            bucket.setdefault(row.reservation_id, []).append(row.credits)
        held = 0
        for res in reservations:
            if charges.get(res.id) != [res.credits]:
                problems.append(f"reservation {res.id}: charge rows {charges.get(res.id, [])}, expected [{res.credits}]")
            expected_refunds = [-res.credits] if res.status == "refunded" else []
            if refunds.get(res.id, []) != expected_refunds:
                problems.append(f"reservation {res.id} ({res.status}): refund rows {refunds.get(res.id, [])}, expected {expected_refunds}")
            if res.status != "refunded":
                held += res.credits
        known = {res.id for res in reservations}
        for orphan in (set(charges) | set(refunds)) - known:
            problems.append(f"ledger rows for unknown reservation {orphan}")
        if held != used:
            problems.append(f"open and committed reservations hold {held} credits but credit_balances.used is {used}")
        if int(mockup_total) != int(committed_total):
            problems.append(f"mockups.credits_used sums to {mockup_total} but committed reservations charged {committed_total}")
        return problems
