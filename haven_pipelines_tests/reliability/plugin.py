"""The RELIABILITY.md check, as a pytest plugin (registered by ``haven_pipelines_tests/conftest.py``).

Each reliability scenario adds a record to its session's :class:`Collector` (the ``reliability_record``
fixture of ``conftest.py`` beside this module). When the run executed *every* test of this folder and
all of them passed, the records are rendered and

- written to ``RELIABILITY.md`` when ``HAVEN_WRITE_RELIABILITY=1``;
- otherwise compared with the committed file, failing the run if they differ.

A subset (``-k``, ``-m``, a file or node id, ``--ignore``, ``-x`` stopping early, a skip) neither
writes nor compares: a partial run cannot vouch for the whole report.

Under pytest-xdist the scenarios run in several worker processes, each with its own collector. Each
worker hands its records and what it saw (the folder's tests collected, passed and failed, the
deselections) to the controller through ``workeroutput``; the controller merges them as each worker
finishes and decides once, at its own session end, exactly as a single process does. A worker never
writes or compares. That is why this is a plugin of the top-level conftest: the controller collects
nothing, so it never loads the folder's own conftest, and its hooks would not run there.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from haven_pipelines_tests.reliability.report import (
    REPORT_PATH,
    WRITE_ENV,
    Collector,
    Record,
    comparable,
    lost_total,
    render,
)

HERE = Path(__file__).resolve().parent
_COLLECTOR = pytest.StashKey[Collector]()
_STATE = pytest.StashKey[dict]()
#: The key of this plugin's part of an xdist worker's ``workeroutput``.
WORKER_OUTPUT_KEY = "haven_reliability"


def _in_folder(path: str | os.PathLike) -> bool:
    return HERE in Path(path).resolve().parents or Path(path).resolve() == HERE


def _state(config: pytest.Config) -> dict:
    if _STATE not in config.stash:
        config.stash[_STATE] = {"items": set(), "passed": set(), "failed": set(), "deselected": 0, "files": set()}
    return config.stash[_STATE]


def collector(config: pytest.Config) -> Collector:
    """This process's collector of scenario records (one per session)."""
    if _COLLECTOR not in config.stash:
        config.stash[_COLLECTOR] = Collector()
    return config.stash[_COLLECTOR]


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


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


def _worker_output(config: pytest.Config) -> dict:
    """What a worker hands the controller: plain lists and tuples (execnet sends nothing else)."""
    state = _state(config)
    records = [(r.section, r.scenario, r.injected, r.behaviour, list(r.invariants), [list(f) for f in r.figures])
               for r in collector(config).sorted()]
    return {"items": sorted(state["items"]), "passed": sorted(state["passed"]), "failed": sorted(state["failed"]),
            "deselected": state["deselected"], "files": sorted(state["files"]), "records": records}


def merge_worker_output(config: pytest.Config, output: dict) -> None:
    """Fold one worker's :func:`_worker_output` into this (the controller's) state and collector.

    Every worker collects the whole run, so the collected tests, files and deselections are the same
    in each (a union, and the largest count); the passed and failed tests and the records are each
    worker's share (unions).
    """
    state = _state(config)
    state["items"] |= set(output["items"])
    state["passed"] |= set(output["passed"])
    state["failed"] |= set(output["failed"])
    state["files"] |= set(output["files"])
    state["deselected"] = max(state["deselected"], output["deselected"])
    for section, scenario, injected, behaviour, invariants, figures in output["records"]:
        collector(config).add(Record(section, scenario, injected, behaviour, tuple(invariants),
                                     tuple((name, value) for name, value in figures)))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: a worker finished; take its share of the report (a crashed worker has none)."""
    output = getattr(node, "workeroutput", None) or {}
    if WORKER_OUTPUT_KEY in output:
        merge_worker_output(node.config, output[WORKER_OUTPUT_KEY])


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
    """Write or check RELIABILITY.md after a whole, green run of this folder (an xdist worker hands over instead)."""
    config = session.config
    if _is_xdist_worker(config):
        # xdist's own sessionfinish wraps this one and sends workeroutput after it.
        config.workeroutput[WORKER_OUTPUT_KEY] = _worker_output(config)
        return
    state = _state(config)
    if not state["items"] or not _whole_folder_requested(config, state):
        return
    all_passed = not state["failed"] and state["passed"] == state["items"]
    if exitstatus != 0 or not all_passed:
        return
    records = collector(config).sorted()
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
