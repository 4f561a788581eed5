"""Every SQL query in docs/analytics.md, run as written against the analyst tables of a known ledger
(ledger_scenario) on SQLite and PostgreSQL, with the answers checked: the docs stay true."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from haven_pipelines.services import analytics
from haven_pipelines_tests.services.ledger_scenario import book_scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
QUERY = re.compile(r"<!-- query: (\w+) -->\s*```sql\n(.*?)```", re.S)

# What each query answers on the scenario (see ledger_scenario's docstring).
EXPECTED = {
    "monthly_against_soft_limit": [
        ("a@haven.test", 2026, 5, 3, 2, 10, 20.0),
        ("a@haven.test", 2026, 6, 2, 1, 10, 10.0),
        ("b@haven.test", 2026, 6, 3, 2, 292, 0.7),
    ],
    "per_scene": [
        ("bedroom", "dynamic_mockups", 2, 0, 2),
        ("living_room", "dynamic_mockups", 2, 1, 1),
        ("bedroom", "local", 1, 0, 0),
    ],
    "failure_rate_by_renderer": [
        ("dynamic_mockups", 7, 2, 0.2857),
        ("local", 1, 0, 0.0),
    ],
    "near_annual_budget": [
        ("a@haven.test", 3, 3, 0, 100.0),
    ],
    "daily_trend": [
        ("2026-06-10", 4, 1, 3),
        ("2026-06-11", 1, 0, 0),
    ],
}


def _queries() -> dict[str, str]:
    return dict(QUERY.findall(DOC.read_text()))


def _plain(value):
    """Numbers as Python numbers (PostgreSQL's ROUND and SUM give Decimal)."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() or "." in str(value) else int(value)
    return value


def test_the_doc_has_each_question():
    assert set(_queries()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_query_answers_as_documented(world, name):
    book_scenario(world)
    analytics.rebuild_tables(world.ctx.engine)
    with world.ctx.engine.connect() as conn:
        rows = [tuple(_plain(v) for v in row) for row in conn.execute(text(_queries()[name]))]
    assert rows == EXPECTED[name]
