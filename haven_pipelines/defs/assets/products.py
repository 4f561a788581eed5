"""``products``: a Shopify-ready product per design, built from the catalogue profile."""

import dagster as dg

from haven_pipelines.defs.assets.approved_designs import GROUP
from haven_pipelines.defs.assets.mockups import mockups
from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.metadata import result_or_failure, table, tag_run
from haven_pipelines.defs.partitions import design_partitions, designs_in_run
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.services.approvals import apply_design_decisions
from haven_pipelines.services.previews import design_labels, design_product_markdown
from haven_pipelines.services.products import ProductService


def build_products(haven: HavenResource, asset_ids: list[str], log) -> dict[str, list[dict]]:
    """Apply each design's approval decisions, then build or update its product; returns rows grouped
    as built, waiting, failed, and the number of decisions applied.

    Applying decisions first is what makes a run requested by the approval sensor act on the
    decisions it was requested for (the sensor itself writes nothing); it is idempotent. A product
    built with a decision still awaited (``draft`` or ``awaiting_approval``) is normal in supervised
    mode and is not a failure: the approval sensor requests this partition again once a person decides.
    """
    ctx = haven.ctx
    service = ProductService(ctx)
    owners, unknown = designs_by_owner(ctx.engine, asset_ids)
    report: dict[str, list[dict]] = {"built": [], "waiting": [], "failed": []}
    report["failed"].extend({"asset_id": a, "error": "no such design asset"} for a in unknown)
    applied = 0
    for user_id, ids in owners.items():
        for asset_id in ids:
            try:
                applied += apply_design_decisions(ctx.engine, user_id, asset_id)
                result = service.build_for_design(user_id, asset_id)
            except Conflict as exc:
                report["waiting"].append({"asset_id": asset_id, "user_id": user_id, "reason": str(exc)})
                continue
            except HavenError as exc:
                log.error("product for design %s failed: %s", asset_id, exc)
                report["failed"].append({"asset_id": asset_id, "user_id": user_id, "error": str(exc)})
                continue
            report["built"].append({
                "asset_id": asset_id, "user_id": user_id, "product_id": result.product_id,
                "created": result.created, "variants": result.variant_count, "images": result.image_count,
                "status": result.status, "changed": result.changed,
            })
    report["decisions_applied"] = applied  # type: ignore[assignment]
    return report


def product_metadata(report: dict[str, list[dict]]) -> dict[str, object]:
    """Counts and a table of the products built."""
    built = report["built"]
    return {
        "products_built": dg.MetadataValue.int(len(built)),
        "products_created": dg.MetadataValue.int(sum(1 for r in built if r["created"])),
        # Built and found as stored: nothing written (a nightly with nothing changed changes none).
        "products_unchanged": dg.MetadataValue.int(sum(1 for r in built if not r.get("changed", True))),
        "variants": dg.MetadataValue.int(sum(r["variants"] for r in built)),
        "awaiting_approval": dg.MetadataValue.int(sum(1 for r in built if r["status"] in ("draft", "awaiting_approval"))),
        "decisions_applied": dg.MetadataValue.int(int(report.get("decisions_applied", 0))),
        "failed": dg.MetadataValue.int(len(report["failed"])),
        "products": table(built, ["asset_id", "product_id", "status", "created", "variants", "images"]),
    }


def design_product_metadata(haven: HavenResource, report: dict[str, list[dict]], asset_ids: list[str]) -> dict[str, dict]:
    """One design partition's own metadata: its label, its product's status, variants and images,
    and the product's main image and price range (``preview``), or why it waits."""
    ctx = haven.ctx
    labels = design_labels(ctx.engine, asset_ids)
    built = {r["asset_id"]: r for r in report["built"]}
    waiting = {r["asset_id"]: r for r in report["waiting"]}
    out: dict[str, dict] = {}
    for asset_id in asset_ids:
        label = labels[asset_id]
        row = built.get(asset_id)
        if row is None:
            reason = waiting.get(asset_id, {}).get("reason", "not built")
            out[asset_id] = {"design": dg.MetadataValue.text(label), "status": dg.MetadataValue.text("waiting"),
                             "reason": dg.MetadataValue.text(reason)}
            continue
        # Name and picture first: the UI lists metadata in this order.
        out[asset_id] = {
            "design": dg.MetadataValue.text(label),
            "preview": dg.MetadataValue.md(design_product_markdown(ctx.engine, ctx.blob_store, row["user_id"], asset_id, label)),
            "product_id": dg.MetadataValue.text(row["product_id"]),
            "status": dg.MetadataValue.text(row["status"]),
            "created": dg.MetadataValue.bool(bool(row["created"])),
            "variants": dg.MetadataValue.int(row["variants"]),
            "images": dg.MetadataValue.int(row["images"]),
        }
    return out


@dg.asset(
    partitions_def=design_partitions,
    deps=[mockups],
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "sql"},
)
def products(context: dg.AssetExecutionContext, haven: HavenResource) -> dg.MaterializeResult:
    """Products (title, description, variants with SKUs and prices, images) built from each design's
    approved mockups and the catalogue profile. Re-running updates the same product in place.

    First applies the reviewers' decisions on the design's mockups and product (idempotent). In
    supervised mode a product asks for approval of its exact content once its mockups are all
    decided; a rebuild with the same content keeps the approval, a changed one (prices, images, ...)
    asks again. A design whose product cannot be built fails the run with the reason, after the
    others are built.
    """
    designs = designs_in_run(context, haven.ctx.engine)
    report = build_products(haven, designs.ids, context.log)
    metadata = product_metadata(report)
    if not report["failed"]:
        # Each partition shows its own product; the run's counts go on the run, not on every partition.
        for asset_id, design_metadata in design_product_metadata(haven, report, designs.ids).items():
            context.add_asset_metadata(design_metadata, partition_key=designs.key_of[asset_id])
        tag_run(context, {f"haven/{k}": str(metadata[k].value) for k in ("products_built", "products_created")})
    result_or_failure(report["failed"], "product(s) could not be built", metadata)
    return dg.MaterializeResult()
