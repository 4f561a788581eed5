"""Query cost and the leaky bucket, approximating Shopify's calculated query cost.

Rules (Shopify documents the first four; the rest are this fake's choices, kept simple and stable):

- a scalar or enum field costs 0, an object field 1, an interface or union the most of its
  possible selections;
- a connection (a ``...Connection`` field with ``first``/``last``) costs 2 plus its page size times
  the cost of one node (the node object 1 plus its own selections); ``edges``, ``node``, ``nodes``
  and ``pageInfo`` add nothing of their own;
- a mutation field costs 10; ``productSet`` adds its documented dynamic complexity (since 2025-10:
  0.2 a variant, 0.6 a variant file, 0.4 a metafield, 1.9 a product file), rounded up;
- a single query may not request more than 1,000 points (``MAX_COST_EXCEEDED``);
- inside a mutation's payload, plain objects are free (Shopify reports 10 for a plain
  ``productCreate { product { id } userErrors { message } }``); connections there still cost;
- a list of objects that is not a connection costs like one object.

The requested cost uses the page sizes asked for; the actual cost walks the result and counts
the nodes really returned, so that the difference is refunded as Shopify does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.values import get_argument_values

MUTATION_COST = 10
CONNECTION_COST = 2
OBJECT_COST = 1
MAX_QUERY_COST = 1000


def product_set_complexity(args: Mapping[str, Any]) -> float:
    """Extra points ``productSet`` costs for the work its input asks for (Shopify, 2025-10 on)."""
    data = args.get("input") or {}
    variants = data.get("variants") or []
    extra = 0.2 * len(variants)
    extra += 0.6 * sum(1 for v in variants if v.get("file"))
    extra += 0.4 * sum(len(v.get("metafields") or []) for v in variants)
    extra += 0.4 * len(data.get("metafields") or [])
    extra += 1.9 * len(data.get("files") or [])
    return extra


#: Dynamic complexity per mutation field, added to the flat mutation cost.
DYNAMIC_MUTATION_COSTS: dict[str, Callable[[Mapping[str, Any]], float]] = {"productSet": product_set_complexity}

_ABSENT = object()


class QueryCost:
    """Cost of one operation of a validated document.

    Args:
        schema: the schema the document was validated against.
        document: the parsed document.
        operation: the operation being run.
        variables: the coerced variable values.
        dynamic_costs: extra points per mutation field name (defaults to Shopify's).
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        dynamic_costs: Mapping[str, Callable[[Mapping[str, Any]], float]] | None = None,
    ):
        self.schema = schema
        self.operation = operation
        self.variables = dict(variables)
        self.dynamic_costs = DYNAMIC_MUTATION_COSTS if dynamic_costs is None else dynamic_costs
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def requested(self) -> int:
        """The cost asked for, from the page sizes in the document."""
        return self._root(None)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """The cost of what ``data`` (the execution result's ``data``) really holds."""
        return self._root(data or {})

    # -- walking ----------------------------------------------------------------------------

    def _root(self, data: Mapping[str, Any] | None) -> int:
        is_mutation = self.operation.operation == OperationType.MUTATION
        root = self.schema.mutation_type if is_mutation else self.schema.query_type
        assert root is not None
        if not is_mutation:
            return self._fields(self.operation.selection_set, root, data, in_mutation=False)
        total = 0.0
        for key, nodes in self._collect(self.operation.selection_set, root).items():
            field_def = root.fields.get(nodes[0].name.value)
            if field_def is None:
                continue
            name = nodes[0].name.value
            args = get_argument_values(field_def, nodes[0], self.variables)
            extra = self.dynamic_costs.get(name)
            value = _ABSENT if data is None else data.get(key)
            sub = 0
            if not is_leaf_type(get_named_type(field_def.type)) and value is not None:
                sub = self._selection(_merged(nodes), get_named_type(field_def.type), value, in_mutation=True)
            total += math.ceil(MUTATION_COST + (extra(args) if extra else 0.0)) + sub
        return int(total)

    def _selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType, value: Any, in_mutation: bool) -> int:
        if isinstance(value, list):
            # A plain list of objects costs like its dearest element (one element when static).
            return max((self._selection(selection_set, parent, v, in_mutation) for v in value if v is not None), default=0)
        data = None if value is _ABSENT else value
        if is_abstract_type(parent):
            types = self.schema.get_possible_types(parent)  # type: ignore[arg-type]
            if isinstance(data, Mapping) and data.get("__typename"):
                types = [t for t in types if t.name == data["__typename"]] or types
            return max((self._fields(selection_set, t, data, in_mutation) for t in types), default=0)
        if is_object_type(parent):
            return self._fields(selection_set, parent, data, in_mutation)  # type: ignore[arg-type]
        return 0

    def _fields(self, selection_set: SelectionSetNode, parent: GraphQLObjectType, data: Any, in_mutation: bool) -> int:
        total = 0
        for key, nodes in self._collect(selection_set, parent).items():
            name = nodes[0].name.value
            field_def = parent.fields.get(name)
            if field_def is None:
                continue
            value = _ABSENT if data is None else (data.get(key) if isinstance(data, Mapping) else None)
            total += self._field(nodes, field_def, value, in_mutation)
        return total

    def _field(self, nodes: list[FieldNode], field_def: GraphQLField, value: Any, in_mutation: bool) -> int:
        named = get_named_type(field_def.type)
        if is_leaf_type(named) or value is None:
            return 0
        if _is_connection(named, field_def):
            return self._connection(nodes, field_def, named, value)  # type: ignore[arg-type]
        own = 0 if in_mutation else OBJECT_COST
        return own + self._selection(_merged(nodes), named, value, in_mutation)

    def _connection(self, nodes: list[FieldNode], field_def: GraphQLField, conn: GraphQLObjectType, value: Any) -> int:
        node_selections: list[tuple[SelectionSetNode, GraphQLNamedType, str]] = []
        for key, sub in self._collect(_merged(nodes), conn).items():
            name = sub[0].name.value
            if name == "nodes":
                node_selections.append((_merged(sub), get_named_type(conn.fields["nodes"].type), key))
            elif name == "edges":
                edge_type = get_named_type(conn.fields["edges"].type)
                for edge_key, edge_sub in self._collect(_merged(sub), edge_type).items():  # type: ignore[arg-type]
                    if edge_sub[0].name.value == "node":
                        node_type = get_named_type(edge_type.fields["node"].type)  # type: ignore[union-attr]
                        node_selections.append((_merged(edge_sub), node_type, f"{key}.{edge_key}"))
        if value is _ABSENT:
            args = get_argument_values(field_def, nodes[0], self.variables)
            size = args.get("first") or args.get("last") or 0
            per_node = max((OBJECT_COST + self._selection(s, t, _ABSENT, False) for s, t, _ in node_selections), default=0)
            return CONNECTION_COST + size * per_node
        total = CONNECTION_COST
        for sel, node_type, path in node_selections:
            items = _items_at(value, path)
            total = max(
                total,
                CONNECTION_COST + sum(OBJECT_COST + self._selection(sel, node_type, i, False) for i in items if i is not None),
            )
        return total

    def _collect(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        for node in self._iter_fields(selection_set, parent):
            if node.name.value.startswith("__"):
                continue
            key = node.alias.value if node.alias else node.name.value
            fields.setdefault(key, []).append(node)
        return fields

    def _iter_fields(self, selection_set: SelectionSetNode, parent: GraphQLObjectType) -> Iterator[FieldNode]:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                yield sel
            elif isinstance(sel, InlineFragmentNode):
                if self._applies(sel.type_condition.name.value if sel.type_condition else None, parent):
                    yield from self._iter_fields(sel.selection_set, parent)
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is not None and self._applies(frag.type_condition.name.value, parent):
                    yield from self._iter_fields(frag.selection_set, parent)

    def _applies(self, condition: str | None, parent: GraphQLObjectType) -> bool:
        if condition is None or condition == parent.name:
            return True
        cond_type = self.schema.get_type(condition)
        return cond_type is not None and is_abstract_type(cond_type) and self.schema.is_sub_type(cond_type, parent)  # type: ignore[arg-type]


def _merged(nodes: list[FieldNode]) -> SelectionSetNode:
    if len(nodes) == 1 and nodes[0].selection_set is not None:
        return nodes[0].selection_set
    selections = tuple(s for n in nodes if n.selection_set for s in n.selection_set.selections)
    return SelectionSetNode(selections=selections)


def _is_connection(named: GraphQLNamedType, field_def: GraphQLField) -> bool:
    return (
        is_object_type(named)
        and named.name.endswith("Connection")
        and ("first" in field_def.args or "last" in field_def.args)
        and ("edges" in named.fields or "nodes" in named.fields)  # type: ignore[union-attr]
    )


def _items_at(value: Any, path: str) -> list[Any]:
    if not isinstance(value, Mapping):
        return []
    if "." not in path:
        return list(value.get(path) or [])
    edges_key, node_key = path.split(".", 1)
    return [e.get(node_key) for e in (value.get(edges_key) or []) if isinstance(e, Mapping)]


class LeakyBucket:
    """Shopify's leaky bucket: ``size`` points, refilled continuously at ``restore_rate`` a second.

    Thread-safe. ``clock`` (seconds, monotonic) is injectable so that tests can move time
    without sleeping.
    """

    def __init__(self, size: float, restore_rate: float, clock: Callable[[], float] = time.monotonic):
        if size <= 0 or restore_rate <= 0:
            raise ValueError("bucket size and restore rate must be positive")
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._available = float(size)
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(self.size, self._available + (now - self._last) * self.restore_rate)
        self._last = now

    def try_take(self, points: int) -> bool:
        """Take ``points`` if the bucket holds them; otherwise take nothing and return False."""
        with self._lock:
            self._refill()
            if points > self._available:
                return False
            self._available -= points
            return True

    def refund(self, points: int) -> None:
        """Give back points charged but not used (requested minus actual cost)."""
        with self._lock:
            self._refill()
            self._available = min(self.size, self._available + max(points, 0))

    def set_available(self, points: float) -> None:
        """Force the level, e.g. to drain the bucket in a test."""
        with self._lock:
            self._refill()
            self._available = max(0.0, min(self.size, float(points)))

    def status(self) -> dict[str, float]:
        """``throttleStatus`` as Shopify reports it."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.size,
                "currentlyAvailable": float(math.floor(self._available)),
                "restoreRate": self.restore_rate,
            }
