"""Bad input, table-driven: job config, CLI arguments, images, API answers and database values.

Every case must be answered with an error that names the problem (the field, or what is wrong with
the answer), and the database must be unchanged (row counts of every table before and after). Bad
artwork is the one exception by design: a render that fails is recorded (mockup failed with its
error, refund, retry entry) so that the failure is visible; there the checks are that nothing was
charged and no image was stored. Each group records one entry in the reliability report.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from haven_pipelines.db import tables
from haven_pipelines.db.stores.approvals import ApprovalStore
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.db.stores.pricing import PricingStore
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.stores.users import SettingsStore
from haven_pipelines.domain.errors import NotFound, ValidationError
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.integrations.dynamic_mockups import DynamicMockupsClient, DynamicMockupsError, RenderRequest
from haven_pipelines.integrations.http import RetryPolicy
from haven_pipelines.integrations.shopify import ShopifyClient
from haven_pipelines.integrations.shopify.errors import ShopifyError
from haven_pipelines.services.context import build_context
from haven_pipelines_tests.reliability.helpers import (
    Tenant,
    PaidRenderer,
    png_bytes,
    row_counts,
    seed_tenant,
    small_local_renderer,
)

pytestmark = [
    pytest.mark.postgres,
    # Dagster 1.13's own nested-resource code calls its deprecated InitResourceContext.dagster_run.
    pytest.mark.filterwarnings("ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"),
]

SECTION = "Bad input"
NO_RETRY = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, max_retry_after=0.0, jitter=False)


@dataclass
class Case:
    """One bad input: what to do, and the words the error must contain."""

    name: str
    run: Callable[[], object]
    expect: tuple[str, ...]


@pytest.fixture
def world(pg_url, pg_engine, tmp_path):
    """A PostgreSQL app database with one supervised tenant (design, two mockups, a product)."""
    ctx = build_context(engine=pg_engine, blob=LocalBlobStore(tmp_path / "data" / "images"), renderer_impl=small_local_renderer())
    tenant = seed_tenant(ctx, "owner@example.com")
    yield ctx, tenant, pg_url, tmp_path
    ctx.close()


class WrongError(Exception):
    """A case raised, but not the error the project promises for bad input."""


def _run_cases(engine, cases: list[Case], error_of: Callable[[Case], str]) -> None:
    """Run each case; its error must be the one meant, name the problem, and the database must not change."""
    problems = []
    for case in cases:
        before = row_counts(engine)
        try:
            message = error_of(case)
        except WrongError as exc:
            problems.append(f"{case.name}: {exc}")
            continue
        after = row_counts(engine)
        if not all(word.lower() in message.lower() for word in case.expect):
            problems.append(f"{case.name}: error {message!r} does not name {case.expect}")
        if before != after:
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            problems.append(f"{case.name}: database changed {changed}")
    assert not problems, "\n".join(problems)


def _raised(case: Case) -> str:
    """The message of the project's own refusal: ValidationError naming the field, or NotFound.

    Anything else (a bare ValueError or TypeError, say from a wrong call signature) is not a refusal
    of bad input and fails the case.
    """
    try:
        case.run()
    except (ValidationError, NotFound) as exc:
        return str(exc)
    except Exception as exc:
        raise WrongError(f"raised {type(exc).__name__}, not ValidationError or NotFound: {exc}") from exc
    return "NO ERROR RAISED"


# -- job config -------------------------------------------------------------------------------------------


def test_bad_job_configs_fail_naming_the_field(world, reliability_record):
    from haven_pipelines.definitions import build_resources, defs
    from haven_pipelines.defs.resources import (
        BlobStoreResource,
        HavenDatabaseResource,
        HavenResource,
        RendererResource,
        ShopifyResource,
    )

    ctx, owner, pg_url, tmp_path = world
    haven = HavenResource(database=HavenDatabaseResource(url=pg_url), renderer=RendererResource(kind="local"),
                          blob_store=BlobStoreResource(kind="local", data_dir=str(tmp_path / "data")),
                          shopify=ShopifyResource(mode="dry_run"))
    resources = build_resources(haven)
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(21)]

    def job_case(name: str, job: str, op: str, config: dict, *expect: str) -> Case:
        return Case(name, lambda: (job, {"ops": {op: {"config": config}}}), expect)

    gen, pub, ret = "generate_mockups_job", "publish_product_job", "retire_product_job"
    u = owner.email
    cases = [
        job_case("generate: no asset ids", gen, "generate_mockups", {"user": u, "asset_ids": []}, "asset_ids", "1 to 20"),
        job_case("generate: 21 asset ids", gen, "generate_mockups", {"user": u, "asset_ids": ids}, "asset_ids", "got 21"),
        job_case("generate: blank ids only", gen, "generate_mockups", {"user": u, "asset_ids": ["  ", ""]}, "asset_ids"),
        job_case("generate: six scenes", gen, "generate_mockups",
                 {"user": u, "asset_ids": [owner.design_id], "scenes": list("abcdef")}, "scenes", "1 to 5"),
        job_case("generate: path in a scene key", gen, "generate_mockups",
                 {"user": u, "asset_ids": [owner.design_id], "scenes": ["../etc/passwd"]}, "scenes", "not a scene key"),
        job_case("generate: unknown scene", gen, "generate_mockups",
                 {"user": u, "asset_ids": [owner.design_id], "scenes": ["dungeon"]}, "scene", "dungeon"),
        job_case("generate: blank user", gen, "generate_mockups", {"user": "   ", "asset_ids": [owner.design_id]}, "user"),
        job_case("generate: unknown user", gen, "generate_mockups",
                 {"user": "nobody@example.com", "asset_ids": [owner.design_id]}, "user", "not found"),
        job_case("generate: unknown design", gen, "generate_mockups", {"user": u, "asset_ids": [ids[3]]}, "asset_ids", "not found"),
        job_case("generate: asset_ids a string", gen, "generate_mockups", {"user": u, "asset_ids": owner.design_id}, "asset_ids"),
        job_case("generate: regenerate not a bool", gen, "generate_mockups",
                 {"user": u, "asset_ids": [owner.design_id], "regenerate": "yes"}, "regenerate"),
        job_case("generate: unknown field", gen, "generate_mockups",
                 {"user": u, "asset_ids": [owner.design_id], "credits": 999}, "credits"),
        job_case("generate: user missing", gen, "generate_mockups", {"asset_ids": [owner.design_id]}, "user"),
        job_case("publish: blank product id", pub, "publish_product", {"user": u, "product_id": " "}, "product_id"),
        job_case("publish: unknown product", pub, "publish_product", {"user": u, "product_id": ids[5]}, "product_id", "not found"),
        job_case("publish: product id a number", pub, "publish_product", {"user": u, "product_id": 42}, "product_id"),
        job_case("retire: unknown reason", ret, "retire_product",
                 {"user": u, "product_id": owner.product_id, "reason": "bored"}, "reason", "underperformer"),
        # A missing reason is not bad input: it defaults to manual, as in Haven Hub.
        job_case("retire: empty reason", ret, "retire_product",
                 {"user": u, "product_id": owner.product_id, "reason": ""}, "reason"),
        job_case("retire: unknown product", ret, "retire_product",
                 {"user": u, "product_id": ids[6], "reason": "manual"}, "product_id", "not found"),
    ]

    def error_of(case: Case) -> str:
        job_name, run_config = case.run()
        job = defs.get_job_def(job_name)
        with dg.DagsterInstance.ephemeral() as instance:
            try:
                result = job.execute_in_process(run_config=run_config, resources=resources, instance=instance, raise_on_error=False)
            except dg.DagsterInvalidConfigError as exc:  # the launchpad's schema check, before any step runs
                return str(exc)
            if result.success:
                return "NO ERROR RAISED"
            failure = next(e for e in result.all_events if e.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"))
            return str(failure.event_specific_data.error if failure.event_specific_data else failure.message)

    _run_cases(ctx.engine, cases, error_of)
    reliability_record(
        SECTION, "Launchpad job config",
        f"{len(cases)} bad run configs of generate_mockups_job, publish_product_job and retire_product_job: "
        "empty, too many and blank ids, too many and unsafe scene keys, unknown users, designs, products and reasons, "
        "wrong types, missing and unknown fields",
        "Each run failed before rendering or publishing, with a message naming the config field (Dagster's schema "
        "check for types and unknown fields, the pydantic validators and the ownership check for values)",
        ["error names the field", "row counts of every table unchanged", "nothing rendered, charged or published"],
        {"bad_inputs": len(cases)},
    )


# -- CLI ------------------------------------------------------------------------------------------------


def test_bad_cli_arguments_exit_1_or_2_naming_the_field(world, monkeypatch, reliability_record):
    from haven_pipelines.cli import main

    ctx, owner, pg_url, tmp_path = world
    monkeypatch.setenv("HAVEN_DATABASE_URL", pg_url)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    for name in ("HAVEN_RENDERER", "HAVEN_S3_BUCKET", "HAVEN_SHOPIFY_MODE", "HAVEN_SHOPIFY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    u = ["--user", owner.email]
    d = owner.design_id
    many = [x for i in range(21) for x in ("--design", f"00000000-0000-0000-0000-{i:012d}")]
    cli_cases = [
        ("render: no design", ["render", *u, "--scene", "bedroom"], ("--design",)),
        ("render: no scene", ["render", *u, "--design", d], ("scenes", "1 to 5")),
        ("render: 21 designs", ["render", *u, *many, "--scene", "bedroom"], ("asset_ids", "got 21")),
        ("render: six scenes", ["render", *u, "--design", d, *[x for s in "abcdef" for x in ("--scene", s)]], ("scenes", "got 6")),
        ("render: unknown scene", ["render", *u, "--design", d, "--scene", "dungeon"], ("--scene", "dungeon", "bedroom")),
        ("render: unknown design", ["render", *u, "--design", "00000000-0000-0000-0000-00000000beef", "--scene", "bedroom"],
         ("design", "not found")),
        ("render: design not an id", ["render", *u, "--design", "no-such-design", "--scene", "bedroom"],
         ("--design", "is neither a design id")),
        ("unknown user", ["render", "--user", "nobody@example.com", "--design", d, "--scene", "bedroom"], ("user", "not found")),
        ("mockups list: limit 0", ["mockups", "list", *u, "--limit", "0"], ("--limit",)),
        ("mockups list: limit 101", ["mockups", "list", *u, "--limit", "101"], ("--limit",)),
        ("mockups list: negative offset", ["mockups", "list", *u, "--offset", "-1"], ("--offset",)),
        ("mockups list: unknown status", ["mockups", "list", *u, "--status", "lost"], ("--status",)),
        ("products list: unknown collection", ["products", "list", *u, "--collection", "chaos"], ("--collection",)),
        ("products list: limit not a number", ["products", "list", *u, "--limit", "ten"], ("--limit",)),
        ("products build: unknown design", ["products", "build", *u, "--design", "00000000-0000-0000-0000-00000000beef"],
         ("design", "not found")),
        ("products build: design not an id", ["products", "build", *u, "--design", "nope"], ("--design", "is neither a design id")),
        ("products publish: unknown product", ["products", "publish", *u, "nope"], ("product", "not found")),
        ("products retire: unknown reason", ["products", "retire", *u, owner.product_id, "--reason", "bored"], ("--reason",)),
        # No --reason is not bad input: it defaults to manual, as in the source. An empty one is.
        ("products retire: empty reason", ["products", "retire", *u, owner.product_id, "--reason", ""], ("--reason",)),
        ("approvals approve: unknown item", ["approvals", "approve", *u, "nope"], ("not found",)),
        ("credits show: month 13", ["credits", "show", *u, "--month", "13"], ("--month",)),
        ("credits show: year 0", ["credits", "show", *u, "--year", "0"], ("--year",)),
        ("credits show: year 1800", ["credits", "show", *u, "--year", "1800"], ("--year", "1800")),
    ]
    cases = [Case(name, (lambda a=args: a), expect) for name, args, expect in cli_cases]
    exit_codes = []

    def error_of(case: Case) -> str:
        result = runner.invoke(main, case.run(), catch_exceptions=False)
        exit_codes.append(result.exit_code)
        if result.exit_code == 0:
            return "NO ERROR RAISED"
        assert "Traceback" not in result.output, f"{case.name}: a traceback reached the user"
        return result.output

    _run_cases(ctx.engine, cases, error_of)
    assert set(exit_codes) <= {1, 2}, exit_codes  # 2: click's usage errors; 1: the project's own checks
    reliability_record(
        SECTION, "CLI arguments",
        f"{len(cases)} bad `haven` invocations: missing and excess designs and scenes, unknown scenes, designs, "
        "products, approval items and users, out-of-range paging, months and years, unknown choices",
        "Each exited 1 (the project's own validation) or 2 (click's usage check) with one line naming the "
        "option or field, and no traceback",
        ["error names the option or field", "exit code 1 or 2", "row counts of every table unchanged"],
        {"bad_inputs": len(cases)},
    )


# -- images -------------------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb's header)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")


BAD_ARTWORK = {
    "empty file": (b"", "empty"),
    "plain text": (b"this is not a picture", "not an image"),
    "HTML error page": (b"<html><body>403 Forbidden</body></html>", "not an image"),
    "truncated PNG": (png_bytes()[:60], "truncated"),
    "PNG signature only": (b"\x89PNG\r\n\x1a\n", "not an image"),
    "bomb header (40000 x 40000)": (_png_declaring(40000, 40000), "pixels"),
    "zip archive": (b"PK\x03\x04" + b"\x00" * 60, "not an image"),
}


def test_bad_artwork_fails_the_render_visibly_and_charges_nothing(world, reliability_record):
    from haven_pipelines.services.render import RenderService, RenderTask
    from haven_pipelines_tests.reliability.helpers import make_design, make_user

    ctx, _owner, _url, _tmp = world
    user_id = make_user(ctx.engine, "artist@example.com", global_mode="autopilot")
    ctx.renderer = PaidRenderer(ctx.renderer)  # one credit a render, as Dynamic Mockups charges: a refund must show
    problems = []
    for name, (data, words) in BAD_ARTWORK.items():
        design_id = make_design(ctx, user_id, data=data)
        result = RenderService(ctx).render_batch(user_id, [RenderTask(design_id, "bedroom")])
        outcome = result.outcomes[0]
        if outcome.status != "failed" or words not in (outcome.error or "").lower() or "artwork" not in (outcome.error or ""):
            problems.append(f"{name}: {outcome.status} {outcome.error!r} (expected failed naming artwork and {words!r})")
        with ctx.engine.connect() as conn:
            row = MockupStore(conn, user_id).get(outcome.mockup_id) if outcome.mockup_id else None
            queued = conn.execute(select(tables.retry_queue.c.id).where(tables.retry_queue.c.entity_id == outcome.mockup_id)).all()
        if row is None or row["status"] != "failed" or row["file_key"] or not row["error_message"] or not queued:
            problems.append(f"{name}: the failure is not recorded (mockup {dict(row) if row else None}, retry entries {len(queued)})")
    usage = CreditLedger(ctx.engine).usage(user_id)
    assert not problems, "\n".join(problems)
    assert usage.used_this_year == 0, "a failed render was charged"
    assert CreditLedger(ctx.engine).check_chain(user_id, usage.year) == []
    with ctx.engine.connect() as conn:
        reserved = conn.execute(select(tables.credit_reservations.c.status).where(
            tables.credit_reservations.c.user_id == user_id)).scalars().all()
    assert sorted(set(reserved)) == ["refunded"] and len(reserved) == len(BAD_ARTWORK), reserved
    reliability_record(
        SECTION, "Artwork bytes",
        f"{len(BAD_ARTWORK)} designs whose stored artwork is empty, text, an HTML page, a truncated PNG, a bare PNG "
        "signature, a decompression-bomb header (40000 x 40000) or a zip archive, rendered through RenderService",
        "Each render failed with an error naming the artwork problem (empty, not an image, truncated, too many "
        "pixels); the reservation was refunded, the mockup marked failed with the error and queued for retry",
        ["credits charged 0 (ledger net zero, chain intact)", "no mockup file stored", "failure visible: mockup failed + retry entry"],
        {"bad_inputs": len(BAD_ARTWORK)},
    )


# -- API answers ---------------------------------------------------------------------------------------------------


def _dm(handler) -> DynamicMockupsClient:
    return DynamicMockupsClient("dm_test_key_0000", base_url="https://api.dm.test/api/v1", transport=httpx.MockTransport(handler),
                                retry=NO_RETRY, sleep=lambda s: None, max_requests_per_minute=60000)


def _shopify(handler) -> ShopifyClient:
    return ShopifyClient("haven-test", "shpat_test_token_0000", transport=httpx.MockTransport(handler),
                         max_retries=0, max_throttled_retries=0, sleep=lambda s: None)


def _answer(status: int = 200, body: object = None, raw: bytes | None = None, headers: dict | None = None):
    content = raw if raw is not None else json.dumps(body).encode()
    return lambda request: httpx.Response(status, content=content, headers={"content-type": "application/json", **(headers or {})})


REQ = RenderRequest("mockup-uuid", "so-uuid", "https://cdn.example.com/a.png")
HUGE = b'{"data": {"export_path": "https://x/' + b"a" * (8 * 1024 * 1024) + b'"'  # 8 MB, never closed


def _dm_render(handler):
    with _dm(handler) as client:
        return client.render_request(REQ)


def _dm_batch(handler):
    with _dm(handler) as client:
        return client.render_batch([REQ, REQ])


def _dm_list(handler):
    with _dm(handler) as client:
        return client.list_mockups()


def _shop(handler):
    with _shopify(handler) as client:
        return client.shop()


def _product_set(handler):
    with _shopify(handler) as client:
        return client.product_set({"title": "T", "handle": "t"}, {"handle": "t"})


API_CASES = [
    ("DM render: not JSON", _dm_render, _answer(raw=b"<html>oops</html>"), ("not json",)),
    ("DM render: truncated JSON", _dm_render, _answer(raw=b'{"data": {"export_path": "https://x/'), ("not json",)),
    ("DM render: a list, not an object", _dm_render, _answer(body=[1, 2, 3]), ("data",)),
    ("DM render: data is a string", _dm_render, _answer(body={"data": "done"}), ("data",)),
    ("DM render: no export_path", _dm_render, _answer(body={"data": {"uuid": "r1"}}), ("export_path",)),
    ("DM render: export_path a number", _dm_render, _answer(body={"data": {"export_path": 42}}), ("export_path",)),
    ("DM render: huge truncated body", _dm_render, _answer(raw=HUGE), ("not json",)),
    ("DM render: 8 MB export_path", _dm_render,
     _answer(body={"data": {"uuid": "r1", "export_path": "https://x.example.com/" + "a" * (8 * 1024 * 1024)}}),
     ("export_path", "the limit is 4096")),
    ("DM render: export_path not a URL", _dm_render, _answer(body={"data": {"export_path": "https://x.example.com/a\x00.jpg"}}),
     ("export_path", "not a valid url")),
    ("DM render: 400 with field errors", _dm_render,
     _answer(422, {"message": "invalid", "errors": {"smart_objects": ["required"]}}), ("smart_objects",)),
    ("DM batch: wrong number of renders", _dm_batch, _answer(body={"data": {"renders": [{"export_path": "https://x/a.jpg"}]}}),
     ("data.renders", "2")),
    ("DM batch: renders not objects", _dm_batch, _answer(body={"data": {"renders": ["a", "b"]}}), ("data.renders",)),
    ("DM list: data not a list", _dm_list, _answer(body={"data": {"uuid": "x"}}), ("data", "list")),
    ("DM list: template without uuid", _dm_list, _answer(body={"data": [{"name": "x"}]}), ("uuid",)),
    ("DM list: smart_objects not a list", _dm_list, _answer(body={"data": [{"uuid": "m", "smart_objects": "so"}]}), ("smart_objects",)),
    ("Shopify: not JSON", _shop, _answer(raw=b"<html>502</html>"), ("json",)),
    ("Shopify: a JSON list", _shop, _answer(body=[{"data": {}}]), ("json object",)),
    ("Shopify: no data", _shop, _answer(body={"extensions": {}}), ("no data",)),
    ("Shopify: shop missing", _shop, _answer(body={"data": {"shop": None}}), ("shop",)),
    ("Shopify: shop fields missing", _shop, _answer(body={"data": {"shop": {"id": "gid://shopify/Shop/1"}}}), ("shop",)),
    ("Shopify: productSet without product", _product_set,
     _answer(body={"data": {"productSet": {"product": None, "userErrors": []}}}), ("without a product",)),
    ("Shopify: productSet wrong shape", _product_set,
     _answer(body={"data": {"productSet": {"product": {"id": "gid://shopify/Product/1", "variants": "many"}, "userErrors": []}}}),
     ("productset", "shape")),
    ("Shopify: userErrors wrong type", _product_set,
     _answer(body={"data": {"productSet": {"product": None, "userErrors": "bad"}}}), ("productset",)),
    ("Shopify: huge truncated body", _shop, _answer(raw=HUGE), ("json",)),
    ("Shopify: GraphQL errors", _shop, _answer(body={"errors": [{"message": "Field 'x' doesn't exist"}]}), ("graphql", "doesn't exist")),
]


def test_malformed_api_answers_become_typed_errors(world, reliability_record):
    ctx, _owner, _url, _tmp = world
    cases = [Case(name, (lambda f=call, h=handler: f(h)), expect) for name, call, handler, expect in API_CASES]

    def error_of(case: Case) -> str:
        try:
            case.run()
        except (DynamicMockupsError, ShopifyError) as exc:
            return str(exc)
        except Exception as exc:
            raise WrongError(f"raised {type(exc).__name__}, not the client's typed error: {exc}") from exc
        return "NO ERROR RAISED"

    _run_cases(ctx.engine, cases, error_of)
    reliability_record(
        SECTION, "API answers (Dynamic Mockups and Shopify)",
        f"{len(cases)} malformed answers through httpx.MockTransport: HTML and truncated JSON, lists for objects, "
        "strings and numbers for objects and URLs, missing fields, wrong batch lengths, 8 MB unterminated bodies, an 8 MB "
        "and an unparsable export URL, "
        "GraphQL errors, productSet answers without a product or of the wrong shape",
        "Each call raised the client's typed error (MalformedResponse, InvalidRequest, ShopifyResponseError) with a "
        "message naming the missing or wrong part; no exception of another type escaped",
        ["typed error naming the problem (DynamicMockupsError or ShopifyError; any other exception fails the case)",
         "row counts of every table unchanged"],
        {"bad_inputs": len(cases)},
    )


# -- database values ------------------------------------------------------------------------------------------------


def test_bad_store_values_are_refused_naming_the_field(world, reliability_record):
    ctx, owner, _url, _tmp = world
    engine = ctx.engine
    ledger = CreditLedger(engine)

    def in_tx(fn):
        def run():
            with engine.begin() as conn:
                return fn(conn)
        return run

    uid = owner.user_id
    cases = [
        Case("ledger: credits a bool", lambda: ledger.reserve(uid, True, idempotency_key="k0"), ("credits",)),
        Case("ledger: negative credits", lambda: ledger.reserve(uid, -3, idempotency_key="k1"), ("credits",)),
        Case("ledger: credits as text", lambda: ledger.reserve(uid, "5", idempotency_key="k2"), ("credits",)),
        Case("ledger: fractional credits", lambda: ledger.reserve(uid, 1.5, idempotency_key="k3"), ("credits",)),
        Case("ledger: unknown operation", lambda: ledger.reserve(uid, 1, idempotency_key="k4", operation="gift"), ("operation",)),
        Case("ledger: empty idempotency key", lambda: ledger.reserve(uid, 1, idempotency_key=""), ("idempotency_key",)),
        Case("ledger: unknown user", lambda: ledger.reserve("no-such-user", 1, idempotency_key="k5"), ("user",)),
        Case("ledger: month 13", lambda: ledger.usage(uid, 2026, 13), ("month",)),
        Case("ledger: commit unknown reservation", lambda: ledger.commit(uid, "no-such-reservation", owner.mockup_ids[0]),
             ("reservation",)),
        Case("settings: negative budget", in_tx(lambda c: SettingsStore(c, uid).update(annual_mockup_budget=-1)),
             ("annual_mockup_budget",)),
        Case("settings: unknown mode", in_tx(lambda c: SettingsStore(c, uid).update(global_mode="yolo")), ("global_mode",)),
        Case("quote: empty text", in_tx(lambda c: DesignStore(c, uid).create_quote("", "growth")), ("text",)),
        Case("quote: unknown collection", in_tx(lambda c: DesignStore(c, uid).create_quote("Hi", "chaos")), ("collection",)),
        Case("quote: 10 000 characters", in_tx(lambda c: DesignStore(c, uid).create_quote("x" * 10_000, "growth")), ("text",)),
        Case("pricing: price with three decimals", in_tx(lambda c: PricingStore(c, uid).set_override("8x10", "24.999", "49.99", "9.99", "8")),
             ("base_price",)),
        Case("pricing: negative price", in_tx(lambda c: PricingStore(c, uid).set_override("8x10", "-1", "49.99", "9.99", "8")), ("base_price",)),
        Case("pricing: float price", in_tx(lambda c: PricingStore(c, uid).set_override("8x10", 24.99, "49.99", "9.99", "8")), ("base_price",)),
        Case("pricing: not a number", in_tx(lambda c: PricingStore(c, uid).set_override("8x10", "NaN", "49.99", "9.99", "8")), ("base_price",)),
        Case("pricing: unknown size", in_tx(lambda c: PricingStore(c, uid).set_override("8/10; drop", "1", "2", "3", "1")), ("size",)),
        Case("product: unknown status", in_tx(lambda c: ProductStore(c, uid).set_status(owner.product_id, "vanished")), ("status",)),
        Case("product: retire reason unknown", in_tx(lambda c: ProductStore(c, uid).set_status(owner.product_id, "retired", "bored")),
             ("retire_reason",)),
        Case("mockup: unknown status", in_tx(lambda c: MockupStore(c, uid).set_status(owner.mockup_ids[0], "lost")), ("status",)),
        Case("mockups list: limit 0", in_tx(lambda c: MockupStore(c, uid).list(limit=0)), ("limit",)),
        Case("mockups list: limit 101", in_tx(lambda c: MockupStore(c, uid).list(limit=101)), ("limit",)),
        Case("mockups list: negative offset", in_tx(lambda c: MockupStore(c, uid).list(offset=-5)), ("offset",)),
        Case("approval: unknown decision", in_tx(lambda c: ApprovalStore(c, uid).decide(owner.approval_ids[0], "maybe")), ("decision",)),
        Case("retry: empty error", in_tx(lambda c: RetryStore(c, uid).enqueue("render_mockup", owner.mockup_ids[0], {}, "")),
             ("error",)),
        Case("store: no acting user", in_tx(lambda c: MockupStore(c, "")), ("user_id",)),
    ]
    _run_cases(engine, cases, _raised)
    reliability_record(
        SECTION, "Database values",
        f"{len(cases)} bad values handed to the stores and the ledger: boolean, negative, text and fractional credits, "
        "unknown operations, users and reservations, month 13, negative budgets, unknown modes, statuses, "
        "collections, sizes, decisions and reasons, empty and 10 000-character texts, prices with three decimals, "
        "negative, float and NaN prices, paging out of range, a store without an acting user",
        "Each call raised ValidationError (or NotFound) naming the field before writing; the transaction rolled back",
        ["error is ValidationError or NotFound (a bare ValueError or TypeError fails the case)", "error names the field",
         "row counts of every table unchanged"],
        {"bad_inputs": len(cases)},
    )
