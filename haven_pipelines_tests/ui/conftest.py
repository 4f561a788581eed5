"""The Dagster UI as a person sees it: the quickstart's graph materialised, dagster-webserver on that
instance, and Debian's Chromium driven by Playwright for Python.

The instance is made the way ``scripts/quickstart.sh`` makes it, in a temporary folder: ``haven db
upgrade``, ``haven demo --load --designs 3`` and ``haven pipeline run`` (one single-run backfill of
the three design partitions, then the analyst tables), each a real process with its own
``DAGSTER_HOME`` and ``HAVEN_DATA_DIR``. Then ``dagster-webserver`` serves that instance on a free
port of the loopback interface.

Playwright never downloads a browser here: it launches the system's Chromium
(:data:`CHROMIUM`). Without it (or without the playwright package) the tests skip with the reason,
except under CI, where they fail: ``.ci/run`` installs Chromium with apt when it is missing.

Screenshots of every page go to one folder, printed at the end of the session (set
``HAVEN_UI_SCREENSHOTS`` to choose it).

The fixtures are module-scoped (the one module here uses them): the webserver and the browser stop
as soon as the module's last test is done. Playwright's sync API keeps an asyncio event loop in the
process while it runs, and under xdist other tests may follow in the same worker; asyncio code of
theirs would find that loop (unawaited ``shutdown_asyncgens`` warnings, errors here).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from haven_pipelines_tests.conftest import add_summary_line, running_under_ci

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("HAVEN_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless run that never reaches the network on its own (updates, sync, field trials).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESIGNS = 3
# Bounded waits for slow, shared machines; a wait that runs out fails with what the server logged.
SERVER_START_S = 300
COMMAND_S = 900
PAGE_MS = 120_000


def _browser_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; or set HAVEN_CHROMIUM)"
    return None


def require_browser() -> None:
    """Skip (or, under CI, fail) when Chromium or Playwright is missing."""
    reason = _browser_missing_reason()
    if reason is None:
        return
    if running_under_ci():
        pytest.fail(f"{reason} (CI must run the browser tests; .ci/run installs chromium)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=COMMAND_S)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass(frozen=True)
class QuickstartInstance:
    """The folders of a materialised quickstart and the environment that names them."""

    data_dir: Path
    dagster_home: Path
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        """The app database's URL (SQLite in the data folder, as the quickstart makes it)."""
        return f"sqlite:///{self.data_dir / 'haven.db'}"


@pytest.fixture(scope="module")
def quickstart_instance(tmp_path_factory) -> QuickstartInstance:
    """The quickstart's commands run in a temporary folder: migrated, demo loaded, graph materialised."""
    require_browser()
    root = tmp_path_factory.mktemp("ui_quickstart")
    data_dir, home = root / "haven", root / "dagster_home"
    data_dir.mkdir()
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "DAGSTER_", "SHOPIFY_", "DYNAMIC_MOCKUPS_"))}
    env.update(HAVEN_DATA_DIR=str(data_dir), DAGSTER_HOME=str(home))
    _run([str(BIN / "haven"), "db", "upgrade"], env)
    _run([str(BIN / "haven"), "demo", "--load", "--designs", str(DESIGNS)], env)
    _run([str(BIN / "haven"), "pipeline", "run"], env)
    # A second run (nothing new to render or send) materialises the analyst tables again, so their
    # figures have two points and the UI offers plots of them.
    _run([str(BIN / "haven"), "pipeline", "run"], env)
    return QuickstartInstance(data_dir, home, env)


@pytest.fixture(scope="module")
def ui_url(quickstart_instance: QuickstartInstance) -> Iterator[str]:
    """dagster-webserver on the quickstart's instance; its base URL. Stopped (its process group) after."""
    port = _free_port()
    log = quickstart_instance.dagster_home / "webserver.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=quickstart_instance.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops the code server it starts
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                raise AssertionError(f"dagster-webserver exited {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"dagster-webserver did not answer in {SERVER_START_S} s:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=60)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory, request) -> Iterator[Path]:
    """The folder every page's screenshot goes to; named in pytest's closing summary after the session."""
    chosen = os.environ.get("HAVEN_UI_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("ui_screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    # Counted when the session's tests are done; under xdist the controller prints what a worker adds.
    add_summary_line(request.config, f"UI screenshots: {folder} ({len(list(folder.glob('*.png')))} files)")


@pytest.fixture(scope="module")
def browser(ui_url) -> Iterator[object]:
    """The system Chromium, headless, through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, ui_url) -> Iterator[object]:
    """A fresh page of the UI; the community sign-up dialog is marked as dismissed, as after a
    person's first visit, so that it never covers what the test looks at."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=ui_url)
    context.add_init_script("window.localStorage.setItem('communityNux', 'true')")
    context.set_default_timeout(PAGE_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
