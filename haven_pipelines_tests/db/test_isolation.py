"""Tenant isolation: user B can neither read, list, change nor delete user A's rows, in any store.

Table-driven: each case makes A's rows, then runs B's attempts, each in its own transaction. Every
attempt on A's row must raise NotFound (exactly as for a row that does not exist), every lookup
must come back empty, every list must leave A's ids out, B's own writes must only create B's rows,
and afterwards A's rows in the store's tables must be byte-for-byte what they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from haven_pipelines.db import tables as t
from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.approvals import ApprovalStore
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.stores.scenes import SceneStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.domain.errors import NotFound

Refs = dict[str, Any]
Attempt = Callable[[Connection, str, Refs], Any]


@dataclass(frozen=True)
class Case:
    """One store's isolation check."""

    name: str
    tables: tuple[Table, ...]
    setup: Callable[[Connection, str], Refs]
    not_found: dict[str, Attempt]
    empty: dict[str, Attempt] = field(default_factory=dict)
    lists: dict[str, Callable[[Connection, str, Refs], list[str]]] = field(default_factory=dict)
    own_writes: dict[str, Attempt] = field(default_factory=dict)


def _design(conn: Connection, user_id: str) -> Refs:
    store = DesignStore(conn, user_id)
    quote = store.create_quote("Stay rooted.", "grounding")
    asset = store.create_asset("file:///a.png", "designs/a.png", "png", 10, 10, quote["id"], "approved")
    return {"quote": quote["id"], "asset": asset["id"]}


def _mockup(conn: Connection, user_id: str) -> Refs:
    refs = _design(conn, user_id)
    store = MockupStore(conn, user_id)
    row = store.start(refs["asset"], "bedroom", {}, "local")
    store.complete(row["id"], "file:///m.png", "m.png", None, None, "r1", {})
    store.set_status(row["id"], "approved")
    return {**refs, "mockup": row["id"]}


def _product(conn: Connection, user_id: str) -> Refs:
    refs = _mockup(conn, user_id)
    product = ProductStore(conn, user_id).create(
        "Stay Rooted", None, "grounding", ["calm"], None, refs["asset"], refs["quote"],
        [{"size": "8x10", "price": "24.99"}], [{"src": "file:///m.png", "mockup_id": refs["mockup"]}],
    )
    return {**refs, "product": product.id, "sku": product.variants[0]["sku"]}


def _pricing(conn: Connection, user_id: str) -> Refs:
    store = PricingStore(conn, user_id)
    store.set_override("8x10", "19.99", "39.99", "4.99", "7.00")
    row_id = conn.execute(select(t.product_pricing.c.id).where(t.product_pricing.c.user_id == user_id)).scalar_one()
    return {"row": row_id}


def _scene(conn: Connection, user_id: str) -> Refs:
    row = SceneStore(conn, user_id).create_user_scene("studio", "Studio", None, ["growth"], 500, 600, {})
    return {"scene": row["id"]}


def _approval(conn: Connection, user_id: str) -> Refs:
    refs = _mockup(conn, user_id)
    item = ApprovalStore(conn, user_id).enqueue("mockup", refs["mockup"], {"url": "u"}, "grounding")
    return {**refs, "item": item["id"]}


def _activity(conn: Connection, user_id: str) -> Refs:
    return {"entry": ActivityStore(conn, user_id).log("mockup.generated", "mockup", None, {"credits": 1})["id"]}


def _retry(conn: Connection, user_id: str) -> Refs:
    refs = _mockup(conn, user_id)
    row = RetryStore(conn, user_id).enqueue("render_mockup", refs["mockup"], {}, "timeout")
    return {**refs, "retry": row["id"]}


def _ids(page_or_rows) -> list[str]:
    rows = page_or_rows.rows if hasattr(page_or_rows, "rows") else page_or_rows
    return [str(r["id"]) for r in rows]


