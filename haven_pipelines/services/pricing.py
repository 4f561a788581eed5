"""Print prices per size for operators: the system rows, the user's overrides, and which one wins.

A change to the user's prices (``set_price``, ``reset_price``) is written first, then every product
of the user that was built from a design and has a variant of that size is rebuilt through
``ProductService.build_for_design``, so its variants carry the new price. The rebuild decides what
follows: in supervised mode a product whose prices changed waits for a new approval before the
listing changes; in autopilot the next publish sends the new prices. Products created by request
(``haven products create``) keep the prices they were created with and are counted, not rebuilt:
their prices may have been given explicitly. Retired and archived products are left alone.

The rebuilds run one product at a time after the price is committed: when one fails (its design no
longer approved, say) the others still run, the failure is reported, and the next pipeline run
rebuilds it anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, select

from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.tables import approval_items, product_variants, products
from haven_pipelines.db.tenancy import act_as
from haven_pipelines.domain.errors import HavenError, ValidationError
from haven_pipelines.domain.pricing import SizePrice
from haven_pipelines.domain.product_request import parse_money

PRICE_FIELDS = ("base", "framed", "digital", "cost")
_NUMERIC_SIZE = re.compile(r"^\s*(\d{1,3})\s*[xX]\s*(\d{1,3})\s*$")
_PAPER_SIZE = re.compile(r"^\s*([a-zA-Z])(\d{1,2})\s*$")


@dataclass(frozen=True)
class PriceRow:
    """One size: the system row, the user's override, and which of the two applies (``override`` or ``system``)."""

    size: str
    system: SizePrice | None
    override: SizePrice | None

    @property
    def wins(self) -> str:
        """``override`` when the user has one for this size, else ``system``."""
        return "override" if self.override is not None else "system"

    @property
    def effective(self) -> SizePrice:
        """The prices variants of this size get (unless a request gives a price explicitly)."""
        return self.override or self.system  # type: ignore[return-value]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (money as strings)."""
        def prices(row: SizePrice | None) -> dict[str, str] | None:
            if row is None:
                return None
            return {"base": str(row.base_price), "framed": str(row.framed_price), "digital": str(row.digital_price),
                    "cost": str(row.cost)}

        return {"size": self.size, "wins": self.wins, "effective": prices(self.effective),
                "system": prices(self.system), "override": prices(self.override)}


@dataclass
class PriceChange:
    """A price change and its effect on the user's products."""

    size: str
    row: PriceRow
    rebuilt: list[str] = field(default_factory=list)
    awaiting_approval: list[str] = field(default_factory=list)
    not_rebuilt: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    @property
    def affected(self) -> int:
        """Products with a variant of this size (rebuilt, created by request, or failed)."""
        return len(self.rebuilt) + len(self.not_rebuilt) + len(self.failed)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"size": self.size, "pricing": self.row.as_dict(), "affected_products": self.affected,
                "rebuilt": list(self.rebuilt), "awaiting_approval": list(self.awaiting_approval),
                "not_rebuilt_created_by_request": list(self.not_rebuilt), "failed": list(self.failed)}


def normalise_size(size: str) -> str:
    """``8X10`` and `` 8 x 10 `` as ``8x10``, ``a4`` as ``A4``; ValidationError naming ``size`` otherwise."""
    if not isinstance(size, str) or not size.strip():
        raise ValidationError("size", "give a print size such as 8x10 or A4")
    if m := _NUMERIC_SIZE.match(size):
        return f"{int(m.group(1))}x{int(m.group(2))}"
    if m := _PAPER_SIZE.match(size):
        return f"{m.group(1).upper()}{int(m.group(2))}"
    raise ValidationError("size", f"must look like 8x10 or A4, got {size!r}")


def _cost(value: object) -> Decimal:
    # A cost may be zero (unknown, or a print that costs nothing to make); a price may not.
    if isinstance(value, str) and value.strip() in ("0", "0.0", "0.00"):
        return Decimal("0.00")
    return parse_money(value, "cost")


def pricing_table(engine, user_id: str) -> list[PriceRow]:
    """Every size with a system row or an override of the user's, system sizes in the seeded order first."""
    with engine.connect() as conn:
        store = PricingStore(conn, user_id)
        system, own = store.system_rows(), store.user_rows()
    sizes = list(system) + sorted(s for s in own if s not in system)
    return [PriceRow(s, system.get(s), own.get(s)) for s in sizes]


