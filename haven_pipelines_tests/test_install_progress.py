"""``scripts/_venv.sh`` (what ``scripts/quickstart.sh`` installs with) says what it is doing.

The install runs against a stand-in ``python`` in a temporary virtual environment folder: it prints
what ``pip install`` prints (one ``Collecting`` line per package, then the install) or fails, so the
progress lines are tested without a network or minutes of installing.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for the venv's python: only `-m pip install ...` is asked of it here.
case "$*" in
  *"--upgrade pip"*) exit 0 ;;
esac
if [ -n "${FAKE_PIP_FAIL:-}" ]; then
  echo "Collecting dagster"
  echo "ERROR: No matching distribution found for dagster"
  exit 1
fi
for i in $(seq 1 45); do echo "Collecting pkg$i"; echo "  Downloading pkg$i-1.0.whl"; done
echo "Installing collected packages: pkg1, pkg2"
echo "Successfully installed pkg1 pkg2"
"""


def _install(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return subprocess.run(["bash", "-c", "set -euo pipefail; source scripts/_venv.sh; ensure_venv"], cwd=ROOT,
                          env={**os.environ, "HAVEN_VENV": str(venv), **env}, capture_output=True, text=True,
                          timeout=60)


def test_the_install_prints_progress_lines_not_pips_whole_output(tmp_path):
    done = _install(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("==> installing haven-pipelines and its locked dependencies")
    # Every 20th package resolved, then the install, then done: a handful of lines, not 90.
    assert lines[1:] == [
        "    1 package(s) resolved so far (pkg1)",
        "    21 package(s) resolved so far (pkg21)",
        "    41 package(s) resolved so far (pkg41)",
        "    installing 45 package(s): the longest step, about a minute",
        "    installed",
        "==> installed",
    ]
    assert (tmp_path / "venv" / ".installed").exists()
    assert "Downloading pkg1" in (tmp_path / "venv" / "install.log").read_text()


def test_a_failed_install_says_so_and_shows_the_end_of_the_log(tmp_path):
    done = _install(tmp_path, FAKE_PIP_FAIL="1")
    assert done.returncode != 0
    assert "==> the install failed" in done.stderr and "No matching distribution found for dagster" in done.stderr
    assert not (tmp_path / "venv" / ".installed").exists()


def test_quickstart_announces_each_step():
    script = (ROOT / "scripts" / "quickstart.sh").read_text()
    steps = [line for line in script.splitlines() if line.startswith("say ")]
    # One line before the install and before each of the four commands that follow it.
    assert len(steps) == 5 and script.index("ensure_venv\n") > script.index(steps[0])
