"""Jobs for the launchpad and the automation, with config validated field by field.

| job | what it does |
| --- | --- |
| ``catalogue_job`` | the main job: the design graph (designs, mockups, products, listings) over design partitions |
| ``design_listing_job`` | one design's decisions applied, product built and listing published (the approval sensor's run) |
| ``generate_mockups_job`` | render 1-20 of a user's designs x 1-5 scenes (Haven Hub's generate request) |
| ``publish_product_job`` | publish one product to Shopify (or record it in dry run) |
| ``retire_product_job`` | retire one product (underperformer, manual or seasonal) and archive it on Shopify |
| ``nightly_catalog_job`` | render what is pending, build products, publish them, reconcile, sweep reservations, rebuild the analyst tables |
| ``retry_queue_job`` | retry due entries of the retry queue |
| ``credit_report_job`` | the analyst tables |

Jobs that render spend credits (one per mockup with Dynamic Mockups, none with the local renderer);
their descriptions say so, as the UI's launchpad shows them.

The op jobs record an ``AssetMaterialization`` per design partition they touch, so the asset
graph shows their work exactly as if the assets had run.
"""

import re
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field, field_validator

from haven_pipelines.services.users import resolve_user_id
from haven_pipelines.defs.assets.analytics import ANALYST_TABLES, rebuild_table
from haven_pipelines.defs.assets.approved_designs import approved_design_assets
from haven_pipelines.defs.assets.listings import design_listing_metadata, listing_metadata, publish_designs, shopify_listings
from haven_pipelines.defs.assets.mockups import (
    RENDER_POOL, design_render_metadata, mockups, render_designs, render_metadata, run_totals,
)
from haven_pipelines.defs.metadata import designs_tag, tag_run
from haven_pipelines.defs.assets.owners import designs_by_owner
from haven_pipelines.defs.assets.products import build_products, design_product_metadata, product_metadata, products
from haven_pipelines.defs.partitions import DESIGNS_PARTITION
from haven_pipelines.defs.resources import CreditBudgetResource, HavenResource
from haven_pipelines.defs.run_limits import PUBLISH_RUN_TAGS, RENDER_RUN_TAGS
from haven_pipelines.domain.errors import BudgetExceeded, NotFound, ValidationError
from haven_pipelines.services.designs import approved_designs_page, owner_of, partition_keys, resolve_design, scenes_for_design
from haven_pipelines.services.previews import design_labels
from haven_pipelines.services.products import ProductService
from haven_pipelines.services.render import MAX_ASSETS_PER_REQUEST, MAX_SCENES_PER_REQUEST
from haven_pipelines.services.retries import run_due_retries

RETIRE_REASONS = ("underperformer", "manual", "seasonal")
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A reservation older than this belongs to a crashed run (a render takes seconds to minutes).
STALE_RESERVATION_AGE = timedelta(hours=1)
PAGE_SIZE = 500


# -- config ----------------------------------------------------------------------------------------


class UserConfig(dg.Config):
    """The acting user, by id or email."""

    user: str = Field(description="The acting user's id or email")

    @field_validator("user")
    @classmethod
    def _user_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("user: give the acting user's id or email")
        return value.strip()


class GenerateMockupsConfig(UserConfig):
    """Haven Hub's generate-mockups request: 1-20 designs of the user, 1-5 scenes (or none for each
    design's recommended scenes), enough credits for designs x scenes."""

    asset_ids: list[str] = Field(description="1 to 20 approved designs owned by the user, each by its id or its "
                                             "partition key (such as roots-before-branches-6e714a3a)")
    scenes: list[str] = Field(default_factory=list, description="1 to 5 scene keys; empty for each design's recommended scenes")
    skip_approval: bool = Field(default=False, description="Approve the mockups at once instead of queueing them")
    regenerate: bool = Field(default=False, description="Render again (and charge) even where a mockup exists")

    @field_validator("asset_ids")
    @classmethod
    def _asset_count(cls, value: list[str]) -> list[str]:
        ids = list(dict.fromkeys(v.strip() for v in value if v.strip()))
        if not 1 <= len(ids) <= MAX_ASSETS_PER_REQUEST:
            raise ValueError(f"asset_ids: give 1 to {MAX_ASSETS_PER_REQUEST} design asset ids, got {len(ids)}")
        return ids

    @field_validator("scenes")
    @classmethod
    def _scene_count(cls, value: list[str]) -> list[str]:
        scenes = list(dict.fromkeys(v.strip() for v in value if v.strip()))
        if len(scenes) > MAX_SCENES_PER_REQUEST:
            raise ValueError(f"scenes: give 1 to {MAX_SCENES_PER_REQUEST} scene keys, got {len(scenes)}")
        bad = [s for s in scenes if not _KEY.match(s)]
        if bad:
            raise ValueError(f"scenes: not a scene key: {bad[0]!r}")
        return scenes


