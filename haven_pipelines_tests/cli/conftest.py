"""The operator CLI on a migrated database (SQLite, and PostgreSQL where the store differs): the demo
user and its approved designs, commands run through click's CliRunner as a person would type them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from haven_pipelines.cli import main
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import assets, quotes, users
from haven_pipelines.services.demo import draw_design


@dataclass
class Haven:
    """Runs ``haven`` commands against the test database; knows the demo user's designs."""

    url: str
    runner: CliRunner

    def __call__(self, *args: str, ok: bool = True, input: str | None = None) -> Result:
        result = self.runner.invoke(main, list(args), input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--json").output)

    def query(self, stmt):
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(stmt).mappings()]
        finally:
            engine.dispose()

    @property
    def user_id(self) -> str:
        return self.query(select(users.c.id).where(users.c.email == "demo@haven.local"))[0]["id"]

    def designs(self) -> list[dict]:
        """The demo designs, with their quote text, in a stable order."""
        stmt = (select(assets.c.id, assets.c.quote_id, quotes.c.text)
                .select_from(assets.join(quotes, quotes.c.id == assets.c.quote_id)).order_by(assets.c.id))
        return self.query(stmt)


#: Demo artwork already drawn in this process, by ``draw_design``'s arguments.
_DRAWN: dict[tuple, bytes] = {}


def _draw_once(index: int, text: str, collection: str) -> bytes:
    """``draw_design``, drawn once per process: it is deterministic (same arguments, same bytes; tested
    in services/test_demo.py), and these fixtures only need the demo loaded, not its drawing tested
    again (a third of a second of CPU per design, for each of the many tests here)."""
    key = (index, text, collection)
    if key not in _DRAWN:
        _DRAWN[key] = draw_design(index, text, collection)
    return _DRAWN[key]


def _haven(url: str, tmp_path, monkeypatch, designs: int) -> Haven:
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HAVEN_DATABASE_URL", url)
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    for name in ("HAVEN_RENDERER", "HAVEN_S3_BUCKET", "HAVEN_SHOPIFY_MODE", "HAVEN_SHOPIFY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    haven = Haven(url, CliRunner())
    if designs:
        from haven_pipelines.services import demo

        with monkeypatch.context() as patch:  # only for this setup load: a test's own demo commands draw
            patch.setattr(demo, "draw_design", _draw_once)
            haven("demo", "--load", "--designs", str(designs))
        return haven
    # The demo user alone, as the demo loader makes it (autopilot), without drawing designs.
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            user_id = get_or_create_user(conn, "demo@haven.local")["id"]
            SettingsStore(conn, user_id).update(global_mode="autopilot")
    finally:
        engine.dispose()
    return haven


@pytest.fixture
def haven(db_url, tmp_path, monkeypatch) -> Haven:
    """The demo user (autopilot) with two approved designs, on SQLite and on PostgreSQL."""
    return _haven(db_url, tmp_path, monkeypatch, 2)


@pytest.fixture
def haven_user(db_url, tmp_path, monkeypatch) -> Haven:
    """The demo user (autopilot) without designs, on SQLite and on PostgreSQL."""
    return _haven(db_url, tmp_path, monkeypatch, 0)


@pytest.fixture
def haven_sqlite(sqlite_url, tmp_path, monkeypatch) -> Haven:
    """The same on SQLite only, for behaviour that does not depend on the database."""
    from haven_pipelines.db.migrate import upgrade

    upgrade(sqlite_url)
    return _haven(sqlite_url, tmp_path, monkeypatch, 2)
