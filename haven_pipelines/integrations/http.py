"""Shared HTTP helpers for the outside-system clients: what to retry, how long to wait, and when.

Every client in ``integrations`` sends through :func:`send_with_retries`, so they agree on the rules:

- retry only what is safe to retry: 429, 5xx, and transport failures (connect errors, timeouts,
  dropped connections); never a 4xx that says the request itself is wrong;
- wait with capped exponential backoff and full jitter, unless the server says how long
  (``Retry-After``, as seconds or an HTTP date), which wins up to ``max_retry_after``;
- give up after ``max_attempts`` and hand the last response (or raise the last transport error)
  back to the caller, which turns it into its own typed error.

Nothing here logs or formats a request's headers, so API keys sent as headers stay out of messages.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

#: Transport failures worth another attempt: connect errors, timeouts, protocol hiccups.
RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (httpx.TransportError,)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try and how long to wait between tries.

    Args:
        max_attempts: total attempts including the first (1 means no retry).
        base_delay: first backoff in seconds; doubles each attempt.
        max_delay: cap on one computed backoff.
        max_retry_after: cap on a server's ``Retry-After`` (a hostile or broken value cannot stall us for hours).
        jitter: spread waits at random over ``[0, delay]`` ("full jitter") so that threads retrying
            the same outage do not come back in lock-step.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0
    jitter: bool = True
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, delay) if self.jitter else delay


def is_retryable_status(status_code: int) -> bool:
    """429 (rate limited) and every 5xx are worth retrying; other statuses are final."""
    return status_code == 429 or 500 <= status_code <= 599


def retry_after_seconds(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """The server's ``Retry-After`` in seconds (delta-seconds or HTTP date), or None if absent/invalid."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class RetryEvent:
    """What :func:`send_with_retries` tells its ``on_retry`` hook before it waits."""

    attempt: int
    delay: float
    status_code: int | None
    error: BaseException | None
    retry_after: float | None


def send_with_retries(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[RetryEvent], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Call ``send`` until it gives a final answer or the attempts run out.

    Args:
        send: performs one request (and any rate limiting) and returns the response. A response
            the caller will not use must be closed by the caller; here only retried responses are closed.
        policy: attempts and backoff.
        on_retry: called before each wait (e.g. to pause a shared limiter on 429, or to count).
        sleep: the wait function (injectable for tests).

    Returns:
        The last response: a success, a final 4xx, or the last retryable one when attempts ran out.

    Raises:
        httpx.TransportError: the last transport failure when every attempt failed that way.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            response = send()
        except RETRYABLE_EXCEPTIONS as exc:
            if attempt >= policy.max_attempts:
                raise
            delay = policy.backoff(attempt)
            if on_retry:
                on_retry(RetryEvent(attempt, delay, None, exc, None))
            sleep(delay)
            continue
        if not is_retryable_status(response.status_code) or attempt >= policy.max_attempts:
            return response
        retry_after = retry_after_seconds(response)
        delay = policy.backoff(attempt, retry_after)
        response.close()
        if on_retry:
            on_retry(RetryEvent(attempt, delay, response.status_code, None, retry_after))
        sleep(delay)


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every non-empty secret replaced by ``***`` (for messages built from server replies)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
