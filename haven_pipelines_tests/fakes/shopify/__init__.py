"""A fake Shopify Admin GraphQL API for tests and benchmarks.

FakeShopify            the server (context manager): auth, schema validation, execution,
 │                     cost and leaky bucket, scripted faults, state inspection
 ├── schema            Shopify's real Admin schema, built once per process
 ├── cost              requested/actual query cost and the leaky bucket
 ├── state             the shop's products and the mutations that change them
 ├── bulk              bulk mutations and queries: staged JSONL, worker threads, result files,
 │                     concurrency limits (its docstring says how processing time is modelled)
 ├── views, resolvers  what graphql-core executes against
 └── faults            Fault and the queue that scripts misbehaviour per call
"""

from .bulk import FakeBulkOperation
from .cost import LeakyBucket, QueryCost
from .faults import Fault, FaultQueue
from .schema import DEFAULT_API_VERSION, load_admin_schema
from .server import DEFAULT_TOKEN, CallRecord, FakeShopify, FakeShopifyStats
from .state import FakeInventoryItem, FakeMedia, FakeOption, FakeProduct, FakeVariant

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TOKEN",
    "FakeBulkOperation",
    "CallRecord",
    "FakeInventoryItem",
    "FakeMedia",
    "FakeOption",
    "FakeProduct",
    "FakeShopify",
    "FakeShopifyStats",
    "FakeVariant",
    "Fault",
    "FaultQueue",
    "LeakyBucket",
    "QueryCost",
    "load_admin_schema",
]
