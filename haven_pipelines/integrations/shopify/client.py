"""The live Shopify Admin GraphQL client: paced by the cost bucket, retrying only what is safe.

One ``POST https://<shop>.myshopify.com/admin/api/<version>/graphql.json`` per document, with the
token in ``X-Shopify-Access-Token`` (or ``<base_url>/admin/api/<version>/graphql.json`` for a proxy or
a fake). What happens to each answer:

| answer | what the client does |
| --- | --- |
| 200 with ``data`` | reads ``extensions.cost`` into the bucket; mutation ``userErrors`` → :class:`ShopifyUserErrors` |
| 200 with a ``THROTTLED`` error | waits as long as the bucket says the requested cost needs, then retries |
| 429 | waits ``Retry-After`` (else backoff), retries |
| 5xx, timeout after sending, dropped connection | retries with backoff when the call is idempotent |
| connection refused / connect timeout | retries with backoff (nothing reached Shopify) |
| 401/403, ``ACCESS_DENIED`` | :class:`ShopifyAuthError`, no retry |
| anything else | :class:`ShopifyResponseError`, no retry |

Every document Haven sends is idempotent (``productSet`` upserts by identifier, archiving twice is
archiving, queries change nothing); ``idempotent=False`` exists for callers that send creates.

The token lives only in the request headers: never in ``repr``, log records or error messages.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.shopify.base import BaseShopifyClient, raise_user_errors
from haven_pipelines.integrations.shopify.errors import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyNetworkError,
    ShopifyResponseError,
    ShopifyServerError,
    ShopifyThrottled,
    ShopifyValidationError,
)
from haven_pipelines.integrations.shopify.models import ClientStats, GraphQLResult, StagedTarget
from haven_pipelines.integrations.shopify.schema import DEFAULT_API_VERSION, operation_info, validate_document
from haven_pipelines.integrations.shopify.throttle import LeakyBucket, parse_cost

log = logging.getLogger(__name__)

_SHOP = re.compile(r"^([a-z0-9][a-z0-9-]*)(\.myshopify\.com)?$")
_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
USER_AGENT = "haven-pipelines (+https://github.com/haven-and-hold)"


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try (after ``delay`` s; None = backoff)."""

    def __init__(self, error: ShopifyError, delay: float | None = None, *, throttled: bool = False):
        super().__init__(str(error))
        self.error = error
        self.delay = delay
        self.throttled = throttled


