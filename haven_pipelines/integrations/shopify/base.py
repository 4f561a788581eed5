"""The operations Haven needs from Shopify, written once over an abstract ``execute``.

:class:`BaseShopifyClient` turns each high-level call into one of the documents in
:mod:`~haven_pipelines.integrations.shopify.documents` and parses the answer into the typed values of
:mod:`~haven_pipelines.integrations.shopify.models`. The live client
(:class:`~haven_pipelines.integrations.shopify.client.ShopifyClient`) sends the documents; the dry run
(:class:`~haven_pipelines.integrations.shopify.dry_run.DryRunShopifyClient`) validates and records
them and answers with synthetic data of the same shape, so both share every line of parsing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, ClassVar

from haven_pipelines.integrations.shopify import documents
from haven_pipelines.integrations.shopify.errors import ShopifyResponseError, ShopifyUserErrors, UserError
from haven_pipelines.integrations.shopify.models import (
    GraphQLResult,
    MediaRef,
    ProductSetResult,
    ShopifyProduct,
    ShopifyVariant,
    ShopInfo,
    StagedTarget,
    UploadFile,
    VariantRef,
)


class BaseShopifyClient(ABC):
    """Shopify Admin GraphQL operations over an abstract transport (:meth:`execute`)."""

    api_version: str
    #: True for the dry run (nothing is sent), False for the live client.
    dry_run: ClassVar[bool] = False

    @abstractmethod
    def execute(self, document: str, variables: Mapping[str, Any] | None = None, *, idempotent: bool = True) -> GraphQLResult:
        """Run one document with its variables.

        Args:
            document: one of the constants in :mod:`documents` (one named operation).
            variables: JSON-ready values (money as decimal strings).
            idempotent: whether sending it twice is harmless; only then is an ambiguous failure
                (timeout after sending, 5xx) retried.

        Raises:
            ShopifyUserErrors: a mutation answered with ``userErrors``.
            ShopifyError: any other failure (see :mod:`errors`).
        """

    @abstractmethod
    def _upload(self, target: StagedTarget, filename: str, mime_type: str, data: bytes) -> None:
        """Send ``data`` to a staged upload target."""

    def close(self) -> None:
        """Release connections (nothing to release by default)."""

    def __enter__(self) -> BaseShopifyClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- operations -------------------------------------------------------------------------

    def shop(self) -> ShopInfo:
        """The connected shop; the cheapest call that proves the domain and token work."""
        shop = _get(self.execute(documents.SHOP).data, "shop", operation="Shop")
        try:
            return ShopInfo(id=shop["id"], name=shop["name"], domain=shop["myshopifyDomain"], currency=shop["currencyCode"])
        except KeyError as exc:  # a proxy or a changed API answered without a field: a typed error, not a KeyError
            raise ShopifyResponseError(f"shop answer has no {exc.args[0]!r}", operation="Shop") from None

    def product_set(
        self,
        input: Mapping[str, Any],
        identifier: Mapping[str, Any] | None = None,
        *,
        synchronous: bool = True,
        with_media: bool = False,
    ) -> ProductSetResult:
        """Create or update one product with ``productSet``, upserting by ``identifier``.

        Args:
            input: the ``ProductSetInput`` (built by ``haven_pipelines.domain.shopify_input``).
            identifier: ``{"id": <product GID>}`` once known, else ``{"handle": <stable handle>}``: with
                it, a retry or a second run updates the same product instead of creating another.
                Without it the call creates, and is not retried after a timeout or a 5xx.
            synchronous: must stay True; the result is read from the synchronous answer.
            with_media: also read back the media ids (one point per image); ``media`` is empty
                without it.

        Returns:
            The product's GID, handle, status, every variant (id and SKU) and, when asked, its media.
        """
        variables: dict[str, Any] = {"input": dict(input), "synchronous": synchronous, "withMedia": with_media}
        if identifier:
            variables["identifier"] = dict(identifier)
        # Without an identifier productSet creates: a blind retry after an ambiguous failure could
        # make a second product, so only an identified upsert is retried.
        result = self.execute(documents.PRODUCT_SET, variables, idempotent=bool(identifier))
        payload = _get(result.data, "productSet", operation="ProductSet")
        product = payload.get("product")
        if not isinstance(product, Mapping):
            raise ShopifyResponseError("productSet answered without a product", operation="ProductSet")
        try:
            variants = [VariantRef(id=v["id"], sku=v.get("sku")) for v in self._all_variants(product)]
            connection = product.get("media") or {}
            media = [MediaRef(id=m["id"], alt=m.get("alt"), status=m.get("status")) for m in connection.get("nodes", ())]
            return ProductSetResult(
                id=product["id"],
                handle=product["handle"],
                title=product["title"],
                status=product["status"],
                variants=tuple(variants),
                media=tuple(media),
                media_complete=not (connection.get("pageInfo") or {}).get("hasNextPage"),
            )
        except (KeyError, TypeError) as exc:
            raise ShopifyResponseError(f"productSet answer has an unexpected shape ({exc!r})", operation="ProductSet") from None

    def archive_product(self, gid: str) -> str:
        """Archive the product ``gid`` (status ARCHIVED); returns the status Shopify reports.

        Raises:
            ShopifyUserErrors: e.g. the product no longer exists on Shopify.
        """
        payload = _get(self.execute(documents.PRODUCT_ARCHIVE, {"id": gid}).data, "productUpdate", operation="ProductArchive")
        product = payload.get("product")
        if not isinstance(product, Mapping) or "status" not in product:
            raise ShopifyResponseError("productUpdate answered without a product", operation="ProductArchive")
        return str(product["status"])

    def get_product(self, gid: str) -> ShopifyProduct | None:
        """The product ``gid`` as Shopify holds it, or None when it was deleted there."""
        product = self.execute(documents.PRODUCT_GET, {"id": gid}).data.get("product")
        return None if product is None else self._parse_product(product, "ProductGet")

    def find_product_by_handle(self, handle: str) -> ShopifyProduct | None:
        """The product with ``handle``, or None; lets a lost GID be found again instead of duplicated."""
        data = self.execute(documents.PRODUCT_BY_IDENTIFIER, {"identifier": {"handle": handle}}).data
        product = data.get("productByIdentifier")
        return None if product is None else self._parse_product(product, "ProductByIdentifier")

    def iter_products(self, *, query: str | None = None, page_size: int = 10) -> Iterator[ShopifyProduct]:
        """Every product (optionally matching Shopify's search ``query``), page by page, with all variants.

        ``page_size`` stays small because a page's requested cost grows with it times the variants
        page (50): 10 keeps one page near 550 points, under Shopify's 1,000-point ceiling per call.
        """
        after: str | None = None
        while True:
            variables: dict[str, Any] = {"first": page_size, "after": after}
            if query is not None:
                variables["query"] = query
            connection = _get(self.execute(documents.PRODUCTS_PAGE, variables).data, "products", operation="ProductsPage")
            try:
                nodes = connection["nodes"]
                page = connection["pageInfo"]
            except (KeyError, TypeError):
                raise ShopifyResponseError("products page has an unexpected shape", operation="ProductsPage") from None
            for node in nodes:
                yield self._parse_product(node, "ProductsPage")
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    def staged_upload(self, filename: str, mime_type: str, data: bytes) -> str:
        """Upload one image's bytes for a product file; returns the ``resourceUrl`` to cite as its
        ``originalSource`` (see :meth:`staged_uploads`)."""
        return self.staged_uploads([UploadFile(filename, mime_type, data)])[0]

    def staged_uploads(self, files: Sequence[UploadFile]) -> list[str]:
        """Upload several images' bytes with one ``stagedUploadsCreate`` call for all of them.

        One target is asked for per file, then each file's bytes go to its target as a form POST
        with the target's parameters (to the storage host, never with the Shopify token).

        Returns:
            The ``resourceUrl`` of each file, in the order given (to cite as ``originalSource``).
        """
        if not files:
            return []
        variables = {
            "input": [
                {
                    "filename": f.filename,
                    "mimeType": f.mime_type,
                    "resource": "IMAGE",
                    "httpMethod": "POST",
                    "fileSize": str(len(f.data)),
                }
                for f in files
            ]
        }
        payload = _get(self.execute(documents.STAGED_UPLOADS_CREATE, variables).data, "stagedUploadsCreate", operation="StagedUploadsCreate")
        try:
            targets = [
                StagedTarget(
                    url=raw["url"],
                    resource_url=raw["resourceUrl"],
                    parameters=tuple((p["name"], p["value"]) for p in raw["parameters"]),
                )
                for raw in payload["stagedTargets"]
            ]
        except (KeyError, TypeError):
            raise ShopifyResponseError("stagedUploadsCreate answered without a usable target", operation="StagedUploadsCreate") from None
        if len(targets) != len(files):
            raise ShopifyResponseError(f"stagedUploadsCreate answered {len(targets)} targets for {len(files)} files",
                                       operation="StagedUploadsCreate")
        for target, f in zip(targets, files, strict=True):
            if not target.url or not target.resource_url:
                raise ShopifyResponseError("staged target lacks url or resourceUrl", operation="StagedUploadsCreate")
            self._upload(target, f.filename, f.mime_type, f.data)
        return [t.resource_url for t in targets]

    # -- parsing ----------------------------------------------------------------------------

    def _all_variants(self, product: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The product's variant nodes, following further pages when the first one was not all."""
        connection = product["variants"]
        nodes = list(connection["nodes"])
        page = connection.get("pageInfo") or {}
        while page.get("hasNextPage"):
            data = self.execute(documents.PRODUCT_VARIANTS_PAGE, {"id": product["id"], "after": page.get("endCursor")}).data
            more = data.get("product")
            if more is None:
                break  # deleted between the two calls: what we have is all there is
            connection = more["variants"]
            nodes += connection["nodes"]
            page = connection.get("pageInfo") or {}
        return nodes

    def _parse_product(self, product: Mapping[str, Any], operation: str) -> ShopifyProduct:
        try:
            variants = tuple(
                ShopifyVariant(
                    id=v["id"],
                    sku=v.get("sku"),
                    price=_money(v["price"]),
                    compare_at_price=None if v.get("compareAtPrice") is None else _money(v["compareAtPrice"]),
                )
                for v in self._all_variants(product)
            )
            media = product.get("media")
            complete = isinstance(media, Mapping) and not (media.get("pageInfo") or {}).get("hasNextPage")
            return ShopifyProduct(
                id=product["id"],
                handle=product["handle"],
                title=product["title"],
                status=product["status"],
                updated_at=product.get("updatedAt"),
                variants=variants,
                media_ids=tuple(m["id"] for m in media["nodes"]) if complete else None,
            )
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise ShopifyResponseError(f"product has an unexpected shape ({exc!r})", operation=operation) from None


def raise_user_errors(operation: str, data: Mapping[str, Any]) -> None:
    """Raise :class:`ShopifyUserErrors` when any mutation payload in ``data`` carries ``userErrors``."""
    errors: list[UserError] = []
    for payload in data.values():
        if not isinstance(payload, Mapping):
            continue
        for raw in payload.get("userErrors") or ():
            if not isinstance(raw, Mapping):
                continue
            field = raw.get("field") or ()
            errors.append(
                UserError(
                    field=tuple(str(f) for f in field) if isinstance(field, list | tuple) else (str(field),),
                    message=str(raw.get("message") or "refused"),
                    code=raw.get("code"),
                )
            )
    if errors:
        raise ShopifyUserErrors(errors, operation=operation)


def _get(data: Mapping[str, Any], key: str, *, operation: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ShopifyResponseError(f"answer has no {key!r} object", operation=operation)
    return value


def _money(value: Any) -> Decimal:
    # Money arrives as a decimal string; str() also accepts a number without float rounding noise.
    return Decimal(str(value))
