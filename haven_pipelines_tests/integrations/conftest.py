"""Fixtures for the integration clients: the fake Dynamic Mockups API and a moto S3 endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from haven_pipelines.integrations.dynamic_mockups import DynamicMockupsClient
from haven_pipelines.integrations.http import RetryPolicy
from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups
from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV, MotoS3Server

#: Retries without real waiting, so fault tests stay fast.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, max_retry_after=0.05, jitter=False)


@pytest.fixture
def fake_dm() -> Iterator[FakeDynamicMockups]:
    """A running fake Dynamic Mockups API (no latency, the documented 300 requests a minute... relaxed).

    The limit is lifted to 100 per second here so ordinary tests never wait on it; the rate-limit
    tests build their own fake with a strict limit.
    """
    with FakeDynamicMockups(rate=100, per=1.0, rate_tolerance=0.05, seed=7, hang_seconds=1.0) as fake:
        yield fake


def make_client(fake: FakeDynamicMockups, **kwargs) -> DynamicMockupsClient:
    """A client for ``fake`` with quick retries and a short timeout unless overridden."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", 0.5)
    kwargs.setdefault("max_requests_per_minute", 6000)
    return DynamicMockupsClient(kwargs.pop("api_key", fake.api_key), base_url=fake.base_url, **kwargs)


@pytest.fixture
def dm_client(fake_dm) -> Iterator[DynamicMockupsClient]:
    """A client of :func:`fake_dm` (closed after the test)."""
    client = make_client(fake_dm)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3Server]:
    """One moto S3 server on 127.0.0.1 for the session (tests use their own buckets)."""
    with MotoS3Server() as server:
        yield server


@pytest.fixture
def aws_env(monkeypatch) -> dict[str, str]:
    """Fake AWS credentials in the environment (boto3's chain finds them), nothing from ~/.aws."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return FAKE_AWS_ENV


@pytest.fixture
def s3_bucket(moto_s3, aws_env) -> str:
    """A fresh, empty bucket on the moto server."""
    import boto3

    name = f"haven-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_s3.endpoint_url, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name
