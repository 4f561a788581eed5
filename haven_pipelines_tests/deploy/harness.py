"""A running Haven deployment for end-to-end tests: the README's deploy profile, a real daemon, real CLIs.

:class:`Deployment` puts ``deploy/dagster.postgres.yaml`` into a temporary ``DAGSTER_HOME`` (the
Dagster instance on a throwaway PostgreSQL database), points the application at another throwaway
database, and runs the programs a person would run: ``dagster-daemon run`` (sensors, the
QueuedRunCoordinator, runs launched in their own processes), ``dagster sensor start`` and the
``haven`` command. Every program is a subprocess of this test; the daemon is started in its own
session, so that stopping its process group also stops the code server and the run workers it
spawned. :meth:`Deployment.leftover_processes` finds any process that still carries this
deployment's ``DAGSTER_HOME`` (which a test asserts is none).

Waits poll with a bound and, when the bound passes, fail with what a person would look at: every
run with its job, status, user tag and times (and the error of a failed run), the approval queue,
what each fake shop holds, and the tail of the daemon's log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import yaml
from sqlalchemy import select
from sqlalchemy.engine import make_url

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import approval_items, users
from haven_pipelines_tests.fakes.shopify_server import FakeShopify

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PROFILE = PROJECT_ROOT / "deploy" / "dagster.postgres.yaml"
WORKSPACE = PROJECT_ROOT / "workspace.yaml"
BIN = Path(sys.executable).parent
POLL_SECONDS = 2.0
USER_TAG = "haven/user"
T = TypeVar("T")


def tag_limits(profile: Path = DEPLOY_PROFILE) -> dict[str, int]:
    """The deploy profile's run tag concurrency limits, by tag key (what the coordinator enforces)."""
    config = yaml.safe_load(profile.read_text())
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    return {entry["key"]: int(entry["limit"]) for entry in limits}


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of ``(start, end)`` intervals open at one moment (an end before a start at a tie)."""
    intervals = list(intervals)  # read twice below: a generator would give its ends to no one
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))
    open_now = peak = 0
    for _, step in events:
        open_now += step
        peak = max(peak, open_now)
    return peak


@dataclass
class RunView:
    """One run as the instance records it (what the report and the assertions read)."""

    run_id: str
    job_name: str
    status: str
    tags: dict[str, str]
    start_time: float | None
    end_time: float | None
    create_time: float

    @property
    def user(self) -> str | None:
        """The ``haven/user`` tag the per-user run limit applies to (None: the run has none)."""
        return self.tags.get(USER_TAG)

    @property
    def finished(self) -> bool:
        """Whether the run has reached a final status."""
        return self.status in ("SUCCESS", "FAILURE", "CANCELED")


@dataclass
class Deployment:
    """The deployment under test; build with :meth:`create`, stop with :meth:`stop` (in a finally)."""

    root: Path
    app_url: str
    instance_db_url: str
    shops: dict[str, FakeShopify]
    env: dict[str, str] = field(default_factory=dict)
    daemon: subprocess.Popen | None = None
    _instance: dg.DagsterInstance | None = None

    @classmethod
    def create(cls, root: Path, app_url: str, instance_db_url: str, secret_key: str,
               shops: dict[str, FakeShopify]) -> Deployment:
        """Lay out ``DAGSTER_HOME`` with the deploy profile and the environment every program gets.

        Args:
            root: an empty temporary folder (DAGSTER_HOME, the data folder and the logs go here).
            app_url: the application database (migrated by the caller).
            instance_db_url: an empty database for the Dagster instance (dagster-postgres creates its tables).
            secret_key: HAVEN_SECRET_KEY (stored Shopify tokens are encrypted with it).
            shops: the fake shops by the email of the user who connects them (running).
        """
        home = root / "dagster_home"
        home.mkdir()
        pg = make_url(instance_db_url)
        profile = DEPLOY_PROFILE.read_text()
        if pg.port and pg.port != 5432:
            # The profile names PostgreSQL's standard port; a test server elsewhere gets that one line changed.
            assert profile.count("port: 5432") == 1, "deploy profile: expected one `port: 5432` line"
            profile = profile.replace("port: 5432", f"port: {pg.port}")
        (home / "dagster.yaml").write_text(profile)
        env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_USERNAME": pg.username or "postgres",
            # Trust authentication ignores the password, but the profile reads the variable.
            "DAGSTER_PG_PASSWORD": pg.password or "unused-with-trust-auth",
            "DAGSTER_PG_HOST": pg.host or "127.0.0.1",
            "DAGSTER_PG_DB": pg.database,
            "HAVEN_DATABASE_URL": app_url,
            "HAVEN_DATA_DIR": str(root / "data"),
            "HAVEN_SECRET_KEY": secret_key,
            "HAVEN_RENDERER": "local",
            "HAVEN_RENDER_WORKERS": "1",
            "HAVEN_SHOPIFY_MODE": "auto",
            # The database roles the migrations made for this test session (roles are server-wide).
            "HAVEN_DB_ROLE_PREFIX": os.environ.get("HAVEN_DB_ROLE_PREFIX", "haven_"),
        }
        return cls(root=root, app_url=app_url, instance_db_url=instance_db_url, shops=shops, env=env)

    # -- programs ------------------------------------------------------------------------------

    def process_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for a subprocess: the caller's, minus settings a developer may have, plus ours."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("HAVEN_", "DAGSTER_", "DYNAMIC_MOCKUPS_", "SHOPIFY_"))}
        base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
        return {**base, **self.env, **(extra or {})}

    def run_program(self, program: str, *args: str, extra_env: dict[str, str] | None = None,
                    timeout: float = 180) -> str:
        """Run ``program`` (from this virtualenv) to completion; its output, or an AssertionError with it."""
        command = [str(BIN / program), *args]
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=self.process_env(extra_env), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise AssertionError(f"`{program} {' '.join(args)}` exited {done.returncode}\n"
                                 f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
        return done.stdout

    def haven(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        """Run the real ``haven`` entry point."""
        return self.run_program("haven", *args, extra_env=extra_env)

    @property
    def daemon_log(self) -> Path:
        """Where the daemon's output (and its code server's and run workers') goes."""
        return self.root / "dagster-daemon.log"

    def start_daemon(self) -> None:
        """Start ``dagster-daemon run`` in its own session (its process group is stopped as one)."""
        log = self.daemon_log.open("ab")
        try:
            self.daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
                cwd=PROJECT_ROOT, env=self.process_env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            log.close()

    def start_sensors(self, *names: str) -> None:
        """Turn sensors on through the instance, as an operator would (``dagster sensor start``)."""
        for name in names:
            self.run_program("dagster", "sensor", "start", name, "-w", str(WORKSPACE))

    def stop(self) -> None:
        """Stop the daemon's process group (TERM, then KILL), then anything left with our DAGSTER_HOME."""
        if self.daemon is not None and self.daemon.poll() is None:
            _signal_group(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait(timeout=30)
        if self.daemon is not None:
            # The daemon's children (code server, run workers) share its group; end any still there.
            _signal_group(self.daemon.pid, signal.SIGKILL)
        for pid in self.leftover_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # A killed process is gone only once the kernel has torn it down: give it a bounded moment, so
        # that the check after stop() reports processes that survived, not ones still dying.
        deadline = time.monotonic() + 15
        while self.leftover_processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None

    def leftover_processes(self) -> list[int]:
        """Ids of live processes whose environment carries this deployment's DAGSTER_HOME."""
        marker = f"DAGSTER_HOME={self.env['DAGSTER_HOME']}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and marker in environ.split(b"\0"):
                found.append(int(entry.name))
        return found

    # -- what the instance and the database say ------------------------------------------------

    @property
    def instance(self) -> dg.DagsterInstance:
        """The deployment's Dagster instance, as ``DagsterInstance.get()`` sees it with our DAGSTER_HOME.

        The caller must have put :attr:`env` into ``os.environ`` (the profile reads it).
        """
        if self._instance is None:
            assert os.environ.get("DAGSTER_HOME") == self.env["DAGSTER_HOME"], "set the deployment's environment first"
            self._instance = dg.DagsterInstance.get()
        return self._instance

    def runs(self) -> list[RunView]:
        """Every run of the instance, oldest first."""
        records = self.instance.get_run_records()
        views = [RunView(r.dagster_run.run_id, r.dagster_run.job_name, r.dagster_run.status.value,
                         dict(r.dagster_run.tags), r.start_time, r.end_time, r.create_timestamp.timestamp())
                 for r in records]
        return sorted(views, key=lambda v: v.create_time)

    def sensor_ticks(self) -> dict[str, list[Any]]:
        """Each running sensor's ticks, newest first (each has ``timestamp`` and ``status``)."""
        out: dict[str, list[Any]] = {}
        for state in self.instance.all_instigator_state():
            if state.instigator_type.value == "SENSOR" and state.status.value == "RUNNING":
                out[state.instigator_name] = list(self.instance.get_ticks(state.instigator_origin_id, state.selector_id))
        return out

    def user_id(self, email: str) -> str:
        """The id of the user with ``email``."""
        with self.engine() as engine, engine.connect() as conn:
            return conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one()

    def approvals(self, status: str | None = None) -> list[dict]:
        """Approval items of every user (optionally of one status), oldest first."""
        stmt = select(approval_items).order_by(approval_items.c.created_at, approval_items.c.id)
        if status is not None:
            stmt = stmt.where(approval_items.c.status == status)
        with self.engine() as engine, engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def engine(self):
        """A short-lived engine on the application database (use as a context manager)."""
        return _DisposingEngine(self.app_url)

    # -- waiting ------------------------------------------------------------------------------

    def wait_for(self, what: str, probe: Callable[[], T], timeout: float) -> T:
        """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds with the report.

        A daemon that has exited fails at once (its log says why).
        """
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if self.daemon is not None and self.daemon.poll() is not None:
                raise AssertionError(f"dagster-daemon exited ({self.daemon.returncode}) while waiting for {what}\n"
                                     + self.report())
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:.0f} s for {what}; it did not happen\n" + self.report())
            time.sleep(POLL_SECONDS)

    def wait_for_runs_to_finish(self, timeout: float) -> list[RunView]:
        """Wait until no run is queued, starting or in progress; every run, oldest first."""
        return self.wait_for("every queued and started run to finish",
                             lambda: (lambda runs: runs if all(r.finished for r in runs) else None)(self.runs()),
                             timeout)

    def report(self, log_lines: int = 60) -> str:
        """What a person would look at: runs, approvals, shops, sensor ticks and the daemon's log tail."""
        lines = ["", "runs (oldest first):"]
        try:
            for r in self.runs():
                lines.append(f"  {r.run_id[:8]} {r.job_name:24} {r.status:11} user={r.user} "
                             f"trigger={r.tags.get('haven/trigger')} partition={r.tags.get('dagster/partition')} "
                             f"start={_clock(r.start_time)} end={_clock(r.end_time)}")
                if r.status == "FAILURE":
                    lines.extend(f"      {m}" for m in self._failure_messages(r.run_id))
        except Exception as exc:  # the report must not hide the failure it reports
            lines.append(f"  (runs unavailable: {exc!r})")
        lines.append("approval items:")
        try:
            for item in self.approvals():
                lines.append(f"  {item['id'][:8]} user={item['user_id'][:8]} {item['type']:7} {item['status']:8} "
                             f"ref={item['reference_id'][:8]} decided_at={item['decided_at']}")
        except Exception as exc:
            lines.append(f"  (approvals unavailable: {exc!r})")
        lines.append("fake shops:")
        for email, shop in self.shops.items():
            lines.append(f"  {email}: {len(shop.products)} product(s), operations {dict(shop.operation_counts)}")
        try:
            for name, ticks in self.sensor_ticks().items():
                recent = ", ".join(f"{_clock(t.timestamp)} {t.status.value}" for t in ticks[:4])
                lines.append(f"sensor {name}: {len(ticks)} tick(s); latest {recent}")
        except Exception as exc:
            lines.append(f"(sensor ticks unavailable: {exc!r})")
        lines.append(f"daemon log (last {log_lines} lines of {self.daemon_log}, Dagster's own API warnings left out):")
        if self.daemon_log.exists():
            lines.extend("  " + line for line in log_tail(self.daemon_log.read_text(errors="replace"), log_lines))
        return "\n".join(lines)

    def _failure_messages(self, run_id: str) -> list[str]:
        messages = []
        for kind in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
            for entry in self.instance.all_logs(run_id, of_type=kind):
                event = entry.dagster_event
                error = getattr(getattr(event, "event_specific_data", None), "error", None)
                text = (error.message if error else entry.user_message) or ""
                messages.append(f"{kind.value}: {text.strip().splitlines()[0] if text.strip() else '(no message)'}")
        return messages


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Dagster warns about its own beta and preview parameters at every code-location load; noise in a tail.
_DAGSTER_API_WARNING = re.compile(r"(BetaWarning|PreviewWarning|SupersessionWarning):")


def log_tail(text: str, lines: int) -> list[str]:
    """The last ``lines`` lines of a daemon log without colour codes, blank lines or Dagster's API warnings."""
    kept: list[str] = []
    skip_next = False
    for line in _ANSI.sub("", text).splitlines():
        if skip_next and line.startswith(" "):
            skip_next = False  # the source line a warning quotes
            continue
        skip_next = False
        if _DAGSTER_API_WARNING.search(line):
            skip_next = True
            continue
        if line.strip():
            kept.append(line)
    return kept[-lines:]


class _DisposingEngine:
    """An engine that is disposed when the ``with`` block ends (no pool left open between polls)."""

    def __init__(self, url: str):
        self.engine = create_engine(url, pool_size=1, max_overflow=0)

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _clock(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(timestamp)) + f".{int(timestamp * 10) % 10}"
