"""``haven demo --load [--designs N]``: what it prints, idempotence, and its refusals."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from haven_pipelines.cli.demo import demo


def _run(args: list[str], db_url: str, data_dir: Path):
    env = {"HAVEN_DATABASE_URL": db_url, "HAVEN_DATA_DIR": str(data_dir)}
    return CliRunner().invoke(demo, args, env=env, catch_exceptions=False)


def test_load_then_load_again_then_top_up(db_url, tmp_path):
    first = _run(["--load", "--designs", "2"], db_url, tmp_path)
    assert first.exit_code == 0, first.output
    assert "user demo@haven.local" in first.output and "created, mode autopilot" in first.output
    assert "quotes: 10 created, 0 existed" in first.output
    assert "approved designs: 2 created, 0 existed" in first.output
    assert len(list((tmp_path / "images" / "designs").rglob("*.png"))) == 2

    again = _run(["--load", "--designs", "2"], db_url, tmp_path)
    assert again.exit_code == 0, again.output
    assert "existed, mode autopilot" in again.output
    assert "approved designs: 0 created, 2 existed" in again.output
    assert "nothing to add" in again.output

    more = _run(["--load", "--designs", "3"], db_url, tmp_path)
    assert "approved designs: 1 created, 2 existed" in more.output
    assert more.output.count("+ design ") == 1


def test_without_load_is_a_usage_error(tmp_path):
    result = _run([], f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert result.exit_code == 2 and "--load" in result.output


def test_bad_design_count_is_refused(tmp_path):
    result = _run(["--load", "--designs", "0"], f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert result.exit_code == 2 and "--designs" in result.output


def test_unmigrated_database_says_what_to_run(tmp_path):
    result = _run(["--load"], f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    assert result.exit_code == 1 and "haven db upgrade" in result.output
