"""``approved_design_assets``: the approved artwork, one partition per design."""

import dagster as dg

from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.metadata import designs_tag, tag_run
from haven_pipelines.defs.partitions import design_partitions
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.services.designs import scenes_for_design
from haven_pipelines.services.previews import artwork_markdown, design_labels

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
    keys = list(context.partition_keys)
    labels = design_labels(engine, keys)
    owner = {a: u for u, ids in owners.items() for a in ids}
    # Each partition names its own design; the run is tagged with the designs it covers.
    for key in keys:
        scenes = scenes_for_design(engine, key)
        context.add_asset_metadata({
            "design": dg.MetadataValue.text(labels[key]),
            "user_id": dg.MetadataValue.text(owner[key]),
            "planned_renders": dg.MetadataValue.int(len(scenes)),
            "scenes": dg.MetadataValue.text(", ".join(scenes)),
            "artwork": dg.MetadataValue.md(artwork_markdown(engine, haven.ctx.blob_store, key, labels[key])),
        }, partition_key=key)
    tag_run(context, {**designs_tag([labels[k] for k in keys]), "haven/design_count": str(len(keys))})
    return dg.MaterializeResult()
