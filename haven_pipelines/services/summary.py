"""What the catalogue holds across all users, for the summary after ``haven pipeline run``.

An operator's read: it looks across users, as the health figures do, and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from haven_pipelines.db.tables import approval_items, assets, mockups, products, shopify_outbox
from haven_pipelines.db.tenancy import cross_tenant_connection


@dataclass(frozen=True)
class CatalogueSummary:
    """Counts of designs, mockups, products, recorded listings and pending approvals, and the credits on mockups."""

    approved_designs: int
    mockups_by_status: dict[str, int]
    products: int
    active_products: int
    product_sets_recorded: int
    credits_charged: int
    approvals_pending: int = 0

    @property
    def mockups(self) -> int:
        """All mockups, whatever their status."""
        return sum(self.mockups_by_status.values())


def catalogue_summary(engine: Engine) -> CatalogueSummary:
    """Count what the pipeline has made so far (``product_sets_recorded``: dry-run productSet mutations)."""
    count = select(func.count())
    with cross_tenant_connection(engine) as conn:
        by_status = {status: int(n) for status, n in conn.execute(
            select(mockups.c.status, func.count()).group_by(mockups.c.status)).all()}
        return CatalogueSummary(
            approved_designs=conn.execute(count.select_from(assets).where(assets.c.approval_status == "approved")).scalar_one(),
            mockups_by_status=by_status,
            products=conn.execute(count.select_from(products)).scalar_one(),
            active_products=conn.execute(count.select_from(products).where(products.c.status == "active")).scalar_one(),
            product_sets_recorded=conn.execute(
                count.select_from(shopify_outbox).where(shopify_outbox.c.operation == "ProductSet")).scalar_one(),
            credits_charged=int(conn.execute(select(func.coalesce(func.sum(mockups.c.credits_used), 0))).scalar_one()),
            approvals_pending=conn.execute(
                count.select_from(approval_items).where(approval_items.c.status == "pending")).scalar_one(),
        )
