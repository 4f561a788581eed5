"""The ``haven`` CLI as a new user meets it (issue 13, "CLI friction"): a missing or unmigrated
database is named with the command that fixes it and nothing is created by a read; bad options are
named with their valid choices; years are range-checked; every table has a header; the run summary
tells this run's work from the totals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from haven_pipelines.cli import main
from haven_pipelines.cli.common import FIRST_YEAR
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade
from haven_pipelines.domain.labels import design_partition_key
from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.services.summary import catalogue_summary
from haven_pipelines_tests.conftest import ADMIN_URL, create_pg_database, drop_pg_database, require_postgres

UNKNOWN_DESIGN = "00000000-0000-0000-0000-00000000beef"

# Commands that only read, and one that would write: none may create the database.
READS = [
    ["scenes", "list"],
    ["credits", "show"],
    ["mockups", "list"],
    ["products", "list"],
    ["approvals", "list"],
    ["settings", "show"],
    ["render", "--design", UNKNOWN_DESIGN, "--scene", "bedroom"],
]


def _clean(monkeypatch, tmp_path):
    for name in ("HAVEN_DATABASE_URL", "HAVEN_DATA_DIR", "HAVEN_RENDERER", "HAVEN_S3_BUCKET", "HAVEN_SHOPIFY_MODE",
                 "HAVEN_SHOPIFY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _no_trace(result) -> None:
    assert "Traceback" not in result.output and "sqlalchemy" not in result.output.lower(), result.output


@pytest.mark.parametrize("args", READS, ids=[" ".join(a[:2]) for a in READS])
def test_from_another_folder_a_command_creates_nothing_and_says_what_to_run(args, tmp_path, monkeypatch):
    _clean(monkeypatch, tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    _no_trace(result)
    assert f"no database at {tmp_path / '.haven' / 'haven.db'}" in result.output
    assert "HAVEN_DATA_DIR" in result.output and "run `haven db upgrade`" in result.output
    assert list(tmp_path.iterdir()) == []  # no ./.haven, no haven.db, no images folder


def test_db_status_from_another_folder_creates_nothing(tmp_path, monkeypatch):
    _clean(monkeypatch, tmp_path)
    result = CliRunner().invoke(main, ["db", "status"])
    assert result.exit_code == 1 and "no database at" in result.output and "haven db upgrade" in result.output
    assert list(tmp_path.iterdir()) == []
    # `haven db upgrade` is the one command that creates it (folder included).
    created = CliRunner().invoke(main, ["db", "upgrade"])
    assert created.exit_code == 0, created.output
    assert (tmp_path / ".haven" / "haven.db").is_file()
    assert CliRunner().invoke(main, ["db", "status"]).exit_code == 0
    # Past the database check now: what is missing is the user.
    assert "user demo@haven.local not found" in CliRunner().invoke(main, ["scenes", "list"]).output


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path):
    """An existing database without any table, on SQLite (an empty file) and on PostgreSQL."""
    if request.param == "sqlite":
        (tmp_path / "empty.db").touch()
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = create_pg_database("haven_empty")
    try:
        yield url
    finally:
        drop_pg_database(url)


def test_an_unmigrated_database_is_named_with_the_command_to_run(empty_db_url, tmp_path, monkeypatch):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("HAVEN_DATABASE_URL", empty_db_url)
    for args in (["scenes", "list"], ["render", "--design", UNKNOWN_DESIGN, "--scene", "bedroom"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        _no_trace(result)
        assert "is not migrated (it has no tables yet): run `haven db upgrade`" in result.output


def test_a_database_behind_the_newest_schema_is_named_with_the_command_to_run(tmp_path, monkeypatch):
    _clean(monkeypatch, tmp_path)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0001")
    monkeypatch.setenv("HAVEN_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["credits", "show"])
    assert result.exit_code == 1 and "is at revision 0001" in result.output and "run `haven db upgrade`" in result.output
    _no_trace(result)


@pytest.mark.postgres
def test_an_unreachable_database_is_one_line_without_a_trace(tmp_path, monkeypatch):
    _clean(monkeypatch, tmp_path)
    missing = make_url(ADMIN_URL).set(database=f"haven_absent_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    require_postgres()  # a server that answers, with no such database on it
    monkeypatch.setenv("HAVEN_DATABASE_URL", missing)
    result = CliRunner().invoke(main, ["scenes", "list"])
    assert result.exit_code == 1 and "cannot open the database" in result.output
    assert make_url(missing).database in result.output and "HAVEN_DATABASE_URL" in result.output
    _no_trace(result)


def test_an_unknown_scene_names_the_option_and_lists_the_valid_scenes(haven_sqlite):
    design = haven_sqlite.designs()[0]["id"]
    keys = [s.key for s in SYSTEM_SCENES]
    for args in (["render", "--design", design, "--scene", "kitchen"], ["mockups", "list", "--scene", "kitchen"]):
        result = haven_sqlite(*args, ok=False)
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--scene': unknown scene 'kitchen'" in result.output
        assert all(key in result.output for key in keys)
    assert haven_sqlite.json("mockups", "list")["total"] == 0  # nothing rendered


def test_a_design_that_is_not_an_id_names_the_option(haven_sqlite):
    cases = [
        ["render", "--design", "not-a-uuid", "--scene", "bedroom"],
        ["mockups", "list", "--design", "not-a-uuid"],
        ["products", "build", "--design", "not-a-uuid"],
        ["approvals", "approve", "--all", "--design", "not-a-uuid"],
    ]
    for args in cases:
        result = haven_sqlite(*args, ok=False)
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--design': 'not-a-uuid' is neither a design id" in result.output


def test_years_and_months_out_of_range_are_refused_naming_the_option(haven_sqlite):
    next_year = datetime.now(UTC).year + 1
    for year in ("1800", str(FIRST_YEAR - 1), str(next_year + 1), "soon"):
        result = haven_sqlite("credits", "show", "--year", year, ok=False)
        assert result.exit_code == 2 and "Invalid value for '--year'" in result.output, result.output
        if year != "soon":
            assert f"give a year from {FIRST_YEAR} to {next_year}" in result.output
    for month in ("0", "13"):
        result = haven_sqlite("credits", "show", "--month", month, ok=False)
        assert result.exit_code == 2 and "Invalid value for '--month'" in result.output
    assert haven_sqlite.json("credits", "show", "--year", str(FIRST_YEAR))["year"] == FIRST_YEAR
    assert haven_sqlite.json("credits", "show", "--year", str(next_year), "--month", "1")["year"] == next_year


def _header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_every_table_the_cli_prints_has_a_header(haven_sqlite):
    first = haven_sqlite.designs()[0]
    design = first["id"]
    rendered = haven_sqlite("render", "--design", design, "--scene", "bedroom")
    assert _header(rendered.output) == ["status", "scene", "design", "mockup", "url", "or", "error"]
    # The design by the key the Dagster UI lists, as ``mockups list`` names it.
    assert rendered.output.splitlines()[1].split()[1:3] == ["bedroom", design_partition_key(first["text"], design)]
    listed = haven_sqlite("mockups", "list").output.splitlines()
    assert listed[0].split() == ["mockup", "design", "status", "scene", "collection", "image", "url", "or", "error"]
    assert listed[1].split()[3] == "bedroom" and listed[-1] == "1 of 1"
    built = haven_sqlite.json("products", "build", "--design", design)
    products = haven_sqlite("products", "list").output.splitlines()
    assert products[0].split() == ["product", "status", "variants", "images", "title"]
    assert products[1].split()[0] == built["product_id"]
    scenes = haven_sqlite("scenes", "list").output.splitlines()
    assert scenes[0].split() == ["scene", "kind", "output", "px", "dynamic", "mockups", "template", "source", "description"]
    assert len(scenes) == 1 + len(SYSTEM_SCENES)
    pricing = haven_sqlite("pricing", "list").output.splitlines()
    assert pricing[0].split()[:5] == ["size", "base", "framed", "digital", "cost"]


def test_the_approvals_table_has_a_header(haven_sqlite):
    haven_sqlite("settings", "set", "--mode", "supervised")
    first = haven_sqlite.designs()[0]
    haven_sqlite("render", "--design", first["id"], "--scene", "bedroom")
    lines = haven_sqlite("approvals", "list").output.splitlines()
    assert lines[0].split() == ["item", "type", "status", "scene", "or", "title", "quote", "design"]
    assert lines[1].split()[1:4] == ["mockup", "pending", "bedroom"]
    assert lines[1].endswith(design_partition_key(first["text"], first["id"]))
    approved = haven_sqlite("approvals", "approve", "--all").output.splitlines()
    assert approved[0].endswith(f"(design {design_partition_key(first['text'], first['id'])})")


def test_the_run_summary_separates_this_run_from_the_totals(haven_sqlite, capsys):
    from haven_pipelines.cli.pipeline import _summary

    designs = haven_sqlite.designs()
    engine = create_engine(haven_sqlite.url)
    try:
        before = catalogue_summary(engine)
        haven_sqlite("render", "--design", designs[0]["id"], "--scene", "bedroom", "--scene", "reading_nook")
        _summary(engine, 1, before)
        first = capsys.readouterr().out
        again = catalogue_summary(engine)
        haven_sqlite("render", "--design", designs[1]["id"], "--scene", "bedroom")
        _summary(engine, 1, again)
        second = capsys.readouterr().out
    finally:
        engine.dispose()

    def section(text: str, title: str) -> dict[str, str]:
        lines = text.split(f"\n{title}\n", 1)[1].splitlines()
        rows = {}
        for line in lines:
            if not line.startswith("  "):
                break
            name, _, rest = line.strip().partition(" ")
            rows[name] = rest.strip()
        return rows

    # The second run made one mockup: "this run" says 1, the totals 3 (the first run's 2 as well).
    assert section(first, "This run")["mockups"] == "2 new" and section(first, "Totals (everything so far)")["mockups"].startswith("2 ")
    assert section(second, "This run")["mockups"] == "1 new"
    assert section(second, "Totals (everything so far)")["mockups"].startswith("3 ")
    assert section(second, "This run")["designs"] == "1 materialised"
    assert section(second, "Totals (everything so far)")["designs"] == "2 approved"
