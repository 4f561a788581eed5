"""``haven approvals``: the queue with each design's quote, why it is empty, and batch decisions."""

from __future__ import annotations

import pytest


def _queue(haven):
    haven("settings", "set", "--mode", "supervised")
    first, second = haven.designs()
    haven("render", "--design", first["id"], "--scene", "bedroom", "--scene", "reading_nook")
    haven("render", "--design", second["id"], "--scene", "bedroom")
    product_id = haven.json("products", "build", "--design", first["id"])["product_id"]
    return haven, first, second, product_id


@pytest.fixture
def queue(haven):
    """Supervised: two mockups and the product of the first design pending, one mockup of the second
    (SQLite and PostgreSQL)."""
    return _queue(haven)


@pytest.fixture
def queue_sqlite(haven_sqlite):
    """The same queue on SQLite only (for what the database cannot change)."""
    return _queue(haven_sqlite)


def _pending(haven, *args) -> list[dict]:
    return haven.json("approvals", "list", *args)["items"]


def test_list_shows_each_items_design_and_quote(queue):
    haven, first, second, product_id = queue
    listed = haven.json("approvals", "list")
    assert listed["total"] == 4 and listed["empty_reason"] is None
    by_ref = {i["reference_id"]: i for i in listed["items"]}
    assert (by_ref[product_id]["design_id"], by_ref[product_id]["quote_text"]) == (first["id"], first["text"])
    assert {i["quote_text"] for i in listed["items"] if i["design_id"] == second["id"]} == {second["text"]}
    text = haven("approvals", "list").output
    assert f'"{first["text"][:37]}' in text and f"design {first['id']}" in text


def test_approve_all_of_one_kind_then_one_design(queue):
    haven, first, second, product_id = queue
    approved = haven.json("approvals", "approve", "--all", "--kind", "mockup", "--design", first["id"])
    assert len(approved["decided"]) == 2 and approved["skipped"] == []
    assert {d["type"] for d in approved["decided"]} == {"mockup"} and {d["design_id"] for d in approved["decided"]} == {first["id"]}
    left = _pending(haven)
    assert sorted((i["type"], i["design_id"]) for i in left) == [("mockup", second["id"]), ("product", first["id"])]
    mockups = haven.json("mockups", "list", "--design", first["id"])["mockups"]
    assert {m["status"] for m in mockups} == {"approved"}  # the decision reached the mockups

    out = haven("approvals", "approve", "--all", "--note", "batch").output
    assert "2 approved, 0 skipped" in out
    assert haven.json("approvals", "list", "--status", "approved")["total"] == 4
    empty = haven("approvals", "list").output
    assert "nothing is pending" in empty


def test_reject_needs_a_reason_and_takes_one_item_or_all(queue_sqlite):
    haven, first, second, product_id = queue_sqlite
    missing = haven("approvals", "reject", "--all", ok=False)
    assert missing.exit_code == 2 and "--reason" in missing.output
    [item] = [i for i in _pending(haven) if i["type"] == "product"]
    one = haven("approvals", "reject", item["id"], "--reason", "title too long").output
    assert f"rejected product {product_id}" in one
    decided = haven.json("approvals", "list", "--status", "rejected")["items"]
    assert [(d["id"], d["decision_note"]) for d in decided] == [(item["id"], "title too long")]
    rest = haven.json("approvals", "reject", "--all", "--design", second["id"], "--reason", "blurry")
    assert [d["design_id"] for d in rest["decided"]] == [second["id"]]
    assert len(_pending(haven)) == 2


def test_bad_batch_requests_are_refused_and_change_nothing(queue_sqlite):
    haven, first, second, product_id = queue_sqlite
    assert "give one ITEM_ID or --all" in haven("approvals", "approve", ok=False).output
    [item] = [i for i in _pending(haven) if i["type"] == "product"]
    both = haven("approvals", "approve", item["id"], "--all", ok=False)
    assert both.exit_code == 2 and "give one ITEM_ID or --all" in both.output
    narrowed = haven("approvals", "approve", item["id"], "--kind", "product", ok=False)
    assert narrowed.exit_code == 2 and "--kind and --design narrow --all" in narrowed.output
    kind = haven("approvals", "approve", "--all", "--kind", "pin", ok=False)
    assert kind.exit_code == 2 and "--kind" in kind.output
    unknown = haven("approvals", "approve", "--all", "--design", "00000000-0000-0000-0000-000000000000", ok=False)
    assert unknown.exit_code == 1 and "not found" in unknown.output
    assert len(_pending(haven)) == 4


def test_an_empty_queue_says_why(haven_sqlite):
    haven = haven_sqlite
    auto = haven.json("approvals", "list")
    assert auto["total"] == 0 and "mockups and products run in autopilot" in auto["empty_reason"]
    haven("settings", "set", "--mode", "supervised", "--module", "mockups=autopilot")
    mockups_only = haven.json("approvals", "list", "--kind", "mockup")["empty_reason"]
    assert "mockups run in autopilot" in mockups_only
    either = haven.json("approvals", "list")["empty_reason"]
    assert either.startswith("nothing is pending") and "(mockups run in autopilot" in either
    assert haven("approvals", "approve", "--all").output.strip() == "0 approved, 0 skipped"
