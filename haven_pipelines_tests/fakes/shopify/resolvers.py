"""Root query and mutation resolvers, and the lenient field resolver graphql-core runs with.

Modelled: queries ``product``, ``productByIdentifier``, ``productVariant``, ``products``, ``node``,
``shop``, ``bulkOperation``, ``bulkOperations`` and ``currentBulkOperation``; mutations ``productSet``,
``productCreate``, ``productUpdate``, ``productDelete``, ``productVariantsBulkCreate``,
``stagedUploadsCreate``, ``bulkOperationRunMutation``, ``bulkOperationRunQuery`` and
``bulkOperationCancel`` (see :mod:`.bulk`). Any other root field answers null (its
payload's non-null fields empty), so that a valid document never crashes the fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLResolveInfo,
    default_field_resolver,
    get_named_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    is_scalar_type,
)

from .state import ShopState, user_error
from .views import (
    PRODUCT_SORT_KEYS,
    BulkOperationView,
    Placeholder,
    ProductView,
    VariantView,
    View,
    connection,
    product_matches,
)


@dataclass
class RequestContext:
    """What resolvers of one request share: the shop and any scripted userError."""

    state: ShopState
    shop_name: str
    shop_domain: str
    base_url: str
    forced_error: dict[str, Any] | None = None
    executed: list[str] = field(default_factory=list)
    bulk: Any = None  # the shop's BulkEngine

    def take_forced_error(self) -> dict[str, Any] | None:
        """The scripted userError for this request's first mutation, once."""
        err, self.forced_error = self.forced_error, None
        return err


_SCALAR_EMPTY: dict[str, Any] = {
    "Boolean": False,
    "Int": 0,
    "Float": 0.0,
    "UnsignedInt64": "0",
    "Money": "0.00",
    "Decimal": "0.0",
    "DateTime": "1970-01-01T00:00:00Z",
    "Date": "1970-01-01",
    "ID": "gid://shopify/Unknown/0",
    "JSON": {},
}


def _empty(return_type: Any) -> Any:
    """An empty value of a non-null type, for fields this fake does not model."""
    inner = return_type.of_type
    if is_list_type(inner):
        return []
    named = get_named_type(inner)
    if is_scalar_type(named):
        return _SCALAR_EMPTY.get(named.name, "")
    if is_enum_type(named):
        return next(iter(named.values))  # type: ignore[union-attr]
    if is_object_type(named):
        return Placeholder()
    return None  # an interface or union cannot be faked without a concrete type


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Resolve through views, else like graphql-core's default; fill unmodelled non-null fields."""
    if isinstance(source, View):
        value = source.resolve(info.field_name, args)
    else:
        value = default_field_resolver(source, info, **args)
    if value is None and is_non_null_type(info.return_type):
        value = _empty(info.return_type)
    return value


