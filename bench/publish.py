"""Benchmark: publishing to Shopify with one ``productSet`` per product against the source's way.

Run: ``.venv/bin/python bench/publish.py [--products 200] [--baseline-products 20] [--bucket 2000] [--restore 100] [--with-media]``

Both runs publish the same realistic products (21 variants, 6 images, built by the real domain
code) through the same :class:`ShopifyClient` (so both are paced by the same leaky-bucket logic) to
the fake Shopify server, each on a fresh fake with a full bucket of ``--bucket`` points restoring
``--restore`` points a second:

- ``productSet``: this project's way, one synchronous ``productSet`` per product that reads back
  the product and its variant ids (what the product service stores); ``--with-media`` also reads
  the media ids back, which costs 8 more points a product.
- the source's way: ``productCreate`` (options and images), then one ``productVariantsBulkCreate``
  per variant, as Haven Hub created the product and then each variant in its own call.

Printed: products per second; the throttle floor, i.e. the least time the bucket allows for the
points the fake actually charged (``(charged - bucket) / restore``); THROTTLED answers received;
and the ratio. The source's way is run on ``--baseline-products`` products and extrapolated to
``--products`` at its steady-state cost (its points per product over the restore rate), which is
what bounds it once the first bucket is spent; the output says so. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haven_pipelines.integrations.shopify import ShopifyClient, ShopifyError, validate_document  # noqa: E402
from haven_pipelines_tests.fakes.shopify_server import FakeShopify  # noqa: E402
from haven_pipelines_tests.integrations.shopify.realistic import product_set_variables  # noqa: E402

#: The source's way, step 1: the product with its options and images (one standalone variant).
BASELINE_PRODUCT_CREATE = """
mutation BaselineProductCreate($product: ProductCreateInput!, $media: [CreateMediaInput!]) {
  productCreate(product: $product, media: $media) {
    product { id handle }
    userErrors { field message }
  }
}
"""

#: The source's way, step 2, once per variant.
BASELINE_VARIANT_CREATE = """
mutation BaselineVariantCreate($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $strategy: ProductVariantsBulkCreateStrategy) {
  productVariantsBulkCreate(productId: $productId, variants: $variants, strategy: $strategy) {
    productVariants { id sku }
    userErrors { field message code }
  }
}
"""


@dataclass
class Run:
    """What one publishing run did."""

    label: str
    products: int
    seconds: float
    charged: int
    throttled_fake: int
    throttled_client: int
    errors: int
    floor: float

    @property
    def rate(self) -> float:
        return self.products / self.seconds


def baseline_variables(product_input: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split a productSet input into productCreate variables and one bulk-create input per variant."""
    product = {k: product_input[k] for k in ("title", "descriptionHtml", "handle", "vendor", "productType", "status", "tags")}
    product["productOptions"] = product_input["productOptions"]
    media = [{"originalSource": f["originalSource"], "alt": f["alt"], "mediaContentType": "IMAGE"} for f in product_input["files"]]
    variants = [{k: v for k, v in variant.items() if k not in ("sku", "position")} for variant in product_input["variants"]]
    return {"product": product, "media": media}, variants


def publish_with_product_set(inputs: list[tuple[dict, dict]], bucket: float, restore: float, with_media: bool) -> Run:
    with FakeShopify(bucket_size=bucket, restore_rate=restore) as fake:
        client = ShopifyClient(fake.shop_domain, fake.token, base_url=fake.base_url)
        errors = 0
        started = time.perf_counter()
        try:
            for product_input, identifier in inputs:
                try:
                    client.product_set(product_input, identifier, with_media=with_media)
                except ShopifyError as exc:
                    errors += 1
                    print(f"  error: {exc}", file=sys.stderr)
            seconds = time.perf_counter() - started
        finally:
            client.close()
        assert len(fake.products) == len(inputs) - errors, "every product once, no duplicates"
        return Run("productSet", len(inputs), seconds, fake.stats.points_charged, fake.stats.throttled,
                   client.stats().throttled, errors, fake.throttle_floor_seconds())


