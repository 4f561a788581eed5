"""Shopify's own Admin GraphQL schema, loaded once per process, and validation against it.

The schema is Shopify's introspection result for the pinned API version (``admin_<version>.json.gz``).
It is looked for, in order: the ``path`` argument, ``$HAVEN_SHOPIFY_SCHEMA``, and the copy the package
ships in ``haven_pipelines/config/shopify/``. Nothing outside the installed package is searched: a
user's clone has only what the project ships. :func:`read_introspection` is the one reader of the file;
the tests' fake Shopify builds its executable schema from it too.

Building the schema takes about 0.4 s, so :func:`load_schema` builds it once per path and process.
:func:`validate_document` is used by the tests and by the dry-run client: it validates the document,
refuses deprecated fields and arguments, and coerces the variables exactly as Shopify would.

A client schema knows nothing of Shopify's custom scalars beyond their names, so it would accept a
float price or a ``Decimal`` object. Here ``Money`` and ``Decimal`` must be decimal strings and the
other string-like scalars must be strings, which is what Shopify documents and what JSON can carry.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLSchema,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    build_client_schema,
    get_named_type,
    get_nullable_type,
    is_input_object_type,
    is_list_type,
    parse,
    specified_rules,
    type_from_ast,
    validate,
)
from graphql.execution import get_variable_values

from haven_pipelines.integrations.shopify.errors import ShopifyError, ShopifyValidationError

DEFAULT_API_VERSION = "2026-10"
SCHEMA_ENV = "HAVEN_SHOPIFY_SCHEMA"

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_STRING_SCALARS = ("URL", "DateTime", "Date", "HTML", "FormattedString", "ARN", "StorefrontID", "UtcOffset", "Color")

_lock = threading.Lock()
_schemas: dict[Path, GraphQLSchema] = {}


def schema_path(api_version: str = DEFAULT_API_VERSION, path: str | os.PathLike[str] | None = None) -> Path:
    """Where the schema for ``api_version`` is, by the search order in the module docstring.

    Raises:
        ShopifyError: no schema file is found; the message lists where it looked.
    """
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get(SCHEMA_ENV):
        candidates.append(Path(os.environ[SCHEMA_ENV]))
    else:
        name = f"admin_{api_version}.json.gz"
        candidates.append(_PACKAGE_ROOT / "config" / "shopify" / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ShopifyError(f"Admin schema {api_version} not found; looked in " + ", ".join(str(c) for c in candidates))


def read_introspection(api_version: str = DEFAULT_API_VERSION, path: str | os.PathLike[str] | None = None) -> dict:
    """The introspection result (``{"__schema": ...}``) for ``api_version``, found as in the module docstring.

    Raises:
        ShopifyError: no schema file is found; the message lists where it looked.
    """
    resolved = schema_path(api_version, path)
    opener = gzip.open if resolved.suffix == ".gz" else open
    with opener(resolved, "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)
    # The file holds a full GraphQL response ({"data": {"__schema": ...}}); accept a bare one too.
    return introspection.get("data", introspection)


def load_schema(api_version: str = DEFAULT_API_VERSION, path: str | os.PathLike[str] | None = None) -> GraphQLSchema:
    """The Admin schema for ``api_version``, built once per file and process (thread-safe)."""
    resolved = schema_path(api_version, path)
    with _lock:
        schema = _schemas.get(resolved)
        if schema is None:
            schema = build_client_schema(read_introspection(api_version, resolved))
            _tighten_scalars(schema)
            _schemas[resolved] = schema
    return schema


def _tighten_scalars(schema: GraphQLSchema) -> None:
    """Give Shopify's custom scalars the input rules Shopify documents (see the module docstring)."""

    def decimal_string(value: Any) -> str:
        if not isinstance(value, str) or not _DECIMAL.match(value):
            raise GraphQLError(f"expected a decimal string such as \"24.99\", got {value!r}")
        return value

    def string_only(value: Any) -> str:
        if not isinstance(value, str):
            raise GraphQLError(f"expected a string, got {value!r}")
        return value

    def unsigned_int64(value: Any) -> str | int:
        if isinstance(value, bool) or not (
            (isinstance(value, int) and value >= 0) or (isinstance(value, str) and value.isdigit())
        ):
            raise GraphQLError(f"expected an unsigned 64-bit integer, got {value!r}")
        return value

    rules = {"Money": decimal_string, "Decimal": decimal_string, "UnsignedInt64": unsigned_int64}
    rules.update({name: string_only for name in _STRING_SCALARS})
    for name, rule in rules.items():
        scalar = schema.type_map.get(name)
        if scalar is not None:
            scalar.parse_value = rule  # type: ignore[method-assign]


