"""``mockups``: framed room mockups of each design, rendered under the credit budget."""

from dataclasses import dataclass, field

import dagster as dg

from haven_pipelines.defs.assets.approved_designs import GROUP, approved_design_assets
from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.metadata import link, table, tag_run, without_none
from haven_pipelines.defs.partitions import design_partitions, designs_in_run
from haven_pipelines.defs.resources import CreditBudgetResource, HavenResource
from haven_pipelines.domain.errors import BudgetExceeded
from haven_pipelines.services.designs import scenes_for_design
from haven_pipelines.services.previews import design_gallery, design_labels, gallery_markdown
from haven_pipelines.services.render import RenderOutcome, RenderService, RenderTask

# Runs that may call Dynamic Mockups share this pool; deploy/dagster.postgres.yaml sizes it for the
# API's rate limit. With the local renderer the pool only queues runs, which costs nothing.
RENDER_POOL = "dynamic_mockups"


@dataclass
class GateResult:
    """Which designs the budget admitted, and why the others were refused."""

    admitted: list[RenderTask] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # asset id -> reason naming remaining credits


def gate_designs(
    service: RenderService, budget: CreditBudgetResource, user_id: str, asset_ids: list[str],
    scenes_by_design: dict[str, list[str]], credits_per_render: int, *, regenerate: bool = False,
) -> GateResult:
    """Admit designs in order while their outstanding renders fit the user's annual budget.

    A design is admitted whole or not at all, so a partition is either fully rendered or untouched
    (nothing charged). Renders already done cost nothing and are not counted.
    """
    gate = GateResult()
    needed = 0
    for asset_id in asset_ids:
        tasks = [RenderTask(asset_id, scene) for scene in scenes_by_design[asset_id]]
        to_render, _done = service.plan(user_id, tasks, regenerate=regenerate)
        cost = len(to_render) * credits_per_render
        try:
            budget.check(user_id, needed + cost)
        except BudgetExceeded as exc:
            gate.refused[asset_id] = (
                f"design {asset_id} needs {cost} credit(s); {max(exc.remaining - needed, 0)} of the "
                f"{exc.budget} annual credits remain for {exc.year} after earlier designs in this run"
            )
            continue
        needed += cost
        gate.admitted.extend(tasks)
    return gate


def render_designs(
    haven: HavenResource, budget: CreditBudgetResource, asset_ids: list[str], log, *,
    scenes: list[str] | None = None, regenerate: bool = False, skip_approval: bool = False,
) -> dict[str, object]:
    """Gate and render ``asset_ids`` (any users); returns totals, outcomes and refusals.

    Shared by the ``mockups`` asset, ``generate_mockups_job`` and the nightly job.
    """
    ctx = haven.ctx
    service = RenderService(ctx)
    owners, unknown = designs_by_owner(ctx.engine, asset_ids)
    outcomes: list[RenderOutcome] = []
    refused: dict[str, str] = {asset_id: "no such design asset" for asset_id in unknown}
    usage_by_user = {}
    for user_id, ids in owners.items():
        scenes_by_design = {a: list(scenes) if scenes else scenes_for_design(ctx.engine, a) for a in ids}
        gate = gate_designs(service, budget, user_id, ids, scenes_by_design,
                            ctx.renderer.credits_per_render, regenerate=regenerate)
        refused.update(gate.refused)
        for reason in gate.refused.values():
            log.warning("credit budget: %s", reason)
        if gate.admitted:
            batch = service.render_batch(user_id, gate.admitted, regenerate=regenerate, skip_approval=skip_approval)
            outcomes.extend(batch.outcomes)
            usage_by_user[user_id] = batch.usage
        else:
            usage_by_user[user_id] = budget.usage(user_id)
    # The ledger can still refuse a render that the gate admitted (another run spent the credits
    # in between); such a design is refused too.
    for o in outcomes:
        if o.status == "refused":
            refused.setdefault(o.asset_id, o.error or "refused by the credit ledger")
    return {"outcomes": outcomes, "refused": refused, "usage": usage_by_user}


def render_metadata(report: dict[str, object]) -> dict[str, object]:
    """Counts and credits of a render report: the figures of whatever the report covers (one design,
    or a whole run), with remaining credits and a table of the renders."""
    outcomes: list[RenderOutcome] = report["outcomes"]  # type: ignore[assignment]
    usage = report["usage"]  # type: ignore[assignment]
    count = lambda *s: sum(o.status in s for o in outcomes)  # noqa: E731
    remaining_annual = min((u.remaining_annual for u in usage.values()), default=None)
    remaining_monthly = min((u.remaining_monthly for u in usage.values()), default=None)
    return without_none({
        "renders_done": dg.MetadataValue.int(count("completed", "approved")),
        "renders_skipped": dg.MetadataValue.int(count("skipped")),
        "renders_failed": dg.MetadataValue.int(count("failed")),
        "renders_refused": dg.MetadataValue.int(count("refused")),
        "designs_refused": dg.MetadataValue.int(len(report["refused"])),  # type: ignore[arg-type]
        "awaiting_approval": dg.MetadataValue.int(count("completed")),
        "credits_charged": dg.MetadataValue.int(sum(o.credits_used for o in outcomes)),
        # With several users in one run, the lowest figure is the one to watch.
        "remaining_annual_credits": dg.MetadataValue.int(remaining_annual) if remaining_annual is not None else None,
        "remaining_monthly_credits": dg.MetadataValue.int(remaining_monthly) if remaining_monthly is not None else None,
        "renders": table([o.__dict__ for o in outcomes], ["asset_id", "scene", "status", "credits_used", "mockup_id", "error"]),
    })


