"""Read-only figures the asset checks judge: usage per user, stored files, products, reservations.

Kept apart from the rules (``checks.py``), which are pure functions of these figures. Every query
here only reads; the user-scoped stores are for acting *as* a user, these look across all users as
an operator's health check does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from haven_pipelines.db.tables import credit_reservations, mockups, products, users
from haven_pipelines.domain.credits import CreditUsage
from haven_pipelines.services.analytics import ledger_totals
from haven_pipelines.db.tenancy import cross_tenant_connection


@dataclass(frozen=True)
class UserUsage:
    """One user's credit position."""

    user_id: str
    usage: CreditUsage


def all_usage(ctx) -> list[UserUsage]:
    """Every user's credit position for the current year and month (through the ledger)."""
    with ctx.engine.connect() as conn:
        ids = conn.execute(select(users.c.id).order_by(users.c.id)).scalars().all()
    return [UserUsage(user_id, ctx.ledger.usage(user_id)) for user_id in ids]


def completed_mockup_files(engine: Engine) -> list[dict]:
    """(mockup id, user id, file key) of every mockup that should have its image stored."""
    stmt = select(mockups.c.id, mockups.c.user_id, mockups.c.file_key).where(
        mockups.c.status.in_(("completed", "approved", "rejected"))
    )
    with cross_tenant_connection(engine) as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def active_products(engine: Engine) -> list[dict]:
    """(product id, user id, Shopify id, sync error) of every active product."""
    stmt = select(
        products.c.id, products.c.user_id, products.c.shopify_product_id, products.c.shopify_product_gid, products.c.sync_error
    ).where(
        products.c.status == "active"
    )
    with cross_tenant_connection(engine) as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def ledger_figures(engine: Engine) -> dict[str, int]:
    """Net credits charged, credits on mockups, and credits held by open reservations."""
    totals = ledger_totals(engine)
    with cross_tenant_connection(engine) as conn:
        open_credits = conn.execute(
            select(func.coalesce(func.sum(credit_reservations.c.credits), 0)).where(credit_reservations.c.status == "open")
        ).scalar_one()
    return {**totals, "open_reservations": int(open_credits)}