class ShopifyClient(BaseShopifyClient):
    """Talks to one shop's Admin GraphQL API at a pinned version.

    Args:
        shop_domain: ``haven-and-hold`` or ``haven-and-hold.myshopify.com``.
        access_token: the Admin API access token (kept out of every repr, log and error).
        api_version: the pinned version, e.g. ``2026-10``.
        base_url: send to ``<base_url>/admin/api/<version>/graphql.json`` instead (proxies, fakes).
        timeout: seconds for reading an answer (connecting gets at most 10 s).
        max_retries: further tries after a 429, 5xx or network failure.
        transport: an httpx transport (tests pass ``httpx.MockTransport``).
        max_throttled_retries: further tries after THROTTLED answers (counted apart: with pacing they
            are rare, and each one costs only the wait the bucket implies).
        bucket: a shared :class:`LeakyBucket` (one per shop and token); a new one by default.
        sleep: how to wait between retries (tests inject a recorder).
        backoff: first backoff in seconds; doubled per retry up to ``max_backoff``, with jitter.
        validate: also validate every document and its variables against the schema before sending.
    """

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        api_version: str = DEFAULT_API_VERSION,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        transport: httpx.BaseTransport | None = None,
        *,
        max_throttled_retries: int = 20,
        bucket: LeakyBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        validate: bool = False,
        rng: random.Random | None = None,
    ):
        match = _SHOP.match((shop_domain or "").strip().lower())
        if not match:
            raise ValidationError("shop_domain", "expected <name> or <name>.myshopify.com")
        if not _VERSION.match(api_version or ""):
            raise ValidationError("api_version", "expected YYYY-01/04/07/10 or unstable")
        if not access_token or not access_token.strip():
            raise ValidationError("access_token", "is empty")
        if max_retries < 0 or max_throttled_retries < 0:
            raise ValidationError("max_retries", "must not be negative")
        self.shop_domain = f"{match.group(1)}.myshopify.com"
        self.api_version = api_version
        if base_url is None:
            root = f"https://{self.shop_domain}"
        else:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValidationError("base_url", "expected http(s)://host[:port][/prefix] without query")
            root = base_url.rstrip("/")
        self.endpoint = f"{root}/admin/api/{api_version}/graphql.json"
        self._host = urlsplit(self.endpoint).netloc
        self._token = access_token.strip()
        self.max_retries = max_retries
        self.max_throttled_retries = max_throttled_retries
        self.bucket = bucket or LeakyBucket(sleep=sleep)
        self._sleep = sleep
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._validate = validate
        self._rng = rng or random.Random()
        http_timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        # Default headers only: the token is added per request so that no client-level object
        # (whose repr could end up in a log) ever holds it.
        self._http = httpx.Client(transport=transport, timeout=http_timeout, headers={"User-Agent": USER_AGENT})
        # Staged targets are another host (cloud storage): a separate client that never has the token.
        self._upload_http = httpx.Client(transport=transport, timeout=http_timeout, headers={"User-Agent": USER_AGENT})
        self._expected: dict[str, float] = {}
        self._stats_lock = threading.Lock()
        self._counts = {"requests": 0, "throttled": 0, "retries": 0}
        self._points = 0.0

    def __repr__(self) -> str:
        return f"ShopifyClient(shop={self.shop_domain!r}, api_version={self.api_version!r}, endpoint={self.endpoint!r})"

    def close(self) -> None:
        """Close both HTTP connection pools."""
        self._http.close()
        self._upload_http.close()

    def stats(self) -> ClientStats:
        """Requests sent, THROTTLED answers, retries, seconds spent pacing and throttle points spent
        (the actual cost Shopify reported), so far."""
        with self._stats_lock:
            return ClientStats(
                requests=self._counts["requests"],
                throttled=self._counts["throttled"],
                retries=self._counts["retries"],
                paced_seconds=self.bucket.waited,
                points_spent=self._points,
            )

    # -- transport --------------------------------------------------------------------------

    def execute(self, document: str, variables: Mapping[str, Any] | None = None, *, idempotent: bool = True) -> GraphQLResult:
        """Send one document (see :meth:`BaseShopifyClient.execute` and the table in the module docstring)."""
        info = operation_info(document)
        variables = dict(variables or {})
        if self._validate:
            problems = validate_document(document, variables, api_version=self.api_version)
            if problems:
                raise ShopifyValidationError(problems, operation=info.name)
        try:
            body = json.dumps({"query": document, "variables": variables, "operationName": info.name})
        except (TypeError, ValueError) as exc:
            raise ShopifyValidationError([f"variables are not JSON: {exc}"], operation=info.name) from None

        tries = throttled_tries = 0
        while True:
            try:
                result = self._attempt(info.name, body, idempotent)
            except _Retry as retry:
                if retry.throttled:
                    throttled_tries += 1
                    exhausted = throttled_tries > self.max_throttled_retries
                else:
                    tries += 1
                    exhausted = tries > self.max_retries
                if exhausted:
                    raise retry.error from None
                delay = self._backoff_delay(tries) if retry.delay is None else retry.delay
                self._count("retries")
                log.warning("%s; retrying in %.2f s", retry.error, delay)
                if delay > 0:
                    self._sleep(delay)
                continue
            if info.is_mutation:
                raise_user_errors(info.name, result.data)
            return result

    def _attempt(self, operation: str, body: str, idempotent: bool) -> GraphQLResult:
        expected = self._expected_cost(operation)
        self.bucket.acquire(expected)
        self._count("requests")
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json", "Accept": "application/json"}
        try:
            response = self._http.post(self.endpoint, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self.bucket.release(expected)
            raise _Retry(ShopifyNetworkError(f"cannot connect to {self._host} ({type(exc).__name__})", operation=operation)) from None
        except httpx.TransportError as exc:
            # The request may have reached Shopify: keep the reservation, retry only if harmless.
            self.bucket.settle(expected, None)
            error = ShopifyNetworkError(f"no answer from {self._host} ({type(exc).__name__})", operation=operation)
            if idempotent:
                raise _Retry(error) from None
            raise error from None
        return self._interpret(operation, response, expected, idempotent)

    def _interpret(self, operation: str, response: httpx.Response, expected: float, idempotent: bool) -> GraphQLResult:
        status = response.status_code
        parsed = _json_or_none(response)
        cost = parse_cost(parsed.get("extensions")) if isinstance(parsed, dict) else None
        self.bucket.settle(expected, cost)
        if cost is not None and cost.requested is not None:
            self._learn_cost(operation, cost.requested)
        if cost is not None and cost.actual is not None:
            with self._stats_lock:
                self._points += cost.actual

        if status in (401, 403):
            raise ShopifyAuthError(f"HTTP {status}: the access token was refused or lacks a scope", operation=operation)
        if status == 429:
            self._count("throttled")
            raise _Retry(ShopifyThrottled("HTTP 429 Too Many Requests", operation=operation), _retry_after(response), throttled=True)
        if status >= 500:
            error = ShopifyServerError(f"HTTP {status} from {self._host}", operation=operation, status=status)
            if idempotent:
                raise _Retry(error, _retry_after(response))
            raise error
        if status != 200:
            raise ShopifyResponseError(f"HTTP {status}: {_short(parsed, response)}", operation=operation, status=status)
        if not isinstance(parsed, dict):
            raise ShopifyResponseError("the answer is not a JSON object", operation=operation, status=status)

        errors = parsed.get("errors")
        if errors:
            self._raise_graphql_errors(operation, errors, cost, idempotent)
        data = parsed.get("data")
        if not isinstance(data, dict):
            raise ShopifyResponseError("the answer has no data", operation=operation, status=status)
        return GraphQLResult(operation=operation, data=data, cost=cost)

    def _raise_graphql_errors(self, operation: str, errors: Any, cost: Any, idempotent: bool) -> None:
        if not isinstance(errors, list):
            raise ShopifyResponseError(f"GraphQL error: {str(errors)[:200]}", operation=operation)
        codes = {((e.get("extensions") or {}).get("code") if isinstance(e, dict) else None) for e in errors}
        messages = "; ".join(str(e.get("message", e))[:200] if isinstance(e, dict) else str(e)[:200] for e in errors)
        if "THROTTLED" in codes:
            self._count("throttled")
            # With the bucket reported, the next acquire() waits exactly for the requested cost;
            # without it there is nothing to go by but backoff.
            delay = 0.0 if cost is not None and cost.throttle is not None and cost.requested is not None else None
            raise _Retry(ShopifyThrottled(f"THROTTLED: {messages}", operation=operation), delay, throttled=True)
        if "ACCESS_DENIED" in codes:
            raise ShopifyAuthError(f"access denied: {messages}", operation=operation)
        if "INTERNAL_SERVER_ERROR" in codes:
            error = ShopifyServerError(f"internal error: {messages}", operation=operation)
            if idempotent:
                raise _Retry(error)
            raise error
        raise ShopifyResponseError(f"GraphQL errors: {messages}", operation=operation)

    def _upload(self, target: StagedTarget, filename: str, mime_type: str, data: bytes) -> None:
        """POST the bytes as a form with the target's parameters (the file field goes last)."""
        host = urlsplit(target.url).netloc  # the signed URL itself is a credential: name only its host
        tries = 0
        while True:
            try:
                response = self._upload_http.post(target.url, data=dict(target.parameters), files={"file": (filename, data, mime_type)})
            except httpx.TransportError as exc:
                error: ShopifyError = ShopifyNetworkError(f"staged upload to {host} failed ({type(exc).__name__})", operation="StagedUpload")
                delay = None
            else:
                if response.is_success:
                    return
                if response.status_code < 500 and response.status_code != 429:
                    raise ShopifyResponseError(
                        f"staged upload to {host} refused: HTTP {response.status_code}", operation="StagedUpload", status=response.status_code
                    )
                error = ShopifyServerError(f"staged upload to {host}: HTTP {response.status_code}", operation="StagedUpload", status=response.status_code)
                delay = _retry_after(response)
            tries += 1
            if tries > self.max_retries:
                raise error
            self._count("retries")
            self._sleep(self._backoff_delay(tries) if delay is None else delay)

    # -- helpers ----------------------------------------------------------------------------

    def _expected_cost(self, operation: str) -> float:
        with self._stats_lock:
            return self._expected.get(operation, 0.0)

    def _learn_cost(self, operation: str, requested: float) -> None:
        with self._stats_lock:
            self._expected[operation] = requested

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._counts[name] += 1

    def _backoff_delay(self, attempt: int) -> float:
        base = min(self._max_backoff, self._backoff * (2 ** max(0, attempt - 1)))
        return base * (0.5 + self._rng.random() / 2)  # jitter: parallel workers do not retry in step


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _short(parsed: Any, response: httpx.Response) -> str:
    if isinstance(parsed, dict) and parsed.get("errors"):
        return str(parsed["errors"])[:200]
    return response.reason_phrase or "unexpected status"


def _retry_after(response: httpx.Response, ceiling: float = 120.0) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), capped; None when absent."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(0.0, seconds), ceiling)
