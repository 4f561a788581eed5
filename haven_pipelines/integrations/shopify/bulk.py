"""Shopify bulk operations: stage a JSONL file, start, poll with backoff, download and parse the result.

    bulk = ShopifyBulk(client)                     # any BaseShopifyClient that talks to a shop
    path = bulk.stage_jsonl(lines)                 # stagedUploadsCreate (BULK_MUTATION_VARIABLES) + upload
    op = bulk.run_mutation(BULK_PRODUCT_SET, path) # bulkOperationRunMutation; store op.id before waiting
    op = bulk.wait(op.id)                          # bulkOperation(id:) until COMPLETED/FAILED/CANCELED
    for line in bulk.mutation_results(op): ...     # one BulkLineResult per input line

A bulk operation runs outside the per-request throttle: starting one costs one mutation (10 points)
and each poll a point, however many lines it has. Results are read from ``url`` (``partialDataUrl``
for a failed one), a signed storage URL: it is fetched without the access token, with timeouts and
retries of its own.

Errors: starting refused (``OPERATION_IN_PROGRESS``, ``LIMIT_REACHED``, a bad file) is
:class:`~haven_pipelines.integrations.shopify.errors.ShopifyUserErrors` from the client; an
operation that does not finish within ``timeout`` is :class:`BulkOperationTimeout` (it goes on at
Shopify, and its id still names it); a result file that cannot be fetched or read is
:class:`~haven_pipelines.integrations.shopify.errors.ShopifyResponseError` or
:class:`~haven_pipelines.integrations.shopify.errors.ShopifyNetworkError`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from haven_pipelines.integrations.shopify import bulk_documents as docs
from haven_pipelines.integrations.shopify.base import BaseShopifyClient
from haven_pipelines.integrations.shopify.errors import (
    ShopifyError,
    ShopifyNetworkError,
    ShopifyResponseError,
    UserError,
)
from haven_pipelines.integrations.shopify.models import (
    MediaRef,
    ProductSetResult,
    ShopifyProduct,
    ShopifyVariant,
    StagedTarget,
    VariantRef,
)

TERMINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


class BulkOperationTimeout(ShopifyError):
    """The operation was still running when the wait ended; ``operation_id`` names it."""

    def __init__(self, operation_id: str, status: str, seconds: float):
        self.operation_id = operation_id
        self.status = status
        super().__init__(f"bulk operation {operation_id} still {status} after {seconds:.0f} s", operation="BulkOperation")


@dataclass(frozen=True)
class BulkOperation:
    """A bulk operation as Shopify last reported it."""

    id: str
    status: str
    error_code: str | None = None
    object_count: int = 0
    url: str | None = None
    partial_data_url: str | None = None

    @property
    def finished(self) -> bool:
        """Whether it will not change any more (COMPLETED, FAILED, CANCELED, EXPIRED)."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class BulkLineResult:
    """What one input line of a bulk mutation did.

    ``payload`` is the mutation field's payload (e.g. ``productSet``'s ``{product, userErrors}``),
    None when the line failed before running; ``errors`` lists the refusals: its ``userErrors``, or
    the GraphQL errors of a line whose variables did not fit.
    """

    line: int
    payload: Mapping[str, Any] | None
    errors: tuple[UserError, ...]

    @property
    def ok(self) -> bool:
        """True when the line ran and was not refused."""
        return self.payload is not None and not self.errors


