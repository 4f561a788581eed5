"""Scripted faults: what the fake does wrong, and on which call.

Faults wait in a queue and are taken in order, one per GraphQL request: the head of the queue
applies to the next request whose root fields include its ``operation`` (any request when
``operation`` is None); requests that do not match leave it waiting. ``Fault.ok()`` lets one
request through, so a script like ``ok, 503, drop`` says "second call 503, third call dropped".
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["ok", "status", "drop", "slow", "user_error"]


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour. Build with the class methods."""

    kind: FaultKind
    operation: str | None = None
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    after_commit: bool = False
    message: str = ""
    field: tuple[str, ...] | None = None
    code: str | None = None

    @classmethod
    def ok(cls, operation: str | None = None) -> Fault:
        """Answer normally (a placeholder in a script)."""
        return cls("ok", operation)

    @classmethod
    def http(cls, status: int = 503, *, retry_after: float | None = None, operation: str | None = None) -> Fault:
        """Answer ``status`` (500, 502, 503, 429...) without executing; ``Retry-After`` if given."""
        if not 400 <= status <= 599:
            raise ValueError(f"an HTTP fault needs a 4xx or 5xx status, got {status}")
        return cls("status", operation, status=status, retry_after=retry_after)

    @classmethod
    def drop(cls, operation: str | None = "productSet") -> Fault:
        """Execute and commit, then close the connection without answering."""
        return cls("drop", operation)

    @classmethod
    def slow(cls, seconds: float, *, after_commit: bool = False, operation: str | None = None) -> Fault:
        """Wait ``seconds`` before executing (or, with ``after_commit``, after executing) and answering."""
        return cls("slow", operation, seconds=seconds, after_commit=after_commit)

    @classmethod
    def user_error(
        cls, message: str, *, field: Iterable[str] | None = None, code: str | None = "INVALID_INPUT", operation: str | None = None
    ) -> Fault:
        """Make the request's first mutation answer this userError and change nothing."""
        return cls("user_error", operation, message=message, field=tuple(field) if field is not None else None, code=code)


class FaultQueue:
    """Thread-safe queue of :class:`Fault`, consumed in order by matching requests."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, *faults: Fault, times: int = 1) -> None:
        """Append ``faults`` (the whole group ``times`` over)."""
        with self._lock:
            for _ in range(times):
                self._queue.extend(faults)

    def take(self, root_fields: Iterable[str]) -> Fault | None:
        """The fault for a request with these root fields, removed from the queue; or None."""
        names = set(root_fields)
        with self._lock:
            if self._queue and (self._queue[0].operation is None or self._queue[0].operation in names):
                return self._queue.popleft()
        return None

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)
