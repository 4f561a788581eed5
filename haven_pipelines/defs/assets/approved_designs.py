"""``approved_design_assets``: the approved artwork, one partition per design."""

import dagster as dg

from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.metadata import designs_tag, tag_run
from haven_pipelines.defs.partitions import design_partitions, designs_in_run
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

    One partition per design, keyed by its quote (``roots-before-branches-6e714a3a``); the
    `approved_designs_sensor` adds a partition when a design is approved. Materialising observes the
    design (its owner and the scenes its collection recommends) and writes nothing; it fails for a
    key that names no design in the database.
    """
    engine = haven.ctx.engine
    designs = designs_in_run(context, engine)
    owners, _unknown = designs_by_owner(engine, designs.ids)
    labels = design_labels(engine, designs.ids)
    owner = {a: u for u, ids in owners.items() for a in ids}
    # Each partition names its own design; the run is tagged with the designs it covers.
    for asset_id in designs.ids:
        scenes = scenes_for_design(engine, asset_id)
        context.add_asset_metadata({
            "design": dg.MetadataValue.text(labels[asset_id]),
            "design_id": dg.MetadataValue.text(asset_id),
            "user_id": dg.MetadataValue.text(owner[asset_id]),
            "planned_renders": dg.MetadataValue.int(len(scenes)),
            "scenes": dg.MetadataValue.text(", ".join(scenes)),
            "artwork": dg.MetadataValue.md(artwork_markdown(engine, haven.ctx.blob_store, asset_id, labels[asset_id])),
        }, partition_key=designs.key_of[asset_id])
    tag_run(context, {**designs_tag([labels[a] for a in designs.ids]), "haven/design_count": str(len(designs.ids))})
    return dg.MaterializeResult()