class _NoDeprecated(NoDeprecatedCustomRule):
    """graphql-core's rule, fixed for schemas built from introspection.

    Its argument check reads the field's AST node, which a client schema does not have, and fails
    with an AttributeError; this version names the field from the validation context instead.
    """

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        arg_def = self.context.get_argument()
        if arg_def is None or arg_def.deprecation_reason is None:
            return
        directive = self.context.get_directive()
        if directive is not None:
            where = f"@{directive.name}"
        else:
            parent = self.context.get_parent_type()
            field = self.context.get_field_def()
            field_name = next((k for k, v in (getattr(parent, "fields", None) or {}).items() if v is field), "?")
            where = f"{getattr(parent, 'name', '?')}.{field_name}"
        self.report_error(
            GraphQLError(f"{where} argument '{node.name.value}' is deprecated. {arg_def.deprecation_reason}", node)
        )


@dataclass(frozen=True)
class OperationInfo:
    """The single operation of a document: its name and kind (``query`` or ``mutation``)."""

    name: str
    kind: str

    @property
    def is_mutation(self) -> bool:
        """Whether the operation is a mutation (it changes the shop)."""
        return self.kind == "mutation"


@functools.lru_cache(maxsize=256)
def _parse(document: str) -> DocumentNode:
    return parse(document)


def operation_info(document: str) -> OperationInfo:
    """Name and kind of the one named operation in ``document``.

    Raises:
        ShopifyValidationError: the document does not parse or holds other than one named operation.
    """
    try:
        ast = _parse(document)
    except GraphQLError as exc:
        raise ShopifyValidationError([f"syntax: {exc.message}"]) from None
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise ShopifyValidationError(["a document must hold exactly one named operation"])
    return OperationInfo(name=operations[0].name.value, kind=operations[0].operation.value)


def validate_document(
    document: str,
    variables: Mapping[str, Any] | None = None,
    *,
    api_version: str = DEFAULT_API_VERSION,
    schema: GraphQLSchema | None = None,
    allow_deprecated: bool = False,
) -> list[str]:
    """Validate ``document`` and, when given, coerce ``variables`` against the Admin schema.

    Args:
        document: one named GraphQL operation.
        variables: the variables that would be sent; ``None`` checks the document alone.
        api_version: which schema to load when ``schema`` is not given.
        schema: a schema to use instead of the pinned one.
        allow_deprecated: accept deprecated fields, arguments and enum values (refused by default:
            a deprecated field is removed in a later version).

    Returns:
        The problems, one message each; empty when Shopify would accept the request.
    """
    schema = schema or load_schema(api_version)
    try:
        ast = _parse(document)
    except GraphQLError as exc:
        return [f"syntax: {exc.message}"]
    rules = list(specified_rules) if allow_deprecated else [*specified_rules, _NoDeprecated]
    problems = [_describe(e) for e in validate(schema, ast, rules)]
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        problems.append("a document must hold exactly one named operation")
    if problems or variables is None:
        return problems

    operation = operations[0]
    try:
        # What is sent is JSON: check what survives the trip, not the Python objects.
        sent = json.loads(json.dumps(variables))
    except (TypeError, ValueError) as exc:
        return [f"variables are not JSON: {exc}"]
    defined = {d.variable.name.value for d in operation.variable_definitions or ()}
    problems += [f"variable ${name} is not declared by {operation.name.value}" for name in sent if name not in defined]
    coerced = get_variable_values(schema, operation.variable_definitions or (), sent, max_errors=50)
    if isinstance(coerced, list):
        return problems + [_describe(e) for e in coerced]
    if not allow_deprecated:
        # The document rule sees only literals; deprecated input fields can also arrive in variables.
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            var_type = type_from_ast(schema, definition.type)
            if name in sent and var_type is not None:
                problems += _deprecated_inputs(var_type, sent[name], f"${name}")  # type: ignore[arg-type]
    return problems


def _deprecated_inputs(type_: GraphQLInputType, value: Any, path: str) -> list[str]:
    """Deprecated input-object fields used anywhere inside ``value`` (which already coerced)."""
    nullable = get_nullable_type(type_)  # type: ignore[type-var]
    if value is None:
        return []
    if is_list_type(nullable):
        items = value if isinstance(value, list) else [value]
        return [p for i, item in enumerate(items) for p in _deprecated_inputs(nullable.of_type, item, f"{path}[{i}]")]
    named = get_named_type(nullable)
    if not is_input_object_type(named) or not isinstance(value, Mapping):
        return []
    assert isinstance(named, GraphQLInputObjectType)
    problems = []
    for key, item in value.items():
        field = named.fields.get(key)
        if field is None:
            continue
        if field.deprecation_reason:
            problems.append(f"{path}.{key}: {named.name}.{key} is deprecated. {field.deprecation_reason}")
        problems += _deprecated_inputs(field.type, item, f"{path}.{key}")
    return problems


def _describe(error: GraphQLError) -> str:
    where = ""
    if error.locations:
        loc = error.locations[0]
        where = f" (line {loc.line}, column {loc.column})"
    return f"{error.message}{where}"
