"""Shopify Admin GraphQL: documents, schema validation, pacing, the live client and the dry run.

    from haven_pipelines.integrations.shopify import ShopifyClient, DryRunShopifyClient

Both share :class:`BaseShopifyClient` (``product_set``, ``archive_product``, ``get_product``,
``find_product_by_handle``, ``iter_products``, ``staged_upload``, ``staged_uploads``, ``shop``); errors are in
:mod:`.errors`, returned values in :mod:`.models`.
"""

from haven_pipelines.integrations.shopify.base import BaseShopifyClient
from haven_pipelines.integrations.shopify.client import ShopifyClient
from haven_pipelines.integrations.shopify.dry_run import DryRunShopifyClient, fake_gid
from haven_pipelines.integrations.shopify.errors import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyNetworkError,
    ShopifyResponseError,
    ShopifyServerError,
    ShopifyThrottled,
    ShopifyUserErrors,
    ShopifyValidationError,
    UserError,
)
from haven_pipelines.integrations.shopify.models import (
    ClientStats,
    GraphQLResult,
    MediaRef,
    OutboxEntry,
    ProductSetResult,
    ShopifyProduct,
    ShopifyVariant,
    ShopInfo,
    StagedTarget,
    UploadFile,
    VariantRef,
    legacy_id,
)
from haven_pipelines.integrations.shopify.schema import DEFAULT_API_VERSION, load_schema, validate_document
from haven_pipelines.integrations.shopify.throttle import LeakyBucket, QueryCost, ThrottleStatus, parse_cost

__all__ = [
    "DEFAULT_API_VERSION",
    "BaseShopifyClient",
    "ClientStats",
    "DryRunShopifyClient",
    "GraphQLResult",
    "LeakyBucket",
    "MediaRef",
    "OutboxEntry",
    "ProductSetResult",
    "QueryCost",
    "ShopInfo",
    "ShopifyAuthError",
    "ShopifyClient",
    "ShopifyError",
    "ShopifyNetworkError",
    "ShopifyProduct",
    "ShopifyResponseError",
    "ShopifyServerError",
    "ShopifyThrottled",
    "ShopifyUserErrors",
    "ShopifyValidationError",
    "ShopifyVariant",
    "StagedTarget",
    "ThrottleStatus",
    "UploadFile",
    "UserError",
    "VariantRef",
    "fake_gid",
    "legacy_id",
    "load_schema",
    "parse_cost",
    "validate_document",
]