class ShopifyBulk:
    """Bulk operations over a Shopify client's transport.

    Args:
        client: the shop's client (its ``execute`` sends the requests, its ``_upload`` the file).
        http: the client that downloads result files (a new one, without the token, by default).
        sleep, clock: waiting and monotonic time (tests inject them).
        poll_first, poll_max, poll_factor: the first wait between polls, its ceiling, and the growth
            per poll (Shopify's guide polls every few seconds; long operations need no faster).
        download_retries: further tries of a result download after a 5xx or a network failure.
    """

    def __init__(
        self,
        client: BaseShopifyClient,
        *,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll_first: float = 1.0,
        poll_max: float = 15.0,
        poll_factor: float = 1.5,
        download_retries: int = 4,
    ):
        self.client = client
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
        self._sleep = sleep
        self._clock = clock
        self.poll_first = poll_first
        self.poll_max = poll_max
        self.poll_factor = poll_factor
        self.download_retries = download_retries
        self.polls = 0

    def close(self) -> None:
        """Close the download client (if this object made it)."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> ShopifyBulk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- starting -------------------------------------------------------------------------------

    def stage_jsonl(self, lines: Iterable[Mapping[str, Any]], filename: str = "bulk_op_vars.jsonl") -> str:
        """Upload one JSON object per line as a bulk variables file; returns its ``stagedUploadPath``."""
        data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
        variables = {"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": filename, "mimeType": "text/jsonl", "httpMethod": "POST"}]}
        payload = self.client.execute(docs.BULK_STAGED_UPLOAD, variables).data.get("stagedUploadsCreate") or {}
        try:
            raw = payload["stagedTargets"][0]
            target = StagedTarget(url=raw["url"], resource_url=raw["resourceUrl"],
                                  parameters=tuple((p["name"], p["value"]) for p in raw["parameters"]))
        except (KeyError, TypeError, IndexError):
            raise ShopifyResponseError("stagedUploadsCreate answered without a usable target", operation="BulkStagedUpload") from None
        key = dict(target.parameters).get("key")
        if not key:
            raise ShopifyResponseError("the staged target has no 'key' parameter to run the bulk mutation with", operation="BulkStagedUpload")
        self.client._upload(target, filename, "text/jsonl", data)
        return key

    def run_mutation(self, mutation: str, staged_upload_path: str, client_identifier: str | None = None) -> BulkOperation:
        """Start ``mutation`` over the staged file; raises ShopifyUserErrors when Shopify refuses to start."""
        variables = {"mutation": mutation, "stagedUploadPath": staged_upload_path, "clientIdentifier": client_identifier}
        # Starting twice would run the file twice: never retried after an ambiguous failure.
        data = self.client.execute(docs.BULK_RUN_MUTATION, variables, idempotent=False).data
        return _operation((data.get("bulkOperationRunMutation") or {}).get("bulkOperation"), "BulkRunMutation")

    def run_query(self, query: str) -> BulkOperation:
        """Start a bulk query (reads only, so a retry is harmless)."""
        data = self.client.execute(docs.BULK_RUN_QUERY, {"query": query}).data
        return _operation((data.get("bulkOperationRunQuery") or {}).get("bulkOperation"), "BulkRunQuery")

    # -- waiting --------------------------------------------------------------------------------

    def get(self, operation_id: str) -> BulkOperation | None:
        """The operation as Shopify reports it now, or None when Shopify does not know it."""
        self.polls += 1
        raw = self.client.execute(docs.BULK_OPERATION, {"id": operation_id}).data.get("bulkOperation")
        return None if raw is None else _operation(raw, "BulkOperation")

    def wait(self, operation_id: str, *, timeout: float = 3600.0) -> BulkOperation:
        """Poll until the operation is finished, waiting longer between polls as it runs.

        Raises:
            BulkOperationTimeout: still running after ``timeout`` seconds.
            ShopifyResponseError: Shopify does not know the operation.
        """
        deadline = self._clock() + timeout
        delay = self.poll_first
        while True:
            op = self.get(operation_id)
            if op is None:
                raise ShopifyResponseError(f"bulk operation {operation_id} is unknown to the shop", operation="BulkOperation")
            if op.finished:
                return op
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise BulkOperationTimeout(operation_id, op.status, timeout)
            self._sleep(min(delay, remaining))
            delay = min(self.poll_max, delay * self.poll_factor)

    # -- results --------------------------------------------------------------------------------

    def lines(self, op: BulkOperation) -> Iterator[dict[str, Any]]:
        """The JSON objects of the operation's result file (the partial one of a failed operation)."""
        url = op.url or op.partial_data_url
        if not url:
            return iter(())  # an operation over an empty file, or one that failed before any line
        return iter(_parse_jsonl(self._download(url)))

    def mutation_results(self, op: BulkOperation) -> list[BulkLineResult]:
        """One result per line that ran, ordered by ``__lineNumber`` (Shopify does not promise order)."""
        results = []
        for raw in self.lines(op):
            number = raw.get("__lineNumber")
            if not isinstance(number, int):
                raise ShopifyResponseError("a bulk result line has no __lineNumber", operation="BulkOperation")
            errors = [_user_error(e, graphql=True) for e in raw.get("errors") or ()]
            payload = None
            data = raw.get("data")
            if isinstance(data, Mapping) and data:
                payload = next(iter(data.values()))
            if isinstance(payload, Mapping):
                errors += [_user_error(e) for e in payload.get("userErrors") or ()]
            else:
                payload = None
            results.append(BulkLineResult(number, payload, tuple(errors)))
        return sorted(results, key=lambda r: r.line)

    def _download(self, url: str) -> bytes:
        host = httpx.URL(url).host  # the URL itself is signed: name only its host
        tries = 0
        while True:
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:
                error: ShopifyError = ShopifyNetworkError(f"bulk result download from {host} failed ({type(exc).__name__})", operation="BulkResult")
            else:
                if response.is_success:
                    return response.content
                error = ShopifyResponseError(f"bulk result download from {host}: HTTP {response.status_code}",
                                             operation="BulkResult", status=response.status_code)
                if response.status_code < 500:
                    raise error
            tries += 1
            if tries > self.download_retries:
                raise error
            self._sleep(min(self.poll_max, self.poll_first * (2 ** (tries - 1))))


