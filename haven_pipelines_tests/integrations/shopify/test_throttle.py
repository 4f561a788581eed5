"""The local leaky bucket: reading ``extensions.cost`` and the pacing arithmetic."""

from __future__ import annotations

import threading

import pytest

from haven_pipelines.integrations.shopify.throttle import LeakyBucket, QueryCost, ThrottleStatus, parse_cost
from haven_pipelines_tests.integrations.shopify.conftest import FakeClock, cost


def status(available: float, maximum: float = 1000.0, rate: float = 50.0) -> QueryCost:
    return QueryCost(requested=None, actual=None, throttle=ThrottleStatus(maximum, available, rate))


def test_parse_cost_reads_shopify_shape():
    parsed = parse_cost(cost(101, 46, available=1954, maximum=2000, rate=100))
    assert parsed == QueryCost(101.0, 46.0, ThrottleStatus(2000.0, 1954.0, 100.0))


@pytest.mark.parametrize("extensions", [None, {}, {"cost": "x"}, [], {"cost": {"requestedQueryCost": True}}])
def test_parse_cost_tolerates_missing_or_odd_extensions(extensions):
    parsed = parse_cost(extensions)
    assert parsed is None or (parsed.throttle is None and parsed.requested is None)


def test_throttled_answer_has_no_actual_cost():
    parsed = parse_cost(cost(752, None, available=666))
    assert parsed is not None and parsed.actual is None and parsed.requested == 752


def test_unknown_bucket_does_not_pace():
    clock = FakeClock()
    bucket = LeakyBucket(clock=clock, sleep=clock.sleep)
    assert bucket.acquire(500) == 0 and clock.sleeps == []
    assert bucket.available() is None


def test_wait_is_the_shortfall_over_the_restore_rate():
    clock = FakeClock()
    bucket = LeakyBucket(margin=0, clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.settle(0, status(available=100))
    assert bucket.wait_for(100) == 0
    assert bucket.wait_for(300) == pytest.approx(4.0)  # (300 - 100) / 50
    clock.now += 1.0  # +50 points
    assert bucket.wait_for(300) == pytest.approx(3.0)
    assert bucket.acquire(300) == pytest.approx(3.0)
    assert bucket.available() == pytest.approx(0.0)


def test_refill_stops_at_the_maximum():
    clock = FakeClock()
    bucket = LeakyBucket(clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.settle(0, status(available=900))
    clock.now += 3600
    assert bucket.available() == 1000.0


def test_a_cost_above_the_bucket_waits_for_a_full_bucket_only():
    clock = FakeClock()
    bucket = LeakyBucket(margin=0, clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.settle(0, status(available=0))
    assert bucket.acquire(5000) == pytest.approx(20.0)  # 1000 / 50, not 5000 / 50


def test_settle_refunds_the_unused_part_of_a_reservation():
    clock = FakeClock()
    bucket = LeakyBucket(margin=0, clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.settle(0, status(available=1000))
    bucket.acquire(300)  # another call is also in flight
    bucket.acquire(300)
    # The first answer: charged 40 of 300; Shopify saw only that call so far.
    bucket.settle(300, QueryCost(300, 40, ThrottleStatus(1000, 960, 50)))
    # One call still in flight: the local figure (1000 - 300 - 300 + 260 = 660) is lower and kept.
    assert bucket.available() == pytest.approx(660)
    bucket.settle(300, QueryCost(300, 40, ThrottleStatus(1000, 920, 50)))
    assert bucket.available() == pytest.approx(920)  # nothing in flight: Shopify's figure


def test_release_gives_back_a_reservation():
    clock = FakeClock()
    bucket = LeakyBucket(margin=0, clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.settle(0, status(available=500))
    bucket.acquire(200)
    bucket.release(200)
    assert bucket.available() == pytest.approx(500)


def test_threads_never_reserve_more_than_the_bucket_holds():
    clock = FakeClock()
    bucket = LeakyBucket(margin=0, clock=clock, sleep=clock.sleep)
    bucket.acquire(0)
    bucket.settle(0, status(available=100, rate=10))
    start = clock.now
    threads = [threading.Thread(target=bucket.acquire, args=(40,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 8 x 40 = 320 points from 100 in hand at 10/s: at least 22 s must pass on the (fake) clock,
    # and the estimate never goes below zero.
    assert clock.now - start >= 22.0 - 1e-6
    assert bucket.available() >= -1e-6
