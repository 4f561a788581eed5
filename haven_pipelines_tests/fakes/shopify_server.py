"""Entry point named in issue 4: the fake Shopify Admin GraphQL server.

The implementation lives in :mod:`haven_pipelines_tests.fakes.shopify`; import from either place::

    from haven_pipelines_tests.fakes.shopify_server import FakeShopify, Fault
"""

from .shopify import (
    DEFAULT_API_VERSION,
    DEFAULT_TOKEN,
    CallRecord,
    FakeMedia,
    FakeProduct,
    FakeShopify,
    FakeShopifyStats,
    FakeVariant,
    Fault,
    LeakyBucket,
    load_admin_schema,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TOKEN",
    "CallRecord",
    "FakeMedia",
    "FakeProduct",
    "FakeShopify",
    "FakeShopifyStats",
    "FakeVariant",
    "Fault",
    "LeakyBucket",
    "load_admin_schema",
]
