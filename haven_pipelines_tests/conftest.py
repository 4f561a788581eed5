"""Shared fixtures: migrated databases on SQLite and on the real PostgreSQL server.

PostgreSQL: ``HAVEN_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names an admin connection; each test that asks for a database gets a fresh one created from it and
dropped afterwards, so that parallel sessions never share state. Where no server answers, those
tests skip with the reason, except under CI (``CI`` set to ``true``, ``1`` or ``yes``), where they
fail: CI must run them.

PostgreSQL roles are server-wide, and the migrations create some (migration 0008): each session
sets ``HAVEN_DB_ROLE_PREFIX`` to a prefix of its own (unless the caller set one), so concurrent
sessions never share or drop each other's roles, and drops every role with that prefix at its end,
after its databases are gone.

Migrating costs far more than copying, so each backend is migrated once per test session into a
template (a PostgreSQL database named uniquely for this session, dropped at its end; a SQLite file in
the session's temporary folder) and every test gets its own copy of it (``CREATE DATABASE ...
TEMPLATE``; a copied file). A copy is the migrated schema and seeds exactly, and no two tests share
one. Tests of the migrations themselves make empty databases with :func:`create_pg_database` or a
new SQLite file and migrate those.

Under pytest-xdist (``scripts/test.sh`` runs several workers) each worker is a session of its own:
its own template (named with the worker's id, e.g. ``haven_template_gw1_...``), its own role prefix,
its own temporary folders. What must be decided once for the whole run is gathered in the controller
through ``workeroutput``: the RELIABILITY.md check (:mod:`haven_pipelines_tests.reliability.plugin`)
and the lines added with :func:`add_summary_line` for pytest's closing summary.

The ``daemon`` and ``browser`` markers are checked, not trusted: a test that launches
``dagster-daemon``, ``dagster-webserver`` or ``dagster dev`` without the ``daemon`` marker, or starts
Playwright's driver (which launches the browser) without ``browser``, fails at that launch.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.migrate import upgrade

# The RELIABILITY.md check: registered here, at the top, so that an xdist controller (which collects
# nothing, and so never loads the reliability folder's conftest) runs it too.
pytest_plugins = ["haven_pipelines_tests.reliability.plugin"]

ADMIN_URL = os.environ.get("HAVEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_state: dict[str, str | None] = {}


def running_under_ci() -> bool:
    """True when ``CI`` says so in any of the usual spellings (``true``, ``1``, ``yes``; any case)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def xdist_worker() -> str | None:
    """This process's pytest-xdist worker id (``gw0``, ``gw1`` ...), or None when not an xdist worker."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


# -- the daemon and browser markers, enforced -------------------------------------------------------

#: The test being set up, run or torn down in this process (what a launch is charged to).
_current: dict[str, pytest.Item | None] = {"item": None}


def launch_marker(args) -> str | None:
    """The marker a test needs to launch the program ``args`` (a ``Popen`` argument list), or None.

    ``daemon``: ``dagster-daemon``, ``dagster-webserver`` or ``dagster dev``. ``browser``: Playwright's
    driver (``<node> <cli.js> run-driver``), the process that launches Chromium.
    """
    if isinstance(args, str | bytes):
        argv = os.fsdecode(args).split()  # a shell command line
    elif isinstance(args, os.PathLike):
        argv = [os.fspath(args)]
    else:
        argv = [os.fsdecode(a) for a in args or ()]
    if not argv:
        return None
    program = os.path.basename(argv[0])
    if program in ("dagster-daemon", "dagster-webserver") or (program == "dagster" and "dev" in argv[1:2]):
        return "daemon"
    if "run-driver" in argv:
        return "browser"
    return None


def _audit(event: str, args: tuple) -> None:
    # An audit hook sees every subprocess.Popen of this process, asyncio's (Playwright's) included.
    if event != "subprocess.Popen":
        return
    item = _current["item"]
    if item is None:
        return
    needed = launch_marker(args[1])
    if needed and item.get_closest_marker(needed) is None:
        raise RuntimeError(f"{item.nodeid} launches {args[1]!r} but is not marked @pytest.mark.{needed} "
                           "(see the markers in pyproject.toml)")


def pytest_configure(config: pytest.Config) -> None:
    """Watch launches (see :func:`launch_marker`); an audit hook stays for the process, so add it once."""
    if not getattr(sys, "_haven_launch_audit", False):
        sys.addaudithook(_audit)
        sys._haven_launch_audit = True  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """Charge launches to the test running (its setup, session fixtures included, call and teardown)."""
    _current["item"] = item
    try:
        return (yield)
    finally:
        _current["item"] = None


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("daemon") or item.get_closest_marker("browser"):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the longest tests first (daemon and browser, then slow; otherwise as collected).

    ``scripts/test.sh`` has xdist hand out whole files in the order their first test appears here
    (``--dist loadfile --no-loadscope-reorder``), as workers free up: a long test collected last would
    run alone at the end while the other workers idle. Every worker sorts the same way (the order must
    be the same in each), and a serial run keeps the collection order.
    """
    if xdist_worker():
        items.sort(key=_start_order)  # stable: the collection order within each kind


# -- lines for pytest's closing summary, gathered from xdist workers -------------------------------

