"""Reliability suite plumbing: the ``reliability_record`` fixture and the RELIABILITY.md check.

``reliability_record(section, scenario, injected, behaviour, invariants, figures)`` adds one scenario
to the session's report (see :mod:`haven_pipelines_tests.reliability.report`). When the session ran
*every* test of this folder and all of them passed, the report is rendered and

- written to ``RELIABILITY.md`` when ``HAVEN_WRITE_RELIABILITY=1``;
- otherwise compared with the committed file, failing the run if they differ.

A subset (``-k``, ``-m``, a file or node id, ``--ignore``, ``-x`` stopping early, a skip) neither
writes nor compares: a partial run cannot vouch for the whole report.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
from pathlib import Path

import pytest

from haven_pipelines_tests.reliability.report import (
    REPORT_PATH,
    WRITE_ENV,
    Collector,
    comparable,
    lost_total,
    make_record,
    render,
)

HERE = Path(__file__).resolve().parent
_COLLECTOR = pytest.StashKey[Collector]()
_STATE = pytest.StashKey[dict]()


def _in_folder(path: str | os.PathLike) -> bool:
    return HERE in Path(path).resolve().parents or Path(path).resolve() == HERE


def _state(config: pytest.Config) -> dict:
    if _STATE not in config.stash:
        config.stash[_STATE] = {"items": set(), "passed": set(), "failed": set(), "deselected": 0, "files": set()}
    return config.stash[_STATE]


def _collector(config: pytest.Config) -> Collector:
    if _COLLECTOR not in config.stash:
        config.stash[_COLLECTOR] = Collector()
    return config.stash[_COLLECTOR]


@pytest.fixture
def reliability_record(request):
    """Record one scenario in the reliability report (call once per scenario, after its assertions)."""
    collector = _collector(request.config)

    def record(section, scenario, injected, behaviour, invariants, figures):
        collector.add(make_record(section, scenario, injected, behaviour, list(invariants), dict(figures)))

    return record


def _known_fake_secrets() -> dict[str, str]:
    """The keys and tokens the fakes accept by default: every scenario of this folder runs with them."""
    from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups
    from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV
    from haven_pipelines_tests.fakes.shopify.server import DEFAULT_TOKEN

    dm_key = inspect.signature(FakeDynamicMockups.__init__).parameters["api_key"].default
    return {"Dynamic Mockups API key": dm_key, "Shopify token": DEFAULT_TOKEN,
            "AWS secret key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"], "AWS session token": FAKE_AWS_ENV["AWS_SESSION_TOKEN"]}


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog):
    """Every scenario here: the fakes' known keys and tokens never reach a log record (INFO and up)."""
    caplog.set_level(logging.INFO)
    yield
    secrets = _known_fake_secrets()
    records = caplog.get_records("setup") + caplog.get_records("call")
    leaks = sorted({f"{name} in a {record.name} record" for record in records
                    for name, value in secrets.items() if value in record.getMessage() or value in str(record.exc_text or "")})
    assert not leaks, f"secrets in logs: {leaks}"


def pytest_deselected(items):
    """Note deselection of any test of this folder (``-k``, ``-m``, ``--deselect``, ``--lf``)."""
    for item in items:
        if _in_folder(item.path):
            _state(item.config)["deselected"] += 1


def pytest_collection_finish(session):
    """Remember which tests of this folder will run, and from which files."""
    state = _state(session.config)
    for item in session.items:
        if _in_folder(item.path):
            state["items"].add(item.nodeid)
            state["files"].add(item.path.name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Outcome of each phase of this folder's tests."""
    outcome = yield
    if not _in_folder(item.path):
        return
    report = outcome.get_result()
    state = _state(item.config)
    if report.failed or report.skipped:
        state["failed"].add(item.nodeid)
    elif report.when == "call" and report.passed:
        state["passed"].add(item.nodeid)


def _whole_folder_requested(config: pytest.Config, state: dict) -> bool:
    """True when the command line asked for this folder (or an ancestor) and nothing was left out."""
    asked = False
    for arg in config.args:
        if "::" in arg:
            continue
        path = Path(arg).resolve()
        if path == HERE or path in HERE.parents:
            asked = True
    on_disk = {p.name for p in HERE.glob("test_*.py")}
    return asked and state["deselected"] == 0 and state["files"] == on_disk


def pytest_sessionfinish(session, exitstatus):
    """Write or check RELIABILITY.md after a whole, green run of this folder."""
    config = session.config
    state = _state(config)
    if not state["items"] or not _whole_folder_requested(config, state):
        return
    all_passed = not state["failed"] and state["passed"] == state["items"]
    if exitstatus != 0 or not all_passed:
        return
    records = _collector(config).sorted()
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line)

    if lost_total(records):
        say(f"RELIABILITY: {lost_total(records)} item(s) recorded as lost; the report refuses to call that a pass")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    text = render(records)
    if os.environ.get(WRITE_ENV) == "1":
        REPORT_PATH.write_text(text, encoding="utf-8")
        say(f"RELIABILITY: wrote {REPORT_PATH.name} ({len(records)} scenarios)")
        return
    committed = REPORT_PATH.read_text(encoding="utf-8") if REPORT_PATH.exists() else ""
    if comparable(committed) != comparable(text):
        # Diff what is compared, so that the lines shown are the ones that made the check fail.
        diff = "".join(difflib.unified_diff(comparable(committed).splitlines(True), comparable(text).splitlines(True),
                                            "RELIABILITY.md (committed)", "RELIABILITY.md (this run)", n=1))
        say(f"RELIABILITY: {REPORT_PATH.name} does not match what this run proved; "
            f"regenerate with {WRITE_ENV}=1 .venv/bin/python -m pytest haven_pipelines_tests/reliability and commit it")
        for line in diff.splitlines()[:60]:
            say(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
