"""CreditLedger.usages: several users' positions in one statement, the same figures as usage()."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.tables import new_id, users
from haven_pipelines.domain.credits import DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT
from haven_pipelines.domain.errors import NotFound
from haven_pipelines_tests.db.test_ledger import make_user


def test_usages_agree_with_usage_for_every_user_in_one_query(engine: Engine):
    ledger = CreditLedger(engine)
    spender = make_user(engine, "spender@example.com", budget=50, soft_limit=10)
    idle = make_user(engine, "idle@example.com", budget=7)
    bare = new_id()  # a user without a settings row: the defaults apply
    with engine.begin() as conn:
        conn.execute(insert(users).values(id=bare, email="bare@example.com"))
    ledger.reserve(spender, 4, idempotency_key="a")
    ledger.reserve(spender, 3, idempotency_key="b")

    queries: list[str] = []
    role_switches: list[str] = []

    def _count(_conn, _cursor, statement, *_args) -> None:
        # SQLite's BEGIN and PostgreSQL's switch to the cross-tenant role (row-level security) are
        # per connection, not per user.
        if statement.lstrip().startswith("SELECT set_config('role'"):
            role_switches.append(statement)
        elif not statement.lstrip().upper().startswith("BEGIN"):
            queries.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        found = ledger.usages([spender, idle, bare, spender])
    finally:
        event.remove(engine, "before_cursor_execute", _count)

    assert len(queries) == 1
    assert len(role_switches) == (1 if engine.dialect.name == "postgresql" else 0)
    assert list(found) == [spender, idle, bare]
    for user_id in (spender, idle, bare):
        assert found[user_id] == ledger.usage(user_id)
    assert (found[spender].used_this_year, found[spender].used_this_month, found[spender].remaining_annual) == (7, 7, 43)
    assert found[idle].annual_budget == 7 and found[idle].used_this_year == 0
    assert (found[bare].annual_budget, found[bare].monthly_soft_limit) == (DEFAULT_ANNUAL_BUDGET, DEFAULT_MONTHLY_SOFT_LIMIT)
    assert ledger.usages([]) == {}


def test_usages_of_an_unknown_user_is_not_found(engine: Engine):
    known = make_user(engine, "known@example.com")
    with pytest.raises(NotFound):
        CreditLedger(engine).usages([known, new_id()])
