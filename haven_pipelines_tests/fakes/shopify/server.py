"""The fake Shopify Admin GraphQL server: a real HTTP server on 127.0.0.1 in a thread.

One request runs as Shopify runs it: authenticate (``X-Shopify-Access-Token``, else 401), parse and
validate the document against the real schema (errors answer HTTP 200 with ``errors``), coerce the
variables, compute the requested cost (over 1,000 points: ``MAX_COST_EXCEEDED``), take it from the
leaky bucket or answer ``THROTTLED`` (HTTP 200, nothing charged), execute, and refund the
difference between requested and actual cost. Every GraphQL answer carries ``extensions.cost``.

Scripted faults (see :mod:`.faults`) sit between these steps. Uploads for ``stagedUploadsCreate``
targets go to ``<base_url>/staged-uploads/...`` on the same server (PUT of the bytes, or a
multipart POST with a ``file`` part); a GET there serves them back. Bulk operations (see
:mod:`.bulk`, which also states how processing time is modelled) run in worker threads of the same
server, and their result files are served at ``<base_url>/bulk-results/<token>.jsonl`` (no token
needed, like Shopify's signed storage URLs).

The server never logs: request lines and headers (which carry the token) go nowhere.
"""

from __future__ import annotations

import copy
import dataclasses
import email.parser
import email.policy
import hmac
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.language import FieldNode

from .cost import MAX_QUERY_COST, LeakyBucket, QueryCost
from .bulk import BulkEngine, FakeBulkOperation
from .faults import Fault, FaultQueue
from .resolvers import MutationRoot, QueryRoot, RequestContext, field_resolver, type_resolver
from .schema import DEFAULT_API_VERSION, load_admin_schema
from .state import FakeProduct, ShopState, StagedUpload, user_error

DEFAULT_TOKEN = "shpat_test_00000000000000000000000000000000"
THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"
_GRAPHQL_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/graphql\.json$")
_UPLOAD_PATH = re.compile(r"^/staged-uploads/(?P<token>[0-9a-f]+)(?:/(?P<filename>[^/]*))?$")
_RESULT_PATH = re.compile(r"^/bulk-results/(?P<token>[0-9a-f]+)\.jsonl$")


@dataclass(frozen=True)
class CallRecord:
    """One GraphQL request as the fake saw it (never the token)."""

    root_fields: tuple[str, ...]
    operation_name: str | None
    variables: dict[str, Any]
    outcome: str
    requested_cost: int | None = None
    actual_cost: int | None = None