def product_set_result(result: BulkLineResult) -> ProductSetResult:
    """What an accepted line of :data:`~.bulk_documents.BULK_PRODUCT_SET` read back, as the
    per-product ``productSet`` returns it (variants by SKU, media in the order of ``input.files``).

    Raises:
        ShopifyResponseError: the line answered without a product, or in an unexpected shape.
    """
    product = result.payload.get("product") if result.payload else None
    if not isinstance(product, Mapping) or not product.get("id"):
        raise ShopifyResponseError("a bulk productSet line answered without a product", operation="BulkProductSet")
    try:
        variants = tuple(VariantRef(id=v["id"], sku=v.get("sku")) for v in (product.get("variants") or {}).get("nodes", ()))
        connection = product.get("media") or {}
        media = tuple(MediaRef(id=m["id"], alt=m.get("alt"), status=m.get("status")) for m in connection.get("nodes", ()))
        return ProductSetResult(
            id=product["id"], handle=product["handle"], title=product.get("title") or "", status=product.get("status") or "",
            variants=variants, media=media,
            # Without the media selection (or with more than a page) their ids are not all known.
            media_complete="media" in product and not (connection.get("pageInfo") or {}).get("hasNextPage"),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ShopifyResponseError(f"a bulk productSet line has an unexpected shape ({exc!r})",
                                   operation="BulkProductSet") from None


def products_from_bulk_lines(lines: Iterable[Mapping[str, Any]]) -> dict[str, ShopifyProduct]:
    """Products (by GID) from the lines of :data:`~.bulk_documents.BULK_PRODUCTS_QUERY`, variants joined by ``__parentId``."""
    heads: dict[str, Mapping[str, Any]] = {}
    variants: dict[str, list[ShopifyVariant]] = {}
    try:
        for line in lines:
            parent = line.get("__parentId")
            if parent is None:
                heads[line["id"]] = line
                continue
            variants.setdefault(parent, []).append(ShopifyVariant(
                id=line["id"], sku=line.get("sku"), price=Decimal(str(line["price"])),
                compare_at_price=None if line.get("compareAtPrice") is None else Decimal(str(line["compareAtPrice"])),
            ))
        return {
            gid: ShopifyProduct(id=gid, handle=p["handle"], title=p["title"], status=p["status"],
                                updated_at=p.get("updatedAt"), variants=tuple(variants.get(gid, ())))
            for gid, p in heads.items()
        }
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise ShopifyResponseError(f"bulk products line has an unexpected shape ({exc!r})", operation="BulkProducts") from None


def _operation(raw: Any, operation: str) -> BulkOperation:
    if not isinstance(raw, Mapping) or not raw.get("id") or not raw.get("status"):
        raise ShopifyResponseError("the answer has no bulk operation", operation=operation)
    return BulkOperation(
        id=raw["id"], status=raw["status"], error_code=raw.get("errorCode"),
        object_count=int(raw.get("objectCount") or 0), url=raw.get("url"), partial_data_url=raw.get("partialDataUrl"),
    )


def _user_error(raw: Any, *, graphql: bool = False) -> UserError:
    if not isinstance(raw, Mapping):
        return UserError(field=(), message=str(raw))
    field = raw.get("field") if not graphql else raw.get("path")
    code = raw.get("code") if not graphql else (raw.get("extensions") or {}).get("code")
    return UserError(
        field=tuple(str(f) for f in field) if isinstance(field, list | tuple) else (),
        message=str(raw.get("message") or "refused"),
        code=code,
    )


def _parse_jsonl(data: bytes) -> list[dict[str, Any]]:
    out = []
    for number, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            raise ShopifyResponseError(f"bulk result line {number} is not JSON", operation="BulkResult") from None
        if not isinstance(value, dict):
            raise ShopifyResponseError(f"bulk result line {number} is not an object", operation="BulkResult")
        out.append(value)
    return out
