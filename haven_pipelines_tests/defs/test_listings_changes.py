"""The Dagster publish path (``shopify_listings`` in the design graph) against the fake Shopify:
a second materialisation with nothing changed sends no mutation and no upload."""

from __future__ import annotations

import dagster as dg
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.definitions import build_resources
from haven_pipelines.defs.assets.listings import RUN_COUNTS
from haven_pipelines.defs.jobs import DESIGN_GRAPH
from haven_pipelines.defs.resources import (
    BlobStoreResource,
    HavenDatabaseResource,
    HavenResource,
    RendererResource,
    ShopifyResource,
)
from haven_pipelines_tests.fakes.shopify_server import FakeShopify


def _listings(result, instance) -> dict:
    """The run's publishing counts: the ``haven/<count>`` tags shopify_listings puts on its run."""
    tags = instance.get_run_by_id(result.run_id).tags
    return {name: float(tags[f"haven/{name}"]) for name in RUN_COUNTS}


def _partition_listing(result) -> dict[str, str]:
    """Each design partition's own ``listing`` entry."""
    return {e.partition: e.materialization.metadata["listing"].value
            for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("shopify_listings")}


def test_listings_send_only_what_changed(app_db, instance, monkeypatch):
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    # Two users, one design each: a price override of one user's changes that user's product only.
    changer, other = app_db.user("a@example.com", mode="autopilot"), app_db.user("b@example.com", mode="autopilot")
    ids = app_db.designs(changer, 1) + app_db.designs(other, 1)
    instance.add_dynamic_partitions("designs", ids)
    tags = {"dagster/asset_partition_range_start": ids[0], "dagster/asset_partition_range_end": ids[-1]}
    haven = HavenResource(
        database=HavenDatabaseResource(url=app_db.url), renderer=RendererResource(kind="local"),
        blob_store=BlobStoreResource(kind="local", data_dir=app_db.data_dir), shopify=ShopifyResource(mode="auto"),
    )
    engine = create_engine(app_db.url)
    try:
        with FakeShopify(bucket_size=4000, restore_rate=1000) as shop:
            with engine.begin() as conn:
                for user in (changer, other):
                    IntegrationStore(conn, user).connect("shopify", shop.shop_domain, shop.token, {"base_url": shop.base_url})
            first = dg.materialize(DESIGN_GRAPH, resources=build_resources(haven), instance=instance, tags=tags)
            assert first.success
            listed = _listings(first, instance)
            images = listed["images_uploaded"]
            assert (listed["sent"], listed["unchanged"], listed["failed"], listed["images_reused"]) == (2, 0, 0, 0)
            assert images > 2 and shop.stats.uploads == images and len(shop.products) == 2
            assert listed["throttle_points_spent"] == shop.stats.points_charged > 0
            assert shop.operation_counts["stagedUploadsCreate"] == 2  # one call per product, all its images

            shop.reset_stats()
            again = dg.materialize(DESIGN_GRAPH, resources=build_resources(haven), instance=instance, tags=tags)
            assert again.success
            listed = _listings(again, instance)
            assert (listed["sent"], listed["unchanged"], listed["images_uploaded"], listed["throttle_points_spent"]) == (0, 2, 0, 0)
            assert shop.stats.requests == 0 and shop.stats.uploads == 0

            # One user's price for one size changed (the rebuild applies it): that product alone is
            # sent, its images cited by id.
            with engine.begin() as conn:
                PricingStore(conn, changer).set_override("8x10", "26.00", "51.00", "10.50", "8.00")
            shop.reset_stats()
            third = dg.materialize(DESIGN_GRAPH, resources=build_resources(haven), instance=instance, tags=tags)
            listed = _listings(third, instance)
            assert (listed["sent"], listed["unchanged"], listed["images_uploaded"], listed["images_reused"]) == (1, 1, 0, images // 2)
            assert shop.operation_counts["productSet"] == 1 and shop.operation_counts["stagedUploadsCreate"] == 0
            # Each design's partition says what happened to its own listing, not the run's figures.
            changed, kept = ids
            states = _partition_listing(third)
            assert states[kept].startswith("unchanged") and states[changed] == "published", states
    finally:
        engine.dispose()