@dataclass
class FakeShopifyStats:
    """Counters; read them after the calls under test have returned."""

    requests: int = 0
    throttled: int = 0
    points_requested: int = 0
    points_charged: int = 0
    http_faults: int = 0
    dropped: int = 0
    invalid: int = 0
    uploads: int = 0
    operations: Counter[str] = field(default_factory=Counter)


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close (they end promptly: open connections are shut down).
    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeShopify):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def shutdown_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms a call.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Silenced: request logs would be noise, and headers carry the access token."""

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self.server.fake._dispatch(self, "POST")

    def do_PUT(self) -> None:  # noqa: N802
        self.server.fake._dispatch(self, "PUT")

    def do_GET(self) -> None:  # noqa: N802
        self.server.fake._dispatch(self, "GET")

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, bytes):
            data, ctype = body, "application/octet-stream"
        else:
            data, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeShopify:
    """A local Shopify Admin GraphQL API that executes against the real 2026-10 schema.

    Use as a context manager; ``base_url`` is what the client takes as its base-URL override
    (requests go to ``<base_url>/admin/api/<api_version>/graphql.json``)::

        with FakeShopify(bucket_size=2000) as shop:
            client = ShopifyClient(shop.shop_domain, shop.token, base_url=shop.base_url)
            ...
            assert len(shop.products) == 1

    Args:
        token: the access token the shop accepts.
        bucket_size: leaky bucket capacity in points (Standard plan: 1,000).
        restore_rate: points restored a second (Standard plan: 100).
        api_version: the only version the endpoint answers (others: 404); its schema file must exist.
        shop: the shop's subdomain (``<shop>.myshopify.com``).
        max_query_cost: the largest cost one request may ask for.
        clock: monotonic seconds for the bucket; inject one to move time in tests.
        bulk_mutation_limit: bulk mutations that may run at once (2026-01 on: 5; 1 gives the older
            one-at-a-time rule and its ``OPERATION_IN_PROGRESS`` error).
        bulk_query_limit: the same for bulk queries.
        bulk_start_seconds: how long a bulk operation stays ``CREATED`` before it runs.
        bulk_line_seconds: extra time each bulk line takes (besides executing it).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bucket_size: float = 1000,
        restore_rate: float = 100.0,
        api_version: str = DEFAULT_API_VERSION,
        shop: str = "haven-test",
        max_query_cost: int = MAX_QUERY_COST,
        clock: Callable[[], float] = time.monotonic,
        bulk_mutation_limit: int = 5,
        bulk_query_limit: int = 5,
        bulk_start_seconds: float = 0.05,
        bulk_line_seconds: float = 0.0,
    ):
        self.token = token
        self.api_version = api_version
        self.shop_domain = f"{shop}.myshopify.com"
        self.shop_name = shop.replace("-", " ").title()
        self.max_query_cost = max_query_cost
        self.schema = load_admin_schema(api_version)
        self.bucket = LeakyBucket(bucket_size, restore_rate, clock)
        self.faults = FaultQueue()
        self.state = ShopState()
        self.stats = FakeShopifyStats()
        self.calls: list[CallRecord] = []
        self._stats_lock = threading.Lock()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.bulk = BulkEngine(
            self.schema, self.state, self._context, MutationRoot, QueryRoot, field_resolver, type_resolver,
            lambda: self.base_url, mutation_limit=bulk_mutation_limit, query_limit=bulk_query_limit,
            start_seconds=bulk_start_seconds, line_seconds=bulk_line_seconds,
        )  # fmt: skip

    def _context(self) -> RequestContext:
        """A fresh request context (resolvers of one request, or of one bulk line, share one)."""
        return RequestContext(state=self.state, shop_name=self.shop_name, shop_domain=self.shop_domain,
                              base_url=self.base_url, bulk=self.bulk)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeShopify:
        """Start serving on an ephemeral port of 127.0.0.1."""
        if self._server is not None:
            return self
        self._closing.clear()
        self._server = _Server(self)
        self.state.staged_prefix = f"{self.base_url}/staged-uploads/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-shopify", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end open connections and slow answers, and release the socket."""
        if self._server is None:
            return
        self._closing.set()
        self.bulk.close()  # before the server goes: a worker finishing now still has its URLs
        server, self._server = self._server, None
        server.shutdown()
        server.shutdown_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeShopify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (only while running)."""
        if self._server is None:
            raise RuntimeError("the fake Shopify server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def graphql_url(self) -> str:
        """The full GraphQL endpoint URL."""
        return f"{self.base_url}/admin/api/{self.api_version}/graphql.json"

    # -- inspection and knobs -----------------------------------------------------------------

    @property
    def products(self) -> dict[str, FakeProduct]:
        """A snapshot of the shop's products by GID (the objects themselves are live)."""
        with self.state.lock:
            return dict(self.state.products)

    def product_by_handle(self, handle: str) -> FakeProduct | None:
        """The product with that handle, if any."""
        with self.state.lock:
            return self.state.by_handle(handle)

    @property
    def uploads(self) -> dict[str, StagedUpload]:
        """Staged uploads by token (``data`` is None until the bytes arrive)."""
        with self.state.lock:
            return dict(self.state.uploads)

    @property
    def operation_counts(self) -> Counter[str]:
        """How many times each root field was executed (throttled or refused calls excluded)."""
        with self._stats_lock:
            return Counter(self.stats.operations)

    def throttle_floor_seconds(self, points: int | None = None) -> float:
        """The least time in which the bucket lets ``points`` be spent, starting full.

        Args:
            points: points to spend; by default what the fake has charged so far (actual costs).

        Returns:
            ``max(0, points - bucket size) / restore rate`` seconds.
        """
        spent = self.stats.points_charged if points is None else points
        return max(0.0, spent - self.bucket.size) / self.bucket.restore_rate

    @property
    def bulk_operations(self) -> list[FakeBulkOperation]:
        """Every bulk operation started on this shop, oldest first (the objects are live)."""
        return self.bulk.all()

    def hold_bulk(self) -> None:
        """Keep bulk operations RUNNING, no line processed, until :meth:`release_bulk`."""
        self.bulk.hold()

    def release_bulk(self) -> None:
        """Let held bulk operations run on."""
        self.bulk.release()

    def fail_next_bulk(self, error_code: str = "INTERNAL_SERVER_ERROR") -> None:
        """The next bulk operation fails halfway with ``error_code``, keeping partial data."""
        self.bulk.fail_next(error_code)

    def delete_product(self, gid: str) -> bool:
        """Delete a product as someone in the Shopify admin would; True if it existed."""
        return self.state.delete_product(gid)

    def delete_media(self, media_gid: str) -> bool:
        """Delete an image file as someone in the Shopify admin would; True if it existed."""
        return self.state.delete_media(media_gid)

    def edit_price(self, product_gid: str, sku: str, price: str) -> None:
        """Change one variant's price as someone in the Shopify admin would."""
        from decimal import Decimal

        with self.state.lock:
            variant = self.state.products[product_gid].variant_by_sku(sku)
            if variant is None:
                raise KeyError(f"no variant with SKU {sku} on {product_gid}")
            variant.price = Decimal(price)

    def set_status(self, product_gid: str, status: str) -> None:
        """Change a product's status (e.g. ``ARCHIVED``) as someone in the Shopify admin would."""
        with self.state.lock:
            self.state.products[product_gid].status = status

    def set_bucket(self, available: float) -> None:
        """Set the bucket's current level (e.g. 0 to force THROTTLED)."""
        self.bucket.set_available(available)

    def inject(self, *faults: Fault, times: int = 1) -> None:
        """Queue faults for the coming requests (see :mod:`.faults`)."""
        self.faults.add(*faults, times=times)

    def fail_next(
        self, status: int = 503, *, times: int = 1, retry_after: float | None = None, operation: str | None = None
    ) -> None:
        """The next ``times`` matching requests answer ``status`` without executing."""
        self.faults.add(Fault.http(status, retry_after=retry_after, operation=operation), times=times)

    def drop_next(self, *, times: int = 1, operation: str | None = "productSet") -> None:
        """The next ``times`` matching requests commit, then lose their connection unanswered."""
        self.faults.add(Fault.drop(operation), times=times)

    def slow_next(self, seconds: float, *, times: int = 1, after_commit: bool = False, operation: str | None = None) -> None:
        """The next ``times`` matching requests wait ``seconds`` before answering."""
        self.faults.add(Fault.slow(seconds, after_commit=after_commit, operation=operation), times=times)

    def user_error_next(
        self,
        message: str,
        *,
        field: Iterable[str] | None = None,
        code: str | None = "INVALID_INPUT",
        operation: str | None = None,
    ) -> None:
        """The next matching mutation answers this userError and changes nothing."""
        self.faults.add(Fault.user_error(message, field=field, code=code, operation=operation))

    def reject_sku(self, sku: str, message: str | None = None) -> None:
        """Every variant with this SKU gets a userError (until :meth:`clear_faults`)."""
        with self.state.lock:
            self.state.rejected_skus[sku] = message or f"SKU '{sku}' was rejected by the shop"

    def clear_faults(self) -> None:
        """Forget queued faults and rejected SKUs."""
        self.faults.clear()
        with self.state.lock:
            self.state.rejected_skus.clear()

    def reset_stats(self) -> None:
        """Zero the counters and forget the call log."""
        with self._stats_lock:
            self.stats = FakeShopifyStats()
            self.calls = []

    # -- request handling ----------------------------------------------------------------------

    def _count(self, record: CallRecord | None = None, **increments: int) -> None:
        with self._stats_lock:
            for name, n in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + n)
            if record is not None:
                self.calls.append(record)

    def _dispatch(self, handler: _Handler, method: str) -> None:
        path = urlsplit(handler.path).path
        result = _RESULT_PATH.match(path)
        if result and method == "GET":
            handler.read_body()
            data = self.bulk.results.get(result["token"])
            handler.send(200, data) if data is not None else handler.send(404, {"errors": "Not Found"})
            return
        upload = _UPLOAD_PATH.match(path)
        if upload:
            self._handle_upload(handler, method, upload["token"])
            return
        match = _GRAPHQL_PATH.match(path)
        if match is None or method != "POST":
            handler.read_body()
            handler.send(404, {"errors": "Not Found"})
            return
        self._handle_graphql(handler, match["version"])

    def _handle_upload(self, handler: _Handler, method: str, token: str) -> None:
        body = handler.read_body()
        with self.state.lock:
            target = self.state.uploads.get(token)
        if target is None:
            handler.send(404, {"errors": "Not Found"})
            return
        if method == "GET":
            if target.data is None:
                handler.send(404, {"errors": "Not Found"})
            else:
                handler.send(200, target.data)
            return
        data = body
        if method == "POST":
            data = _multipart_file(handler.headers.get("Content-Type", ""), body)
            if data is None:
                handler.send(400, {"errors": "multipart form with a 'file' part expected"})
                return
        with self.state.lock:
            target.data = data
        self._count(uploads=1)
        handler.send(201 if method == "POST" else 200, {})

    def _cost_extension(self, requested: int | None, actual: int | None) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": self.bucket.status()}}

    def _handle_graphql(self, handler: _Handler, version: str) -> None:
        body = handler.read_body()
        self._count(requests=1)
        if version != self.api_version:
            handler.send(404, {"errors": "Not Found"})
            return
        if not hmac.compare_digest(handler.headers.get("X-Shopify-Access-Token", "").encode(), self.token.encode()):
            handler.send(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
            return
        try:
            if handler.headers.get("Content-Type", "").startswith("application/graphql"):
                request: dict[str, Any] = {"query": body.decode()}
            else:
                request = json.loads(body or b"null")
            if not isinstance(request, dict) or not isinstance(request.get("query"), str):
                raise ValueError("no query")
            variables = request.get("variables") or {}
            if not isinstance(variables, dict):
                raise ValueError("variables must be an object")
        except ValueError:
            handler.send(400, {"errors": {"query": "Required parameter missing or invalid"}})
            return
        status, payload, headers, fault = self._run(request["query"], variables, request.get("operationName"))
        if fault is not None and fault.kind == "slow" and fault.after_commit:
            self._closing.wait(fault.seconds)
        if fault is not None and fault.kind == "drop":
            self._count(dropped=1)
            handler.drop()
            return
        handler.send(status, payload, headers)

    def _run(
        self, query: str, variables: dict[str, Any], operation_name: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str], Fault | None]:
        """Run one GraphQL request; returns HTTP status, body, headers and the fault taken."""
        document, errors = _parse_and_validate(self.schema, query)
        if document is None:
            self._count(CallRecord((), operation_name, copy.deepcopy(variables), "invalid"), invalid=1)
            return 200, {"errors": [e.formatted for e in errors], "extensions": self._cost_extension(0, 0)}, {}, None
        operation = get_operation_ast(document, operation_name)
        roots = tuple(s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)) if operation else ()
        record = CallRecord(roots, operation_name, copy.deepcopy(variables), "ok")

        fault = self.faults.take(roots)
        if fault is not None and fault.kind == "status":
            self._count(dataclasses.replace(record, outcome=f"http_{fault.status}"), http_faults=1)
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            message = "Exceeded API rate limit" if fault.status == 429 else "Internal Server Error"
            return fault.status, {"errors": message}, headers, fault
        if fault is not None and fault.kind == "slow" and not fault.after_commit and self._closing.wait(fault.seconds):
            # Closing while the answer is held back: give up without executing.
            return 503, {"errors": "Service Unavailable"}, {}, Fault.drop(None)

        if not errors and operation is None:
            errors = [
                GraphQLError(
                    "An operation name is required when a document holds several operations"
                    if operation_name is None
                    else f"No operation named '{operation_name}'"
                )
            ]
        coerced: Any = {}
        if not errors and operation is not None:
            coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
            if isinstance(coerced, list):
                errors = coerced
        if errors:
            self._count(dataclasses.replace(record, outcome="invalid"), invalid=1)
            return 200, {"errors": [e.formatted for e in errors], "extensions": self._cost_extension(0, 0)}, {}, fault
        assert operation is not None

        cost = QueryCost(self.schema, document, operation, coerced)
        requested = cost.requested()
        limit = int(min(self.max_query_cost, self.bucket.size))
        if requested > limit:
            self._count(dataclasses.replace(record, outcome="max_cost", requested_cost=requested), invalid=1)
            message = f"Query cost is {requested}, which exceeds the single query max cost limit ({limit})."
            error = {
                "message": message,
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": limit, "documentation": THROTTLE_DOCS},
            }
            return 200, {"errors": [error], "extensions": self._cost_extension(requested, None)}, {}, fault
        if not self.bucket.try_take(requested):
            self._count(dataclasses.replace(record, outcome="throttled", requested_cost=requested), throttled=1)
            error = {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOCS}}
            return 200, {"errors": [error], "extensions": self._cost_extension(requested, None)}, {}, fault

        ctx = self._context()
        if fault is not None and fault.kind == "user_error":
            ctx.forced_error = user_error(fault.field, fault.message, fault.code)
        is_mutation = operation.operation == OperationType.MUTATION
        root = MutationRoot(ctx) if is_mutation else QueryRoot(ctx)
        with self.state.lock:
            result = execute(
                self.schema, document, root_value=root, context_value=ctx, variable_values=variables,
                operation_name=operation_name, field_resolver=field_resolver, type_resolver=type_resolver,
            )  # fmt: skip
        assert isinstance(result, ExecutionResult)
        actual = min(cost.actual(result.data), requested)
        self.bucket.refund(requested - actual)
        with self._stats_lock:
            self.stats.points_requested += requested
            self.stats.points_charged += actual
            self.stats.operations.update(ctx.executed if is_mutation else roots)
            self.calls.append(
                dataclasses.replace(
                    record,
                    requested_cost=requested,
                    actual_cost=actual,
                    outcome="dropped" if fault and fault.kind == "drop" else "ok",
                )
            )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["extensions"] = self._cost_extension(requested, actual)
        return 200, payload, {}, fault


@lru_cache(maxsize=256)
def _parse_and_validate(schema: GraphQLSchema, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
    """Parse and validate a document once per distinct text: clients resend the same constants."""
    try:
        document = parse(query)
    except GraphQLError as err:
        return None, [err]
    return document, list(validate(schema, document))


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    """The ``file`` part of a multipart/form-data body, or None."""
    if not content_type.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True)
    return None
