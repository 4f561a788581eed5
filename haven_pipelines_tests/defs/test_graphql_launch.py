"""End to end through the Dagster webserver, as the UI would do it.

Starts ``dagster-webserver -m haven_pipelines.definitions`` as a subprocess (its own process group)
with a temporary ``DAGSTER_HOME`` and a temporary, migrated SQLite app database holding two demo
designs. Then, over GraphQL only: adds a design partition (the UI's "add partition"), submits
``catalogue_job`` for it with :class:`dagster_graphql.DagsterGraphQLClient`, polls the run status
with a bounded wait, and reads the run's materialisations and their metadata. Finally it checks the
app database: the design's mockups were rendered and its product recorded in the dry-run outbox.

The instance uses the ``DefaultRunCoordinator`` instead of the repo's ``QueuedRunCoordinator``:
a queued run would need the Dagster daemon to dequeue it, and this test is about the webserver path.
The default run launcher runs the job in a subprocess of the code server, as in ``dagster dev``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient
from sqlalchemy import func, select

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import mockups, shopify_outbox
from haven_pipelines.defs.partitions import DESIGNS_PARTITION
from haven_pipelines.domain.scenes import scenes_for_collection
from haven_pipelines.services.context import build_context
from haven_pipelines.services.demo import load_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
WEBSERVER = Path(sys.executable).with_name("dagster-webserver")
LOCATION = "haven_pipelines.definitions"
# Loading the code location (and its gRPC code server) takes a while on two cores; the run itself
# renders a handful of mockups. Both waits are bounded so that a hang fails instead of stalling CI.
STARTUP_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 240.0
POLL_INTERVAL_S = 1.0
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)

# dagster-graphql 1.13.27's client calls gql 4's execute() in the older style, which gql 4 marks as
# deprecated; that is inside the public client we are told to use, so it is not an error here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using a DocumentNode is deprecated:DeprecationWarning"),
]

ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on AddDynamicPartitionSuccess { partitionKey }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on DuplicateDynamicPartitionError { partitionName }
  }
}
"""

REPOSITORIES = """
query Repositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } } }
  }
}
"""