class ProductConfig(UserConfig):
    """One product of the user."""

    product_id: str = Field(description="The product's id")

    @field_validator("product_id")
    @classmethod
    def _product_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("product_id: give the product's id")
        return value.strip()


class RetireConfig(ProductConfig):
    """Retire a product, with the reason."""

    reason: str = Field(default="manual", description="underperformer, manual (the default, as in Haven Hub) or seasonal")

    @field_validator("reason")
    @classmethod
    def _reason_known(cls, value: str) -> str:
        if value not in RETIRE_REASONS:
            raise ValueError(f"reason: must be one of {', '.join(RETIRE_REASONS)}, got {value!r}")
        return value


class RetryConfig(dg.Config):
    """How many due retry entries one run takes."""

    limit: int = Field(default=50, description="At most this many entries per run (1 to 500)")

    @field_validator("limit")
    @classmethod
    def _limit_range(cls, value: int) -> int:
        if not 1 <= value <= 500:
            raise ValueError(f"limit: must be 1 to 500, got {value}")
        return value


# -- helpers -----------------------------------------------------------------------------------------


def acting_user(haven: HavenResource, ref: str) -> str:
    """The id of the user named by id or email; a Failure naming ``user`` when unknown."""
    try:
        return resolve_user_id(haven.ctx.engine, ref)
    except (NotFound, ValidationError) as exc:
        raise dg.Failure(description=f"user: {exc}") from None


def record_designs(context: dg.OpExecutionContext, haven: HavenResource, asset: dg.AssetsDefinition,
                   rows_by_design: dict[str, dict]) -> None:
    """Log one materialisation of ``asset`` per design, under the design's partition key (adding
    partitions not yet known); ``rows_by_design`` is keyed by design id."""
    if not rows_by_design:
        return
    keys = partition_keys(haven.ctx.engine, list(rows_by_design))
    known = set(context.instance.get_dynamic_partitions(DESIGNS_PARTITION))
    new = [k for k in dict.fromkeys(keys.values()) if k not in known]
    if new:
        context.instance.add_dynamic_partitions(DESIGNS_PARTITION, new)
    for asset_id, metadata in rows_by_design.items():
        if asset_id in keys:  # a design deleted since the run read it has no partition to record
            context.log_event(dg.AssetMaterialization(asset_key=asset.key, partition=keys[asset_id], metadata=metadata))


def _by_design(haven: HavenResource, report: dict[str, object]) -> dict[str, dict]:
    """Split a render report into each design's own metadata, with its label and its mockups as
    images (designs with renders only: a design where everything was skipped did not change)."""
    outcomes = report["outcomes"]
    changed = [
        a for a in dict.fromkeys(o.asset_id for o in outcomes)  # type: ignore[attr-defined]
        if not all(o.status == "skipped" for o in outcomes if o.asset_id == a)  # type: ignore[attr-defined]
    ]
    return design_render_metadata(haven, report, changed) if changed else {}


# -- generate mockups ------------------------------------------------------------------------------------