CASES = [
    Case(
        "designs", (t.quotes, t.assets), _design,
        not_found={
            "get_quote": lambda c, b, r: DesignStore(c, b).get_quote(r["quote"]),
            "get_asset": lambda c, b, r: DesignStore(c, b).get_asset(r["asset"]),
            "get_design": lambda c, b, r: DesignStore(c, b).get_design(r["asset"]),
            "update_quote": lambda c, b, r: DesignStore(c, b).update_quote(r["quote"], text="mine now"),
            "approve_asset": lambda c, b, r: DesignStore(c, b).approve_asset(r["asset"]),
            "reject_asset": lambda c, b, r: DesignStore(c, b).reject_asset(r["asset"]),
            "delete_quote": lambda c, b, r: DesignStore(c, b).delete_quote(r["quote"]),
            "delete_asset": lambda c, b, r: DesignStore(c, b).delete_asset(r["asset"]),
            "asset_on_their_quote": lambda c, b, r: DesignStore(c, b).create_asset("u", "k", "png", 1, 1, r["quote"]),
        },
        empty={"find_asset": lambda c, b, r: DesignStore(c, b).find_asset(r["asset"]),
               "find_quote": lambda c, b, r: DesignStore(c, b).find_quote(r["quote"])},
        lists={"list_assets": lambda c, b, r: _ids(DesignStore(c, b).list_assets(limit=100)),
               "list_quotes": lambda c, b, r: _ids(DesignStore(c, b).list_quotes(limit=100))},
    ),
    Case(
        "mockups", (t.mockups,), _mockup,
        not_found={
            "get": lambda c, b, r: MockupStore(c, b).get(r["mockup"]),
            "start_on_their_design": lambda c, b, r: MockupStore(c, b).start(r["asset"], "bedroom", {}, "local"),
            "complete": lambda c, b, r: MockupStore(c, b).complete(r["mockup"], "u", "k", None, None, None, {}),
            "fail": lambda c, b, r: MockupStore(c, b).fail(r["mockup"], "boom"),
            "set_status": lambda c, b, r: MockupStore(c, b).set_status(r["mockup"], "rejected"),
            "delete": lambda c, b, r: MockupStore(c, b).delete(r["mockup"]),
        },
        empty={"get_by_design_scene": lambda c, b, r: MockupStore(c, b).get_by_design_scene(r["asset"], "bedroom"),
               "approved_for_design": lambda c, b, r: MockupStore(c, b).approved_for_design(r["asset"])},
        lists={"list": lambda c, b, r: _ids(MockupStore(c, b).list(limit=100)),
               "list_by_asset": lambda c, b, r: _ids(MockupStore(c, b).list(asset_id=r["asset"]))},
    ),
    Case(
        "products", (t.products, t.product_variants, t.product_images), _product,
        not_found={
            "get": lambda c, b, r: ProductStore(c, b).get(r["product"]),
            "set_status": lambda c, b, r: ProductStore(c, b).set_status(r["product"], "retired", "manual"),
            "set_shopify": lambda c, b, r: ProductStore(c, b).set_shopify(r["product"], "1", "gid://p/1", None, {}),
            "set_sync_error": lambda c, b, r: ProductStore(c, b).set_sync_error(r["product"], "nope"),
            "replace": lambda c, b, r: ProductStore(c, b).replace_variants_and_images(r["product"], [{"size": "A4", "price": "1"}]),
            "delete": lambda c, b, r: ProductStore(c, b).delete(r["product"]),
            "create_on_their_design": lambda c, b, r: ProductStore(c, b).create(
                "Mine", None, None, [], None, r["asset"], None, [{"size": "A4", "price": "1"}]),
            "image_of_their_mockup": lambda c, b, r: ProductStore(c, b).create(
                "Mine", None, None, [], None, None, None, [{"size": "A4", "price": "1"}], [{"src": "u", "mockup_id": r["mockup"]}]),
        },
        empty={"find_by_asset": lambda c, b, r: ProductStore(c, b).find_by_asset(r["asset"])},
        lists={"list": lambda c, b, r: _ids(ProductStore(c, b).list(limit=100)),
               "search": lambda c, b, r: _ids(ProductStore(c, b).list(search="Rooted"))},
        own_writes={"same_title": lambda c, b, r: ProductStore(c, b).create(
            "Stay Rooted", None, "grounding", [], None, None, None, [{"size": "8x10", "price": "5"}])},
    ),
    Case(
        "pricing", (t.product_pricing,), _pricing,
        not_found={
            "get_row": lambda c, b, r: PricingStore(c, b).get_row(r["row"]),
            "update_row": lambda c, b, r: PricingStore(c, b).update_row(r["row"], "1", "1", "1", "0"),
            "delete_row": lambda c, b, r: PricingStore(c, b).delete_row(r["row"]),
            "delete_override": lambda c, b, r: PricingStore(c, b).delete_override("8x10"),
        },
        empty={"user_rows": lambda c, b, r: PricingStore(c, b).user_rows()},
        own_writes={"own_override": lambda c, b, r: PricingStore(c, b).set_override("8x10", "1", "2", "3", "0")},
    ),
    Case(
        "scenes", (t.mockup_scene_templates,), _scene,
        not_found={
            "get": lambda c, b, r: SceneStore(c, b).get("studio"),
            "update": lambda c, b, r: SceneStore(c, b).update_user_scene("studio", name="Mine"),
            "delete": lambda c, b, r: SceneStore(c, b).delete_user_scene("studio"),
        },
        lists={"visible": lambda c, b, r: _ids(SceneStore(c, b).visible(include_inactive=True))},
        own_writes={"same_key": lambda c, b, r: SceneStore(c, b).create_user_scene("studio", "B's", None, [], 1, 1)},
    ),
    Case(
        "approvals", (t.approval_items,), _approval,
        not_found={
            "get": lambda c, b, r: ApprovalStore(c, b).get(r["item"]),
            "decide": lambda c, b, r: ApprovalStore(c, b).decide(r["item"], "approved"),
            "delete": lambda c, b, r: ApprovalStore(c, b).delete(r["item"]),
            "enqueue_their_mockup": lambda c, b, r: ApprovalStore(c, b).enqueue("mockup", r["mockup"], {}, reopen=True),
        },
        lists={"list_all": lambda c, b, r: _ids(ApprovalStore(c, b).list(status=None, limit=100))},
    ),
    Case(
        "activity", (t.activity_log,), _activity,
        not_found={"get": lambda c, b, r: ActivityStore(c, b).get(r["entry"])},
        lists={"list": lambda c, b, r: _ids(ActivityStore(c, b).list(limit=100))},
        own_writes={"log": lambda c, b, r: ActivityStore(c, b).log("mockup.generated")},
    ),
    Case(
        "retries", (t.retry_queue,), _retry,
        not_found={
            "get": lambda c, b, r: RetryStore(c, b).get(r["retry"]),
            "record_failure": lambda c, b, r: RetryStore(c, b).record_failure(r["retry"], "again"),
            "record_success": lambda c, b, r: RetryStore(c, b).record_success(r["retry"]),
            "delete": lambda c, b, r: RetryStore(c, b).delete(r["retry"]),
        },
        lists={"list": lambda c, b, r: _ids(RetryStore(c, b).list(limit=100))},
        own_writes={"same_entity": lambda c, b, r: RetryStore(c, b).enqueue("render_mockup", r["mockup"], {}, "mine")},
    ),
]