def type_resolver(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    """Concrete type of an interface value (``Media`` -> ``MediaImage``, ``Node`` -> ...)."""
    return getattr(value, "typename", None) or (value.get("__typename") if isinstance(value, Mapping) else None)


def _payload(ctx: RequestContext, **fields: Any) -> dict[str, Any]:
    fields.setdefault("userErrors", [])
    fields.setdefault("shop", ShopRoot(ctx))
    return fields


class ShopRoot(View):
    """``Shop``."""

    typename = "Shop"

    def __init__(self, ctx: RequestContext):
        self.id = "gid://shopify/Shop/1"
        self.name = ctx.shop_name
        self.myshopify_domain = ctx.shop_domain
        self.url = f"https://{ctx.shop_domain}"
        self.currency_code = "USD"
        self.email = f"owner@{ctx.shop_domain}"
        self.contact_email = self.email
        self.iana_timezone = "UTC"


class QueryRoot(View):
    """The ``Query`` root."""

    def __init__(self, ctx: RequestContext):
        self._ctx = ctx
        self._state = ctx.state

    def shop(self) -> ShopRoot:
        """The shop."""
        return ShopRoot(self._ctx)

    def product(self, id: str) -> ProductView | None:  # noqa: A002 - GraphQL argument name
        """A product by GID."""
        p = self._state.products.get(id)
        return ProductView(p, self._state) if p else None

    def product_by_identifier(self, identifier: Mapping[str, Any]) -> ProductView | None:
        """A product by id or handle."""
        p = self._state.find_for_update(identifier.get("id"), identifier.get("handle"))
        return ProductView(p, self._state) if p else None

    def product_variant(self, id: str) -> VariantView | None:  # noqa: A002
        """A variant by GID."""
        for p in self._state.products.values():
            for v in p.variants:
                if v.id == id:
                    return VariantView(v, p, self._state)
        return None

    def node(self, id: str) -> View | None:  # noqa: A002
        """A product, variant or bulk operation by GID."""
        return self.product(id) or self.product_variant(id) or self.bulk_operation(id)

    def bulk_operation(self, id: str) -> BulkOperationView | None:  # noqa: A002
        """A bulk operation by GID."""
        op = self._ctx.bulk.get(id) if self._ctx.bulk else None
        return BulkOperationView(op) if op else None

    def current_bulk_operation(self, type: str = "QUERY") -> BulkOperationView | None:  # noqa: A002
        """The app's most recent bulk operation of ``type`` (deprecated in 2026-10, still answered)."""
        op = self._ctx.bulk.current(type) if self._ctx.bulk else None
        return BulkOperationView(op) if op else None

    def bulk_operations(self, first=None, last=None, after=None, before=None, query=None, reverse=False, sort_key=None, **_: Any):  # noqa: ANN001, ANN201
        """The app's bulk operations, newest first; ``query`` filters ``status:`` and ``operation_type:``."""
        ops = self._ctx.bulk.all() if self._ctx.bulk else []
        for term in (query or "").split():
            key, _, value = term.partition(":")
            if key == "status":
                ops = [o for o in ops if o.status.lower() == value.lower()]
            elif key == "operation_type":
                ops = [o for o in ops if o.type.lower() == value.lower()]
        order = {o.id: i for i, o in enumerate(ops)}
        return connection(
            ops, BulkOperationView, first=first, last=last, after=after, before=before, reverse=not reverse,
            sort_key=lambda o: order[o.id], number=lambda o: order[o.id],
        )  # fmt: skip

    def products(self, first=None, last=None, after=None, before=None, query=None, reverse=False, sort_key=None, **_: Any):  # noqa: ANN001, ANN201
        """Products matching ``query``, paged (ID order unless ``sortKey`` says otherwise)."""
        items = [p for p in self._state.products.values() if product_matches(p, query)]
        return connection(
            items, lambda p: ProductView(p, self._state),
            first=first, last=last, after=after, before=before, reverse=bool(reverse),
            sort_key=PRODUCT_SORT_KEYS.get(sort_key or "ID", PRODUCT_SORT_KEYS["ID"]), number=lambda p: p.legacy_id,
        )  # fmt: skip


class MutationRoot(View):
    """The ``Mutation`` root: each method validates, applies and returns its payload."""

    def __init__(self, ctx: RequestContext):
        self._ctx = ctx
        self._state = ctx.state

    def _forced(self, **payload: Any) -> dict[str, Any] | None:
        err = self._ctx.take_forced_error()
        if err is None:
            return None
        return _payload(self._ctx, userErrors=[err], **payload)

    def product_set(self, input: Mapping[str, Any], identifier: Mapping[str, Any] | None = None, synchronous: bool | None = True):  # noqa: A002, ANN201
        """Upsert a product (``productSet``)."""
        self._ctx.executed.append("productSet")
        forced = self._forced(product=None, productSetOperation=None)
        if forced:
            return forced
        product, errors = self._state.product_set(identifier, input)
        view = ProductView(product, self._state) if product else None
        if synchronous is False:
            # Asynchronous mode is committed at once here; the operation is reported COMPLETE.
            op = {"id": self._state.new_gid("ProductSetOperation"), "status": "COMPLETE", "product": view, "userErrors": errors}
            return _payload(self._ctx, product=None, productSetOperation=op, userErrors=errors)
        return _payload(self._ctx, product=view, productSetOperation=None, userErrors=errors)

    def product_create(self, product: Mapping[str, Any] | None = None, input: Mapping[str, Any] | None = None, media=None):  # noqa: A002, ANN001, ANN201
        """Create a product with a standalone variant (``productCreate``)."""
        self._ctx.executed.append("productCreate")
        forced = self._forced(product=None)
        if forced:
            return forced
        created, errors = self._state.product_create(product or input or {}, media)
        return _payload(self._ctx, product=ProductView(created, self._state) if created else None, userErrors=errors)

    def product_update(self, product=None, identifier=None, input=None, media=None):  # noqa: A002, ANN001, ANN201
        """Update a product's own fields, e.g. ``status: ARCHIVED`` (``productUpdate``)."""
        self._ctx.executed.append("productUpdate")
        forced = self._forced(product=None)
        if forced:
            return forced
        data = dict(product or input or {})
        ident = identifier or {}
        target = self._state.find_for_update(data.pop("id", None) or ident.get("id"), ident.get("handle"))
        updated, errors = self._state.product_update(target, data, media)
        return _payload(self._ctx, product=ProductView(updated, self._state) if updated else None, userErrors=errors)

    def product_delete(self, input: Mapping[str, Any], synchronous: bool | None = True):  # noqa: A002, ANN201
        """Delete a product (``productDelete``)."""
        self._ctx.executed.append("productDelete")
        forced = self._forced(deletedProductId=None)
        if forced:
            return forced
        if not self._state.delete_product(input["id"]):
            return _payload(self._ctx, deletedProductId=None, userErrors=[user_error(["id"], "Product does not exist")])
        return _payload(self._ctx, deletedProductId=input["id"], productDeleteOperation=None)

    def product_variants_bulk_create(
        self, product_id: str, variants: list[Mapping[str, Any]], strategy: str | None = None, media=None
    ):  # noqa: ANN001, ANN201
        """Add variants to a product (``productVariantsBulkCreate``)."""
        self._ctx.executed.append("productVariantsBulkCreate")
        forced = self._forced(product=None, productVariants=None)
        if forced:
            return forced
        product, created, errors = self._state.variants_bulk_create(product_id, variants, strategy)
        if product is None:
            return _payload(self._ctx, product=None, productVariants=None, userErrors=errors)
        if media:
            self._state.product_update(product, {}, media)
        return _payload(
            self._ctx,
            product=ProductView(product, self._state),
            productVariants=[VariantView(v, product, self._state) for v in created],
            userErrors=errors,
        )

    def staged_uploads_create(self, input: list[Mapping[str, Any]]):  # noqa: A002, ANN201
        """Reserve upload targets on this server (``stagedUploadsCreate``)."""
        self._ctx.executed.append("stagedUploadsCreate")
        forced = self._forced(stagedTargets=None)
        if forced:
            return forced
        uploads, errors = self._state.staged_uploads_create(input)
        targets = []
        for item, upload in zip(input, uploads, strict=True):
            resource_url = f"{self._ctx.base_url}/staged-uploads/{upload.token}/{upload.filename}"
            # A bulk file's key is the stagedUploadPath that bulkOperationRunMutation takes.
            bulk_dir = "haven-fake/bulk/" if upload.resource == "BULK_MUTATION_VARIABLES" else ""
            if (item.get("httpMethod") or "PUT") == "POST":
                params = [
                    {"name": "key", "value": f"tmp/{bulk_dir}{upload.token}/{upload.filename}"},
                    {"name": "Content-Type", "value": upload.mime_type},
                    {"name": "success_action_status", "value": "201"},
                    {"name": "policy", "value": f"fake-policy-{upload.token}"},
                ]
                targets.append({"url": resource_url, "resourceUrl": resource_url, "parameters": params})
            else:
                params = [{"name": "content_type", "value": upload.mime_type}, {"name": "acl", "value": "private"}]
                targets.append(
                    {
                        "url": f"{resource_url}?X-Goog-Signature=fake{upload.token}",
                        "resourceUrl": resource_url,
                        "parameters": params,
                    }
                )
        return _payload(self._ctx, stagedTargets=targets if not errors else None, userErrors=errors)

    # -- bulk operations ---------------------------------------------------------------------------

    def bulk_operation_run_mutation(self, mutation: str, staged_upload_path: str, client_identifier=None, group_objects=None):  # noqa: ANN001, ANN201
        """Start a bulk mutation over a staged JSONL file (``bulkOperationRunMutation``)."""
        self._ctx.executed.append("bulkOperationRunMutation")
        forced = self._forced(bulkOperation=None)
        if forced:
            return forced
        op, errors = self._ctx.bulk.run_mutation(mutation, staged_upload_path, client_identifier)
        return _payload(self._ctx, bulkOperation=BulkOperationView(op) if op else None, userErrors=errors)

    def bulk_operation_run_query(self, query: str, group_objects: bool = False):  # noqa: ANN201
        """Start a bulk query (``bulkOperationRunQuery``)."""
        self._ctx.executed.append("bulkOperationRunQuery")
        forced = self._forced(bulkOperation=None)
        if forced:
            return forced
        op, errors = self._ctx.bulk.run_query(query)
        return _payload(self._ctx, bulkOperation=BulkOperationView(op) if op else None, userErrors=errors)

    def bulk_operation_cancel(self, id: str):  # noqa: A002, ANN201
        """Ask a bulk operation to stop (``bulkOperationCancel``)."""
        self._ctx.executed.append("bulkOperationCancel")
        op, errors = self._ctx.bulk.cancel(id)
        return _payload(self._ctx, bulkOperation=BulkOperationView(op) if op else None, userErrors=errors)