def _row(engine, user_id: str, size: str) -> PriceRow:
    return next((r for r in pricing_table(engine, user_id) if r.size == size), PriceRow(size, None, None))


def set_price(ctx, user_id: str, size: str, *, base=None, framed=None, digital=None, cost=None) -> PriceChange:
    """Set the user's prices for ``size`` (the ones not given keep their current value), then rebuild.

    Prices are positive with at most two decimals; a cost may be zero. A size with neither a system
    row nor an override needs all four.

    Raises:
        ValidationError: naming ``size``, ``base``, ``framed``, ``digital`` or ``cost``; nothing changes.
    """
    size = normalise_size(size)
    given = {"base": base, "framed": framed, "digital": digital, "cost": cost}
    if all(v is None for v in given.values()):
        raise ValidationError("prices", "give at least one of base, framed, digital or cost")
    parsed = {k: (None if v is None else (_cost(v) if k == "cost" else parse_money(v, k))) for k, v in given.items()}
    current = _row(ctx.engine, user_id, size)
    start = current.override or current.system
    if start is None:
        missing = [k for k, v in parsed.items() if v is None]
        if missing:
            raise ValidationError(missing[0], f"{size} has no system price: give base, framed, digital and cost")
        start = SizePrice(size, Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    new = SizePrice(
        size,
        parsed["base"] or start.base_price,
        parsed["framed"] or start.framed_price,
        parsed["digital"] or start.digital_price,
        start.cost if parsed["cost"] is None else parsed["cost"],
    )
    with ctx.engine.begin() as conn:
        PricingStore(conn, user_id).set_override(size, new.base_price, new.framed_price, new.digital_price, new.cost)
    return _rebuild(ctx, user_id, size)


def reset_price(ctx, user_id: str, size: str) -> PriceChange:
    """Remove the user's override for ``size`` (the system price applies again), then rebuild.

    Raises:
        NotFound: the user has no override for this size.
    """
    size = normalise_size(size)
    with ctx.engine.begin() as conn:
        PricingStore(conn, user_id).delete_override(size)
    return _rebuild(ctx, user_id, size)


def products_with_size(engine, user_id: str, size: str) -> list[dict]:
    """The user's live (not retired or archived) products with a variant of ``size``: id and design."""
    stmt = (
        select(products.c.id, products.c.asset_id)
        .where(products.c.user_id == user_id, products.c.status.not_in(("retired", "archived")))
        .where(select(product_variants.c.id).where(and_(
            product_variants.c.product_id == products.c.id, product_variants.c.user_id == user_id,
            product_variants.c.size == size)).exists())
        .order_by(products.c.created_at, products.c.id)
    )
    with engine.connect() as conn:
        act_as(conn, user_id)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _rebuild(ctx, user_id: str, size: str) -> PriceChange:
    from haven_pipelines.services.products import ProductService

    change = PriceChange(size, _row(ctx.engine, user_id, size))
    service = ProductService(ctx)
    for product in products_with_size(ctx.engine, user_id, size):
        if product["asset_id"] is None:
            change.not_rebuilt.append(product["id"])
            continue
        try:
            result = service.build_for_design(user_id, product["asset_id"])
        except HavenError as exc:
            change.failed.append({"product_id": product["id"], "error": str(exc)})
            continue
        change.rebuilt.append(result.product_id)
    # Read back rather than trust the build result: whether a rebuild reopens an approval is the
    # products service's decision (it keeps an approval when nothing a customer sees changed).
    change.awaiting_approval = pending_product_approvals(ctx.engine, user_id, change.rebuilt)
    return change


def pending_product_approvals(engine, user_id: str, product_ids: list[str]) -> list[str]:
    """Those of ``product_ids`` whose approval item is pending, in the order given."""
    if not product_ids:
        return []
    stmt = select(approval_items.c.reference_id).where(
        approval_items.c.user_id == user_id, approval_items.c.type == "product",
        approval_items.c.status == "pending", approval_items.c.reference_id.in_(product_ids))
    with engine.connect() as conn:
        act_as(conn, user_id)
        pending = set(conn.execute(stmt).scalars())
    return [p for p in product_ids if p in pending]
