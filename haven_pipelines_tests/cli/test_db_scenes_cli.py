"""``haven db upgrade|status`` and ``haven scenes list``: what they print, through the services."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from haven_pipelines.cli import main
from haven_pipelines.services.renderers import OUTPUT_WIDTH


def _run(args: list[str], db_url: str, data_dir: Path):
    env = {"HAVEN_DATABASE_URL": db_url, "HAVEN_DATA_DIR": str(data_dir)}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_status_says_what_to_run_then_upgrade_brings_it_to_head(tmp_path):
    # No file yet (the sqlite_url fixture hands out an already migrated copy): status is a read and
    # creates nothing.
    path = tmp_path / "empty.db"
    sqlite_url = f"sqlite:///{path}"
    missing = _run(["db", "status"], sqlite_url, tmp_path)
    assert missing.exit_code == 1 and f"no database at {path}" in missing.output
    assert "run `haven db upgrade`" in missing.output and not path.exists()
    # An empty file: no revision yet.
    path.touch()
    before = _run(["db", "status"], sqlite_url, tmp_path)
    assert before.exit_code == 1 and "none (empty)" in before.output and "run `haven db upgrade`" in before.output
    upgraded = _run(["db", "upgrade"], sqlite_url, tmp_path)
    assert upgraded.exit_code == 0, upgraded.output
    head = upgraded.output.rsplit("(head ", 1)[1].rstrip(")\n")
    assert f"is at revision {head} (head {head})" in upgraded.output
    after = _run(["db", "status"], sqlite_url, tmp_path)
    assert after.exit_code == 0 and f"is at revision {head}, the newest" in after.output


def test_scenes_list_shows_the_five_system_scenes(db_url, tmp_path):
    assert _run(["demo", "--load", "--designs", "1"], db_url, tmp_path).exit_code == 0
    listed = _run(["scenes", "list", "--json"], db_url, tmp_path)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["scene_key"] for r in rows] == ["bedroom", "home_office", "living_room", "reading_nook", "therapy_office"]
    assert all(r["is_system"] for r in rows)
    assert (rows[0]["width"], rows[0]["height"], rows[0]["output_width"]) == (800, 1000, OUTPUT_WIDTH)
    assert rows[0]["output_height"] == round(1000 * OUTPUT_WIDTH / 800)
    lines = _run(["scenes", "list"], db_url, tmp_path).output.splitlines()
    # A header, then the size of the mockups a scene makes (not the scene's own pixel space).
    assert lines[0].split()[:4] == ["scene", "kind", "output", "px"]
    assert lines[1].split()[:3] == ["bedroom", "system", f"{OUTPUT_WIDTH}x{round(1000 * OUTPUT_WIDTH / 800)}"]


def test_scenes_list_for_an_unknown_user_is_a_one_line_error(db_url, tmp_path):
    result = _run(["scenes", "list", "--user", "nobody@haven.test"], db_url, tmp_path)
    assert result.exit_code == 1 and "nobody@haven.test" in result.output and "Traceback" not in result.output


def test_grant_analyst_maps_a_login_to_one_shop_on_postgresql_and_refuses_on_sqlite(db_url, tmp_path):
    from sqlalchemy import text

    from haven_pipelines.db.engine import create_engine
    from haven_pipelines_tests.conftest import ADMIN_URL, session_role_prefix

    assert _run(["demo", "--load", "--designs", "1"], db_url, tmp_path).exit_code == 0
    login = f"{session_role_prefix()}cli_analyst"
    result = _run(["db", "grant-analyst", "--user", "demo@haven.local", "--login", login, "--json"], db_url, tmp_path)
    if db_url.startswith("sqlite"):
        assert result.exit_code == 1 and "PostgreSQL" in result.output and "Traceback" not in result.output
        return
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        assert result.exit_code == 0, result.output
        granted = json.loads(result.output)
        assert (granted["login"], granted["email"], granted["created"]) == (login, "demo@haven.local", True)
        again = _run(["db", "grant-analyst", "--user", "demo@haven.local", "--login", login], db_url, tmp_path)
        assert again.exit_code == 0 and "existing" in again.output and "demo@haven.local only" in again.output
        bad = _run(["db", "grant-analyst", "--user", "demo@haven.local", "--login", "Bad-Name"], db_url, tmp_path)
        assert bad.exit_code == 1 and "login" in bad.output
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))
        admin.dispose()
