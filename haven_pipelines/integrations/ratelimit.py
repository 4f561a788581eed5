"""A thread-safe client-side rate limiter that spaces requests evenly (no burst by default).

The limiter is a GCRA ("generic cell rate algorithm"), the scheduling form of a token bucket:
it keeps one number, the *theoretical arrival time* of the next request, and each caller reserves
the next slot under a lock, then sleeps outside the lock until its slot. So N threads sharing one
limiter are released one by one, ``interval`` seconds apart, whatever their number; a server that
allows 300 requests a minute never sees two requests closer than 0.2 s.

A 429 answer from the server says the server's view differs from ours (another process shares the
key, clocks drift): :meth:`RateLimiter.pause` pushes every later slot past the server's
``Retry-After``, so all threads back off together instead of each one retrying into the wall.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Release at most ``rate`` calls per ``per`` seconds, evenly spaced, across threads.

    Args:
        rate: how many calls are allowed per ``per`` seconds (e.g. 300).
        per: the period in seconds (e.g. 60.0).
        burst: how many calls may go at once after an idle spell; 1 means strict spacing.
        clock: monotonic clock (injectable for tests).
        sleep: sleep function (injectable for tests).
    """

    def __init__(
        self,
        rate: float,
        per: float = 60.0,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0 or per <= 0:
            raise ValueError("rate and per must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval = per / rate
        self.burst = burst
        self._tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = clock()  # theoretical arrival time of the next conforming call

    @classmethod
    def per_minute(cls, requests_per_minute: float, **kwargs) -> RateLimiter:
        """A limiter for an API documented as "N requests per minute"."""
        return cls(requests_per_minute, 60.0, **kwargs)

    def reserve(self) -> float:
        """Reserve the next slot and return how long the caller must wait for it (no sleeping)."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            start = max(now, tat - self._tolerance)
            self._tat = tat + self.interval
            return start - now

    def acquire(self) -> float:
        """Block until this caller may send; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold back every caller for at least ``seconds`` from now (e.g. a server's Retry-After)."""
        if seconds <= 0:
            return
        with self._lock:
            # The next slot starts one interval after the pause, as if a call had gone at its end.
            self._tat = max(self._tat, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"RateLimiter(interval={self.interval:.4f}s, burst={self.burst})"
