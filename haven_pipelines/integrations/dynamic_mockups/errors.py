"""Errors of the Dynamic Mockups client.

    HavenError
     └── DynamicMockupsError        anything that went wrong talking to Dynamic Mockups
          ├── AuthenticationError   401: the API key is missing or wrong (stops a batch)
          ├── InsufficientCredits   403: the account has no credits left (stops a batch)
          ├── InvalidRequest        400/404/422: the request itself is wrong; never retried
          │    └── MockupNotFound   404 on a mockup uuid
          ├── RenderFailed          one render inside a batch failed (the others may have succeeded)
          ├── RateLimited           429 still answered after every retry
          ├── ServerError           5xx still answered after every retry
          ├── ApiUnreachable        connect errors or timeouts on every attempt
          ├── MalformedResponse     the body is not JSON or lacks the documented fields
          └── DownloadError         an export could not be fetched safely (scheme, host, size, status)

Messages name the endpoint, the status and the server's own message (scrubbed of the API key and
cut short); they never contain the key or any request header.
"""

from __future__ import annotations

from haven_pipelines.domain.errors import HavenError


class DynamicMockupsError(HavenError):
    """Base of every Dynamic Mockups failure.

    Attributes:
        status: the HTTP status, when there was an answer.
        endpoint: the API path (e.g. ``/renders``), never a full URL with credentials.
        retryable: whether trying the same request later may succeed.
        stops_batch: whether a batch should stop submitting work after this error.
    """

    retryable = False
    stops_batch = False

    def __init__(self, message: str, *, status: int | None = None, endpoint: str | None = None):
        self.status = status
        self.endpoint = endpoint
        self.message = message
        prefix = "Dynamic Mockups"
        if endpoint:
            prefix += f" {endpoint}"
        if status is not None:
            prefix += f" ({status})"
        super().__init__(f"{prefix}: {message}")


class AuthenticationError(DynamicMockupsError):
    """401: the API key was refused. Every further request would fail the same way."""

    stops_batch = True


class InsufficientCredits(DynamicMockupsError):
    """403: the account's credit balance cannot pay for the render(s)."""

    stops_batch = True


class InvalidRequest(DynamicMockupsError):
    """400/404/422: the request is wrong (unknown mockup, bad field); retrying cannot help."""


class MockupNotFound(InvalidRequest):
    """404 for a mockup uuid that the account does not have."""


class RenderFailed(DynamicMockupsError):
    """One render inside a batch failed; the batch's other renders stand on their own."""

    retryable = True


class RateLimited(DynamicMockupsError):
    """429 after every retry: the account is over its request rate."""

    retryable = True


class ServerError(DynamicMockupsError):
    """5xx after every retry."""

    retryable = True


class ApiUnreachable(DynamicMockupsError):
    """No answer on any attempt: connection refused, reset, or the timeout passed."""

    retryable = True


class MalformedResponse(DynamicMockupsError):
    """A 2xx whose body is not JSON or lacks the documented fields."""

    retryable = True


class DownloadError(DynamicMockupsError):
    """An export could not be downloaded safely: wrong scheme or host, too big, bad status, not an image."""
