"""The credit ledger: exact reservations against the annual mockup budget.

A render takes its credits *before* it starts (:meth:`CreditLedger.reserve`); the reservation is
then closed exactly once, either by the finished mockup (:meth:`CreditLedger.commit`) or by a
refund (:meth:`CreditLedger.refund`). A crash leaves a reservation open, and
:meth:`CreditLedger.sweep` refunds it later. Tables: ``credit_balances`` (one row per user and year,
the running total ``used`` and the ledger sequence), ``credit_reservations`` and
``mockup_credit_usage`` (the ledger rows, chained by ``seq`` and balance before/after).

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
- ``used_this_year`` is ``credit_balances.used``; ``used_this_month`` is the net sum of the month's
  ledger rows (charges minus refunds). Open reservations count: their credits are taken.
- The month's soft limit never refuses. The result flags ``soft_limit_warning`` (at or past 80 %)
  and ``soft_limit_exceeded`` (past 100 %); a ``logging`` warning is emitted by the reservation
  that crosses 80 % and by the one that crosses the limit, not by every reservation after them.
- ``commit`` is the one writer of ``mockups.credits_used`` and ``mockups.render_count``, so the
  invariant "credits charged == sum of mockups.credits_used" can be checked (:meth:`check_chain`).

Speed on PostgreSQL: a reservation is one statement (CTEs: idempotency look-up, conditional
update, reservation insert, ledger insert) run in autocommit, so the server commits it without
another round trip and the row lock is held only for the statement and its commit. The month's
usage in the result is exact without summing the whole month each time: the ledger remembers, per
user and month, the sum up to the last seq it booked, and adds only the rows after it (a second,
lock-free read is needed only when other processes booked while this one waited for the lock).
SQLite runs the same steps as plain statements inside one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from haven_pipelines.db.engine import is_postgres
from haven_pipelines.db.tables import (
    credit_balances,
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
# A refused reservation is retried this often when a fresh read shows the credits are there after
# all (a refund landed between the statement's snapshot and its row lock).
_REFUSAL_RECHECKS = 3


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


# One round trip on PostgreSQL. Data-modifying CTEs all run against the statement's snapshot: the
# UPDATE waits for the balance row lock and re-checks ``used + n <= budget`` on the newest row
# version (READ COMMITTED), which is what makes the budget exact. The outer SELECT reads the
# snapshot: ``used_seen``/``seq_seen`` are the balance row as the snapshot saw it, and every ledger
# row with ``seq <= seq_seen`` (and no other) is visible to it, since each row is written in the
# same transaction as the balance update that numbered it. ``month_since`` sums the month's rows
# after ``known_seq`` (what this process already knows, see ``_MonthCache``), walking the
# ``(user_id, year, seq)`` index, so its cost does not grow with the month's length.
_PG_RESERVE = text(
    """
WITH settings AS (
    SELECT COALESCE((SELECT annual_mockup_budget FROM user_settings WHERE user_id = :user_id), :default_budget) AS budget,
           COALESCE((SELECT monthly_mockup_soft_limit FROM user_settings WHERE user_id = :user_id), :default_soft) AS soft_limit
),
existing AS (
    SELECT id FROM credit_reservations WHERE user_id = :user_id AND idempotency_key = :key
),
charged AS (
    UPDATE credit_balances
       SET used = used + :credits, ledger_seq = ledger_seq + 1, updated_at = :now
     WHERE user_id = :user_id AND year = :year
       AND used + :credits <= (SELECT budget FROM settings)
       AND NOT EXISTS (SELECT 1 FROM existing)
    RETURNING used, ledger_seq
),
reserved AS (
    INSERT INTO credit_reservations
        (id, user_id, idempotency_key, credits, operation, status, renderer, purpose, year, month, created_at, updated_at)
    SELECT :reservation_id, :user_id, :key, :credits, :operation, 'open', :renderer, :purpose, :year, :month, :now, :now
      FROM charged
    RETURNING id
),
booked AS (
    INSERT INTO mockup_credit_usage
        (user_id, reservation_id, credits, operation, renderer, scene, balance_before, balance_after, seq, year, month, created_at)
    SELECT :user_id, reserved.id, :credits, :operation, :renderer, :scene, charged.used - :credits, charged.used,
           charged.ledger_seq, :year, :month, :now
      FROM charged CROSS JOIN reserved
    RETURNING seq
)
SELECT (SELECT id FROM existing) AS existing_id,
       (SELECT used FROM charged) AS used_after,
       (SELECT seq FROM booked) AS seq,
       b.used AS used_seen,
       b.ledger_seq AS seq_seen,
       s.budget, s.soft_limit,
       -- The month is tested in the sum, not the WHERE, and the seq range has an upper bound that
       -- is always true: both keep the planner (generic prepared plans included) on the
       -- (user_id, year, seq) index, reading only the rows after known_seq.
       (SELECT COALESCE(SUM(CASE WHEN month = :month THEN credits ELSE 0 END), 0) FROM mockup_credit_usage
         WHERE user_id = :user_id AND year = :year AND seq > :known_seq AND seq <= :known_seq + 1000000000) AS month_since,
       EXISTS (SELECT 1 FROM users WHERE id = :user_id) AS user_exists
  FROM settings s
  LEFT JOIN credit_balances b ON b.user_id = :user_id AND b.year = :year
