"""``products``: a Shopify-ready product per design, built from the catalogue profile."""

import dagster as dg

from haven_pipelines.defs.assets.approved_designs import GROUP
from haven_pipelines.defs.assets.mockups import mockups
from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.metadata import result_or_failure, table
from haven_pipelines.defs.partitions import design_partitions
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.domain.errors import Conflict, HavenError
from haven_pipelines.services.products import ProductService


def build_products(haven: HavenResource, asset_ids: list[str], log) -> dict[str, list[dict]]:
    """Build or update the product of each design; returns rows grouped as built, waiting, failed.

    "Waiting" (the design's mockups are not approved yet) is normal in supervised mode and is not a
    failure: the approval sensor requests this partition again once a person decides.
    """
    ctx = haven.ctx
    service = ProductService(ctx)
    owners, unknown = designs_by_owner(ctx.engine, asset_ids)
    report: dict[str, list[dict]] = {"built": [], "waiting": [], "failed": []}
    report["failed"].extend({"asset_id": a, "error": "no such design asset"} for a in unknown)
    for user_id, ids in owners.items():
        for asset_id in ids:
            try:
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
                "status": result.status,
            })
    return report


def product_metadata(report: dict[str, list[dict]]) -> dict[str, object]:
    """Counts and a table of the products built."""
    built = report["built"]
    return {
        "products_built": dg.MetadataValue.int(len(built)),
        "products_created": dg.MetadataValue.int(sum(1 for r in built if r["created"])),
        "variants": dg.MetadataValue.int(sum(r["variants"] for r in built)),
        "waiting_for_approval": dg.MetadataValue.int(len(report["waiting"])),
        "failed": dg.MetadataValue.int(len(report["failed"])),
        "products": table(built, ["asset_id", "product_id", "status", "created", "variants", "images"]),
    }


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

    Designs whose mockups still await approval are counted as waiting, not failed; a design whose
    product cannot be built fails the run with the reason, after the others are built.
    """
    report = build_products(haven, list(context.partition_keys), context.log)
    return result_or_failure(report["failed"], "product(s) could not be built", product_metadata(report))
