"""Shared fixtures: migrated databases on SQLite and on the real PostgreSQL server.

PostgreSQL: ``HAVEN_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names an admin connection; each test that asks for a database gets a fresh one created from it and
dropped afterwards, so that parallel sessions never share state. Where no server answers, those
tests skip with the reason, except under CI (``CI=true``), where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade

ADMIN_URL = os.environ.get("HAVEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_state: dict[str, str | None] = {}


def _postgres_unavailable_reason() -> str | None:
    if "reason" not in _pg_state:
        try:
            engine = create_engine(ADMIN_URL, pool_size=1, max_overflow=0)
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # any failure to connect means "no server here"
            _pg_state["reason"] = f"PostgreSQL not reachable at {make_url(ADMIN_URL).render_as_string()}: {exc.__class__.__name__}"
    return _pg_state["reason"]


def require_postgres() -> None:
    """Skip (or, under CI, fail) when no PostgreSQL server answers."""
    reason = _postgres_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
    pytest.skip(reason)


def create_pg_database(prefix: str = "haven_test") -> str:
    """Create an empty database with a unique name; returns its URL."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database`, closing its connections."""
    name = make_url(url).database
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'haven.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A migrated database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'haven.db'}"
        upgrade(url)
        yield url
        return
    url = create_pg_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    """An engine on the migrated database of :func:`db_url` (both backends)."""
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url) -> Iterator[Engine]:
    """An engine on a migrated SQLite database only (for tests that need no PostgreSQL variant)."""
    upgrade(sqlite_url)
    eng = create_engine(sqlite_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def pg_engine(pg_url) -> Iterator[Engine]:
    """An engine on a migrated PostgreSQL database only."""
    upgrade(pg_url)
    eng = create_engine(pg_url)
    try:
        yield eng
    finally:
        eng.dispose()
