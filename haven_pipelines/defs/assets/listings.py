"""``shopify_listings``: each design's product published to Shopify (or recorded in dry run)."""

import dagster as dg

from haven_pipelines.defs.assets.approved_designs import GROUP
from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.assets.products import products
from haven_pipelines.defs.metadata import link, result_or_failure, table, tag_run, without_none
from haven_pipelines.defs.partitions import design_partitions
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.services.previews import design_labels, design_product_markdown
from haven_pipelines.services.products import ProductService


def publish_designs(haven: HavenResource, asset_ids: list[str], log) -> dict[str, list[dict]]:
    """Publish the product of each design; returns rows grouped as published, waiting, failed.

    Publishing is an upsert keyed by the stored Shopify id, so a re-run never creates a second
    product, and content already published is not sent again (``unchanged``). A design with no
    product yet, or whose product's content waits for approval (supervised and assisted modes), is
    waiting, not failed: Shopify keeps what it has.
    """
    ctx = haven.ctx
    service = ProductService(ctx)
    owners, unknown = designs_by_owner(ctx.engine, asset_ids)
    report: dict[str, list[dict]] = {"published": [], "unchanged": [], "waiting": [], "failed": []}
    report["failed"].extend({"asset_id": a, "error": "no such design asset"} for a in unknown)
    for user_id, ids in owners.items():
        for asset_id in ids:
            product = service.product_for_design(user_id, asset_id)
            if product is None:
                report["waiting"].append({"asset_id": asset_id, "user_id": user_id, "reason": "no product built yet"})
                continue
            try:
                result = service.publish(user_id, product["id"], skip_unchanged=True)
            except Conflict as exc:
                report["waiting"].append({"asset_id": asset_id, "user_id": user_id, "reason": str(exc)})
                continue
            except HavenError as exc:
                log.error("publishing the product of design %s failed: %s", asset_id, exc)
                report["failed"].append({"asset_id": asset_id, "error": str(exc)})
                continue
            report["unchanged" if result.unchanged else "published"].append({
                "asset_id": asset_id, "user_id": user_id, "product_id": result.product_id, "handle": result.handle,
                "shopify_gid": result.shopify_gid, "variants": result.variant_count,
                "admin_url": result.admin_url, "dry_run": result.dry_run,
            })
    return report


def listing_metadata(report: dict[str, list[dict]]) -> dict[str, object]:
    """Counts, the first admin URL and handle, and a table of listings."""
    published = report["published"]
    first = published[0] if published else {}
    return without_none({
        "listings_published": dg.MetadataValue.int(sum(1 for r in published if not r["dry_run"])),
        "listings_dry_run": dg.MetadataValue.int(sum(1 for r in published if r["dry_run"])),
        "variant_count": dg.MetadataValue.int(sum(r["variants"] for r in published)),
        "unchanged": dg.MetadataValue.int(len(report.get("unchanged", ()))),
        "waiting": dg.MetadataValue.int(len(report["waiting"])),
        "failed": dg.MetadataValue.int(len(report["failed"])),
        "handle": dg.MetadataValue.text(first["handle"]) if first.get("handle") else None,
        "shopify_admin_url": link(first.get("admin_url")),
        "listings": table(published, ["asset_id", "product_id", "handle", "variants", "dry_run", "admin_url"]),
    })


def design_listing_metadata(haven: HavenResource, report: dict[str, list[dict]], asset_ids: list[str]) -> dict[str, dict]:
    """One design partition's own metadata: its label, what happened to its listing (published, dry
    run, unchanged or waiting, with the reason), its handle and admin link, and the product's main
    image and price range (``preview``)."""
    ctx = haven.ctx
    labels = design_labels(ctx.engine, asset_ids)
    rows: dict[str, tuple[str, dict]] = {}
    for state in ("published", "unchanged", "waiting"):
        for row in report.get(state, ()):
            rows[row["asset_id"]] = (state, row)
    out: dict[str, dict] = {}
    for asset_id in asset_ids:
        label = labels[asset_id]
        state, row = rows.get(asset_id, ("waiting", {"reason": "not published"}))
        if state == "published" and row.get("dry_run"):
            state = "dry run (recorded in shopify_outbox, nothing sent)"
        user_id = row.get("user_id")
        out[asset_id] = without_none({
            "design": dg.MetadataValue.text(label),
            "preview": dg.MetadataValue.md(design_product_markdown(ctx.engine, ctx.blob_store, user_id, asset_id, label))
            if user_id else None,
            "listing": dg.MetadataValue.text(state),
            "reason": dg.MetadataValue.text(row["reason"]) if row.get("reason") else None,
            "handle": dg.MetadataValue.text(row["handle"]) if row.get("handle") else None,
            "variants": dg.MetadataValue.int(row["variants"]) if "variants" in row else None,
            "shopify_admin_url": link(row.get("admin_url")),
        })
    return out


@dg.asset(
    partitions_def=design_partitions,
    deps=[products],
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"shopify", "graphql"},
)
def shopify_listings(context: dg.AssetExecutionContext, haven: HavenResource) -> dg.MaterializeResult:
    """Each design's product on Shopify, upserted with `productSet` through the Admin GraphQL API.

    In dry run (the default without Shopify credentials) every mutation is built, validated and
    recorded in the outbox, and nothing is sent. A product is sent only when its content differs from
    what was last published; one whose content is not approved yet (supervised or assisted mode) is
    counted as waiting and Shopify keeps the approved version. A publish error fails the run after
    the others are published.
    """
    keys = list(context.partition_keys)
    report = publish_designs(haven, keys, context.log)
    metadata = listing_metadata(report)
    if not report["failed"]:
        # Each partition shows its own listing; the run's counts go on the run, not on every partition.
        for key, design_metadata in design_listing_metadata(haven, report, keys).items():
            context.add_asset_metadata(design_metadata, partition_key=key)
        tag_run(context, {f"haven/{k}": str(metadata[k].value) for k in ("listings_published", "listings_dry_run", "waiting")})
    result_or_failure(report["failed"], "listing(s) failed", metadata)
    return dg.MaterializeResult()
