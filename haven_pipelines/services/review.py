"""The review queue as a reviewer works through it: each item with its design's quote, why a queue is
empty, and decisions over a whole batch.

Every decision goes through :func:`haven_pipelines.services.approvals.decide`, one item at a time, so
a batch decides exactly as the same items one by one would (and an item someone else decided in the
meantime is skipped and reported, not decided twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from haven_pipelines.db.stores.approvals import ApprovalStore
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.db.tables import assets, mockups, products, quotes
from haven_pipelines.db.tenancy import act_as
from haven_pipelines.domain.approval import effective_mode
from haven_pipelines.domain.errors import Conflict, ValidationError

KINDS = ("mockup", "product")
# The settings module whose mode routes each kind of item.
MODULE_OF_KIND = {"mockup": "mockups", "product": "products"}
_PAGE = 100


@dataclass(frozen=True)
class ReviewPage:
    """One page of the queue, each item with ``design_id`` and ``quote_text``; ``empty_reason`` when empty."""

    items: list[dict]
    total: int
    empty_reason: str | None = None


@dataclass
class BatchResult:
    """What a batch decision did: the items decided, and those skipped because already decided."""

    decision: str
    decided: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"decision": self.decision, "decided": list(self.decided), "skipped": list(self.skipped)}


def _designs(conn, user_id: str, items: list) -> dict[str, dict]:
    """reference id -> {design_id, quote_text} for the items' mockups and products (the user's own only)."""
    out: dict[str, dict] = {}
    act_as(conn, user_id)
    for kind, table in (("mockup", mockups), ("product", products)):
        ids = [i["reference_id"] for i in items if i["type"] == kind]
        if not ids:
            continue
        stmt = (
            select(table.c.id, table.c.asset_id, quotes.c.text)
            .select_from(table.outerjoin(assets, (assets.c.id == table.c.asset_id) & (assets.c.user_id == user_id))
                         .outerjoin(quotes, (quotes.c.id == assets.c.quote_id) & (quotes.c.user_id == user_id)))
            .where(table.c.user_id == user_id, table.c.id.in_(ids))
        )
        for row in conn.execute(stmt).mappings():
            out[row["id"]] = {"design_id": row["asset_id"], "quote_text": row["text"]}
    return out


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise ValidationError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")


def empty_reason(conn, user_id: str, kind: str | None) -> str:
    """Why the user has nothing pending of ``kind`` (None: either kind): autopilot, or nothing waits."""
    settings = SettingsStore(conn, user_id).get()
    kinds = [kind] if kind else list(KINDS)
    modes = {k: effective_mode(settings["global_mode"], settings["module_overrides"], MODULE_OF_KIND[k]) for k in kinds}
    auto = [MODULE_OF_KIND[k] for k in kinds if modes[k] == "autopilot"]
    if len(auto) == len(kinds):
        return (f"nothing to review: {' and '.join(auto)} run in autopilot, so they are approved without review "
                "(haven settings set --mode supervised to review them)")
    reason = "nothing is pending: every item has been decided, or nothing has been rendered or built yet"
    if auto:
        reason += f" ({' and '.join(auto)} run in autopilot and never wait for review)"
    return reason


def review_queue(engine, user_id: str, *, status: str = "pending", kind: str | None = None,
                 limit: int = 20, offset: int = 0) -> ReviewPage:
    """The user's items of ``status`` (oldest first), each with its design id and quote text.

    When nothing is pending, ``empty_reason`` says why (autopilot for that kind, or nothing waits).
    """
    _check_kind(kind)
    with engine.begin() as conn:
        page = ApprovalStore(conn, user_id).list(status=status, type=kind, limit=limit, offset=offset)
        rows = [dict(r) for r in page.rows]
        designs = _designs(conn, user_id, rows)
        for row in rows:
            row.update(designs.get(row["reference_id"], {"design_id": None, "quote_text": None}))
        reason = empty_reason(conn, user_id, kind) if page.total == 0 and status == "pending" else None
    return ReviewPage(rows, page.total, reason)


def pending_items(engine, user_id: str, *, kind: str | None = None, design_id: str | None = None) -> list[dict]:
    """Every pending item of the user (oldest first), optionally of one kind and one design.

    Raises:
        NotFound: ``design_id`` is not one of the user's design assets.
    """
    _check_kind(kind)
    items: list[dict] = []
    with engine.begin() as conn:
        if design_id is not None:
            DesignStore(conn, user_id).get_asset(design_id)  # NotFound for a design that is not the user's
        store = ApprovalStore(conn, user_id)
        while True:
            page = store.list(status="pending", type=kind, limit=_PAGE, offset=len(items))
            items += [dict(r) for r in page.rows]
            if not page.rows or len(items) >= page.total:
                break
        designs = _designs(conn, user_id, items)
    for item in items:
        item.update(designs.get(item["reference_id"], {"design_id": None, "quote_text": None}))
    if design_id is not None:
        items = [i for i in items if i["design_id"] == design_id]
    return items


def decide_all(engine, user_id: str, decision: str, *, kind: str | None = None, design_id: str | None = None,
               note: str | None = None) -> BatchResult:
    """Approve or reject every pending item (of ``kind``, of design ``design_id``), one by one.

    Raises:
        ValidationError: an unknown kind or decision, or a rejection without a reason.
    """
    from haven_pipelines.services.approvals import decide

    if decision not in ("approved", "rejected"):
        raise ValidationError("decision", f"must be approved or rejected, got {decision!r}")
    if decision == "rejected" and not (note or "").strip():
        raise ValidationError("reason", "a rejection needs a reason")
    result = BatchResult(decision)
    for item in pending_items(engine, user_id, kind=kind, design_id=design_id):
        summary = {"item_id": item["id"], "type": item["type"], "reference_id": item["reference_id"],
                   "design_id": item["design_id"], "quote_text": item["quote_text"]}
        try:
            decide(engine, user_id, item["id"], decision, note)
        except Conflict as exc:
            result.skipped.append({**summary, "reason": str(exc)})
            continue
        result.decided.append(summary)
    return result


def decide_one(engine, user_id: str, item_id: str, decision: str, note: str | None = None) -> dict:
    """Decide one item (a rejection needs a reason); the applied facts of ``services.approvals.decide``."""
    from haven_pipelines.services.approvals import decide

    if decision == "rejected" and not (note or "").strip():
        raise ValidationError("reason", "a rejection needs a reason")
    return decide(engine, user_id, item_id, decision, note)