@dg.op(pool=RENDER_POOL)
def generate_mockups(
    context: dg.OpExecutionContext, config: GenerateMockupsConfig, haven: HavenResource, budget: CreditBudgetResource
) -> list[str]:
    """Render the requested designs x scenes for the user, after checking ownership and credits;
    returns the design ids for the product and listing steps that follow."""
    ctx = haven.ctx
    user_id = acting_user(haven, config.user)
    asset_ids: list[str] = []
    for ref in config.asset_ids:
        try:
            asset_id = resolve_design(ctx.engine, ref, "asset_ids")
            owner = owner_of(ctx.engine, asset_id)
        except ValidationError as exc:
            raise dg.Failure(description=str(exc)) from None
        except NotFound:
            owner = None
        # Another user's design reads as absent, so the message never confirms it exists.
        if owner != user_id:
            raise dg.Failure(description=f"asset_ids: design {ref} not found for this user")
        asset_ids.append(asset_id)
    asset_ids = list(dict.fromkeys(asset_ids))
    renders = sum(len(config.scenes) or len(scenes_for_design(ctx.engine, a)) for a in asset_ids)
    try:
        budget.check(user_id, renders * ctx.renderer.credits_per_render)
    except BudgetExceeded as exc:
        raise dg.Failure(description=f"asset_ids x scenes: {renders} render(s) need more credits than remain: {exc}") from None
    report = render_designs(
        haven, budget, asset_ids, context.log, scenes=config.scenes or None,
        regenerate=config.regenerate, skip_approval=config.skip_approval,
    )
    record_designs(context, haven, mockups, _by_design(haven, report))
    labels = design_labels(haven.ctx.engine, asset_ids)
    tag_run(context, {**designs_tag(list(labels.values())), **run_totals(report)})
    metadata = render_metadata(report)
    context.add_output_metadata(metadata)
    if report["refused"]:
        raise dg.Failure(description="not rendered, nothing charged: " + "; ".join(report["refused"].values()), metadata=metadata)
    # The designs go on to their products and listings in the same run (see generate_mockups_job).
    return asset_ids




# -- publish and retire ----------------------------------------------------------------------------------------


def _design_of(haven: HavenResource, user_id: str, product_id: str) -> str | None:
    try:
        return ProductService(haven.ctx).design_of(user_id, product_id)
    except NotFound:
        raise dg.Failure(description=f"product_id: product {product_id} not found for this user") from None


@dg.op
def publish_product(context: dg.OpExecutionContext, config: ProductConfig, haven: HavenResource) -> None:
    """Publish the product (upsert by its Shopify id; a re-run never creates a second product)."""
    user_id = acting_user(haven, config.user)
    asset_id = _design_of(haven, user_id, config.product_id)
    with ProductService(haven.ctx).publishing(user_id) as session:
        result = session.publish(config.product_id)
    report = {"published": [{
        "asset_id": asset_id, "user_id": user_id, "product_id": result.product_id, "handle": result.handle,
        "shopify_gid": result.shopify_gid, "variants": result.variant_count, "admin_url": result.admin_url,
        "dry_run": result.dry_run, "images_uploaded": result.images_uploaded, "images_reused": result.images_reused,
    }], "waiting": [], "failed": [], "tally": [session.tally.as_dict()]}
    metadata = listing_metadata(report)
    if asset_id:
        record_designs(context, haven, shopify_listings, design_listing_metadata(haven, report, [asset_id]))
    context.add_output_metadata(metadata)


@dg.job(tags=PUBLISH_RUN_TAGS, description=(
    "Publish one product to Shopify with productSet (recorded in the outbox only, in dry run). In "
    "supervised or assisted mode the product's current content must be approved. Spends no credits."
))
def publish_product_job():
    """Publish a product from the launchpad."""
    publish_product()


@dg.op
def retire_product(context: dg.OpExecutionContext, config: RetireConfig, haven: HavenResource) -> None:
    """Retire the product with the reason and archive it on Shopify (the source left it live)."""
    user_id = acting_user(haven, config.user)
    asset_id = _design_of(haven, user_id, config.product_id)
    result = ProductService(haven.ctx).retire(user_id, config.product_id, config.reason)
    metadata = {"retired": dg.MetadataValue.text(result.product_id), "reason": dg.MetadataValue.text(config.reason),
                "dry_run": dg.MetadataValue.bool(result.dry_run)}
    if asset_id:
        record_designs(context, haven, shopify_listings, {asset_id: metadata})
    context.add_output_metadata(metadata)


@dg.job(tags=PUBLISH_RUN_TAGS, description="Retire one product (underperformer, manual or seasonal) and archive it on Shopify. Spends no credits.")
def retire_product_job():
    """Retire a product from the launchpad."""
    retire_product()