_SUMMARY = pytest.StashKey[list[str]]()
_SUMMARY_OUTPUT_KEY = "haven_summary_lines"


def add_summary_line(config: pytest.Config, line: str) -> None:
    """Print ``line`` in pytest's closing summary (also from an xdist worker, whose own summary nobody sees)."""
    lines = config.stash.setdefault(_SUMMARY, [])
    if line not in lines:
        lines.append(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its summary lines to the controller (xdist sends ``workeroutput`` after this)."""
    if hasattr(session.config, "workerinput"):
        session.config.workeroutput[_SUMMARY_OUTPUT_KEY] = list(session.config.stash.get(_SUMMARY, []))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: a worker finished; keep its summary lines."""
    for line in (getattr(node, "workeroutput", None) or {}).get(_SUMMARY_OUTPUT_KEY, []):
        add_summary_line(node.config, line)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """The lines of :func:`add_summary_line`, in pytest's closing summary (shown without ``-s``)."""
    for line in config.stash.get(_SUMMARY, []):
        terminalreporter.write_line(line)


# -- PostgreSQL -------------------------------------------------------------------------------------

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
    if running_under_ci():
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
    pytest.skip(reason)


def admin_execute(sql: str) -> None:
    """Run one statement on the admin database outside a transaction (CREATE/DROP DATABASE and ROLE need that)."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def create_pg_database(prefix: str = "haven_test", template: str | None = None) -> str:
    """Create a database with a unique name, empty or a copy of ``template``; returns its URL.

    PostgreSQL copies a template only while nobody is connected to it, so whoever built the
    template must have disposed of its engines first.
    """
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database`, closing its connections."""
    admin_execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def copy_sqlite_template(template: Path, folder: Path, name: str = "haven.db") -> str:
    """Copy the migrated SQLite ``template`` to ``folder / name``; returns the copy's URL."""
    target = folder / name
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def session_role_prefix() -> str:
    """The database-role prefix of this test session (``HAVEN_DB_ROLE_PREFIX``)."""
    return os.environ["HAVEN_DB_ROLE_PREFIX"]


@pytest.fixture(scope="session", autouse=True)
def _session_roles() -> Iterator[str]:
    """A role prefix unique to this session (set in the environment, so launched processes share
    it), and at the session's end, after every database of the session is dropped, its roles dropped.

    A prefix the caller chose is kept, except that each xdist worker appends its id to it (``gw0_``):
    the workers migrate at the same moment, and two creating the same role would collide.
    """
    chosen = os.environ.get("HAVEN_DB_ROLE_PREFIX")
    worker = xdist_worker()
    if chosen and worker and not chosen.endswith(f"{worker}_"):
        chosen = f"{chosen}{worker}_"
    prefix = chosen or f"haven_t{uuid.uuid4().hex[:10]}_"
    os.environ["HAVEN_DB_ROLE_PREFIX"] = prefix
    try:
        yield prefix
    finally:
        if not chosen:
            os.environ.pop("HAVEN_DB_ROLE_PREFIX", None)
            if _pg_state.get("reason", "unchecked") is None:
                drop_roles(prefix)


def drop_roles(prefix: str) -> list[str]:
    """Drop every role whose name starts with ``prefix`` (logins first, then the group roles)."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        with admin.connect() as conn:
            names = conn.execute(text("SELECT rolname FROM pg_roles WHERE left(rolname, length(:p)) = :p "
                                      "ORDER BY rolcanlogin DESC, rolname"), {"p": prefix}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        return list(names)
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Name of a PostgreSQL database migrated once for this session, to copy per test (dropped at the end).

    The name is unique per session (uuid; an xdist worker's id too, so one can tell whose it is), so
    parallel sessions and workers never copy or drop each other's.
    """
    url = create_pg_database(f"haven_template_{xdist_worker()}" if xdist_worker() else "haven_template")
    try:
        upgrade(url)  # upgrade() disposes of its own engine: no connection is left on the template
        yield make_url(url).database
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once for this session, to copy per test."""
    path = tmp_path_factory.mktemp("sqlite_template") / "haven.db"
    upgrade(f"sqlite:///{path}")
    # Fold the write-ahead log into the file, so that copying the one file copies everything.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    assert not path.with_name(f"{path.name}-wal").exists(), "the template's write-ahead log was not folded in"
    return path


@pytest.fixture
def pg_url(pg_template) -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database of this test alone (dropped after the test)."""
    url = create_pg_database(template=pg_template)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    """URL of a fresh, migrated SQLite file in the test's temporary folder."""
    return copy_sqlite_template(sqlite_template, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> Iterator[str]:
    """A fresh, migrated database URL, once on SQLite and once on PostgreSQL."""
    # Asked for by name, so that a SQLite run never builds (or skips for want of) the PostgreSQL
    # template. On SQLite it is the test's one file, the same as :func:`sqlite_url`.
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    url = create_pg_database(template=request.getfixturevalue("pg_template"))
    try:
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
    eng = create_engine(sqlite_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def pg_engine(pg_url) -> Iterator[Engine]:
    """An engine on a migrated PostgreSQL database only."""
    eng = create_engine(pg_url)
    try:
        yield eng
    finally:
        eng.dispose()
