"""Benchmark: throttle points spent publishing new products with one bulk operation against one productSet each.

Run: ``.venv/bin/python bench/publish_bulk.py [--products 2000] [--poll-first 1.0]``

Both paths publish the same realistic new products (21 variants, 6 images, built by the real domain
code, image URLs already public) through the same :class:`ShopifyClient`, each on a fresh fake
Shopify (the project's fake, real sockets, the real 2026-10 schema and Shopify's cost rules):

- per product: one synchronous ``productSet`` a product, reading back the product and its variant
  ids (what the product service does below ``HAVEN_SHOPIFY_BULK_THRESHOLD``);
- bulk: the JSONL file of ``productSet`` lines staged with ``stagedUploadsCreate``
  (``BULK_MUTATION_VARIABLES``), one ``bulkOperationRunMutation``, polling ``bulkOperation(id:)``
  with the client's backoff until it completes, and the result file downloaded and parsed (what
  the product service does above the threshold).

Points are what the fake charged to the leaky bucket (actual costs, as Shopify charges them). The
fake's bucket is made large enough that neither path waits for it: the figure compared is the
points, which do not depend on pacing; the wall times are printed for information. Exit status 1
when the goal (bulk under 2 % of the per-product points) is missed or a product is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haven_pipelines.integrations.shopify import ShopifyClient  # noqa: E402
from haven_pipelines.integrations.shopify.bulk import ShopifyBulk  # noqa: E402
from haven_pipelines.integrations.shopify.bulk_documents import BULK_PRODUCT_SET  # noqa: E402
from haven_pipelines_tests.fakes.shopify_server import FakeShopify  # noqa: E402
from haven_pipelines_tests.integrations.shopify.realistic import product_set_variables  # noqa: E402

#: Large enough that no call waits for the bucket (points are counted the same either way).
BUCKET = 1e12


def per_product(inputs: list[tuple[dict, dict]]) -> tuple[int, int, float, int]:
    """Points charged, requests, seconds and products on the shop after one productSet per product."""
    with FakeShopify(bucket_size=BUCKET, restore_rate=BUCKET) as fake:
        client = ShopifyClient(fake.shop_domain, fake.token, base_url=fake.base_url)
        started = time.perf_counter()
        try:
            for product_input, identifier in inputs:
                client.product_set(product_input, identifier)
        finally:
            client.close()
        seconds = time.perf_counter() - started
        return fake.stats.points_charged, fake.stats.requests, seconds, len(fake.products)


def bulk(inputs: list[tuple[dict, dict]], poll_first: float) -> tuple[int, int, float, int, int, int]:
    """Points, requests, seconds, products on the shop, failed lines and polls for one bulk operation."""
    with FakeShopify(bucket_size=BUCKET, restore_rate=BUCKET) as fake:
        client = ShopifyClient(fake.shop_domain, fake.token, base_url=fake.base_url)
        runner = ShopifyBulk(client, poll_first=poll_first)
        started = time.perf_counter()
        try:
            path = runner.stage_jsonl({"input": i, "identifier": ident} for i, ident in inputs)
            op = runner.wait(runner.run_mutation(BULK_PRODUCT_SET, path).id)
            results = runner.mutation_results(op)
        finally:
            runner.close()
            client.close()
        seconds = time.perf_counter() - started
        failed = sum(1 for r in results if not r.ok) + (len(inputs) - len(results))
        return fake.stats.points_charged, fake.stats.requests, seconds, len(fake.products), failed, runner.polls


def main(argv: list[str] | None = None) -> int:
    """Run both paths once, print the figures and the ratio; 0 when the goal is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--poll-first", type=float, default=1.0, help="first wait between polls, seconds (the client's default)")
    args = parser.parse_args(argv)

    inputs = [product_set_variables(n) for n in range(args.products)]
    variants, images = len(inputs[0][0]["variants"]), len(inputs[0][0]["files"])
    print(f"Shopify publish of {args.products} new products x {variants} variants x {images} images; a fresh fake shop per path")

    pp_points, pp_requests, pp_seconds, pp_products = per_product(inputs)
    print(f"\nper product (one productSet each): {pp_points} points charged ({pp_points / args.products:.1f} a product), "
          f"{pp_requests} requests, {pp_seconds:.1f} s, {pp_products} products on the shop")

    b_points, b_requests, b_seconds, b_products, b_failed, polls = bulk(inputs, args.poll_first)
    print(f"bulk (stagedUploadsCreate + bulkOperationRunMutation + {polls} polls): {b_points} points charged, "
          f"{b_requests} requests, {b_seconds:.1f} s, {b_products} products on the shop, {b_failed} failed lines")

    ratio = b_points / pp_points
    print(f"\nratio (bulk points / per-product points): {ratio:.4%}  ({pp_points / b_points:.0f}x fewer points)")
    goals = [
        ("bulk under 2 % of the per-product points", ratio < 0.02, f"{ratio:.4%}"),
        ("every product on the shop once by both paths", pp_products == b_products == args.products and b_failed == 0,
         f"{pp_products} and {b_products} of {args.products}"),
    ]
    for name, met, figure in goals:
        print(f"goal {name}: {'met' if met else 'MISSED'} ({figure})")
    return 0 if all(met for _, met, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
