"""Print prices per size: the seeded system rows (read-only) and the acting user's overrides.

The rows come back as :class:`~haven_pipelines.domain.pricing.SizePrice` keyed by size, ready for
:func:`~haven_pipelines.domain.pricing.resolve_price`. A user changes only their own rows: a system
row can be read but never created, changed or deleted through this store.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from haven_pipelines.db.stores.base import UserScopedStore, require_money, require_text
from haven_pipelines.db.tables import new_id, product_pricing
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.domain.pricing import SizePrice

# Sizes as the catalogue writes them: 8x10, 24x36, A4.
_SIZE = re.compile(r"^(?:\d{1,3}x\d{1,3}|[A-Z]\d{1,2})$")


def _size_price(row: RowMapping) -> SizePrice:
    return SizePrice(row["size"], Decimal(row["base_price"]), Decimal(row["framed_price"]),
                     Decimal(row["digital_price"]), Decimal(row["cost"]))


class PricingStore(UserScopedStore):
    """System prices and the acting user's per-size overrides."""

    table = product_pricing
    kind = "pricing row"

    def system_rows(self) -> dict[str, SizePrice]:
        """The system default prices, keyed by size."""
        stmt = select(product_pricing).where(product_pricing.c.is_system)
        return {r["size"]: _size_price(r) for r in self.conn.execute(stmt).mappings()}

    def user_rows(self) -> dict[str, SizePrice]:
        """The acting user's overrides, keyed by size."""
        stmt = select(product_pricing).where(self._owned(), product_pricing.c.is_system.is_(False))
        return {r["size"]: _size_price(r) for r in self.conn.execute(stmt).mappings()}

    def get_row(self, row_id: str) -> RowMapping:
        """A pricing row by id: a system row or one of the user's own; NotFound for anyone else's."""
        stmt = select(product_pricing).where(
            product_pricing.c.id == row_id, or_(product_pricing.c.is_system, self._owned())
        )
        row = self.conn.execute(stmt).mappings().first()
        if row is None:
            raise NotFound(self.kind, row_id)
        return row

    def set_override(self, size: str, base: object, framed: object, digital: object, cost: object) -> SizePrice:
        """Create or replace the user's prices for ``size`` (prices > 0, cost >= 0, two decimals)."""
        size = require_text("size", size, max_len=20)
        if not _SIZE.match(size):
            raise ValidationError("size", f"must look like 8x10 or A4, got {size!r}")
        prices = {
            "base_price": require_money("base_price", base),
            "framed_price": require_money("framed_price", framed),
            "digital_price": require_money("digital_price", digital),
            "cost": require_money("cost", cost, allow_zero=True),
        }
        existing = self._own_row(size)
        if existing is None:
            try:
                # A savepoint: a concurrent first override of the same size must not spoil the transaction.
                with self.conn.begin_nested():
                    self._insert_in(product_pricing, {"id": new_id(), "size": size, "is_system": False, **prices})
                return self.user_rows()[size]
            except IntegrityError:
                existing = self._own_row(size)
                if existing is None:
                    raise
        self._update(existing["id"], prices)
        return self.user_rows()[size]

    def update_row(self, row_id: str, base: object, framed: object, digital: object, cost: object) -> SizePrice:
        """Change a pricing row by id: only the user's own; a system row is refused, naming why."""
        row = self.get_row(row_id)
        if row["is_system"]:
            raise ValidationError("row_id", f"system pricing row {row_id} ({row['size']}) is read-only; set an override instead")
        return self.set_override(row["size"], base, framed, digital, cost)

    def delete_override(self, size: str) -> None:
        """Remove the user's override for ``size`` (the system price applies again); NotFound if none."""
        row = self._own_row(size)
        if row is None:
            raise NotFound("pricing override", size)
        self._delete(row["id"])

    def delete_row(self, row_id: str) -> None:
        """Delete a pricing row by id: only the user's own; a system row is refused."""
        row = self.get_row(row_id)
        if row["is_system"]:
            raise ValidationError("row_id", f"system pricing row {row_id} ({row['size']}) cannot be deleted")
        self._delete(row_id)

    def _own_row(self, size: str) -> RowMapping | None:
        stmt = select(product_pricing).where(self._owned(), product_pricing.c.size == size,
                                             product_pricing.c.is_system.is_(False))
        return self.conn.execute(stmt).mappings().first()
