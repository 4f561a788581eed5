"""The test harness itself: the daemon/browser markers are enforced, and what an xdist worker hands
the controller for RELIABILITY.md survives the trip whole."""

from __future__ import annotations

import stat
import subprocess
import sys
from types import SimpleNamespace

import execnet
import pytest

from haven_pipelines_tests.conftest import launch_marker
from haven_pipelines_tests.reliability import plugin
from haven_pipelines_tests.reliability.report import make_record, render


@pytest.mark.parametrize(("args", "marker"), [
    (["/venv/bin/dagster-daemon", "run", "-w", "workspace.yaml"], "daemon"),
    (["/venv/bin/dagster-webserver", "-h", "127.0.0.1", "-p", "0"], "daemon"),
    (["dagster", "dev", "-m", "haven_pipelines.definitions"], "daemon"),
    ("dagster-webserver -p 3000", "daemon"),
    (["/venv/lib/playwright/driver/node", "/venv/lib/playwright/driver/package/cli.js", "run-driver"], "browser"),
    (["/venv/bin/dagster", "sensor", "start", "approved_designs_sensor"], None),
    (["/venv/bin/haven", "pipeline", "run"], None),
    ([sys.executable, "-c", "print('dagster-webserver')"], None),
    ([], None),
])
def test_launches_that_need_a_marker(args, marker):
    assert launch_marker(args) == marker


def test_a_test_without_the_daemon_marker_cannot_launch_the_webserver(tmp_path):
    fake = tmp_path / "dagster-webserver"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(RuntimeError, match=r"is not marked @pytest\.mark\.daemon"):
        subprocess.run([str(fake)], check=True)
    # Any other program runs as usual.
    other = tmp_path / "haven"
    other.write_text("#!/bin/sh\nexit 0\n")
    other.chmod(other.stat().st_mode | stat.S_IXUSR)
    assert subprocess.run([str(other)], check=True).returncode == 0


def _fake_config() -> SimpleNamespace:
    """Just what the plugin keeps its state in (never this session's own config: its report is real)."""
    return SimpleNamespace(stash=pytest.Stash())


def test_a_workers_share_of_the_report_crosses_execnet_and_merges_into_the_same_report():
    records = [
        make_record("Faults: storage", "S3 refuses writes", "503 on PUT", "retried, then failed visibly",
                    ["nothing lost"], {"renders_verified": 3, "lost": 0, "p95_ms": 12.5, "label": "s3"}),
        make_record("Load", "10,000 designs", "one tick", "one run request per design",
                    ["no duplicate"], {"designs": 10_000, "ratio": 1.25}),
    ]
    workers = [_fake_config(), _fake_config()]
    for worker, record, nodeid in zip(workers, records, ["t.py::a", "t.py::b"], strict=True):
        state = plugin._state(worker)
        state["items"] |= {"t.py::a", "t.py::b"}
        state["files"] |= {"t.py"}
        state["passed"].add(nodeid)
        plugin.collector(worker).add(record)
    controller = _fake_config()
    for worker in workers:
        sent = execnet.loads(execnet.dumps(plugin._worker_output(worker)))  # as xdist sends workeroutput
        plugin.merge_worker_output(controller, sent)
    state = plugin._state(controller)
    assert state["items"] == state["passed"] == {"t.py::a", "t.py::b"} and not state["failed"]
    assert state["files"] == {"t.py"} and state["deselected"] == 0
    assert plugin.collector(controller).sorted() == sorted(records, key=lambda r: (r.section.lower(), r.scenario.lower(), repr(r)))
    assert render(plugin.collector(controller).sorted()) == render(records)


def test_a_failure_or_deselection_on_one_worker_reaches_the_controller():
    worker = _fake_config()
    state = plugin._state(worker)
    state["items"] |= {"t.py::a", "t.py::b"}
    state["failed"].add("t.py::b")
    state["deselected"] = 1
    controller = _fake_config()
    plugin.merge_worker_output(controller, execnet.loads(execnet.dumps(plugin._worker_output(worker))))
    assert plugin._state(controller)["failed"] == {"t.py::b"}
    assert plugin._state(controller)["deselected"] == 1
