"""Benchmark: publishing to Shopify, sending only what changed, and one ``productSet`` per product.

Run: ``.venv/bin/python bench/publish.py [--products 200] [--baseline-products 20] [--bucket 2000] [--restore 100] [--with-media] [--only-changes | --skip-changes]``

Parts (a) and (b) run the publishing step of a catalogue run (``publish_designs``, what the
``shopify_listings`` asset runs) through the product service, the SQLite application database and the
live :class:`ShopifyClient`, against the fake Shopify, on ``--products`` products that are already
live (21 variants and 6 images each, every image a stored blob that a first publish staged and
uploaded). The fake's bucket is ``--bucket`` points restoring ``--restore`` a second (a Shopify
Standard shop restores 100); the initial load runs on an unlimited bucket and is not measured.

- (a) nothing changed: mutations sent, staged uploads, points charged and wall time of a full run,
  against today's resend measured in the same process: the same run with the stored publish state
  forgotten, so that every product is sent again with every image uploaded (the old behaviour; it
  is given one ``stagedUploadsCreate`` per product, not one per image as the old code made, so the
  ratio is a lower bound). Goals: 0 mutations, 0 uploads, >= 20x faster than the resend.
- (b) one price changed on every product: ``productSet`` per product, images cited by their file id.
  Goals: ``--products`` productSets, 0 staged uploads.

The third part (``--skip-changes`` runs it alone, ``--only-changes`` leaves it out) compares the
client's ``productSet`` with the source's way:

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
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The listings asset's module is imported for its publish step; Dagster flags beta parameters on load.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")

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


@dataclass
class CatalogueRun:
    """What one publishing step of a catalogue run did, as the fake saw it."""

    label: str
    seconds: float
    product_sets: int
    staged_calls: int
    uploads: int
    points: int
    tally: dict

    def line(self) -> str:
        return (f"{self.label}: {self.seconds:.2f} s; productSet {self.product_sets}, stagedUploadsCreate {self.staged_calls}, "
                f"staged files uploaded {self.uploads}, points charged {self.points}; run summary: sent {self.tally['sent']}, "
                f"unchanged {self.tally['unchanged']}, failed {self.tally['failed']}, images uploaded {self.tally['images_uploaded']}, "
                f"reused {self.tally['images_reused']}, points {self.tally['points_spent']}")


def _catalogue(ctx, user_id: str, n: int) -> list[str]:
    """``n`` approved designs, each with a product of 21 variants and 6 stored images; returns the design ids."""
    import io

    from PIL import Image

    from haven_pipelines.db.stores.designs import DesignStore
    from haven_pipelines.db.stores.products import ProductStore
    from haven_pipelines.domain.keys import design_key
    from haven_pipelines_tests.integrations.shopify.realistic import product_spec

    def png(seed: int, scene: int) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (64, 80), (seed % 256, (seed // 256) % 256, 40 * scene)).save(buf, "PNG")
        return buf.getvalue()

    designs = []
    with ctx.engine.begin() as conn:
        store, products = DesignStore(conn, user_id), ProductStore(conn, user_id)
        for i in range(n):
            quote = store.create_quote(f"Be still and know, number {i}", "grounding", mood="calm")
            data = png(i, 0)
            asset = store.create_asset("pending://", "pending", "png", 64, 80, quote_id=quote["id"])
            key = design_key(user_id, asset["id"], data, "png")
            from sqlalchemy import update

            from haven_pipelines.db.tables import assets

            conn.execute(update(assets).where(assets.c.id == asset["id"]).values(file_key=key, file_url=ctx.blob_store.put(key, data, "image/png").url))
            store.approve_asset(asset["id"])
            spec = product_spec(i)
            images = []
            for position, image in enumerate(spec.images, start=1):
                blob = data if position == 1 else png(i, position)
                image_key = key if position == 1 else f"mockups/{user_id}/{asset['id']}/scene{position}-{position}.png"
                if position > 1:
                    ctx.blob_store.put(image_key, blob, "image/png")
                images.append({"src": ctx.blob_store.url(image_key), "file_key": image_key, "alt": image.alt,
                               "source": "upload", "position": position})
            products.create(title=spec.title, description=spec.description_html, collection=spec.collection, tags=list(spec.tags),
                            handle=spec.handle, asset_id=asset["id"], quote_id=quote["id"], variants=spec.variants,
                            images=images, status="approved", product_id=spec.product_id)
            designs.append(asset["id"])
    return designs


def _publish_run(label: str, ctx, designs: list[str], fake) -> CatalogueRun:
    """One publishing step of a catalogue run over ``designs``, counted on the fake."""
    from types import SimpleNamespace

    from haven_pipelines.defs.assets.listings import publish_designs

    fake.reset_stats()
    uploads_before = fake.stats.uploads
    started = time.perf_counter()
    report = publish_designs(SimpleNamespace(ctx=ctx), designs, _QuietLog())
    seconds = time.perf_counter() - started
    if report["failed"]:
        raise SystemExit(f"{label}: {len(report['failed'])} failed, first: {report['failed'][0]}")
    counts = fake.operation_counts
    return CatalogueRun(label, seconds, counts["productSet"], counts["stagedUploadsCreate"], fake.stats.uploads - uploads_before,
                        fake.stats.points_charged, report["tally"][0])


class _QuietLog:
    """The log ``publish_designs`` writes to (errors are counted in its report)."""

    def error(self, *args) -> None:
        print("  error:", args[0] % args[1:], file=sys.stderr)

    warning = error


def bench_changes(products: int, bucket: float, restore: float) -> list[tuple[str, bool, str]]:
    """Parts (a) and (b); returns the goals as (name, met, figure)."""
    import os
    import tempfile

    from sqlalchemy import update

    from haven_pipelines.db.crypto import generate_key
    from haven_pipelines.db.migrate import upgrade
    from haven_pipelines.db.stores.integrations import IntegrationStore
    from haven_pipelines.db.stores.products import ProductStore
    from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
    from haven_pipelines.db.tables import product_variants
    from haven_pipelines.services.context import build_context
    from haven_pipelines_tests.fakes.shopify.cost import LeakyBucket

    os.environ.setdefault("HAVEN_SECRET_KEY", generate_key())
    with tempfile.TemporaryDirectory(prefix="haven-bench-publish-") as tmp, FakeShopify(bucket_size=1e9, restore_rate=1e9) as fake:
        url = f"sqlite:///{tmp}/haven.db"
        upgrade(url)
        ctx = build_context(database_url=url, data_dir=tmp, shopify_mode="live")
        try:
            with ctx.engine.begin() as conn:
                user_id = get_or_create_user(conn, "bench@haven.local")["id"]
                SettingsStore(conn, user_id).update(global_mode="autopilot")
                IntegrationStore(conn, user_id).connect("shopify", fake.shop_domain, fake.token, {"base_url": fake.base_url})
            designs = _catalogue(ctx, user_id, products)
            load = _publish_run("initial load (not measured against anything)", ctx, designs, fake)
            print(f"\nchange-aware publishing: {products} products live on the fake Shopify, 21 variants x 6 images each; "
                  f"bucket {bucket:g} points restoring {restore:g}/s")
            print(f"  {load.line()}")
            fake.bucket = LeakyBucket(bucket, restore)

            unchanged = _publish_run("(a) nothing changed", ctx, designs, fake)
            print(f"  {unchanged.line()}")

            with ctx.engine.begin() as conn:
                conn.execute(update(product_variants).where(product_variants.c.size == "8x10", product_variants.c.frame_style.is_(None),
                                                            product_variants.c.is_digital.is_(False))
                             .values(price=product_variants.c.price + 1))
            fake.bucket = LeakyBucket(bucket, restore)
            price = _publish_run("(b) one price changed on every product", ctx, designs, fake)
            print(f"  {price.line()}")

            # Today's resend: the same run with the publish state forgotten (every product, every image again).
            with ctx.engine.begin() as conn:
                store = ProductStore(conn, user_id)
                for design in designs:
                    store.forget_published(store.find_by_asset(design).id)
            fake.bucket = LeakyBucket(bucket, restore)
            resend = _publish_run("today's resend (state forgotten)", ctx, designs, fake)
            print(f"  {resend.line()}")
        finally:
            ctx.close()
    ratio = resend.seconds / unchanged.seconds
    print(f"  (a) against today's resend: {ratio:.0f}x faster ({unchanged.seconds:.2f} s vs {resend.seconds:.2f} s); "
          f"mutations {unchanged.product_sets} vs {resend.product_sets}; staged uploads {unchanged.uploads} vs {resend.uploads}; "
          f"points {unchanged.points} vs {resend.points}")
    return [
        ("(a) 0 mutations when nothing changed", unchanged.product_sets == 0 and unchanged.staged_calls == 0, f"{unchanged.product_sets}"),
        ("(a) 0 uploads when nothing changed", unchanged.uploads == 0, f"{unchanged.uploads}"),
        ("(a) >= 20x faster than today's resend", ratio >= 20, f"{ratio:.0f}x"),
        (f"(b) {products} productSets for a price change", price.product_sets == products, f"{price.product_sets}"),
        ("(b) 0 uploads for a price change", price.uploads == 0 and price.staged_calls == 0,
         f"{price.uploads} uploads, {price.staged_calls} stagedUploadsCreate"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the parts, print the figures and the goals; 0 when every goal is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--baseline-products", type=int, default=20)
    parser.add_argument("--bucket", type=float, default=2000)
    parser.add_argument("--restore", type=float, default=100)
    parser.add_argument("--with-media", action="store_true", help="also read media ids back (8 more points a product)")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--only-changes", action="store_true", help="parts (a) and (b) only")
    parts.add_argument("--skip-changes", action="store_true", help="the productSet / source's way comparison only")
    args = parser.parse_args(argv)

    goals: list[tuple[str, bool, str]] = []
    if not args.skip_changes:
        goals += bench_changes(args.products, args.bucket, args.restore)
    if not args.only_changes:
        goals += bench_product_set(args)
    for name, met, figure in goals:
        print(f"goal {name}: {'met' if met else 'MISSED'} ({figure})")
    return 0 if all(met for _, met, _ in goals) else 1


def bench_product_set(args) -> list[tuple[str, bool, str]]:
    """The productSet / source's way comparison; returns its goals."""

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
    return [
        (">= 90 % of the throttle floor", efficiency >= 0.90, f"{efficiency:.1%}"),
        ("no THROTTLED surfaced as an error", ours.errors == 0 and base.errors == 0, f"{ours.errors + base.errors} errors"),
        (">= 5x the source's way", ratio >= 5.0, f"{ratio:.2f}x"),
    ]


if __name__ == "__main__":
    sys.exit(main())
