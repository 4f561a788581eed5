"""``shopify_listings``: each design's product published to Shopify (or recorded in dry run)."""

import dagster as dg

from haven_pipelines.defs.assets.approved_designs import GROUP
from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.assets.products import products
from haven_pipelines.defs.metadata import link, result_or_failure, table, tag_run, without_none
from haven_pipelines.defs.partitions import design_partitions, designs_in_run
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.services.bulk_publish import BulkPublisher
from haven_pipelines.services.previews import design_labels, design_product_markdown
from haven_pipelines.services.products import DeletedOnShopify, ProductService, PublishResult, PublishTally


def publish_designs(haven: HavenResource, asset_ids: list[str], log) -> dict[str, list[dict]]:
    """Publish the product of each design; returns rows grouped as published, unchanged, waiting,
    deleted (on Shopify) and failed, and the run's ``tally`` (one row of counts).

    Publishing is an upsert keyed by the stored Shopify id, so a re-run never creates a second
    product; a product whose input the shop already accepted sends nothing (``unchanged``), and a
    changed one reuses the images the shop has. A design with no product yet, or whose product's
    content waits for approval (supervised and assisted modes), is waiting, not failed: Shopify keeps
    what it has. A product deleted on Shopify is reported, not recreated. When one user has more
    products to send than ``HAVEN_SHOPIFY_BULK_THRESHOLD``, they go in one Shopify bulk operation
    (:mod:`haven_pipelines.services.bulk_publish`), which also collects a bulk operation an earlier
    run left unfinished.
    """
    ctx = haven.ctx
    service = ProductService(ctx)
    owners, unknown = designs_by_owner(ctx.engine, asset_ids)
    report: dict[str, list[dict]] = {"published": [], "unchanged": [], "waiting": [], "deleted": [], "failed": []}
    tally = PublishTally()
    report["failed"].extend({"asset_id": a, "error": "no such design asset"} for a in unknown)
    bulk = BulkPublisher(ctx)
    for user_id, ids in owners.items():
        built = service.products_for_designs(user_id, ids)
        with service.publishing(user_id) as session:
            handled = bulk.publish_large_set(user_id, [p.id for p in built.values()], session=session,
                                             details={p.id: p for p in built.values()})
            for asset_id in ids:
                product = built.get(asset_id)
                if product is None:
                    report["waiting"].append({"asset_id": asset_id, "user_id": user_id, "reason": "no product built yet"})
                    continue
                try:
                    outcome = handled.get(product.id)
                    if isinstance(outcome, HavenError):
                        raise outcome
                    if isinstance(outcome, PublishResult):
                        result = outcome  # sent (or collected) in a bulk operation, counted in the session's tally
                    else:
                        result = session.publish(product.id, skip_unchanged=True, detail=product)
                except Conflict as exc:
                    report["waiting"].append({"asset_id": asset_id, "user_id": user_id, "reason": str(exc)})
                    continue
                except DeletedOnShopify as exc:
                    log.warning("design %s: %s", asset_id, exc)
                    report["deleted"].append({"asset_id": asset_id, "user_id": user_id, "product_id": product["id"], "reason": str(exc)})
                    continue
                except HavenError as exc:
                    log.error("publishing the product of design %s failed: %s", asset_id, exc)
                    report["failed"].append({"asset_id": asset_id, "error": str(exc)})
                    continue
                report["unchanged" if result.unchanged else "published"].append({
                    "asset_id": asset_id, "user_id": user_id, "product_id": result.product_id, "handle": result.handle,
                    "shopify_gid": result.shopify_gid, "variants": result.variant_count,
                    "admin_url": result.admin_url, "dry_run": result.dry_run,
                    "images_uploaded": result.images_uploaded, "images_reused": result.images_reused,
                })
        tally.add(session.tally)
    # Failures before a session could tell (no such design) count too.
    tally.failed = len(report["failed"])
    report["tally"] = [tally.as_dict()]
    return report


#: The run's publishing counts, put on the run as ``haven/<name>`` tags (the run summary reads them).
RUN_COUNTS = ("sent", "unchanged", "failed", "deleted_on_shopify", "waiting", "images_uploaded", "images_reused",
              "staged_upload_calls", "throttle_points_spent", "listings_published", "listings_dry_run")