def design_render_metadata(haven: HavenResource, report: dict[str, object], asset_ids: list[str]) -> dict[str, dict[str, object]]:
    """One design partition's own metadata, by design: its label, its renders' counts and credits
    in this run, its owner's remaining credits, and its mockups as images the UI shows inline with
    the scene under each (``preview``), plus the first mockup's link."""
    ctx = haven.ctx
    outcomes: list[RenderOutcome] = report["outcomes"]  # type: ignore[assignment]
    refused: dict[str, str] = report["refused"]  # type: ignore[assignment]
    usage = report["usage"]  # type: ignore[assignment]
    owners, _unknown = designs_by_owner(ctx.engine, asset_ids)
    owner = {a: u for u, ids in owners.items() for a in ids}
    labels = design_labels(ctx.engine, asset_ids)
    out: dict[str, dict[str, object]] = {}
    for asset_id in asset_ids:
        mine = [o for o in outcomes if o.asset_id == asset_id]
        user_usage = {owner[asset_id]: usage[owner[asset_id]]} if owner.get(asset_id) in usage else {}
        figures = render_metadata({"outcomes": mine, "refused": {k: v for k, v in refused.items() if k == asset_id},
                                   "usage": user_usage})
        gallery = design_gallery(ctx.engine, ctx.blob_store, asset_id)
        first = next((o for o in mine if o.url), None)
        # Name and pictures first: the UI lists metadata in this order.
        out[asset_id] = without_none({
            "design": dg.MetadataValue.text(labels[asset_id]),
            "preview": dg.MetadataValue.md(gallery_markdown(labels[asset_id], gallery)),
            "mockups_shown": dg.MetadataValue.int(sum(1 for g in gallery if g.src)),
            **figures,
            "first_mockup": link(first.url) if first else None,
        })
    return out


def run_totals(report: dict[str, object]) -> dict[str, str]:
    """The whole run's figures as run tags (``haven/renders_done``...): what the run did in all,
    kept off the partitions so that no design shows another's work."""
    figures = render_metadata(report)
    return {f"haven/{k}": str(figures[k].value) for k in ("renders_done", "renders_skipped", "renders_failed",
                                                          "designs_refused", "credits_charged")}


class MockupsConfig(dg.Config):
    """Launchpad options of a ``mockups`` materialisation."""

    scenes: list[str] = []
    """Scene keys to render for every design in the run; empty means the scenes each design's
    collection recommends. Unknown keys fail the run before anything is rendered or charged."""
    regenerate: bool = False
    """Render again even where a mockup exists (charged as regenerations)."""


@dg.asset(
    partitions_def=design_partitions,
    deps=[approved_design_assets],
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=RENDER_POOL,
    group_name=GROUP,
    kinds={"python", "pillow"},
)
def mockups(
    context: dg.AssetExecutionContext, config: MockupsConfig, haven: HavenResource, budget: CreditBudgetResource
) -> dg.MaterializeResult:
    """Room mockups of each design, one per scene its collection recommends (or the scenes the
    run's config names).

    Renders only what is missing (a re-run renders and charges nothing twice), fanned out on the
    render service's bounded pool, so a backfill of hundreds of designs is one run. Before anything
    renders, each design's credits are checked against its owner's annual budget: a design that
    does not fit is not rendered, nothing is charged, and the run fails naming the remaining
    credits (after rendering the designs that did fit). Failed renders are refunded and queued for
    retry; they are counted here but do not fail the run.

    Each design partition's materialisation is that design's own: its name (the quote), its mockups
    as pictures with the scene under each ("preview"), its renders and credits in this run. The
    run's totals are the run's ``haven/*`` tags.
    """
    designs = designs_in_run(context, haven.ctx.engine)
    report = render_designs(haven, budget, designs.ids, context.log,
                            scenes=list(config.scenes) or None, regenerate=config.regenerate)
    refused: dict[str, str] = report["refused"]  # type: ignore[assignment]
    if refused:
        raise dg.Failure(
            description=f"{len(refused)} design(s) not rendered, nothing charged for them: " + "; ".join(list(refused.values())[:5]),
            metadata=render_metadata(report),
        )
    # Each partition gets its own design's figures and pictures; the run's totals go on the run.
    # (A MaterializeResult's metadata would be copied onto every partition of the range.)
    for asset_id, metadata in design_render_metadata(haven, report, designs.ids).items():
        context.add_asset_metadata(metadata, partition_key=designs.key_of[asset_id])
    tag_run(context, run_totals(report))
    return dg.MaterializeResult()
