"""Bulk operations in the fake shop: ``bulkOperationRunMutation`` and ``bulkOperationRunQuery``.

What Shopify documents (API 2026-10), and this fake does:

- A bulk mutation reads its variables from a JSONL file staged with ``stagedUploadsCreate``
  (resource ``BULK_MUTATION_VARIABLES``); ``stagedUploadPath`` is the ``key`` parameter of the
  target. The mutation must be valid against the schema and have exactly one root field
  (``INVALID_MUTATION``); a path that names no uploaded file is ``NO_SUCH_FILE``; a line that is not
  a JSON object is ``INVALID_STAGED_UPLOAD_FILE``.
- Each line runs as one execution of the mutation, outside the request throttle (nothing is taken
  from the leaky bucket). The result file has one line per input line,
  ``{"data": {...}, "__lineNumber": n}`` (0-based), or ``{"errors": [...], "__lineNumber": n}``
  when the line's variables do not fit the mutation. A refusal is in the line's ``userErrors``.
- A bulk query runs a query (at least one connection, at most five, nested at most two deep;
  ``INVALID`` otherwise) over every object, without ``first``/``last``, and writes one JSONL line
  per node; a node of a nested connection is its own line with ``__parentId`` (lines follow their
  parent, which also satisfies ``groupObjects``).
- Status: ``CREATED``, then ``RUNNING``, then ``COMPLETED`` with ``url``, ``fileSize`` and
  ``objectCount``; ``bulkOperationCancel`` makes it ``CANCELING`` then ``CANCELED``; a scripted
  failure makes it ``FAILED`` with ``errorCode`` and ``partialDataUrl``. Results are downloaded from
  ``url`` without the access token (a signed storage URL at Shopify).
- Concurrency: from API 2026-01 an app may run up to five bulk operations of each type per shop at
  once (``LIMIT_REACHED`` past that); before 2026-01 it was one of each type, and a second one is
  refused with ``OPERATION_IN_PROGRESS`` naming the running operation. ``bulk_mutation_limit=1`` on
  :class:`~haven_pipelines_tests.fakes.shopify.server.FakeShopify` gives that older rule.

Processing time, as modelled: an operation stays ``CREATED`` for ``start_seconds`` (default 0.05 s),
then a worker thread runs its lines in order, each taking as long as the fake needs to execute it
plus ``line_seconds`` (default 0); :meth:`BulkEngine.hold` keeps operations ``RUNNING`` with no line
processed until :meth:`BulkEngine.release`, so that a test can see (or abandon) a running operation
without depending on timing.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLSchema,
    OperationType,
    execute,
    get_named_type,
    get_operation_ast,
    is_object_type,
    parse,
    validate,
)
from graphql.error import GraphQLError

from .state import ShopState, user_error

#: True while a bulk query executes: connection fields then answer every node, without first/last.
UNBOUNDED_PAGES: contextvars.ContextVar[bool] = contextvars.ContextVar("unbounded_pages", default=False)

TERMINAL = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
ACTIVE = ("CREATED", "RUNNING", "CANCELING")
MAX_CONNECTIONS = 5
MAX_DEPTH = 2


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeBulkOperation:
    """One bulk operation as the fake shop holds it."""

    id: str
    type: str  # MUTATION or QUERY
    query: str
    token: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    status: str = "CREATED"
    error_code: str | None = None
    created_at: str = field(default_factory=_now)
    completed_at: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    partial_data_url: str | None = None
    client_identifier: str | None = None
    fail_with: str | None = None
    cancel_requested: bool = False
    result: list[str] = field(default_factory=list)
    result_url: str = ""  # where the result file will be served (fixed at start, while the server runs)


class BulkEngine:
    """Starts, runs, cancels and reports bulk operations for one fake shop.

    Args:
        schema: the Admin schema the lines execute against.
        state: the shop.
        make_context: a fresh request context for one line (resolvers need one).
        mutation_root, query_root: the root value classes of the resolvers.
        field_resolver, type_resolver: graphql-core resolvers of the fake.
        base_url: returns the server's base URL (result files are served under it).
        mutation_limit, query_limit: operations of each type that may run at once.
        start_seconds: time an operation stays CREATED.
        line_seconds: extra time each line takes.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        state: ShopState,
        make_context: Callable[[], Any],
        mutation_root: Callable[[Any], Any],
        query_root: Callable[[Any], Any],
        field_resolver: Callable[..., Any],
        type_resolver: Callable[..., Any],
        base_url: Callable[[], str],
        *,
        mutation_limit: int = 5,
        query_limit: int = 5,
        start_seconds: float = 0.05,
        line_seconds: float = 0.0,
    ):
        self.schema = schema
        self.state = state
        self.make_context = make_context
        self.mutation_root = mutation_root
        self.query_root = query_root
        self.field_resolver = field_resolver
        self.type_resolver = type_resolver
        self.base_url = base_url
        self.limits = {"MUTATION": mutation_limit, "QUERY": query_limit}
        self.start_seconds = start_seconds
        self.line_seconds = line_seconds
        self.operations: dict[str, FakeBulkOperation] = {}
        self.results: dict[str, bytes] = {}
        self.lines_run = 0
        self._ids = itertools.count(7_000_000_001)
        self._lock = threading.RLock()  # _finish runs both inside and outside it
        self._released = threading.Event()
        self._released.set()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._fail_next: str | None = None

    # -- knobs ----------------------------------------------------------------------------------

    def hold(self) -> None:
        """Keep every operation RUNNING, processing no line, until :meth:`release`."""
        self._released.clear()

    def release(self) -> None:
        """Let held operations run on."""
        self._released.set()

    def fail_next(self, error_code: str = "INTERNAL_SERVER_ERROR") -> None:
        """The next operation started fails halfway with ``error_code`` (partial data kept)."""
        with self._lock:
            self._fail_next = error_code

    def close(self) -> None:
        """Stop the workers (operations left unfinished stay as they are)."""
        self._closing.set()
        self._released.set()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- reading ----------------------------------------------------------------------------------

    def get(self, gid: str) -> FakeBulkOperation | None:
        """The operation with that GID, if any."""
        with self._lock:
            return self.operations.get(gid)

    def current(self, op_type: str) -> FakeBulkOperation | None:
        """The most recent operation of ``op_type``."""
        with self._lock:
            ops = [o for o in self.operations.values() if o.type == op_type]
        return ops[-1] if ops else None

    def all(self) -> list[FakeBulkOperation]:
        """Every operation, oldest first."""
        with self._lock:
            return list(self.operations.values())

    # -- starting ---------------------------------------------------------------------------------

    def run_mutation(self, mutation: str, staged_upload_path: str, client_identifier: str | None) -> tuple[FakeBulkOperation | None, list[dict]]:
        """Start a bulk mutation; returns the operation or ``userErrors`` (BulkMutationUserError)."""
        try:
            document = parse(mutation)
        except GraphQLError as exc:
            return None, [user_error(["mutation"], f"Invalid mutation: {exc.message}", "INVALID_MUTATION")]
        problems = validate(self.schema, document)
        operation = get_operation_ast(document)
        if problems or operation is None or operation.operation != OperationType.MUTATION:
            why = "; ".join(p.message for p in problems) or "expected exactly one mutation operation"
            return None, [user_error(["mutation"], f"Invalid mutation: {why}", "INVALID_MUTATION")]
        roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        if len(roots) != 1:
            return None, [user_error(["mutation"], "Invalid mutation: a bulk mutation runs exactly one mutation field", "INVALID_MUTATION")]
        token = staged_upload_path.rstrip("/").split("/")[-2] if staged_upload_path.count("/") >= 2 else ""
        with self.state.lock:
            upload = self.state.uploads.get(token)
        if upload is None or upload.resource != "BULK_MUTATION_VARIABLES" or upload.data is None:
            return None, [user_error(["stagedUploadPath"], "The JSONL file could not be found. Try uploading the file again.", "NO_SUCH_FILE")]
        lines: list[dict[str, Any]] = []
        for raw in upload.data.decode("utf-8", "replace").splitlines():
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if not isinstance(value, dict):
                return None, [user_error(None, "Unexpected file structure - expected JSONL", "INVALID_STAGED_UPLOAD_FILE")]
            lines.append(value)
        return self._start("MUTATION", mutation, lines, client_identifier)

    def run_query(self, query: str) -> tuple[FakeBulkOperation | None, list[dict]]:
        """Start a bulk query; returns the operation or ``userErrors`` (BulkOperationUserError)."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return None, [user_error(["query"], f"Invalid bulk query: {exc.message}", "INVALID")]
        problems = validate(self.schema, document)
        operation = get_operation_ast(document)
        if problems or operation is None or operation.operation != OperationType.QUERY:
            why = "; ".join(p.message for p in problems) or "expected exactly one query operation"
            return None, [user_error(["query"], f"Invalid bulk query: {why}", "INVALID")]
        connections = _connections(self.schema, operation.selection_set, self.schema.query_type, 0)
        if not connections:
            return None, [user_error(["query"], "Bulk queries must contain at least one connection.", "INVALID")]
        if len(connections) > MAX_CONNECTIONS:
            return None, [user_error(["query"], f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.", "INVALID")]
        if max(connections) > MAX_DEPTH:
            return None, [user_error(["query"], f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}.", "INVALID")]
        return self._start("QUERY", query, [], None)

    def cancel(self, gid: str) -> tuple[FakeBulkOperation | None, list[dict]]:
        """Ask a running operation to stop (CANCELING, then CANCELED)."""
        with self._lock:
            op = self.operations.get(gid)
            if op is None:
                return None, [user_error(["id"], "Bulk operation does not exist")]
            if op.status in TERMINAL:
                return op, [user_error(["id"], f"A bulk operation cannot be canceled when it is {op.status.lower()}")]
            op.cancel_requested = True
            op.status = "CANCELING"
        return op, []

    def _start(self, op_type: str, text: str, lines: list[dict[str, Any]], client_identifier: str | None) -> tuple[FakeBulkOperation | None, list[dict]]:
        with self._lock:
            active = [o for o in self.operations.values() if o.type == op_type and o.status in ACTIVE]
            limit = self.limits[op_type]
            if len(active) >= limit:
                if limit == 1:
                    kind = "mutation" if op_type == "MUTATION" else "query"
                    message = f"A bulk {kind} operation for this app and shop is already in progress: {active[0].id}."
                    return None, [user_error(None, message, "OPERATION_IN_PROGRESS")]
                return None, [user_error(None, "Bulk operations limit reached. Please try again later.", "LIMIT_REACHED")]
            number = next(self._ids)
            op = FakeBulkOperation(
                id=f"gid://shopify/BulkOperation/{number}", type=op_type, query=text, token=f"{number:x}",
                lines=lines, client_identifier=client_identifier, fail_with=self._fail_next,
                result_url=f"{self.base_url()}/bulk-results/{number:x}.jsonl",
            )  # fmt: skip
            self._fail_next = None
            self.operations[op.id] = op
        thread = threading.Thread(target=self._work, args=(op,), name=f"fake-bulk-{number}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return op, []

    # -- running ----------------------------------------------------------------------------------

    def _work(self, op: FakeBulkOperation) -> None:
        if self._closing.wait(self.start_seconds):
            return
        with self._lock:
            if op.cancel_requested:
                self._finish(op, "CANCELED")
                return
            op.status = "RUNNING"
        self._released.wait()
        if self._closing.is_set():
            return
        try:
            if op.type == "MUTATION":
                self._run_lines(op)
            else:
                self._run_query(op)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must show as FAILED, not hang the client
            op.result.append(json.dumps({"errors": [{"message": f"fake bulk worker crashed: {exc!r}"}]}))
            self._finish(op, "FAILED", "INTERNAL_SERVER_ERROR")

    def _run_lines(self, op: FakeBulkOperation) -> None:
        stop_at = len(op.lines) // 2 if op.fail_with else None
        document = parse(op.query)
        for number, variables in enumerate(op.lines):
            if self._closing.is_set():
                return
            if op.cancel_requested:
                self._finish(op, "CANCELED")
                return
            if stop_at is not None and number >= stop_at:
                self._finish(op, "FAILED", op.fail_with)
                return
            ctx = self.make_context()
            with self.state.lock:
                result = execute(
                    self.schema, document, root_value=self.mutation_root(ctx), context_value=ctx,
                    variable_values=variables, field_resolver=self.field_resolver, type_resolver=self.type_resolver,
                )  # fmt: skip
            assert isinstance(result, ExecutionResult)
            line: dict[str, Any] = {"data": result.data} if not result.errors else {"errors": [e.formatted for e in result.errors]}
            if result.errors and result.data:
                line["data"] = result.data
            line["__lineNumber"] = number
            with self._lock:
                op.result.append(json.dumps(line, separators=(",", ":")))
                op.object_count += 1
                op.root_object_count += 1
                self.lines_run += 1
            if self.line_seconds and self._closing.wait(self.line_seconds):
                return
        self._finish(op, "COMPLETED")

    def _run_query(self, op: FakeBulkOperation) -> None:
        ctx = self.make_context()
        token = UNBOUNDED_PAGES.set(True)
        try:
            with self.state.lock:
                result = execute(
                    self.schema, parse(op.query), root_value=self.query_root(ctx), context_value=ctx,
                    field_resolver=self.field_resolver, type_resolver=self.type_resolver,
                )  # fmt: skip
        finally:
            UNBOUNDED_PAGES.reset(token)
        assert isinstance(result, ExecutionResult)
        if result.errors:
            op.result.extend(json.dumps({"errors": [e.formatted]}) for e in result.errors)
            self._finish(op, "FAILED", "INTERNAL_SERVER_ERROR")
            return
        lines: list[dict[str, Any]] = []
        roots = 0
        for value in (result.data or {}).values():
            for node in _connection_nodes(value):
                roots += 1
                _flatten(node, None, lines)
        with self._lock:
            op.result.extend(json.dumps(line, separators=(",", ":")) for line in lines)
            op.object_count = len(lines)
            op.root_object_count = roots
        self._finish(op, "COMPLETED")

    def _finish(self, op: FakeBulkOperation, status: str, error_code: str | None = None) -> None:
        data = ("\n".join(op.result) + "\n").encode() if op.result else b""
        url = op.result_url
        with self._lock:
            op.status = status
            op.error_code = error_code
            op.completed_at = _now()
            if status == "COMPLETED" and data:
                self.results[op.token] = data
                op.url, op.file_size = url, len(data)
            elif status == "FAILED" and data:
                self.results[op.token] = data
                op.partial_data_url = url


def _connections(schema: GraphQLSchema, selection_set: Any, parent: Any, depth: int) -> list[int]:
    """The nesting depth (1 = top level) of every connection field in a bulk query."""
    found: list[int] = []
    if selection_set is None or parent is None or not is_object_type(parent):
        return found
    for sel in selection_set.selections:
        if not isinstance(sel, FieldNode):
            if getattr(sel, "selection_set", None) is not None:
                found += _connections(schema, sel.selection_set, parent, depth)
            continue
        field_def = parent.fields.get(sel.name.value)
        if field_def is None:
            continue
        named = get_named_type(field_def.type)
        level = depth + 1 if named.name.endswith("Connection") else depth
        if level > depth:
            found.append(level)
        found += _connections(schema, sel.selection_set, named, level)
    return found


def _is_connection(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= {"edges", "nodes", "pageInfo"} and ("edges" in value or "nodes" in value)


def _connection_nodes(value: Any) -> list[Mapping[str, Any]]:
    if not _is_connection(value):
        return []
    if "nodes" in value:
        return [n for n in value["nodes"] if n is not None]
    return [e["node"] for e in value.get("edges") or [] if isinstance(e, Mapping) and e.get("node") is not None]


def _flatten(node: Mapping[str, Any], parent_id: str | None, out: list[dict[str, Any]]) -> None:
    """One line for ``node`` (its connections left out), then a line per child with ``__parentId``."""
    line = {k: v for k, v in node.items() if not _is_connection(v)}
    if parent_id is not None:
        line["__parentId"] = parent_id
    out.append(line)
    for value in node.values():
        if _is_connection(value):
            for child in _connection_nodes(value):
                _flatten(child, node.get("id"), out)
