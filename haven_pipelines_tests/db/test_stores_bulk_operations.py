"""BulkOperationStore: a bulk publish's life (starting, running, collected or abandoned), per user and shop."""

from __future__ import annotations

import pytest

from haven_pipelines.db.stores.bulk_operations import BulkOperationStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.domain.errors import NotFound, ValidationError

LINES = [{"product_id": "p-1", "digest": "a" * 64}, {"product_id": "p-2", "digest": "b" * 64}]


def test_a_bulk_publish_moves_from_starting_to_collected_and_only_unfinished_ones_are_listed(engine):
    with engine.begin() as conn:
        user = get_or_create_user(conn, "bulk@example.com")["id"]
        store = BulkOperationStore(conn, user)
        first = store.create("one.myshopify.com", LINES)
        other_shop = store.create("two.myshopify.com", LINES[:1])
        assert (first["status"], first["operation_gid"], first["line_count"], first["lines"]) == ("starting", None, 2, LINES)
        running = store.set_started(first["id"], "gid://shopify/BulkOperation/1", "CREATED")
        assert (running["status"], running["shopify_status"]) == ("running", "CREATED")
        assert [r["id"] for r in store.unfinished("one.myshopify.com")] == [first["id"]]
        done = store.mark_collected(first["id"], "COMPLETED")
        assert (done["status"], done["error"]) == ("collected", None) and done["collected_at"] is not None
        assert store.unfinished("one.myshopify.com") == []
        assert store.mark_abandoned(other_shop["id"], "never started")["status"] == "abandoned"
        assert store.unfinished("two.myshopify.com") == []


def test_another_user_sees_none_of_it_and_bad_lines_are_refused(engine):
    with engine.begin() as conn:
        ada = get_or_create_user(conn, "ada@example.com")["id"]
        bob = get_or_create_user(conn, "bob@example.com")["id"]
        row = BulkOperationStore(conn, ada).create("one.myshopify.com", LINES)
        assert BulkOperationStore(conn, bob).unfinished("one.myshopify.com") == []
        with pytest.raises(NotFound):
            BulkOperationStore(conn, bob).set_started(row["id"], "gid://shopify/BulkOperation/1", "CREATED")
        with pytest.raises(ValidationError, match="lines"):
            BulkOperationStore(conn, ada).create("one.myshopify.com", [])
        with pytest.raises(ValidationError, match=r"lines\[0\]"):
            BulkOperationStore(conn, ada).create("one.myshopify.com", [{"product_id": "p-1"}])
