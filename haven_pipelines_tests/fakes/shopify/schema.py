"""Shopify's own Admin GraphQL schema, loaded once per process.

The schema file is the introspection result Shopify publishes for one API version
(``admin_2026-10.json.gz``, kept beside the project in ``../shared/shopify/``). Building a
``GraphQLSchema`` from it takes about 0.4 s, so it is cached per path.
"""

from __future__ import annotations

import gzip
import json
import os
from functools import lru_cache
from pathlib import Path

from graphql import GraphQLSchema, build_client_schema

#: API version whose schema the fake executes against by default.
DEFAULT_API_VERSION = "2026-10"

_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def schema_path(api_version: str = DEFAULT_API_VERSION) -> Path:
    """Where the introspection file for ``api_version`` lives.

    ``HAVEN_SHOPIFY_SCHEMA_DIR`` overrides the folder (default ``<project>/../shared/shopify``).
    """
    folder = os.environ.get("HAVEN_SHOPIFY_SCHEMA_DIR") or str(_PROJECT_ROOT.parent / "shared" / "shopify")
    return Path(folder) / f"admin_{api_version}.json.gz"


@lru_cache(maxsize=4)
def _load(path: str) -> GraphQLSchema:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    # The file holds a full GraphQL response ({"data": {"__schema": ...}}); accept a bare one too.
    return build_client_schema(raw.get("data", raw))


def load_admin_schema(api_version: str = DEFAULT_API_VERSION) -> GraphQLSchema:
    """The Admin API schema for ``api_version``, built once per process.

    Raises:
        FileNotFoundError: no introspection file exists for that version.
    """
    path = schema_path(api_version)
    if not path.is_file():
        raise FileNotFoundError(f"no Shopify Admin schema for API version {api_version} at {path}")
    return _load(str(path))
