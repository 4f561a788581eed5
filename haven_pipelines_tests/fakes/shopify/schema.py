"""Shopify's own Admin GraphQL schema for the fake to execute against, built once per process.

The file is the one the package ships (``haven_pipelines/config/shopify/admin_<version>.json.gz``),
read by the package's own :func:`~haven_pipelines.integrations.shopify.schema.read_introspection`:
the client validates and the fake executes against the same schema. The fake builds its own
``GraphQLSchema`` object (about 0.4 s, cached per version) so that nothing it does to the schema can
leak into the client's validation copy.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import GraphQLSchema, build_client_schema

from haven_pipelines.integrations.shopify.schema import DEFAULT_API_VERSION, read_introspection

__all__ = ["DEFAULT_API_VERSION", "load_admin_schema"]


@lru_cache(maxsize=4)
def load_admin_schema(api_version: str = DEFAULT_API_VERSION) -> GraphQLSchema:
    """The Admin API schema for ``api_version``, built once per process.

    Raises:
        ShopifyError: the package ships no schema for that version.
    """
    return build_client_schema(read_introspection(api_version))
