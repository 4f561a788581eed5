"""Storage faults: S3 refuses writes for a while, then recovers (moto over a real socket, PostgreSQL).

While the outage lasts, the store's writes go to an endpoint that refuses connections (a real boto3
client over TCP, nothing patched); reads keep working, as when only PUTs are denied. Renders finished
by the renderer then fail at storage: refunded, marked failed with the error, queued. After the
outage the retry pass renders and stores them.
"""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from haven_pipelines.integrations.s3 import S3BlobStore
from haven_pipelines.services.context import build_context
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines.services.retries import run_due_retries
from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV, MotoS3Server
from haven_pipelines_tests.reliability import faults_world as fw
from haven_pipelines_tests.reliability.invariants import assert_invariants, done_mockups, nothing_undone

pytestmark = pytest.mark.postgres


def _dead_endpoint() -> str:
    """An http URL on loopback where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class OutageS3Store(S3BlobStore):
    """An S3 store whose writes can be cut: while ``refusing``, puts go to a dead endpoint."""

    def __init__(self, bucket: str, endpoint_url: str):
        super().__init__(bucket, endpoint_url=endpoint_url, region="us-east-1")
        self._good = self._client
        self._dead = boto3.session.Session().client(
            "s3", endpoint_url=_dead_endpoint(), region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}),
        )
        self.refusing = False
        self.refused_puts = 0

    def put(self, key, data, content_type):
        """During the outage, put through the dead endpoint (the error is the store's own BlobStoreError).

        The client is chosen per call, never swapped on the shared store: renders run on a thread
        pool, and a swap would send another thread's concurrent read to the dead endpoint too.
        """
        if not self.refusing:
            return super().put(key, data, content_type)
        try:
            self._dead.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            self.refused_puts += 1
            raise self._fail("put", key, exc) from None
        raise AssertionError("the dead endpoint accepted a put")

    def close(self) -> None:
        """Close both clients."""
        self._dead.close()
        super().close()


@pytest.fixture
def s3_store(monkeypatch):
    """A fresh bucket on a moto server on 127.0.0.1, behind an :class:`OutageS3Store`."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with MotoS3Server() as server:
        bucket = f"haven-faults-{uuid.uuid4().hex[:12]}"
        admin = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        admin.create_bucket(Bucket=bucket)
        admin.close()
        store = OutageS3Store(bucket, server.endpoint_url)
        try:
            yield store
        finally:
            store.close()


def test_s3_refuses_writes_then_recovers(pg_engine, s3_store, reliability_record):
    renderer = fw.ChargingRenderer()
    ctx = build_context(engine=pg_engine, blob=s3_store, renderer_impl=renderer)
    try:
        user = fw.make_user(pg_engine, "s3@example.com")
        designs = fw.make_designs(pg_engine, s3_store, user, 2)
        service = RenderService(ctx)
        ok = service.render_batch(user, [RenderTask(d, "bedroom") for d in designs])
        assert ok.rendered == 2
        before = done_mockups(pg_engine, user)

        s3_store.refusing = True
        outage_tasks = [RenderTask(d, s) for d in designs for s in ("living_room", "reading_nook")]
        during = service.render_batch(user, outage_tasks)
        assert during.failed == 4 and all("S3 put" in o.error for o in during.outcomes)
        assert ctx.ledger.usage(user).used_this_year == 2  # the four failures were refunded
        invariants = assert_invariants(pg_engine, s3_store, user)  # failed, queued, no dangling file

        s3_store.refusing = False
        summary = run_due_retries(ctx, now=datetime.now(UTC) + timedelta(hours=1))
        assert (summary.retried, summary.succeeded, summary.dead) == (4, 4, 0)
        after = done_mockups(pg_engine, user)
        assert len(after) == 6 and nothing_undone(before, after) == []
        invariants = assert_invariants(pg_engine, s3_store, user)
        assert ctx.ledger.usage(user).used_this_year == 6
        refused = s3_store.refused_puts
    finally:
        ctx.close()
    reliability_record("faults", "S3 refuses writes, then recovers",
                       "every S3 PUT refused (connection refused) during a 4-render batch",
                       "the four renders failed at storage: refunded, marked failed naming the S3 put, queued; "
                       "the retry pass after recovery stored all four",
                       invariants + ["nothing_undone"],
                       {"renders_planned": 6, "puts_refused": refused, "retries_succeeded": summary.succeeded,
                        "renders_verified": 6, "credits_charged": 6, "faults_injected": 1, "lost": 0})