def listing_metadata(report: dict[str, list[dict]]) -> dict[str, object]:
    """Per run: sent, unchanged, failed, images uploaded and reused, throttle points spent; the
    first admin URL and handle; and a table of what was sent."""
    published = report["published"]
    tally = (report.get("tally") or [{}])[0]
    first = published[0] if published else {}
    return without_none({
        "sent": dg.MetadataValue.int(len(published)),
        "unchanged": dg.MetadataValue.int(len(report.get("unchanged", ()))),
        "failed": dg.MetadataValue.int(len(report["failed"])),
        "deleted_on_shopify": dg.MetadataValue.int(len(report.get("deleted", ()))),
        "waiting": dg.MetadataValue.int(len(report["waiting"])),
        "images_uploaded": dg.MetadataValue.int(int(tally.get("images_uploaded", 0))),
        "images_reused": dg.MetadataValue.int(int(tally.get("images_reused", 0))),
        "staged_upload_calls": dg.MetadataValue.int(int(tally.get("staged_upload_calls", 0))),
        "throttle_points_spent": dg.MetadataValue.float(float(tally.get("points_spent", 0.0))),
        "listings_published": dg.MetadataValue.int(sum(1 for r in published if not r["dry_run"])),
        "listings_dry_run": dg.MetadataValue.int(sum(1 for r in published if r["dry_run"])),
        "variant_count": dg.MetadataValue.int(sum(r["variants"] for r in published)),
        "handle": dg.MetadataValue.text(first["handle"]) if first.get("handle") else None,
        "shopify_admin_url": link(first.get("admin_url")),
        "listings": table(published, ["asset_id", "product_id", "handle", "variants", "images_uploaded",
                                      "images_reused", "dry_run", "admin_url"]),
    })


def design_listing_metadata(haven: HavenResource, report: dict[str, list[dict]], asset_ids: list[str]) -> dict[str, dict]:
    """One design partition's own metadata: its label, what happened to its listing (published, dry
    run, unchanged or waiting, with the reason), its handle and admin link, and the product's main
    image and price range (``preview``)."""
    ctx = haven.ctx
    labels = design_labels(ctx.engine, asset_ids)
    rows: dict[str, tuple[str, dict]] = {}
    for state in ("published", "unchanged", "waiting", "deleted"):
        for row in report.get(state, ()):
            rows[row["asset_id"]] = (state, row)
    out: dict[str, dict] = {}
    for asset_id in asset_ids:
        label = labels[asset_id]
        state, row = rows.get(asset_id, ("waiting", {"reason": "not published"}))
        if state == "published" and row.get("dry_run"):
            state = "dry run (recorded in shopify_outbox, nothing sent)"
        elif state == "unchanged":
            state = "unchanged (nothing sent: the shop has this input)"
        elif state == "deleted":
            state = "deleted on Shopify (reported, not recreated)"
        user_id = row.get("user_id")
        out[asset_id] = without_none({
            "design": dg.MetadataValue.text(label),
            "preview": dg.MetadataValue.md(design_product_markdown(ctx.engine, ctx.blob_store, user_id, asset_id, label))
            if user_id else None,
            "listing": dg.MetadataValue.text(state),
            "reason": dg.MetadataValue.text(row["reason"]) if row.get("reason") else None,
            "handle": dg.MetadataValue.text(row["handle"]) if row.get("handle") else None,
            "variants": dg.MetadataValue.int(row["variants"]) if "variants" in row else None,
            "images_uploaded": dg.MetadataValue.int(row["images_uploaded"]) if "images_uploaded" in row else None,
            "images_reused": dg.MetadataValue.int(row["images_reused"]) if "images_reused" in row else None,
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
    recorded in the outbox, and nothing is sent. A product is sent only when its productSet input
    differs from what the shop last accepted, citing the images the shop has by file id and
    uploading only new ones; one whose content is not approved yet (supervised or assisted mode) is
    counted as waiting and Shopify keeps the approved version; one deleted on Shopify is reported,
    not recreated. The metadata says per run: sent, unchanged, failed, images uploaded and reused,
    throttle points spent. A publish error fails the run after the others are published.
    """
    designs = designs_in_run(context, haven.ctx.engine)
    report = publish_designs(haven, designs.ids, context.log)
    metadata = listing_metadata(report)
    if not report["failed"]:
        # Each partition shows its own listing; the run's counts go on the run, not on every partition.
        for asset_id, design_metadata in design_listing_metadata(haven, report, designs.ids).items():
            context.add_asset_metadata(design_metadata, partition_key=designs.key_of[asset_id])
        tag_run(context, {f"haven/{k}": str(metadata[k].value) for k in RUN_COUNTS})
    result_or_failure(report["failed"], "listing(s) failed", metadata)
    return dg.MaterializeResult()