"""
)

# The month's rows booked by others between our snapshot and our lock (seq_seen < seq < ours).
_MONTH_BETWEEN = text(
    "SELECT COALESCE(SUM(CASE WHEN month = :month THEN credits ELSE 0 END), 0) FROM mockup_credit_usage "
    "WHERE user_id = :user_id AND year = :year AND seq > :after AND seq < :before"
)

_OPEN_YEAR = text(
    "INSERT INTO credit_balances (user_id, year, used, ledger_seq, created_at, updated_at) "
    "VALUES (:user_id, :year, 0, 0, :now, :now) ON CONFLICT DO NOTHING"
)


class _MonthCache:
    """Per-ledger memory of ``(user, year, month) -> (seq, net credits of the month up to seq)``.

    Ledger rows are append-only (a commit only names the mockup), so the month's sum up to a seq
    never changes; a reservation then only adds the rows booked since. Bounded, thread-safe enough:
    an entry only ever moves forward, and a lost update only costs a longer sum next time.
    """

    def __init__(self, size: int = 4096):
        self._size = size
        self._known: dict[tuple[str, int, int], tuple[int, int]] = {}

    def get(self, key: tuple[str, int, int]) -> tuple[int, int]:
        return self._known.get(key, (0, 0))

    def put(self, key: tuple[str, int, int], seq: int, total: int) -> None:
        if len(self._known) >= self._size:
            self._known.clear()
        if self._known.get(key, (0, 0))[0] < seq:
            self._known[key] = (seq, total)


class CreditLedger:
    """Reserve, commit, refund and sweep mockup credits; report usage; audit the chain.

    Each method runs its own short transaction on ``engine`` (SQLite or PostgreSQL) and is safe to
    call from many threads and processes at once.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._pg = is_postgres(engine)
        # The PostgreSQL reservation statement commits on its own (no COMMIT round trip).
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") if self._pg else engine
        self._months = _MonthCache()

    # -- usage ---------------------------------------------------------------------------------

    def usage(self, user_id: str, year: int | None = None, month: int | None = None) -> CreditUsage:
        """The user's usage for ``year`` and ``month`` (default: the current UTC month).

        Raises:
            NotFound: the user does not exist.
            ValidationError: year or month out of range.
        """
        year, month = _check_year_month(year, month, _utc(None))
        with self.engine.connect() as conn:
            return self._usage(conn, user_id, year, month)

    def _usage(self, conn: Connection, user_id: str, year: int, month: int) -> CreditUsage:
        budget, soft_limit = self._guardrails(conn, user_id)
        used_year = conn.execute(
            select(credit_balances.c.used).where(credit_balances.c.user_id == user_id, credit_balances.c.year == year)
        ).scalar()
        return CreditUsage(
            year=year,
            month=month,
            used_this_year=int(used_year or 0),
            used_this_month=self._month_sum(conn, user_id, year, month),
            annual_budget=budget,
            monthly_soft_limit=soft_limit,
        )

    @staticmethod
    def _month_sum(conn: Connection, user_id: str, year: int, month: int) -> int:
        """Net credits of the month's ledger rows (charges minus refunds)."""
        t = mockup_credit_usage
        where = [t.c.user_id == user_id, t.c.year == year, t.c.month == month]
        return int(conn.execute(select(func.coalesce(func.sum(t.c.credits), 0)).where(*where)).scalar_one())

    @staticmethod
    def _guardrails(conn: Connection, user_id: str) -> tuple[int, int]:
        row = conn.execute(
            select(user_settings.c.annual_mockup_budget, user_settings.c.monthly_mockup_soft_limit).where(
                user_settings.c.user_id == user_id
            )
        ).first()
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
            reservation = self._reserve_generic(params)
        if not reservation.replayed:
            self._warn_on_crossing(reservation)
        return reservation

    def _reserve_postgres(self, params: dict) -> Reservation:
        params = dict(params, default_budget=DEFAULT_ANNUAL_BUDGET, default_soft=DEFAULT_MONTHLY_SOFT_LIMIT)
        for _ in range(_REFUSAL_RECHECKS):
            params["reservation_id"] = new_id()
            params["known_seq"], params["known_sum"] = self._months.get((params["user_id"], params["year"], params["month"]))
            try:
                with self._autocommit.connect() as conn:
                    row = conn.execute(_PG_RESERVE, params).mappings().one()
                    if row["used_after"] is not None:
                        return self._reserved(conn, params, row)
            except IntegrityError:
                # A concurrent call with the same key won the unique index; ours rolled back whole.
                return self._replay(params)
            if row["existing_id"] is not None:
                return self._replay(params)
            if row["used_seen"] is None:
                if not row["user_exists"]:
                    raise NotFound("user", params["user_id"])
                # First reservation of the year: create the balance row and charge in one
                # transaction, so that a refusal leaves nothing behind.
                with self.engine.begin() as conn:
                    conn.execute(_OPEN_YEAR, params)
                    row = conn.execute(_PG_RESERVE, params).mappings().one()
                    if row["used_after"] is not None:
                        return self._reserved(conn, params, row)
                    if row["existing_id"] is not None:
                        break  # raced by the same key; replayed below, after this rollback-free exit
                    self._refuse(conn, params, int(row["budget"]))
                continue
            # Refused against the newest row version, which our snapshot may not show: read again.
            with self.engine.connect() as conn:
                self._refuse(conn, params, int(row["budget"]))
        else:
            with self.engine.connect() as conn:
                budget, _ = self._guardrails(conn, params["user_id"])
                self._refuse(conn, params, budget, retry=False)
        return self._replay(params)

    def _refuse(self, conn: Connection, params: dict, budget: int, *, retry: bool = True) -> None:
        """Raise BudgetExceeded with what remains now; return (to retry) if the credits are there."""
        used = conn.execute(
            select(credit_balances.c.used).where(
                credit_balances.c.user_id == params["user_id"], credit_balances.c.year == params["year"]
            )
        ).scalar()
        remaining = max(budget - int(used or 0), 0)
        if retry and params["credits"] <= remaining:
            return
        raise BudgetExceeded(params["credits"], remaining, budget, params["year"])

    def _reserved(self, conn: Connection, params: dict, row: RowMapping) -> Reservation:
        """The reservation just booked at ``row["seq"]``, with the month's usage exactly up to it."""
        seq, seq_seen = int(row["seq"]), int(row["seq_seen"])
        month_used = params["known_sum"] + int(row["month_since"]) + params["credits"]
        if seq - 1 > seq_seen:
            # Others booked while we waited for the lock. Those rows are committed now (each
            # committed before releasing the lock to the next), so this read sees exactly them.
            month_used += int(
                conn.execute(_MONTH_BETWEEN, dict(params, after=seq_seen, before=seq)).scalar_one()
            )
        self._months.put((params["user_id"], params["year"], params["month"]), seq, month_used)
        usage = CreditUsage(
            year=params["year"],
            month=params["month"],
            used_this_year=int(row["used_after"]),
            used_this_month=month_used,
            annual_budget=int(row["budget"]),
            monthly_soft_limit=int(row["soft_limit"]),
        )
        return self._new_reservation(params, usage)

    def _reserve_generic(self, params: dict) -> Reservation:
        user_id, year, credits = params["user_id"], params["year"], params["credits"]
        # SQLite: the engine begins with BEGIN IMMEDIATE, so this whole block holds the write lock.
        with self.engine.begin() as conn:
            if self._find_by_key(conn, user_id, params["key"]) is not None:
                replay = True
            else:
                replay = False
                budget, soft_limit = self._guardrails(conn, user_id)
                conn.execute(
                    sqlite_insert(credit_balances)
                    .values(user_id=user_id, year=year, used=0, ledger_seq=0, created_at=params["now"], updated_at=params["now"])
                    .on_conflict_do_nothing()
                )
                charged = conn.execute(
                    update(credit_balances)
                    .where(
                        credit_balances.c.user_id == user_id,
                        credit_balances.c.year == year,
                        credit_balances.c.used + credits <= budget,
                    )
                    .values(used=credit_balances.c.used + credits, ledger_seq=credit_balances.c.ledger_seq + 1, updated_at=params["now"])
                    .returning(credit_balances.c.used, credit_balances.c.ledger_seq)
                ).first()
                if charged is None:
                    # Raising rolls the transaction back, the balance row insert included.
                    self._refuse(conn, params, budget, retry=False)
                used_after, seq = int(charged[0]), int(charged[1])
                reservation_id = new_id()
                params = dict(params, reservation_id=reservation_id)
                conn.execute(
                    insert(credit_reservations).values(
                        id=reservation_id,
                        user_id=user_id,
                        idempotency_key=params["key"],
                        credits=credits,
                        operation=params["operation"],
                        status="open",
                        renderer=params["renderer"],
                        purpose=params["purpose"],
                        year=year,
                        month=params["month"],
                        created_at=params["now"],
                        updated_at=params["now"],
                    )
                )
                conn.execute(
                    insert(mockup_credit_usage).values(
                        user_id=user_id,
                        reservation_id=reservation_id,
                        credits=credits,
                        operation=params["operation"],
                        renderer=params["renderer"],
                        scene=params["scene"],
                        balance_before=used_after - credits,
                        balance_after=used_after,
                        seq=seq,
                        year=year,
                        month=params["month"],
                        created_at=params["now"],
                    )
                )
                usage = CreditUsage(
                    year=year,
                    month=params["month"],
                    used_this_year=used_after,
                    used_this_month=self._month_sum(conn, user_id, year, params["month"]),
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

    def commit(self, user_id: str, reservation_id: str, mockup_id: str, *, conn: Connection | None = None) -> Reservation:
        """Close an open reservation with the mockup it paid for.

        Adds the credits to ``mockups.credits_used`` and one to ``render_count`` in the same
        transaction. Committing an already committed reservation to the same mockup is a no-op
        that returns it.

        Args:
            conn: run inside the caller's open transaction instead of a new one. The render service
                completes the mockup and commits its credits in one transaction, so that a crash
                can never leave a finished mockup whose reservation the sweeper would then refund.

        Raises:
            NotFound: no such reservation or mockup for this user.
            Conflict: the reservation was refunded, or committed to another mockup.
        """
        if conn is not None:
            return self._commit(conn, user_id, reservation_id, mockup_id)
        with self.engine.begin() as own:
            return self._commit(own, user_id, reservation_id, mockup_id)

    def _commit(self, conn: Connection, user_id: str, reservation_id: str, mockup_id: str) -> Reservation:
        now = _utc(None)
        r = credit_reservations
        row = conn.execute(
            update(r)
            .where(
                r.c.id == reservation_id,
                r.c.user_id == user_id,
                r.c.status == "open",
                select(mockups.c.id).where(mockups.c.id == mockup_id, mockups.c.user_id == user_id).exists(),
            )
            .values(status="committed", mockup_id=mockup_id, closed_at=now, updated_at=now)
            .returning(r.c.credits)
        ).first()
        if row is not None:
            conn.execute(
                update(mockups)
                .where(mockups.c.id == mockup_id, mockups.c.user_id == user_id)
                .values(credits_used=mockups.c.credits_used + row[0], render_count=mockups.c.render_count + 1, updated_at=now)
            )
            # The ledger row now names the mockup, for reporting by mockup and scene.
            conn.execute(
                update(mockup_credit_usage)
                .where(mockup_credit_usage.c.reservation_id == reservation_id, mockup_credit_usage.c.credits >= 0)
                .values(mockup_id=mockup_id)
            )
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
        ``credit_balances.used`` and n its ``ledger_seq``; each reservation has exactly one charge row
        of its credits and, if refunded, exactly one refund row; ``used`` equals the open plus
        committed reservations. Across all years: the user's ``mockups.credits_used`` sum equals
        the credits of reservations committed to those mockups.
        """
        problems: list[str] = []
        t = mockup_credit_usage
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.seq, t.c.credits, t.c.operation, t.c.balance_before, t.c.balance_after, t.c.reservation_id)
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
