"""Every GraphQL document the Shopify client sends, one module constant each, values as variables.

Nothing here is assembled at run time: each constant is the exact text sent, and the tests
validate every one against Shopify's Admin schema for the pinned version (2026-10), together with
the variables the client really sends.

Page sizes are small on purpose. Shopify charges the *requested* cost (which counts the full page
size of every connection) against the bucket before a call runs and refunds the difference after,
so a ``variants(first: 250)`` would hold back ~250 points on every publish. Haven's catalogue makes
at most a few dozen variants per product; longer lists are followed with :data:`PRODUCT_VARIANTS_PAGE`.
"""

from __future__ import annotations

#: Create or update a product in one synchronous call, upserting by ``identifier`` ({id} or {handle}).
#: Media are read back with ``$withMedia`` (one point per media node returned): the product service
#: asks for them whenever it sends files, to store each image's media id, so that the next publish
#: references the file by id (``FileSetInput.id``) instead of uploading it again. Media come back in
#: the order of ``input.files``.
PRODUCT_SET = """
mutation ProductSet(
  $identifier: ProductSetIdentifiers
  $input: ProductSetInput!
  $synchronous: Boolean!
  $withMedia: Boolean! = false
) {
  productSet(identifier: $identifier, input: $input, synchronous: $synchronous) {
    product {
      id
      handle
      title
      status
      variants(first: 100) {
        nodes { id sku }
        pageInfo { hasNextPage endCursor }
      }
      media(first: 20) @include(if: $withMedia) {
        nodes { id alt status mediaContentType }
        pageInfo { hasNextPage }
      }
    }
    userErrors { field message code }
  }
}
"""

#: Archive a product (``productChangeStatus`` is deprecated; ``productUpdate`` sets the status).
PRODUCT_ARCHIVE = """
mutation ProductArchive($id: ID!) {
  productUpdate(product: {id: $id, status: ARCHIVED}) {
    product { id status }
    userErrors { field message }
  }
}
"""

#: Media read with one product: Haven's catalogue sends about 6 images; reconcile trusts the list
#: only when it is complete (``hasNextPage`` false).
MEDIA_PAGE = 50


def _product_query(operation: str, root_field: str) -> str:
    """A query of one product with what reconcile compares (its media ids too), the same selection by GID or handle.

    Written out as text (not a GraphQL fragment), so what is sent, validated and costed is plain.
    """
    return f"""
query {operation} {{
  {root_field} {{
    id
    handle
    title
    status
    updatedAt
    variants(first: 100) {{
      nodes {{ id sku price compareAtPrice }}
      pageInfo {{ hasNextPage endCursor }}
    }}
    media(first: {MEDIA_PAGE}) {{
      nodes {{ id }}
      pageInfo {{ hasNextPage }}
    }}
  }}
}}
"""


#: One product by GID, with what reconcile compares; ``product`` is null when it was deleted.
PRODUCT_GET = _product_query("ProductGet($id: ID!)", "product(id: $id)")

#: One product by handle (``productByHandle`` is deprecated in 2026-10; this is its replacement).
PRODUCT_BY_IDENTIFIER = _product_query(
    "ProductByIdentifier($identifier: ProductIdentifierInput!)", "productByIdentifier(identifier: $identifier)"
)

#: The variants after ``$after`` of one product, for products with more than one page of them.
PRODUCT_VARIANTS_PAGE = """
query ProductVariantsPage($id: ID!, $after: String) {
  product(id: $id) {
    variants(first: 100, after: $after) {
      nodes { id sku price compareAtPrice }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

#: A page of products for reconcile; ``$query`` is Shopify's search syntax (e.g. ``vendor:'Haven & Hold'``).
PRODUCTS_PAGE = """
query ProductsPage($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query, sortKey: ID) {
    nodes {
      id
      handle
      title
      status
      updatedAt
      variants(first: 50) {
        nodes { id sku price compareAtPrice }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

#: Ask for upload targets; the bytes then go to ``url`` with ``parameters``, and ``resourceUrl``
#: becomes the ``originalSource`` of a file in ``productSet``.
STAGED_UPLOADS_CREATE = """
mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets {
      url
      resourceUrl
      parameters { name value }
    }
    userErrors { field message }
  }
}
"""

#: The cheapest useful call: proves the shop domain and token work.
SHOP = """
query Shop {
  shop { id name myshopifyDomain currencyCode }
}
"""

#: Every document above by its constant name (the schema test walks this).
ALL_DOCUMENTS: dict[str, str] = {
    "PRODUCT_SET": PRODUCT_SET,
    "PRODUCT_ARCHIVE": PRODUCT_ARCHIVE,
    "PRODUCT_GET": PRODUCT_GET,
    "PRODUCT_BY_IDENTIFIER": PRODUCT_BY_IDENTIFIER,
    "PRODUCT_VARIANTS_PAGE": PRODUCT_VARIANTS_PAGE,
    "PRODUCTS_PAGE": PRODUCTS_PAGE,
    "STAGED_UPLOADS_CREATE": STAGED_UPLOADS_CREATE,
    "SHOP": SHOP,
}
