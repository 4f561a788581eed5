"""The month's running credit total, leaner ledger indexes, and PostgreSQL's reservation function.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

- ``credit_month_balances``: one row per user, year and month holding the month's net credits, kept
  by the transaction that books each ledger row. A reservation used to sum the month's ledger rows
  for its usage report; that sum grew with the month and, without planner statistics, walked the
  wrong index (its cost rose from 2 to 5.7 ms per reservation over 4,000 rows). Backfilled here
  from the ledger.
- The single-column ``user_id`` indexes of ``credit_reservations`` and ``mockup_credit_usage`` are
  dropped: each table has a unique constraint that starts with ``user_id`` already, so the extra
  index only cost every reservation two index inserts.
- PostgreSQL only: ``haven_reserve_credits``, the reservation as one server-side call. See
  ``haven_pipelines.db.stores.ledger`` for why it is shaped as it is.
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Outcomes: reserved, replayed (the key was used before; nothing charged), refused (remaining tells
# what is left), no_user. The reservation row is written first, *before* the balance row lock is
# taken, so that the lock is held only for the charge, the month total, the ledger row and the
# commit: under 8 concurrent workers on one budget this is what lets the lock pass on quickly.
# A refusal deletes that row again in the same transaction, so nothing is left behind.
RESERVE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION haven_reserve_credits(
    p_user_id text, p_key text, p_reservation_id text, p_credits integer, p_operation text,
    p_renderer text, p_scene text, p_purpose text, p_year integer, p_month integer,
    p_now timestamptz, p_default_budget integer, p_default_soft_limit integer)
RETURNS TABLE (outcome text, used_after integer, ledger_seq_after integer, month_used integer,
               budget integer, soft_limit integer, remaining integer)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_budget integer;
    v_soft integer;
    v_used integer;
    v_seq integer;
    v_month integer;
    v_current integer;
    v_opened boolean := false;
BEGIN
    SELECT s.annual_mockup_budget, s.monthly_mockup_soft_limit INTO v_budget, v_soft
      FROM user_settings s WHERE s.user_id = p_user_id;
    IF NOT FOUND THEN
        PERFORM 1 FROM users u WHERE u.id = p_user_id;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'no_user'::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        v_budget := p_default_budget;
        v_soft := p_default_soft_limit;
    END IF;

    -- A concurrent call with the same key waits here for the first to end, then does nothing.
    INSERT INTO credit_reservations AS r
        (id, user_id, idempotency_key, credits, operation, status, renderer, purpose, year, month, created_at, updated_at)
    VALUES (p_reservation_id, p_user_id, p_key, p_credits, p_operation, 'open', p_renderer, p_purpose,
            p_year, p_month, p_now, p_now)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'replayed'::text, NULL::integer, NULL::integer, NULL::integer, v_budget, v_soft, NULL::integer;
        RETURN;
    END IF;

    -- The conditional UPDATE waits for the row lock and re-checks the budget on the newest row
    -- version (READ COMMITTED), which is what makes concurrent reservations exact. A refusal is
    -- confirmed by a fresh read: a refund may have landed since, and then we try again.
    FOR attempt IN 1..3 LOOP
        UPDATE credit_balances b
           SET used = b.used + p_credits, ledger_seq = b.ledger_seq + 1, updated_at = p_now
         WHERE b.user_id = p_user_id AND b.year = p_year AND b.used + p_credits <= v_budget
        RETURNING b.used, b.ledger_seq INTO v_used, v_seq;
        EXIT WHEN FOUND;
        SELECT b.used INTO v_current FROM credit_balances b WHERE b.user_id = p_user_id AND b.year = p_year;
        IF NOT FOUND THEN
            -- The year's first reservation opens its balance row.
            INSERT INTO credit_balances AS b (user_id, year, used, ledger_seq, created_at, updated_at)
            VALUES (p_user_id, p_year, 0, 0, p_now, p_now)
            ON CONFLICT (user_id, year) DO NOTHING;
            v_opened := v_opened OR FOUND;
            v_current := 0;
        END IF;
        EXIT WHEN v_current + p_credits > v_budget;
    END LOOP;

    IF v_used IS NULL THEN
        DELETE FROM credit_reservations r WHERE r.id = p_reservation_id;
        IF v_opened THEN
            -- A refusal writes nothing, not even the empty balance row it opened.
            DELETE FROM credit_balances b WHERE b.user_id = p_user_id AND b.year = p_year AND b.ledger_seq = 0;
        END IF;
        RETURN QUERY SELECT 'refused'::text, NULL::integer, NULL::integer, NULL::integer, v_budget, v_soft,
                            GREATEST(v_budget - COALESCE(v_current, 0), 0);
        RETURN;
    END IF;

    INSERT INTO credit_month_balances AS m (user_id, year, month, used, created_at, updated_at)
    VALUES (p_user_id, p_year, p_month, p_credits, p_now, p_now)
    ON CONFLICT (user_id, year, month) DO UPDATE SET used = m.used + EXCLUDED.used, updated_at = EXCLUDED.updated_at
    RETURNING m.used INTO v_month;

    INSERT INTO mockup_credit_usage AS l
        (user_id, reservation_id, credits, operation, renderer, scene, balance_before, balance_after, seq, year, month, created_at)
    VALUES (p_user_id, p_reservation_id, p_credits, p_operation, p_renderer, p_scene, v_used - p_credits, v_used,
            v_seq, p_year, p_month, p_now);

    RETURN QUERY SELECT 'reserved'::text, v_used, v_seq, v_month, v_budget, v_soft, v_budget - v_used;
END
$fn$;
"""

_SIGNATURE = (
    "haven_reserve_credits(text, text, text, integer, text, text, text, text, integer, integer, "
    "timestamptz, integer, integer)"
)


def upgrade() -> None:
    op.create_table(
        "credit_month_balances",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_credit_month_balances_used_nonnegative")),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_credit_month_balances_month_valid")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_credit_month_balances_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "year", "month", name=op.f("pk_credit_month_balances")),
    )
    # Existing ledgers: the month totals are the net sums of their rows.
    op.execute(
        "INSERT INTO credit_month_balances (user_id, year, month, used, created_at, updated_at) "
        "SELECT user_id, year, month, SUM(credits), MIN(created_at), MAX(created_at) "
        "FROM mockup_credit_usage GROUP BY user_id, year, month"
    )
    with op.batch_alter_table("credit_reservations") as batch:
        batch.drop_index("ix_credit_reservations_user_id")
    with op.batch_alter_table("mockup_credit_usage") as batch:
        batch.drop_index("ix_mockup_credit_usage_user_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RESERVE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
    with op.batch_alter_table("mockup_credit_usage") as batch:
        batch.create_index("ix_mockup_credit_usage_user_id", ["user_id"])
    with op.batch_alter_table("credit_reservations") as batch:
        batch.create_index("ix_credit_reservations_user_id", ["user_id"])
    op.drop_table("credit_month_balances")
