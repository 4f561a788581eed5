"""ApprovalStore, ActivityStore and RetryStore, with their system reads for sensors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.approvals import ApprovalStore, decided_since
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.retries import RetryStore, backoff_delay, due_retries
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.domain.errors import Conflict, NotFound, ValidationError


def _user_with_mockups(conn, email: str, count: int) -> tuple[str, list[str]]:
    user_id = get_or_create_user(conn, email)["id"]
    asset = DesignStore(conn, user_id).create_asset("u", "k", "png", 1, 1, None, "approved")
    mockups = MockupStore(conn, user_id)
    return user_id, [mockups.start(asset["id"], f"scene_{i}", {}, "local")["id"] for i in range(count)]


@pytest.fixture
def ada(engine) -> tuple[str, list[str]]:
    with engine.begin() as conn:
        return _user_with_mockups(conn, "ada@example.com", 3)


def test_enqueue_is_idempotent_and_decide_once(engine, ada):
    user_id, mockup_ids = ada
    with engine.begin() as conn:
        store = ApprovalStore(conn, user_id)
        item = store.enqueue("mockup", mockup_ids[0], {"url": "u"}, "growth")
        same = store.enqueue("mockup", mockup_ids[0], {"url": "other"}, "growth")
        assert store.list().total == 1
        decided = store.decide(item["id"], "approved", "lovely")
        with pytest.raises(Conflict):
            store.decide(item["id"], "rejected")
        assert store.list().total == 0 and store.list(status="approved").total == 1
        unchanged = store.enqueue("mockup", mockup_ids[0], {"url": "v2"})
        reopened = store.enqueue("mockup", mockup_ids[0], {"url": "v2"}, reopen=True)
    assert same["id"] == item["id"] and same["payload"] == {"url": "u"}
    assert decided["status"] == "approved" and decided["decided_at"] is not None and decided["decision_note"] == "lovely"
    assert unchanged["status"] == "approved"
    assert reopened["status"] == "pending" and reopened["decided_at"] is None and reopened["payload"] == {"url": "v2"}


@pytest.mark.parametrize(
    ("args", "field"),
    [(("poster", None), "type"), (("mockup", None, {}, "joy"), "collection"), (("mockup", None, [1]), "payload")],
)
def test_enqueue_validation(engine, ada, args, field):
    user_id, mockup_ids = ada
    args = (args[0], mockup_ids[0], *args[2:])
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            ApprovalStore(conn, user_id).enqueue(*args)
    assert err.value.field == field


def test_enqueue_needs_the_users_own_reference(engine, ada):
    user_id, _ = ada
    with engine.begin() as conn:
        with pytest.raises(NotFound):
            ApprovalStore(conn, user_id).enqueue("mockup", "00000000-0000-0000-0000-000000000000", {})


def test_decided_since_pages_all_users_in_order(engine, ada):
    ada_id, ada_mockups = ada
    with engine.begin() as conn:
        bob_id, bob_mockups = _user_with_mockups(conn, "bob@example.com", 2)
        decided = []
        for user_id, ids in ((ada_id, ada_mockups), (bob_id, bob_mockups)):
            store = ApprovalStore(conn, user_id)
            for mockup_id in ids:
                item = store.enqueue("mockup", mockup_id, {})
                if mockup_id != ada_mockups[-1]:  # one stays pending and is never listed
                    decided.append(store.decide(item["id"], "rejected" if mockup_id == bob_mockups[0] else "approved"))
    seen, cursor = [], None
    with engine.connect() as conn:
        while page := decided_since(conn, cursor, limit=2):
            seen.extend(page)
            cursor = (page[-1]["decided_at"], page[-1]["id"])
    assert [r["id"] for r in seen] == [r["id"] for r in sorted(decided, key=lambda r: (r["decided_at"], r["id"]))]
    assert {r["user_id"] for r in seen} == {ada_id, bob_id}


def test_activity_log_and_list(engine, ada):
    user_id, mockup_ids = ada
    with engine.begin() as conn:
        store = ActivityStore(conn, user_id)
        store.log("mockup.generated", "mockup", mockup_ids[0], {"credits": 1, "price": Decimal("2.50"),
                                                                "headers": {"Authorization": "Bearer s3cret"}})
        store.log("product.created", "product", mockup_ids[1])
        page = store.list(limit=10)
        about = store.list(entity_id=mockup_ids[0])
        with pytest.raises(ValidationError) as err:
            store.log("")
    assert [r["action"] for r in page.rows] == ["product.created", "mockup.generated"]
    assert about.total == 1
    details = about.rows[0]["details"]
    assert details == {"credits": 1, "price": "2.50", "headers": {"Authorization": "[redacted]"}}
    assert err.value.field == "action"


def test_retry_backoff_and_death(engine, ada):
    user_id, mockup_ids = ada
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        store = RetryStore(conn, user_id)
        row = store.enqueue("render_mockup", mockup_ids[0], {"scene": "bedroom"}, "timeout", max_attempts=3, now=now)
        again = store.enqueue("render_mockup", mockup_ids[0], {"scene": "bedroom"}, "timeout again", max_attempts=3, now=now)
        assert store.list().total == 1
        first = store.record_failure(row["id"], "still down", now)
        second = store.record_failure(row["id"], "still down", now)
        dead = store.record_failure(row["id"], "gave up", now)
        with pytest.raises(Conflict):
            store.record_failure(row["id"], "more", now)
    assert again["id"] == row["id"] and again["last_error"] == "timeout again"
    assert _utc(row["next_attempt_at"]) == now + timedelta(seconds=60)
    assert (first["attempts"], _utc(first["next_attempt_at"])) == (1, now + timedelta(minutes=2))
    assert (second["attempts"], _utc(second["next_attempt_at"])) == (2, now + timedelta(minutes=4))
    assert (dead["attempts"], dead["status"]) == (3, "dead")


def test_backoff_is_capped():
    assert backoff_delay(0) == timedelta(seconds=60)
    assert backoff_delay(100) == timedelta(hours=6)


def test_due_retries_across_users_and_success(engine, ada):
    ada_id, ada_mockups = ada
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        bob_id, bob_mockups = _user_with_mockups(conn, "bob@example.com", 1)
        a = RetryStore(conn, ada_id).enqueue("render_mockup", ada_mockups[0], {}, "e", now=now)
        b = RetryStore(conn, bob_id).enqueue("render_mockup", bob_mockups[0], {}, "e", now=now + timedelta(minutes=5))
    with engine.connect() as conn:
        early = due_retries(conn, now + timedelta(minutes=2))
        late = due_retries(conn, now + timedelta(minutes=10))
    with engine.begin() as conn:
        done = RetryStore(conn, ada_id).record_success(a["id"])
    with engine.connect() as conn:
        after = due_retries(conn, now + timedelta(minutes=10))
    assert [r["id"] for r in early] == [a["id"]]
    assert [r["id"] for r in late] == [a["id"], b["id"]]
    assert done["status"] == "done" and [r["id"] for r in after] == [b["id"]]


def test_retry_updated_at_moves(engine, ada):
    user_id, mockup_ids = ada
    with engine.begin() as conn:
        row = RetryStore(conn, user_id).enqueue("render_mockup", mockup_ids[0], {}, "e")
    time.sleep(0.01)
    with engine.begin() as conn:
        failed = RetryStore(conn, user_id).record_failure(row["id"], "again")
    assert failed["updated_at"] > row["updated_at"]


@pytest.mark.parametrize(("kwargs", "field"), [({"operation": ""}, "operation"), ({"error": " "}, "error"),
                                               ({"max_attempts": 0}, "max_attempts")])
def test_retry_validation(engine, ada, kwargs, field):
    user_id, mockup_ids = ada
    args = {"operation": "render_mockup", "entity_id": mockup_ids[0], "payload": {}, "error": "e", **kwargs}
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as err:
            RetryStore(conn, user_id).enqueue(**args)
    assert err.value.field == field


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
