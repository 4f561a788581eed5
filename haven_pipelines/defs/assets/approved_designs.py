"""``approved_design_assets``: the approved artwork, one partition per design."""

import dagster as dg

from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.metadata import table
from haven_pipelines.defs.partitions import design_partitions
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.services.designs import scenes_for_design

GROUP = "catalogue"


@dg.asset(
    partitions_def=design_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"sql"},
)
def approved_design_assets(context: dg.AssetExecutionContext, haven: HavenResource) -> dg.MaterializeResult:
    """Approved wall-art designs, as the application database records them.

    One partition per design asset id; the `approved_designs_sensor` adds a partition when a design
    is approved. Materialising observes the design (its owner and the scenes its collection
    recommends) and writes nothing; it fails for an id that is not in the database.
    """
    engine = haven.ctx.engine
    owners, unknown = designs_by_owner(engine, context.partition_keys)
    if unknown:
        raise dg.Failure(
            description=f"{len(unknown)} design partition(s) have no design asset in the database: {', '.join(unknown[:5])}",
            metadata={"unknown_designs": len(unknown)},
        )
    rows = [
        {"asset_id": asset_id, "user_id": user_id, "scenes": ", ".join(scenes_for_design(engine, asset_id))}
        for user_id, asset_ids in owners.items()
        for asset_id in asset_ids
    ]
    return dg.MaterializeResult(
        metadata={
            "designs": dg.MetadataValue.int(len(rows)),
            "users": dg.MetadataValue.int(len(owners)),
            "planned_renders": dg.MetadataValue.int(sum(len(r["scenes"].split(", ")) for r in rows)),
            "designs_table": table(rows, ["asset_id", "user_id", "scenes"]),
        }
    )
