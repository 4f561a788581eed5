"""``haven approvals``: the queue with each design's quote, why it is empty, and batch decisions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from haven_pipelines.domain.labels import design_partition_key


@dataclass
class Queue:
    """What :func:`_queue` made, for the tests to name."""

    haven: object
    first: dict  # design A: two mockups pending; its product a draft without an approval item
    second: dict  # design B: its product's approval pending, and one later mockup pending
    product_id: str  # design B's product (the one product item in the queue)
    draft: dict  # `haven products build --json` of design A while its mockups were pending
    built: dict  # `haven products build --json` of design B once its only mockup was approved


def _queue(haven) -> Queue:
    """Supervised: a product goes up for review only once none of its design's mockups waits
    (docs/approvals.md), so the queue is made the way a reviewer would see it:

    - design A (first) renders two scenes, both pending; building its product now opens no item;
    - design B (second) renders one scene, its mockup is approved by item id through the CLI, and its
      product is built, which opens the product's approval; then a scene is added to B, whose mockup
      waits beside B's pending product (a rebuild is what reopens a product, not a render).

    Pending: A's two mockups, B's later mockup and B's product (4 items, two designs, both kinds).
    """
    haven("settings", "set", "--mode", "supervised")
    first, second = haven.designs()
    haven("render", "--design", first["id"], "--scene", "bedroom", "--scene", "reading_nook")
    draft = haven.json("products", "build", "--design", first["id"])
    haven("render", "--design", second["id"], "--scene", "bedroom")
    [mockup] = [i for i in _pending(haven) if i["design_id"] == second["id"]]
    haven("approvals", "approve", mockup["id"])
    built = haven.json("products", "build", "--design", second["id"])
    haven("render", "--design", second["id"], "--scene", "reading_nook")
    return Queue(haven, first, second, built["product_id"], draft, built)


@pytest.fixture
def queue(haven) -> Queue:
    """The queue of :func:`_queue` (SQLite and PostgreSQL)."""
    return _queue(haven)


@pytest.fixture
def queue_sqlite(haven_sqlite) -> Queue:
    """The same queue on SQLite only (for what the database cannot change)."""
    return _queue(haven_sqlite)


def _pending(haven, *args) -> list[dict]:
    return haven.json("approvals", "list", *args)["items"]


def test_list_shows_each_items_design_and_quote(queue):
    haven, first, second, product_id = queue.haven, queue.first, queue.second, queue.product_id
    listed = haven.json("approvals", "list")
    assert listed["total"] == 4 and listed["empty_reason"] is None
    assert sorted((i["type"], i["design_id"]) for i in listed["items"]) == [
        ("mockup", first["id"]), ("mockup", first["id"]), ("mockup", second["id"]), ("product", second["id"])]
    by_ref = {i["reference_id"]: i for i in listed["items"]}
    assert (by_ref[product_id]["design_id"], by_ref[product_id]["quote_text"]) == (second["id"], second["text"])
    assert {i["quote_text"] for i in listed["items"] if i["design_id"] == first["id"]} == {first["text"]}
    lines = haven("approvals", "list").output.splitlines()
    assert lines[0].split() == ["item", "type", "status", "scene", "or", "title", "quote", "design"]
    # Each row shows its item's quote and design side by side.
    for item in listed["items"]:
        [row] = [line for line in lines if line.startswith(item["id"])]
        design = first if item["design_id"] == first["id"] else second
        # The design by the key the Dagster UI lists.
        assert f'"{design["text"][:37]}' in row and row.endswith(design_partition_key(design["text"], design["id"]))
    # A's product was built while its mockups waited: a draft, with no approval item in the queue.
    assert (queue.draft["status"], queue.draft["approval_item_id"]) == ("draft", None)
    assert queue.draft["product_id"] not in by_ref
    # B's was built once its only mockup was decided: up for review, as the item listed.
    assert (queue.built["status"], queue.built["approval_item_id"]) == ("awaiting_approval", by_ref[product_id]["id"])
    assert "changes" in by_ref[product_id]["payload"]


def test_approve_all_of_one_kind_then_one_design(queue):
    haven, first, second = queue.haven, queue.first, queue.second
    # B has a mockup and its product pending, A two mockups: only --kind and --design together leave
    # exactly B's later mockup (ignoring either would decide B's product or A's mockups too).
    approved = haven.json("approvals", "approve", "--all", "--kind", "mockup", "--design", second["id"])
    assert len(approved["decided"]) == 1 and approved["skipped"] == []
    assert {d["type"] for d in approved["decided"]} == {"mockup"}
    assert {d["design_id"] for d in approved["decided"]} == {second["id"]}
    left = _pending(haven)
    assert sorted((i["type"], i["design_id"]) for i in left) == [
        ("mockup", first["id"]), ("mockup", first["id"]), ("product", second["id"])]
    mockups = haven.json("mockups", "list", "--design", second["id"])["mockups"]
    # The decision reached the mockup (bedroom was approved by its item id when the queue was made).
    assert sorted((m["scene"], m["status"]) for m in mockups) == [("bedroom", "approved"), ("reading_nook", "approved")]

    out = haven("approvals", "approve", "--all", "--note", "batch").output
    assert "3 approved, 0 skipped" in out  # A's two mockups and B's product
    # 5 = B's bedroom mockup (approved by id in _queue) + B's later mockup + the 3 just approved.
    assert haven.json("approvals", "list", "--status", "approved")["total"] == 5
    empty = haven("approvals", "list").output
    assert "nothing is pending" in empty
    # With A's mockups decided, building A's product now opens its approval (the only pending item).
    rebuilt = haven.json("products", "build", "--design", first["id"])
    assert rebuilt["status"] == "awaiting_approval" and rebuilt["product_id"] == queue.draft["product_id"]
    [item] = _pending(haven)
    assert (item["id"], item["type"], item["design_id"]) == (rebuilt["approval_item_id"], "product", first["id"])


def test_reject_needs_a_reason_and_takes_one_item_or_all(queue_sqlite):
    haven, first, second, product_id = (queue_sqlite.haven, queue_sqlite.first, queue_sqlite.second,
                                        queue_sqlite.product_id)
    missing = haven("approvals", "reject", "--all", ok=False)
    assert missing.exit_code == 2 and "--reason" in missing.output
    [item] = [i for i in _pending(haven) if i["type"] == "product"]
    one = haven("approvals", "reject", item["id"], "--reason", "title too long").output
    assert f"rejected product {product_id}" in one
    decided = haven.json("approvals", "list", "--status", "rejected")["items"]
    assert [(d["id"], d["decision_note"]) for d in decided] == [(item["id"], "title too long")]
    # B's product is decided, so B's later mockup is all that is left of B.
    rest = haven.json("approvals", "reject", "--all", "--design", second["id"], "--reason", "blurry")
    assert [(d["type"], d["design_id"]) for d in rest["decided"]] == [("mockup", second["id"])]
    assert sorted((i["type"], i["design_id"]) for i in _pending(haven)) == [("mockup", first["id"])] * 2


def test_bad_batch_requests_are_refused_and_change_nothing(queue_sqlite):
    haven = queue_sqlite.haven
    before = _pending(haven)
    assert "give one ITEM_ID or --all" in haven("approvals", "approve", ok=False).output
    [item] = [i for i in before if i["type"] == "product"]
    both = haven("approvals", "approve", item["id"], "--all", ok=False)
    assert both.exit_code == 2 and "give one ITEM_ID or --all" in both.output
    narrowed = haven("approvals", "approve", item["id"], "--kind", "product", ok=False)
    assert narrowed.exit_code == 2 and "--kind and --design narrow --all" in narrowed.output
    kind = haven("approvals", "approve", "--all", "--kind", "pin", ok=False)
    assert kind.exit_code == 2 and "--kind" in kind.output
    unknown = haven("approvals", "approve", "--all", "--design", "00000000-0000-0000-0000-000000000000", ok=False)
    assert unknown.exit_code == 1 and "not found" in unknown.output
    assert len(before) == 4 and _pending(haven) == before


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
