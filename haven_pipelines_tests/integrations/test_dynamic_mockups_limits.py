"""The shared rate limiter, the retry helpers, and the client staying under the fake's strict limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from haven_pipelines.integrations.dynamic_mockups import DynamicMockupsClient, RenderRequest
from haven_pipelines.integrations.http import (
    RetryPolicy,
    is_retryable_status,
    retry_after_seconds,
    scrub,
    send_with_retries,
)
from haven_pipelines.integrations.ratelimit import RateLimiter
from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups


class FakeClock:
    """A clock that only moves when someone sleeps (thread-safe)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_limiter_spaces_calls_evenly_without_burst():
    clock = FakeClock()
    limiter = RateLimiter.per_minute(300, clock=clock, sleep=lambda s: None)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])


def test_limiter_allows_a_configured_burst_then_spaces():
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, burst=3, clock=clock, sleep=lambda s: None)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.2, 0.4])


def test_limiter_idle_time_is_not_banked_beyond_the_burst():
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, clock=clock, sleep=lambda s: None)
    limiter.reserve()
    clock.sleep(10.0)  # a long idle spell
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0.0, 0.2, 0.4])


def test_limiter_pause_holds_every_caller():
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, clock=clock, sleep=lambda s: None)
    limiter.reserve()
    limiter.pause(3.0)
    assert limiter.reserve() == pytest.approx(3.0)
    assert limiter.reserve() == pytest.approx(3.2)


def test_limiter_slots_are_distinct_across_threads():
    clock = FakeClock()
    limiter = RateLimiter(10, 1.0, clock=clock, sleep=lambda s: None)
    with ThreadPoolExecutor(8) as pool:
        waits = sorted(pool.map(lambda _: limiter.reserve(), range(40)))
    assert waits == pytest.approx([i * 0.1 for i in range(40)])


@pytest.mark.parametrize("bad", [{"rate": 0}, {"rate": 5, "per": 0}, {"rate": 5, "burst": 0}])
def test_limiter_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        RateLimiter(**bad)


def test_retry_after_parses_seconds_and_dates():
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    response = httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"})
    assert retry_after_seconds(response, now=now) == 30.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(429)) is None


def test_only_429_and_5xx_are_retryable():
    assert [s for s in (200, 400, 401, 403, 404, 422, 429, 500, 502, 503) if is_retryable_status(s)] == [429, 500, 502, 503]


def test_send_with_retries_honours_retry_after_and_caps_it():
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(503, headers={"Retry-After": "9999"}), httpx.Response(200)])
    slept: list[float] = []
    policy = RetryPolicy(max_attempts=3, max_retry_after=60.0)
    response = send_with_retries(lambda: next(answers), policy, sleep=slept.append)
    assert response.status_code == 200
    assert slept == [2.0, 60.0]


def test_send_with_retries_backs_off_exponentially_without_retry_after():
    answers = iter([httpx.Response(500)] * 3 + [httpx.Response(200)])
    slept: list[float] = []
    policy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=1.5, jitter=False)
    assert send_with_retries(lambda: next(answers), policy, sleep=slept.append).status_code == 200
    assert slept == [0.5, 1.0, 1.5]


def test_send_with_retries_gives_back_final_4xx_at_once():
    calls = []

    def send():
        calls.append(1)
        return httpx.Response(422)

    assert send_with_retries(send, RetryPolicy(), sleep=lambda s: None).status_code == 422
    assert len(calls) == 1


def test_send_with_retries_reraises_the_last_transport_error():
    calls = []

    def send():
        calls.append(1)
        raise httpx.ConnectTimeout("slow")

    with pytest.raises(httpx.ConnectTimeout):
        send_with_retries(send, RetryPolicy(max_attempts=3), sleep=lambda s: None)
    assert len(calls) == 3


def test_scrub_replaces_every_secret():
    assert scrub("a KEY b KEY", "KEY", None, "") == "a *** b ***"


def test_threads_sharing_a_client_stay_under_a_strict_server_limit():
    # 10 requests a second, no burst, on both sides: 12 renders from 6 threads get no 429. The server
    # lets a request arrive 80 ms before its slot: a loaded machine delays one send and not the next
    # (20 ms of slack failed once under the parallel suite). Threads that did not share the limiter
    # would send 6 at once, and a client twice too fast is 100 ms early by its third request: both
    # still get 429s.
    with FakeDynamicMockups(rate=10, per=1.0, rate_tolerance=0.08, seed=3) as fake:
        t = fake.templates[0]
        request = RenderRequest(t.uuid, t.smart_objects[0]["uuid"], "https://cdn.example.com/a.png")
        with DynamicMockupsClient(fake.api_key, base_url=fake.base_url, max_requests_per_minute=600, timeout=5.0) as client:
            with ThreadPoolExecutor(6) as pool:
                results = list(pool.map(lambda _: client.render_request(request), range(12)))
            assert len({r.export_path for r in results}) == 12
            assert client.stats()["responses_429"] == 0
        assert fake.snapshot()["sent_429"] == 0


def test_a_client_faster_than_the_server_gets_429_and_recovers():
    # The client believes it may send 100 a second; the server allows 20 with no slack. Each 429
    # pauses the limiter and the retry goes through; every render succeeds.
    with FakeDynamicMockups(rate=20, per=1.0, rate_tolerance=0.0, seed=4) as fake:
        t = fake.templates[0]
        request = RenderRequest(t.uuid, t.smart_objects[0]["uuid"], "https://cdn.example.com/a.png")
        policy = RetryPolicy(max_attempts=4, max_retry_after=0.1, base_delay=0.05)
        with DynamicMockupsClient(fake.api_key, base_url=fake.base_url, max_requests_per_minute=6000, retry=policy, timeout=5.0) as client:
            results = [client.render_request(request) for _ in range(5)]
            assert len({r.export_path for r in results}) == 5
            assert client.stats()["responses_429"] >= 1
            assert client.stats()["responses_429"] == fake.snapshot()["sent_429"]


def test_a_429_pauses_the_shared_limiter_for_retry_after():
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, clock=clock, sleep=clock.sleep)
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"data": []})])
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.sleep(seconds)

    transport = httpx.MockTransport(lambda request: next(answers))
    with DynamicMockupsClient("k", transport=transport, limiter=limiter, sleep=sleep) as client:
        start = clock()
        assert client.list_mockups() == []
    assert slept == [2.0]
    # The retry went out right after the pause, and the next caller's slot is one interval later.
    assert clock() - start == pytest.approx(2.0)
    assert limiter.reserve() == pytest.approx(0.2)
