"""Errors of the Shopify Admin GraphQL client.

    HavenError
     └── ShopifyError                 any failure talking to Shopify; never carries the access token
          ├── ShopifyAuthError        401/403 or ACCESS_DENIED: the token is wrong, revoked or lacks a scope
          ├── ShopifyThrottled        THROTTLED (or HTTP 429) answers outlasted every retry
          ├── ShopifyUserErrors       the mutation ran and refused the input: ``user_errors`` says why
          ├── ShopifyServerError      5xx (or INTERNAL_SERVER_ERROR) after every retry
          ├── ShopifyNetworkError     no answer: connect/read timeout, dropped connection
          ├── ShopifyResponseError    an answer we cannot use: not JSON, no ``data``, GraphQL errors
          └── ShopifyValidationError  a document or its variables fail Shopify's schema (caught before sending)

Only :class:`ShopifyUserErrors` is about the product itself; the service copies its messages into
the product's ``sync_error``. Everything else is about the connection or the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from haven_pipelines.domain.errors import HavenError


class ShopifyError(HavenError):
    """Base class: a call to Shopify failed. ``operation`` names the GraphQL operation when known."""

    def __init__(self, message: str, *, operation: str | None = None):
        self.operation = operation
        prefix = f"shopify {operation}: " if operation else "shopify: "
        super().__init__(prefix + message)


class ShopifyAuthError(ShopifyError):
    """Shopify rejected the credentials (HTTP 401/403 or an ACCESS_DENIED error)."""


class ShopifyThrottled(ShopifyError):
    """Still throttled after ``attempts`` tries; raised only once retries are exhausted."""

    def __init__(self, message: str, *, operation: str | None = None, attempts: int = 0):
        self.attempts = attempts
        super().__init__(message, operation=operation)


@dataclass(frozen=True)
class UserError:
    """One entry of a mutation's ``userErrors``: the input path, the message and (when given) the code."""

    field: tuple[str, ...]
    message: str
    code: str | None = None

    def __str__(self) -> str:
        where = ".".join(self.field) if self.field else "(input)"
        code = f" [{self.code}]" if self.code else ""
        return f"{where}: {self.message}{code}"


class ShopifyUserErrors(ShopifyError):
    """The mutation refused its input. ``user_errors`` lists every ``{field, message, code}``."""

    def __init__(self, user_errors: Sequence[UserError], *, operation: str | None = None):
        self.user_errors = tuple(user_errors)
        super().__init__("; ".join(str(e) for e in self.user_errors) or "user errors", operation=operation)


class ShopifyServerError(ShopifyError):
    """Shopify kept failing on its side (5xx); ``status`` is the last HTTP status seen."""

    def __init__(self, message: str, *, operation: str | None = None, status: int | None = None):
        self.status = status
        super().__init__(message, operation=operation)


class ShopifyNetworkError(ShopifyError):
    """No usable answer arrived (timeout, refused or dropped connection) after every safe retry."""


class ShopifyResponseError(ShopifyError):
    """Shopify answered, but not with something usable (malformed body, GraphQL errors, other 4xx)."""

    def __init__(self, message: str, *, operation: str | None = None, status: int | None = None):
        self.status = status
        super().__init__(message, operation=operation)


class ShopifyValidationError(ShopifyError):
    """A document or its variables do not validate against the pinned Admin schema; ``errors`` lists why."""

    def __init__(self, errors: Sequence[str], *, operation: str | None = None):
        self.errors = tuple(errors)
        super().__init__("invalid against the Admin schema: " + "; ".join(self.errors), operation=operation)