# -- nightly ---------------------------------------------------------------------------------------------------------


def all_approved_designs(haven: HavenResource) -> list[str]:
    """Every approved design's id, in approval order (paged through the design service)."""
    ids: list[str] = []
    cursor = None
    while True:
        rows, cursor = approved_designs_page(haven.ctx.engine, cursor, PAGE_SIZE)
        ids.extend(r["id"] if "id" in r else r["asset_id"] for r in rows)
        if len(rows) < PAGE_SIZE:
            return ids


@dg.op(pool=RENDER_POOL)
def render_pending(context: dg.OpExecutionContext, haven: HavenResource, budget: CreditBudgetResource) -> list[str]:
    """Render every approved design's missing mockups (designs over budget are left for later)."""
    designs = all_approved_designs(haven)
    report = render_designs(haven, budget, designs, context.log)
    record_designs(context, haven, mockups, _by_design(haven, report))
    tag_run(context, run_totals(report))
    context.add_output_metadata({**render_metadata(report), "designs_considered": len(designs)})
    return [d for d in designs if d not in report["refused"]]


@dg.op
def build_pending_products(context: dg.OpExecutionContext, haven: HavenResource, designs: list[str]) -> list[str]:
    """Apply each design's approval decisions, then build or update its product (asking for approval
    where its content is new or changed). Returns every built design (publishing skips the unchanged);
    only products that changed are recorded as materialised."""
    report = build_products(haven, designs, context.log)
    # Only products that changed get a materialisation (as render_pending records designs with renders).
    built = [r["asset_id"] for r in report["built"] if r.get("changed", True)]
    record_designs(context, haven, products, design_product_metadata(haven, report, built) if built else {})
    context.add_output_metadata(product_metadata(report))
    return [r["asset_id"] for r in report["built"]]


@dg.op
def publish_approved(context: dg.OpExecutionContext, haven: HavenResource, designs: list[str]) -> list[str]:
    """Publish the products built tonight that may be published (approved content, or autopilot) and
    whose content differs from what was last published."""
    report = publish_designs(haven, designs, context.log)
    published = [r["asset_id"] for r in report["published"]]
    record_designs(context, haven, shopify_listings, design_listing_metadata(haven, report, published) if published else {})
    context.add_output_metadata(listing_metadata(report))
    return designs


@dg.op
def reconcile_shopify(context: dg.OpExecutionContext, haven: HavenResource, designs: list[str]) -> None:
    """Compare each user's products with Shopify and fix drift."""
    owners, _ = designs_by_owner(haven.ctx.engine, designs)
    service = ProductService(haven.ctx)
    checked = drifted = missing = fixed = 0
    for user_id in owners:
        report = service.reconcile(user_id, fix=True)
        checked += report.checked
        drifted += len(report.drifted)
        missing += len(report.missing_on_shopify)
        fixed += report.fixed
    context.add_output_metadata({"checked": checked, "drifted": drifted, "missing_on_shopify": missing, "fixed": fixed})


@dg.op
def sweep_reservations(context: dg.OpExecutionContext, haven: HavenResource) -> None:
    """Refund reservations left open by crashed runs (older than an hour)."""
    refunded = haven.ctx.ledger.sweep(STALE_RESERVATION_AGE, now=datetime.now(UTC))
    context.add_output_metadata({"reservations_refunded": len(refunded)})


@dg.op(ins={"after": dg.In(dg.Nothing)})
def refresh_analyst_tables(context: dg.OpExecutionContext, haven: HavenResource) -> None:
    """Rebuild every analyst table once the night's renders are settled, recording a materialisation
    of each table asset with the same metadata the assets record (figures to plot, a preview)."""
    for asset in ANALYST_TABLES:
        name = asset.key.path[-1]
        context.log_event(dg.AssetMaterialization(asset_key=asset.key, metadata=rebuild_table(context, haven.ctx.engine, name)))