def publish_the_source_way(inputs: list[tuple[dict, dict]], bucket: float, restore: float) -> Run:
    with FakeShopify(bucket_size=bucket, restore_rate=restore) as fake:
        client = ShopifyClient(fake.shop_domain, fake.token, base_url=fake.base_url)
        errors = 0
        started = time.perf_counter()
        try:
            for product_input, _identifier in inputs:
                create, variants = baseline_variables(product_input)
                try:
                    # Neither call is an upsert: a blind retry after a timeout could duplicate.
                    created = client.execute(BASELINE_PRODUCT_CREATE, create, idempotent=False)
                    product_id = created.data["productCreate"]["product"]["id"]
                    for i, variant in enumerate(variants):
                        strategy = "REMOVE_STANDALONE_VARIANT" if i == 0 else "DEFAULT"
                        client.execute(BASELINE_VARIANT_CREATE, {"productId": product_id, "variants": [variant], "strategy": strategy}, idempotent=False)
                except ShopifyError as exc:
                    errors += 1
                    print(f"  error: {exc}", file=sys.stderr)
            seconds = time.perf_counter() - started
        finally:
            client.close()
        complete = [p for p in fake.products.values() if len(p.variants) == len(inputs[0][0]["variants"])]
        assert len(complete) == len(inputs) - errors, "every product complete"
        return Run("source's way", len(inputs), seconds, fake.stats.points_charged, fake.stats.throttled,
                   client.stats().throttled, errors, fake.throttle_floor_seconds())


def main(argv: list[str] | None = None) -> int:
    """Run both, print the figures and the goals; 0 when every goal is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--baseline-products", type=int, default=20)
    parser.add_argument("--bucket", type=float, default=2000)
    parser.add_argument("--restore", type=float, default=100)
    parser.add_argument("--with-media", action="store_true", help="also read media ids back (8 more points a product)")
    args = parser.parse_args(argv)

    inputs = [product_set_variables(n) for n in range(args.products)]
    first_create, first_variants = baseline_variables(inputs[0][0])
    for document, variables in (
        (BASELINE_PRODUCT_CREATE, first_create),
        (BASELINE_VARIANT_CREATE, {"productId": "gid://shopify/Product/1", "variants": first_variants[:1], "strategy": "DEFAULT"}),
    ):
        problems = validate_document(document, variables)
        if problems:
            raise SystemExit(f"baseline document invalid against the 2026-10 schema: {problems}")

    variants, images = len(inputs[0][0]["variants"]), len(inputs[0][0]["files"])
    print(f"Shopify publish: {args.products} products x {variants} variants x {images} images; "
          f"fake Shopify bucket {args.bucket:g} points, restoring {args.restore:g}/s; a fresh fake per run")

    ours = publish_with_product_set(inputs, args.bucket, args.restore, args.with_media)
    efficiency = ours.floor / ours.seconds if ours.floor else 1.0
    reads = "product, variant ids and media ids" if args.with_media else "product and variant ids"
    print(f"\nproductSet (1 call a product, reading back the {reads}): {ours.products} products in {ours.seconds:.1f} s = {ours.rate:.3f} products/s")
    floor = (f"throttle floor {ours.floor:.1f} s = {ours.products / ours.floor:.3f} products/s; reached {efficiency:.1%} of it"
             if ours.floor else "no throttle floor: the first bucket covers every point")
    print(f"  points charged {ours.charged} ({ours.charged / ours.products:.1f} a product); {floor}")
    print(f"  THROTTLED answers received: {ours.throttled_fake} (fake's count), {ours.throttled_client} (client's); "
          f"errors surfaced: {ours.errors}")

    m = min(args.baseline_products, args.products)
    base = publish_the_source_way(inputs[:m], args.bucket, args.restore)
    per_product = base.charged / base.products
    print(f"\nsource's way (productCreate + {variants} x productVariantsBulkCreate, {variants + 1} calls a product): "
          f"measured on {m} products: {base.seconds:.1f} s = {base.rate:.3f} products/s")
    print(f"  points charged {base.charged} ({per_product:.1f} a product); THROTTLED answers received: "
          f"{base.throttled_fake} (fake), {base.throttled_client} (client); errors surfaced: {base.errors}")
    if args.products > m:
        if base.charged <= args.bucket:
            print("  warning: the measured run never emptied the first bucket; the extrapolation flatters nothing, "
                  "but use more --baseline-products for a steadier figure")
        extra = (args.products - m) * per_product / args.restore
        base_seconds = base.seconds + extra
        print(f"  EXTRAPOLATED to {args.products} products: {base.seconds:.1f} s measured + {args.products - m} x "
              f"{per_product:.1f} points / {args.restore:g} points/s = {base_seconds:.1f} s = "
              f"{args.products / base_seconds:.3f} products/s")
    else:
        base_seconds = base.seconds
    base_rate = args.products / base_seconds

    ratio = ours.rate / base_rate
    print(f"\nratio (productSet / source's way, products/s): {ratio:.2f}x")
    goals = [
        (">= 90 % of the throttle floor", efficiency >= 0.90, f"{efficiency:.1%}"),
        ("no THROTTLED surfaced as an error", ours.errors == 0 and base.errors == 0, f"{ours.errors + base.errors} errors"),
        (">= 5x the source's way", ratio >= 5.0, f"{ratio:.2f}x"),
    ]
    for name, met, figure in goals:
        print(f"goal {name}: {'met' if met else 'MISSED'} ({figure})")
    return 0 if all(met for _, met, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