RUN_RESULT = """
query RunResult($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      status
      jobName
      tags { key value }
      assetMaterializations {
        assetKey { path }
        partition
        metadataEntries {
          label
          __typename
          ... on IntMetadataEntry { intValue }
          ... on UrlMetadataEntry { url }
        }
      }
    }
    ... on PythonError { message }
    ... on RunNotFoundError { message }
  }
}
"""


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_instance_yaml(home: Path) -> None:
    """The repo's dagster.yaml, with the default run coordinator (no daemon needed to start a run)."""
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    config["run_coordinator"] = {"module": "dagster.core.run_coordinator", "class": "DefaultRunCoordinator"}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@dataclass
class Webserver:
    """A running dagster-webserver and what the test needs to talk to it."""

    port: int
    url: str
    log_path: Path
    database_url: str
    data_dir: Path
    design_ids: tuple[str, ...]

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """POST one GraphQL document with variables; returns ``data`` (fails on GraphQL errors)."""
        with httpx.Client(timeout=HTTP_TIMEOUT) as client:
            response = client.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the webserver's output, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_until_ready(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    """Poll the webserver until its GraphQL endpoint answers with the code location loaded."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error = "no answer yet"
    with httpx.Client(timeout=httpx.Timeout(5.0)) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
            try:
                body = client.post(f"{url}/graphql", json={"query": REPOSITORIES}).json()
                nodes = (body.get("data") or {}).get("repositoriesOrError", {}).get("nodes") or []
                if any(n["location"]["name"] == LOCATION for n in nodes):
                    return
                last_error = str(body)[:500]
            except httpx.HTTPError as exc:  # not listening yet
                last_error = repr(exc)
            time.sleep(POLL_INTERVAL_S)
    pytest.fail(f"dagster-webserver not ready after {STARTUP_TIMEOUT_S:.0f}s ({last_error}):\n"
                f"{log_path.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the webserver's whole process group (code server and run workers too)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            proc.wait(timeout=10)
    # Children that outlived the group leader (the code server shuts down on its own heartbeat,
    # but do not leave it to chance).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def webserver(sqlite_url, tmp_path) -> Iterator[Webserver]:
    """A migrated app database with two demo designs, and a webserver on it (stopped afterwards)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    _write_instance_yaml(home)
    data_dir = tmp_path / "haven"
    database_url = sqlite_url
    ctx = build_context(database_url=database_url, data_dir=str(data_dir))
    try:
        summary = load_demo(ctx.engine, ctx.blob_store, designs=2)
    finally:
        ctx.close()

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "DAGSTER_", "DYNAMIC_MOCKUPS_"))}
    env.update({
        "DAGSTER_HOME": str(home),
        "HAVEN_DATABASE_URL": database_url,
        "HAVEN_DATA_DIR": str(data_dir),
        "HAVEN_RENDERER": "local",
        "HAVEN_BLOB_STORE": "local",
        "HAVEN_SHOPIFY_MODE": "dry_run",
        "HAVEN_RENDER_WORKERS": "2",
    })
    log_path = tmp_path / "webserver.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(WEBSERVER), "-m", LOCATION, "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(proc, url, log_path)
        yield Webserver(port, url, log_path, database_url, data_dir, summary.designs_created)
    finally:
        _stop(proc)


def _wait_for_run(client: DagsterGraphQLClient, run_id: str, server: Webserver) -> str:
    """Poll the run status until SUCCESS or FAILURE (bounded); returns the final status name."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(POLL_INTERVAL_S)
    pytest.fail(f"run {run_id} still {status} after {RUN_TIMEOUT_S:.0f}s:\n{server.log_tail()}")


def _int_metadata(materialization: dict) -> dict[str, int]:
    return {e["label"]: e["intValue"] for e in materialization["metadataEntries"] if e["__typename"] == "IntMetadataEntry"}


@pytest.mark.slow
@pytest.mark.daemon
def test_launch_demo_pipeline_through_graphql(webserver: Webserver):
    """Add a partition, launch the design graph for it, wait, and read the result as the UI would."""
    assert len(webserver.design_ids) == 2, webserver.design_ids
    design = webserver.design_ids[0]
    repos = webserver.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]
    repo = next(r for r in repos if r["location"]["name"] == LOCATION)

    added = webserver.graphql(ADD_PARTITION, {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": repo["name"]},
        "name": DESIGNS_PARTITION, "key": design,
    })["addDynamicPartition"]
    assert added == {"__typename": "AddDynamicPartitionSuccess", "partitionKey": design}, added

    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver.port, timeout=30)
    run_id = client.submit_job_execution(
        "catalogue_job", repository_location_name=LOCATION, repository_name=repo["name"],
        tags={"dagster/partition": design},
    )
    status = _wait_for_run(client, run_id, webserver)
    run = webserver.graphql(RUN_RESULT, {"runId": run_id})["runOrError"]
    assert run["__typename"] == "Run", run
    assert status == "SUCCESS", f"run {run_id} ended {status}:\n{webserver.log_tail()}"
    assert run["jobName"] == "catalogue_job"
    assert {"key": "dagster/partition", "value": design} in run["tags"]

    by_asset = {"/".join(m["assetKey"]["path"]): m for m in run["assetMaterializations"]}
    assert set(by_asset) == {"approved_design_assets", "mockups", "products", "shopify_listings"}, sorted(by_asset)
    assert {m["partition"] for m in by_asset.values()} == {design}

    # The demo design's collection decides its scenes; the local renderer charges nothing.
    engine = create_engine(webserver.database_url)
    try:
        with engine.connect() as conn:
            rendered = conn.execute(
                select(mockups.c.scene, mockups.c.status, mockups.c.file_key).where(mockups.c.asset_id == design)
            ).all()
            other = conn.execute(
                select(func.count()).select_from(mockups).where(mockups.c.asset_id == webserver.design_ids[1])
            ).scalar_one()
            published = conn.execute(
                select(func.count()).select_from(shopify_outbox).where(shopify_outbox.c.operation == "ProductSet")
            ).scalar_one()
    finally:
        engine.dispose()
    scenes = {r.scene for r in rendered}
    assert rendered and all(r.status == "approved" for r in rendered), rendered  # demo user is in autopilot
    assert scenes and scenes <= set(scenes_for_collection(None))
    assert other == 0, "only the launched partition renders"
    assert published == 1

    mockup_meta = _int_metadata(by_asset["mockups"])
    assert mockup_meta["renders_done"] == len(rendered)
    assert mockup_meta["renders_failed"] == 0
    assert mockup_meta["credits_charged"] == 0
    for row in rendered:
        assert (webserver.data_dir / "images" / row.file_key).is_file(), row.file_key
