"""Tenant isolation end to end: launchpad jobs and ``haven`` commands made for user B that name user
A's design, mockups, product or approval items are refused, look exactly like a request for an id
that does not exist (no existence oracle), and change nothing of A's (or anything at all).

The stores' own isolation is tested table by table in ``haven_pipelines_tests/db/test_isolation.py``;
this suite goes through the entry points people and schedules use.
"""

from __future__ import annotations

import json
import uuid

import dagster as dg
import pytest
from click.testing import CliRunner

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.context import build_context
from haven_pipelines.services.products import ProductService
from haven_pipelines_tests.reliability.helpers import make_design, make_user, row_counts, seed_tenant, small_local_renderer, user_rows

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"),
]


@pytest.fixture
def tenants(pg_url, pg_engine, tmp_path, monkeypatch):
    """A (supervised: mockups and product waiting in the approval queue) and B, on PostgreSQL."""
    ctx = build_context(engine=pg_engine, blob=LocalBlobStore(tmp_path / "data" / "images"), renderer_impl=small_local_renderer())
    a = seed_tenant(ctx, "a@example.com")
    b_id = make_user(pg_engine, "b@example.com", global_mode="autopilot")
    b_design = make_design(ctx, b_id)
    monkeypatch.setenv("HAVEN_DATABASE_URL", pg_url)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    for name in ("HAVEN_RENDERER", "HAVEN_S3_BUCKET", "HAVEN_SHOPIFY_MODE", "HAVEN_SHOPIFY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield ctx, a, b_id, b_design, pg_url, tmp_path
    ctx.close()


def _ghost() -> str:
    return str(uuid.uuid4())


def test_requests_for_b_naming_a_rows_are_refused_and_change_nothing(tenants, reliability_record):
    from haven_pipelines.cli import main
    from haven_pipelines.definitions import build_resources, defs
    from haven_pipelines.defs.resources import (
        BlobStoreResource,
        HavenDatabaseResource,
        HavenResource,
        RendererResource,
        ShopifyResource,
    )

    ctx, a, b_id, b_design, pg_url, tmp_path = tenants
    engine = ctx.engine
    assert len(a.approval_ids) >= 3 and len(a.mockup_ids) == 2 and a.product_id
    a_before = user_rows(engine, a.user_id)
    counts_before = row_counts(engine)
    problems: list[str] = []

    # -- launchpad jobs -------------------------------------------------------------------------------
    resources = build_resources(HavenResource(
        database=HavenDatabaseResource(url=pg_url), renderer=RendererResource(kind="local"),
        blob_store=BlobStoreResource(kind="local", data_dir=str(tmp_path / "data")), shopify=ShopifyResource(mode="dry_run")))

    def job_error(job: str, op: str, config: dict) -> str:
        with dg.DagsterInstance.ephemeral() as instance:
            result = defs.get_job_def(job).execute_in_process(
                run_config={"ops": {op: {"config": config}}}, resources=resources, instance=instance, raise_on_error=False)
        if result.success:
            return "SUCCEEDED"
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        return str(failure.event_specific_data.error.message)

    jobs = [
        ("generate_mockups_job: A's design", "generate_mockups_job", "generate_mockups",
         lambda ident: {"user": "b@example.com", "asset_ids": [ident], "scenes": ["bedroom"]}, a.design_id),
        ("generate_mockups_job: B's and A's design", "generate_mockups_job", "generate_mockups",
         lambda ident: {"user": "b@example.com", "asset_ids": [b_design, ident], "scenes": ["bedroom"], "regenerate": True},
         a.design_id),
        ("publish_product_job: A's product", "publish_product_job", "publish_product",
         lambda ident: {"user": "b@example.com", "product_id": ident}, a.product_id),
        ("retire_product_job: A's product", "retire_product_job", "retire_product",
         lambda ident: {"user": "b@example.com", "product_id": ident, "reason": "manual"}, a.product_id),
    ]
    for name, job, op, config, ident in jobs:
        ghost = _ghost()
        message = job_error(job, op, config(ident))
        same = job_error(job, op, config(ghost))
        if "not found" not in message or message.replace(ident, "<id>") != same.replace(ghost, "<id>"):
            problems.append(f"{name}: {message!r} (an unknown id gives {same!r})")

    # -- the haven command ------------------------------------------------------------------------------
    runner = CliRunner()
    b = ["--user", "b@example.com"]
    commands = [
        ("render A's design", lambda i: ["render", *b, "--design", i, "--scene", "bedroom"], a.design_id),
        ("regenerate A's design", lambda i: ["render", *b, "--design", i, "--all-scenes", "--regenerate"], a.design_id),
        ("build A's design", lambda i: ["products", "build", *b, "--design", i], a.design_id),
        ("publish A's product", lambda i: ["products", "publish", *b, i], a.product_id),
        ("retire A's product", lambda i: ["products", "retire", *b, i, "--reason", "manual"], a.product_id),
    ] + [
        (f"approve A's item {n}", lambda i: ["approvals", "approve", *b, i], item) for n, item in enumerate(a.approval_ids)
    ] + [
        (f"reject A's item {n}", lambda i: ["approvals", "reject", *b, i, "--note", "mine now"], item)
        for n, item in enumerate(a.approval_ids)
    ]
    for name, args, ident in commands:
        ghost = _ghost()
        result = runner.invoke(main, args(ident))
        same = runner.invoke(main, args(ghost))
        if result.exit_code != 1 or "not found" not in result.output:
            problems.append(f"{name}: exit {result.exit_code}: {result.output!r}")
        elif result.output.replace(ident, "<id>") != same.output.replace(ghost, "<id>"):
            problems.append(f"{name}: {result.output!r} differs from an unknown id's {same.output!r}")

    # Reads: B's lists never show A's rows, even when filtered by A's design.
    reads = {
        "mockups list --design A": (["mockups", "list", *b, "--design", a.design_id, "--json"], "mockups"),
        "products list": (["products", "list", *b, "--json"], "products"),
        "approvals list": (["approvals", "list", *b, "--json"], "items"),
    }
    a_ids = {a.design_id, a.product_id, *a.mockup_ids, *a.approval_ids}
    for name, (args, key) in reads.items():
        result = runner.invoke(main, args)
        listed = json.loads(result.output)[key] if result.exit_code == 0 else None
        if listed is None or any(ident in json.dumps(listed, default=str) for ident in a_ids):
            problems.append(f"{name}: shows A's rows: {result.output[:200]!r}")

    # A product request of B's whose images are A's mockup and design.
    service = ProductService(ctx)
    for kind, ident in (("mockup", a.mockup_ids[0]), ("asset", a.design_id)):
        try:
            service.create(b_id, {"title": "Stolen", "variants": [{"size": "8x10", "price": "10.00"}],
                                  "images": [{f"{kind}_id": ident}]})
            problems.append(f"create with A's {kind}: accepted")
        except ValidationError as exc:
            if exc.field != "images[0]" or "not found" not in str(exc):
                problems.append(f"create with A's {kind}: {exc}")

    assert not problems, "\n".join(problems)
    assert user_rows(engine, a.user_id) == a_before, "A's rows changed"
    assert row_counts(engine) == counts_before, "a refused request wrote something"
    attempts = len(jobs) + len(commands) + len(reads) + 2
    reliability_record(
        "Security", "Tenant isolation through jobs and the CLI",
        f"{attempts} requests made as user B naming user A's design, mockups, product or approval items: "
        "generate_mockups_job (A's design alone and mixed with B's own), publish_product_job, retire_product_job, "
        "haven render (and --regenerate), products build/publish/retire, approvals approve/reject of each of A's "
        "items, lists filtered by A's design, a product request with A's mockup and design as images",
        "Every write was refused with the same 'not found' message an unknown id gets (no existence oracle), "
        "before anything was written; B's lists never showed A's rows",
        ["A's rows identical before and after (every user-scoped table)", "row counts of every table unchanged",
         "refusal indistinguishable from an unknown id"],
        {"attempts": attempts},
    )
