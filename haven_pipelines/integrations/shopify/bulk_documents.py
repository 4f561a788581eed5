"""The GraphQL documents of Shopify bulk operations, one constant each, values as variables.

Kept apart from :mod:`~haven_pipelines.integrations.shopify.documents` (the per-request documents).
Two kinds live here: the requests the client sends (stage, start, poll), and the documents Shopify
runs in bulk on our behalf (:data:`BULK_PRODUCT_SET`, one execution per JSONL line, and
:data:`BULK_PRODUCTS_QUERY`). Both kinds are validated against the pinned 2026-10 schema by the tests.

``currentBulkOperation`` is deprecated in 2026-10, so an operation is polled by its id.
"""

from __future__ import annotations

from haven_pipelines.integrations.shopify import documents as _per_request

#: Ask for the target of a JSONL variables file (resource ``BULK_MUTATION_VARIABLES``): the same
#: ``stagedUploadsCreate`` document as image uploads; the target's ``key`` parameter is the
#: ``stagedUploadPath`` the bulk mutation is run with.
BULK_STAGED_UPLOAD = _per_request.STAGED_UPLOADS_CREATE

#: The fields of a bulk operation the client reads, every time it sees one.
_OPERATION_FIELDS = "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl"

#: Start a bulk mutation: ``$mutation`` runs once per line of the staged file.
BULK_RUN_MUTATION = f"""
mutation BulkRunMutation($mutation: String!, $stagedUploadPath: String!, $clientIdentifier: String) {{
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $stagedUploadPath, clientIdentifier: $clientIdentifier) {{
    bulkOperation {{ {_OPERATION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

#: Start a bulk query (``groupObjects`` is required; ungrouped output is the faster one).
BULK_RUN_QUERY = f"""
mutation BulkRunQuery($query: String!) {{
  bulkOperationRunQuery(query: $query, groupObjects: false) {{
    bulkOperation {{ {_OPERATION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

#: Poll one operation by id.
BULK_OPERATION = f"""
query BulkOperation($id: ID!) {{
  bulkOperation(id: $id) {{ {_OPERATION_FIELDS} }}
}}
"""

#: What Shopify runs once per JSONL line of a bulk publish: the same upsert as the per-product
#: ``productSet`` (identifier by GID or handle, so a line sent twice updates one product), reading
#: back what the product service stores, the media ids too (in the order of ``input.files``), so a
#: product published in bulk cites its images by file id next time like one published on its own.
#: ``synchronous`` is not passed: in bulk it is ignored.
BULK_PRODUCT_SET = """
mutation BulkProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input) {
    product {
      id
      handle
      title
      status
      variants(first: 100) {
        nodes { id sku }
      }
      media(first: 20) {
        nodes { id alt status }
        pageInfo { hasNextPage }
      }
    }
    userErrors { field message code }
  }
}
"""

#: The whole catalogue for reconcile, in one bulk query: a line per product, and a line per variant
#: with ``__parentId`` (the product's GID).
BULK_PRODUCTS_QUERY = """
query BulkProducts {
  products {
    edges {
      node {
        id
        handle
        title
        status
        updatedAt
        variants {
          edges {
            node { id sku price compareAtPrice }
          }
        }
      }
    }
  }
}
"""

#: Every document above by its constant name (the schema test walks this).
ALL_BULK_DOCUMENTS: dict[str, str] = {
    "BULK_STAGED_UPLOAD": BULK_STAGED_UPLOAD,
    "BULK_RUN_MUTATION": BULK_RUN_MUTATION,
    "BULK_RUN_QUERY": BULK_RUN_QUERY,
    "BULK_OPERATION": BULK_OPERATION,
    "BULK_PRODUCT_SET": BULK_PRODUCT_SET,
    "BULK_PRODUCTS_QUERY": BULK_PRODUCTS_QUERY,
}
