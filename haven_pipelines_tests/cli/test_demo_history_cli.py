"""``haven demo --load --history N`` end to end on a temporary SQLite: what it says, the analyst tables
it leaves (every row demo), and a second load that adds nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import func, select

from haven_pipelines.cli import main
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import mockup_credit_usage


def _ledger_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(mockup_credit_usage)).scalar_one()
    finally:
        engine.dispose()


def test_history_loads_once_and_the_report_shows_it(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HAVEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--load", "--designs", "1", "--history", "6"])
    assert first.exit_code == 0, first.output
    assert "demo history" in first.output and "marked demo" in first.output
    assert "analyst tables rebuilt" in first.output
    rows = _ledger_rows(sqlite_url)
    assert rows > 0

    report = json.loads(runner.invoke(main, ["credits", "report", "--by", "day", "--format", "json"]).output)
    assert report["rows"] and all(r["demo"] is True for r in report["rows"])
    # Ledger rows are charges and refunds: every charge is a render, every refund a failed one.
    assert sum(r["renders"] + r["failed_renders"] for r in report["rows"]) == rows

    second = runner.invoke(main, ["demo", "--load", "--designs", "1", "--history", "6"])
    assert second.exit_code == 0, second.output
    assert "0 render(s) booked" in second.output and "nothing to add" in second.output
    assert _ledger_rows(sqlite_url) == rows


def test_history_out_of_range_is_refused_by_name(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("HAVEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["demo", "--load", "--history", "0"])
    assert result.exit_code == 2 and "--history" in result.output
