"""Pacing calls to Shopify's cost-based leaky bucket.

Shopify gives each app and shop a bucket of ``maximumAvailable`` points that refills at
``restoreRate`` points per second. A call needs its *requested* cost available before it runs; it is
then charged its *actual* cost (the difference is refunded). Every answer reports the state in
``extensions.cost``::

    {"requestedQueryCost": 101, "actualQueryCost": 46,
     "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1954, "restoreRate": 100.0}}

:class:`LeakyBucket` mirrors that state locally so that the next call waits exactly as long as the
bucket needs to fit it, instead of being sent, refused with ``THROTTLED`` and retried. It is shared by
every thread using one client: :meth:`LeakyBucket.acquire` reserves the expected cost before a call,
and :meth:`LeakyBucket.settle` corrects the estimate with what Shopify reported after it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ThrottleStatus:
    """The bucket as Shopify last reported it."""

    maximum_available: float
    currently_available: float
    restore_rate: float


@dataclass(frozen=True)
class QueryCost:
    """``extensions.cost`` of one answer; ``actual`` is None when the call did not run (THROTTLED)."""

    requested: float | None
    actual: float | None
    throttle: ThrottleStatus | None


def parse_cost(extensions: Any) -> QueryCost | None:
    """Read ``extensions.cost`` from an answer's ``extensions``; None when absent or malformed."""
    if not isinstance(extensions, Mapping):
        return None
    cost = extensions.get("cost")
    if not isinstance(cost, Mapping):
        return None
    status = cost.get("throttleStatus")
    throttle = None
    if isinstance(status, Mapping):
        try:
            throttle = ThrottleStatus(
                maximum_available=float(status["maximumAvailable"]),
                currently_available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
            )
        except (KeyError, TypeError, ValueError):
            throttle = None
        if throttle is not None and (throttle.restore_rate <= 0 or throttle.maximum_available <= 0):
            throttle = None
    return QueryCost(requested=_number(cost.get("requestedQueryCost")), actual=_number(cost.get("actualQueryCost")), throttle=throttle)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class LeakyBucket:
    """A local, thread-safe mirror of Shopify's bucket for one app and shop.

    Until the first answer reports the bucket, calls are not paced (the size is unknown; a fresh
    bucket is full). After that, :meth:`acquire` blocks until the estimate holds the cost.

    Args:
        margin: points kept in hand beyond the cost, so that rounding on Shopify's side never turns
            an exact fit into a THROTTLED answer (0.5 points is 5 ms at 100 points/s).
        clock: monotonic seconds (injected by tests).
        sleep: how to wait (injected by tests).
    """

    def __init__(
        self,
        *,
        margin: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._maximum: float | None = None
        self._rate: float | None = None
        self._available = 0.0
        self._stamp = 0.0
        self._in_flight = 0
        self.waited = 0.0

    @property
    def known(self) -> bool:
        """Whether Shopify has reported the bucket yet."""
        return self._maximum is not None

    def available(self) -> float | None:
        """The estimated points available now (None until the bucket is known)."""
        with self._lock:
            if self._maximum is None:
                return None
            self._refill()
            return self._available

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` points would fit (0 when they fit now or the bucket is unknown)."""
        with self._lock:
            return self._wait_locked(cost)

    def acquire(self, cost: float) -> float:
        """Block until ``cost`` fits, then reserve it. Returns the seconds waited.

        A cost above the bucket's size can never fit; it waits for a full bucket (Shopify would
        refuse such a call with MAX_COST_EXCEEDED, which the caller then sees).
        """
        waited = 0.0
        while True:
            with self._lock:
                wait = self._wait_locked(cost)
                # A microsecond is below anything Shopify measures; waiting for it could spin on
                # floating-point remainders.
                if wait <= 1e-6:
                    if self._maximum is not None:
                        self._available -= min(cost, self._maximum)
                    self._in_flight += 1
                    self.waited += waited
                    return waited
            self._sleep(wait)
            waited += wait

    def settle(self, reserved: float, cost: QueryCost | None) -> None:
        """Correct the estimate after a call that reserved ``reserved`` points.

        Args:
            reserved: what :meth:`acquire` reserved for this call.
            cost: what Shopify reported; None when no usable answer arrived (the reservation is kept,
                since Shopify may have charged the call).
        """
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if cost is None or cost.throttle is None:
                return
            status = cost.throttle
            first = self._maximum is None
            self._maximum = status.maximum_available
            self._rate = status.restore_rate
            if first:
                self._available = status.currently_available
            else:
                self._refill()
                refund = reserved - (cost.actual or 0.0)
                local = min(self._available + refund, self._maximum)
                # With nothing else in flight Shopify's figure is the truth: it also counts calls
                # made by other processes with the same token. With calls in flight it may not
                # include their charges yet, so keep whichever figure is lower.
                self._available = status.currently_available if self._in_flight == 0 else min(local, status.currently_available)
            self._stamp = self._clock()

    def release(self, reserved: float) -> None:
        """Give back a reservation for a call that surely never reached Shopify (e.g. connect refused)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if self._maximum is not None:
                self._refill()
                self._available = min(self._available + reserved, self._maximum)

    def _refill(self) -> None:
        assert self._maximum is not None and self._rate is not None
        now = self._clock()
        self._available = min(self._maximum, self._available + (now - self._stamp) * self._rate)
        self._stamp = now

    def _wait_locked(self, cost: float) -> float:
        if self._maximum is None or self._rate is None:
            return 0.0
        self._refill()
        need = min(cost + self._margin, self._maximum)
        if self._available >= need:
            return 0.0
        return (need - self._available) / self._rate