@dg.job(tags=RENDER_RUN_TAGS, description=(
    "Nightly: render every approved design's missing mockups (spends credits with Dynamic Mockups), "
    "apply approval decisions, build products, publish what is approved and changed, reconcile with "
    "Shopify, refund stale reservations, then rebuild the analyst tables. Run by nightly_catalog_schedule."
))
def nightly_catalog_job():
    """The nightly catalogue run (see nightly_catalog_schedule)."""
    built = build_pending_products(render_pending())
    refresh_analyst_tables(after=[reconcile_shopify(publish_approved(built)), sweep_reservations()])


# The generate request's job comes after the nightly ops it reuses (a job's body runs when it is defined).


@dg.job(tags=RENDER_RUN_TAGS, description=(
    "Render mockups of 1-20 of a user's designs in 1-5 scenes (Haven Hub's generate request), within the "
    "annual credit budget: spends one credit per render with Dynamic Mockups. Then, in the same run, "
    "build each design's product and publish what may be published: in autopilot the listing goes out "
    "at once; in supervised mode the mockups wait for review and the approval sensor carries the design "
    "on. Launched by approved_designs_sensor, or from the launchpad with the user and design ids."
))
def generate_mockups_job():
    """Haven Hub's generate-mockups request as a launchpad job, carried on to products and listings.

    Without the product and listing steps an autopilot design stopped after its mockups on a running
    deployment: nothing decides an approval for it, so the approval sensor never asks for its
    listing, and it waited for the nightly. The steps are idempotent and follow the approval rules,
    so for a supervised design they build nothing that needs a decision yet.
    """
    publish_approved(build_pending_products(generate_mockups()))


# -- retries ---------------------------------------------------------------------------------------------------------


@dg.op(pool=RENDER_POOL)
def retry_due(context: dg.OpExecutionContext, config: RetryConfig, haven: HavenResource) -> None:
    """Retry due entries of the retry queue; entries past their attempts are marked dead."""
    summary = run_due_retries(haven.ctx, datetime.now(UTC), config.limit)
    context.add_output_metadata({"retried": summary.retried, "succeeded": summary.succeeded,
                                 "failed": summary.failed, "dead": summary.dead})


@dg.job(tags=RENDER_RUN_TAGS, description=(
    "Retry the due entries of the retry queue (failed renders), with backoff, up to each entry's limit; "
    "a retried render spends its credit again (failures are refunded). Launched by retry_queue_sensor."
))
def retry_queue_job():
    """Run by retry_queue_sensor when entries are due."""
    retry_due()


# -- asset jobs ---------------------------------------------------------------------------------------------------------

DESIGN_GRAPH = [approved_design_assets, mockups, products, shopify_listings]

catalogue_job = dg.define_asset_job(
    "catalogue_job",
    tags=RENDER_RUN_TAGS,
    selection=dg.AssetSelection.assets(*DESIGN_GRAPH),
    description=(
        "The main catalogue job: approved designs -> mockups -> products -> Shopify listings for a range "
        "of design partitions (what `haven pipeline run` launches). Renders only missing mockups "
        "(spends credits with Dynamic Mockups), applies approval decisions, asks for approvals in "
        "supervised mode, and publishes what is approved and changed."
    ),
)
design_listing_job = dg.define_asset_job(
    "design_listing_job",
    tags=PUBLISH_RUN_TAGS,
    selection=dg.AssetSelection.assets(products, shopify_listings),
    description=(
        "One design's product and listing: applies its approval decisions, builds the product (asking "
        "for approval when its content is new or changed) and publishes it once approved. Launched by "
        "approval_decisions_sensor after a decision. Spends no credits."
    ),
)
credit_report_job = dg.define_asset_job(
    "credit_report_job",
    selection=dg.AssetSelection.assets(*ANALYST_TABLES),
    description=(
        "Rebuild the analyst tables (credit usage by month, day and scene, render outcomes) on demand. "
        "The nightly job rebuilds them itself; this job is launched by hand, monthly by "
        "monthly_credit_report_schedule, and after catalogue runs by credit_report_after_runs_sensor when "
        "it is on. Spends no credits."
    ),
)

JOBS = [
    generate_mockups_job,
    publish_product_job,
    retire_product_job,
    nightly_catalog_job,
    retry_queue_job,
    catalogue_job,
    design_listing_job,
    credit_report_job,
]
