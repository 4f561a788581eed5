"""``haven credits report`` on the fixed ledger of ledger_scenario (temporary SQLite): each grouping,
the three formats, the acting user's scope and the operator's, and a clear error before the tables exist."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from haven_pipelines.cli import main
from haven_pipelines.db.engine import create_engine
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.context import build_context
from haven_pipelines_tests.services.conftest import World
from haven_pipelines_tests.services.ledger_scenario import book_scenario


@pytest.fixture
def haven(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HAVEN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    engine = create_engine(sqlite_url)
    try:
        book_scenario(World(build_context(engine=engine, blob=LocalBlobStore(tmp_path / "images"))))
    finally:
        engine.dispose()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(main, ["credits", "report", *args])
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_before_the_tables_exist_it_says_how_to_build_them(haven):
    out = haven("--user", "a@haven.test", code=1)
    assert "analytics_credit_usage_monthly has not been built yet" in out
    assert "haven credits report --refresh" in out and "Traceback" not in out


def test_by_month_table_for_the_acting_user(haven):
    out = haven("--user", "a@haven.test", "--by", "month", "--refresh").splitlines()
    assert out[0] == "Mockup credits and renders by month, a@haven.test"
    assert out[1].split() == ["month", "demo", "renders", "failed_renders", "delivered_renders", "generations",
                              "regenerations", "refunds", "net_credits"]
    assert set(out[2]) <= {"-", " "}
    assert [line.split() for line in out[3:]] == [
        ["2026-05", "no", "3", "1", "2", "3", "0", "1", "2"],
        ["2026-06", "no", "2", "0", "2", "0", "1", "0", "1"],
    ]


def test_by_day_csv_and_by_scene_json(haven):
    haven("--user", "b@haven.test", "--refresh")
    rows = list(csv.DictReader(io.StringIO(haven("--user", "a@haven.test", "--by", "day", "--format", "csv"))))
    assert [(r["day"], r["demo"], r["renders"], r["net_credits"]) for r in rows] == [
        ("2026-05-03", "no", "3", "2"), ("2026-06-10", "no", "1", "1"), ("2026-06-11", "no", "1", "0")]
    data = json.loads(haven("--user", "b@haven.test", "--by", "scene", "--format", "json"))
    assert data["by"] == "scene" and data["scope"] == "b@haven.test"
    assert [(r["scene"], r["renderer"], r["demo"], r["renders"], r["failed_renders"], r["net_credits"])
            for r in data["rows"]] == [("reading_nook", "dynamic_mockups", True, 2, 1, 1),
                                       ("bedroom", "dynamic_mockups", True, 1, 0, 1)]


def test_by_user_for_every_user(haven):
    data = json.loads(haven("--all-users", "--by", "user", "--year", "2026", "--format", "json", "--refresh"))
    assert data["scope"] == "all users"
    assert [(r["email"], r["demo"], r["renders"], r["net_credits"], r["used_this_year"], r["annual_budget"],
             r["remaining_annual"], r["percent_of_annual_budget"]) for r in data["rows"]] == [
        ("a@haven.test", False, 5, 3, 3, 3, 0, 100.0),
        ("b@haven.test", True, 3, 2, 2, 3500, 3498, 0.1),
    ]
    assert json.loads(haven("--all-users", "--by", "user", "--year", "2025", "--format", "json"))["rows"] == []


def test_bad_grouping_and_unknown_user(haven):
    assert "Invalid value for '--by'" in haven("--by", "week", code=2)
    assert "nobody@haven.test" in haven("--user", "nobody@haven.test", code=1)
