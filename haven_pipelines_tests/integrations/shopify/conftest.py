"""Helpers for the Shopify client tests: a scripted ``httpx.MockTransport`` and a fake clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from haven_pipelines.integrations.shopify import LeakyBucket, ShopifyClient

TOKEN = "shpat_test_0123456789abcdef"  # a fake token; tests assert it never leaks


class FakeClock:
    """Monotonic seconds that move only when something sleeps (thread-safe)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def cost(requested: float, actual: float | None, available: float, maximum: float = 2000.0, rate: float = 100.0) -> dict[str, Any]:
    """An ``extensions`` object as Shopify sends it."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate},
        }
    }


def ok(data: dict[str, Any], extensions: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    """A 200 answer with ``data`` (and cost extensions when given)."""
    body: dict[str, Any] = {"data": data}
    if extensions is not None:
        body["extensions"] = extensions
    return httpx.Response(200, json=body, **kw)


def throttled(requested: float, available: float, **kw: Any) -> httpx.Response:
    """Shopify's THROTTLED answer: HTTP 200, no data, the code in ``errors[].extensions``."""
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": cost(requested, None, available, **kw),
    }
    return httpx.Response(200, json=body)


class Script:
    """Answers requests in order from a list of responses or callables; records what was sent."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected extra request to {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the GraphQL requests sent."""
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("graphql.json")]


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock whose ``sleep`` advances it."""
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., ShopifyClient]]:
    """Build clients on a :class:`Script`, with the fake clock for pacing and backoff; closed after."""
    made: list[ShopifyClient] = []

    def make(script: Script, **kw: Any) -> ShopifyClient:
        kw.setdefault("bucket", LeakyBucket(clock=clock, sleep=clock.sleep))
        client = ShopifyClient("haven-test", TOKEN, transport=httpx.MockTransport(script), sleep=clock.sleep, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