def _snapshot(conn: Connection, tables: tuple[Table, ...], user_id: str) -> dict[str, list[dict]]:
    return {
        table.name: [dict(r) for r in conn.execute(
            select(table).where(table.c.user_id == user_id).order_by(table.c.id)).mappings()]
        for table in tables
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_user_b_cannot_touch_user_a_rows(engine, case: Case):
    check_isolation(engine, case)


def check_isolation(engine, case: Case, observer=None) -> None:
    """Run ``case`` through ``engine``; ``observer`` (default: the same engine) takes the snapshots
    of A's rows. The row-level-security suite passes an application-role engine and an admin
    observer, since that role sees nothing without a user's setting."""
    observer = observer or engine
    with engine.begin() as conn:
        a = get_or_create_user(conn, "a@example.com")["id"]
        b = get_or_create_user(conn, "b@example.com")["id"]
        refs = case.setup(conn, a)
    with observer.connect() as conn:
        before = _snapshot(conn, case.tables, a)
    assert any(before.values()), "the case made no rows for A"
    a_ids = {str(row["id"]) for rows in before.values() for row in rows}

    for name, attempt in case.not_found.items():
        with pytest.raises(NotFound), engine.begin() as conn:
            attempt(conn, b, refs)
            pytest.fail(f"{case.name}.{name}: B reached A's row")
    for name, lookup in case.empty.items():
        with engine.connect() as conn:
            assert not lookup(conn, b, refs), f"{case.name}.{name} showed B A's row"
    for name, listing in case.lists.items():
        with engine.connect() as conn:
            assert not a_ids & set(listing(conn, b, refs)), f"{case.name}.{name} listed A's row to B"
    for name, write in case.own_writes.items():
        with engine.begin() as conn:
            write(conn, b, refs)

    with observer.connect() as conn:
        assert _snapshot(conn, case.tables, a) == before
    with engine.connect() as conn:
        # A still sees everything of theirs through the same store calls B was refused.
        for name, attempt in case.not_found.items():
            if name in ("get", "get_quote", "get_asset", "get_row"):
                attempt(conn, a, refs)
