"""Many renders through the batch endpoint, with the failures of a batch handled one by one.

``render_many`` cuts the requests into batches of ``batch_size`` and sends them from a small
thread pool (every request still passes the client's shared rate limiter). Then:

- a render that failed *inside* a batch is tried once more on its own (``POST /renders``), so one
  bad render never costs the other nine;
- a batch refused as a whole for its content (400/422, or an answer we cannot read) is split and
  every render is tried on its own, which finds the bad one(s);
- a batch refused for a reason every render shares (5xx, 429 or no answer, after the client's own
  retries) fails its renders with that error rather than multiplying the load on a sick server;
- :class:`InsufficientCredits` or :class:`AuthenticationError` stops all further submissions:
  renders not yet sent come back with that error (nothing was spent on them), and renders that
  already succeeded are kept, since they were paid for.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from haven_pipelines.integrations.dynamic_mockups import errors as e
from haven_pipelines.integrations.dynamic_mockups.client import DynamicMockupsClient, export_options
from haven_pipelines.integrations.dynamic_mockups.models import RenderOutcome, RenderRequest

#: Whole-batch errors that say something about the batch's content, so each render is tried alone.
_SPLIT_ON = (e.InvalidRequest, e.MalformedResponse)


class _Stop:
    """The first batch-stopping error, shared by the pool's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error: e.DynamicMockupsError | None = None

    def set(self, error: e.DynamicMockupsError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error

    def unsent(self) -> e.DynamicMockupsError:
        """The error given to a render that was never sent because of the stop."""
        err = self.error
        assert err is not None
        return type(err)(f"not sent: {err.message}", status=err.status, endpoint=err.endpoint)


def render_many(
    client: DynamicMockupsClient,
    requests: Sequence[RenderRequest],
    *,
    batch_size: int = 10,
    workers: int = 4,
    image_format: str = "jpg",
    image_size: int | None = None,
) -> list[RenderOutcome]:
    """Render every request; one outcome per request, in the order given (never raises for one).

    Args:
        client: the client (its limiter keeps the pool under the API's rate).
        requests: the renders.
        batch_size: renders per ``POST /renders/batch`` (1 means single renders only).
        workers: batches in flight at once.
        image_format: jpg, png or webp for every render.
        image_size: width in pixels of every render (None: the template's size).

    Raises:
        InvalidRequest: ``batch_size``/``workers`` below 1 or bad export options (before anything is sent).
    """
    if batch_size < 1:
        raise e.InvalidRequest(f"batch_size: {batch_size} must be at least 1")
    if workers < 1:
        raise e.InvalidRequest(f"workers: {workers} must be at least 1")
    export_options(image_format, image_size)  # refuse bad options once, up front
    outcomes: list[RenderOutcome | None] = [None] * len(requests)
    stop = _Stop()

    def alone(request: RenderRequest) -> RenderOutcome:
        if stop.error is not None:
            return RenderOutcome(request, error=stop.unsent())
        try:
            return RenderOutcome(request, result=client.render_request(request, image_format=image_format, image_size=image_size))
        except e.DynamicMockupsError as exc:
            if exc.stops_batch:
                stop.set(exc)
            return RenderOutcome(request, error=exc)

    def run(indexes: range) -> None:
        chunk = [requests[i] for i in indexes]
        if stop.error is not None:
            for i in indexes:
                outcomes[i] = RenderOutcome(requests[i], error=stop.unsent())
            return
        if len(chunk) == 1:
            outcomes[indexes[0]] = alone(chunk[0])
            return
        try:
            results = client.render_batch(chunk, image_format=image_format, image_size=image_size)
        except e.DynamicMockupsError as exc:
            if exc.stops_batch:
                stop.set(exc)
            if isinstance(exc, _SPLIT_ON):
                results = [RenderOutcome(r, error=exc) for r in chunk]
            else:
                for i in indexes:
                    outcomes[i] = RenderOutcome(requests[i], error=exc)
                return
        for i, outcome in zip(indexes, results, strict=True):
            outcomes[i] = outcome if outcome.ok else alone(requests[i])

    chunks = [range(start, min(start + batch_size, len(requests))) for start in range(0, len(requests), batch_size)]
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(chunks))), thread_name_prefix="dm-render") as pool:
        for future in [pool.submit(run, c) for c in chunks]:
            future.result()
    return [o for o in outcomes if o is not None]
