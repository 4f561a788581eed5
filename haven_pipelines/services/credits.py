"""A user's credit position as a person reads it: usage, what remains, and the source's credit card."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.users import resolve_user
from haven_pipelines.domain.credits import CreditCard, CreditUsage, credit_card


@dataclass(frozen=True)
class CreditPosition:
    """Who, their usage for one year and month, and the card (bar colour, warnings) for it."""

    user_id: str
    email: str
    usage: CreditUsage
    card: CreditCard

    def as_dict(self) -> dict[str, object]:
        """The usage fields at the top level (as ``credits show --json`` always printed them), plus the card."""
        return {"user": {"id": self.user_id, "email": self.email}, **self.usage.as_dict(),
                "bar_colour": self.usage.bar_colour(), "card": self.card.as_dict()}


def credit_position(engine: Engine, user_ref: str, year: int | None = None, month: int | None = None) -> CreditPosition:
    """The credit position of the user named by id or email, for ``year``/``month`` (default: now, UTC).

    Raises:
        NotFound: no such user.
        ValidationError: an empty user reference, or a year or month out of range.
    """
    with engine.connect() as conn:
        user = resolve_user(conn, user_ref)
    usage = CreditLedger(engine).usage(user["id"], year, month)
    return CreditPosition(user["id"], user["email"], usage, credit_card(usage))
