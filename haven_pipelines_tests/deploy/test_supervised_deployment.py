"""Supervised and autopilot operation on a running deployment (issue 11, "Proven on a running deployment").

Not ``execute_in_process``: the deployment the README describes. ``deploy/dagster.postgres.yaml`` is
the instance (dagster-postgres run, event and schedule storage on a throwaway database, the
QueuedRunCoordinator with its per-user tag limit), the application database is another throwaway
PostgreSQL database, a real ``dagster-daemon run`` evaluates the sensors and launches every run in
its own process, each user's shop is a fake Shopify on a real socket (connected with
``haven shopify connect``), and mockups come from the local renderer.

Two users: ``demo@haven.local`` in supervised mode and an autopilot user. The test turns the
sensors on through the instance, approves the supervised user's mockups and products from the
command line, and waits (bounded, polling) until every design of both users is on its shop exactly
once, the supervised user's only after the approvals; a further round of sensor ticks changes
nothing. A price override then waits for re-approval before the new price reaches the shop. From
the run records it checks that no user ever had more runs at once than the profile's tag limit.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from decimal import Decimal

import pytest
from sqlalchemy import select

from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.migrate import upgrade
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tables import mockups, new_id, products
from haven_pipelines.domain.keys import design_key
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.demo import DEMO_EMAIL, DEMO_QUOTES, DESIGN_QUOTES, SIZE, draw_design
from haven_pipelines.services.designs import scenes_for_design
from haven_pipelines_tests.conftest import create_pg_database, drop_pg_database
from haven_pipelines_tests.deploy.harness import USER_TAG, Deployment, max_overlap, tag_limits
from haven_pipelines_tests.fakes.shopify_server import FakeShopify

# Every run is its own process: on a shared 2-core machine the scenario up to the autopilot listings
# took 27 minutes, so the whole test gets an hour (each wait has its own, shorter bound).
pytestmark = [pytest.mark.slow, pytest.mark.daemon, pytest.mark.postgres, pytest.mark.timeout(3600)]

SUPERVISED = DEMO_EMAIL
AUTOPILOT = "autopilot@haven.test"
SUPERVISED_DESIGNS = 3  # more than the per-user run limit (2), so that a burst of runs must queue
AUTOPILOT_DESIGNS = 2
SENSORS = ("approved_designs_sensor", "approval_decisions_sensor")
# Bounds on each wait: generous, because one Dagster run costs seconds here and the machine is shared.
PHASE_TIMEOUT = 420.0
# The price the supervised user gives 8x10 unframed prints (the system price is 24.99).
NEW_8X10_PRICE = Decimal("31.00")
OLD_8X10_PRICE = Decimal("24.99")


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """A migrated application database, an empty instance database, two fake shops; stopped afterwards.

    Each resource's clean-up is registered the moment it exists, so an interruption at any point
    (even during set-up) drops the databases, closes the shops and stops every process.
    """
    with ExitStack() as cleanup:
        app_url = create_pg_database("haven_e2e_app")
        cleanup.callback(drop_pg_database, app_url)
        instance_url = create_pg_database("haven_e2e_dagster")
        cleanup.callback(drop_pg_database, instance_url)
        shops = {}
        for email, name in ((SUPERVISED, "haven-supervised"), (AUTOPILOT, "haven-autopilot")):
            shops[email] = cleanup.enter_context(FakeShopify(shop=name))
        upgrade(app_url)
        deploy = Deployment.create(tmp_path, app_url, instance_url, generate_key(), shops)
        cleanup.callback(_stop_and_check, deploy)
        for name, value in deploy.env.items():
            monkeypatch.setenv(name, value)
        yield deploy


def _stop_and_check(deploy: Deployment) -> None:
    deploy.stop()
    left = deploy.leftover_processes()
    assert not left, f"processes left behind: {left}"


def _add_autopilot_user(deploy: Deployment, designs: int) -> list[str]:
    """A second user with approved designs drawn as the demo draws them (its mode is set by the CLI)."""
    blob_store = LocalBlobStore(deploy.root / "data" / "images")
    ids = []
    with deploy.engine() as engine:
        with engine.begin() as conn:
            user_id = get_or_create_user(conn, AUTOPILOT, "Autopilot Studio")["id"]
        for index in range(designs):
            text, collection, mood = DEMO_QUOTES[DESIGN_QUOTES[index]]
            data = draw_design(100 + index, text, collection)
            asset_id = new_id()
            # The image is stored first, so that the design row never points at a missing file.
            stored = blob_store.put(design_key(user_id, asset_id, data, "png"), data, "image/png")
            with engine.begin() as conn:
                store = DesignStore(conn, user_id)
                quote = store.create_quote(text, collection, mood)
                store.create_asset(stored.url, stored.key, "png", *SIZE, quote["id"], "approved", asset_id=asset_id)
            ids.append(asset_id)
    return ids


def _designs(deploy: Deployment, user_id: str) -> dict[str, int]:
    """Each approved design of the user and how many scenes (mockups) its collection asks for."""
    with deploy.engine() as engine:
        with engine.connect() as conn:
            rows = DesignStore(conn, user_id).list_assets(status="approved", limit=100).rows
        return {r["id"]: len(scenes_for_design(engine, r["id"])) for r in rows}


def _mockup_statuses(deploy: Deployment, user_id: str) -> list[str]:
    with deploy.engine() as engine, engine.connect() as conn:
        return list(conn.execute(select(mockups.c.status).where(mockups.c.user_id == user_id)).scalars())


def _products(deploy: Deployment, user_id: str) -> dict[str, dict]:
    """The user's products by design id (handle, id)."""
    with deploy.engine() as engine, engine.connect() as conn:
        rows = conn.execute(select(products.c.id, products.c.asset_id, products.c.handle)
                            .where(products.c.user_id == user_id)).mappings()
        return {r["asset_id"]: dict(r) for r in rows}


def _pending(deploy: Deployment, user_id: str, kind: str) -> list[dict]:
    return [i for i in deploy.approvals("pending") if i["user_id"] == user_id and i["type"] == kind]


def _approve_all(deploy: Deployment, email: str) -> int:
    """Approve the user's whole queue as a reviewer would (``haven approvals approve --all``); how many were pending."""
    user_id = deploy.user_id(email)
    pending = [i for i in deploy.approvals("pending") if i["user_id"] == user_id]
    deploy.haven("approvals", "approve", "--all", "--user", email)
    # Compared by id: the running sensors may already have queued the next step's items (the product
    # approvals that approving the mockups leads to), which approve --all never saw.
    still = {i["id"] for i in deploy.approvals("pending")} & {i["id"] for i in pending}
    assert not still, f"approve --all left {len(still)} of the {len(pending)} pending items pending"
    return len(pending)


def _shop_state(shop: FakeShopify) -> dict[str, dict[str, Decimal]]:
    """What the shop holds: each product's handle and its variants' prices by SKU."""
    return {p.handle: {v.sku: v.price for v in p.variants} for p in shop.products.values()}


def _unframed_8x10_prices(shop: FakeShopify) -> dict[str, Decimal]:
    """The price of each listed product's 8x10 unframed variant, by handle."""
    out = {}
    for product in shop.products.values():
        for variant in product.variants:
            if variant.sku and variant.sku.endswith("-8X10-UNF"):
                out[product.handle] = variant.price
    return out


def _on_shop_exactly_once(deploy: Deployment, user_id: str, shop: FakeShopify, designs: dict[str, int]) -> bool:
    """Every design's product is on the shop, by its handle, once, and nothing else is."""
    built = _products(deploy, user_id)
    if set(built) != set(designs):
        return False
    handles = sorted(p.handle for p in shop.products.values())
    return handles == sorted(p["handle"] for p in built.values())


def test_supervised_and_autopilot_users_on_a_running_deployment(deployment: Deployment):
    deploy = deployment
    started = time.monotonic()
    try:
        _scenario(deploy)
    finally:
        print(f"\nend-to-end deployment test: wall time {time.monotonic() - started:.1f} s")


def _scenario(deploy: Deployment) -> None:
    supervised_shop, autopilot_shop = deploy.shops[SUPERVISED], deploy.shops[AUTOPILOT]

    # -- set-up, as an operator would do it -------------------------------------------------------
    deploy.haven("demo", "--load", "--designs", str(SUPERVISED_DESIGNS))
    supervised = deploy.user_id(SUPERVISED)
    deploy.haven("settings", "set", "--user", SUPERVISED, "--mode", "supervised")
    _add_autopilot_user(deploy, AUTOPILOT_DESIGNS)
    deploy.haven("settings", "set", "--user", AUTOPILOT, "--mode", "autopilot")
    autopilot = deploy.user_id(AUTOPILOT)
    for email, shop in deploy.shops.items():
        deploy.haven("shopify", "connect", "--user", email, "--shop", shop.shop_domain, "--base-url", shop.base_url,
                     extra_env={"SHOPIFY_ACCESS_TOKEN": shop.token})
    supervised_designs, autopilot_designs = _designs(deploy, supervised), _designs(deploy, autopilot)
    assert len(supervised_designs) == SUPERVISED_DESIGNS and len(autopilot_designs) == AUTOPILOT_DESIGNS

    # The instance creates its PostgreSQL tables here, before the daemon and the CLI share them.
    assert deploy.instance.get_run_records() == []
    deploy.start_daemon()
    deploy.start_sensors(*SENSORS)
    running = {s.instigator_name for s in deploy.instance.all_instigator_state() if s.status.value == "RUNNING"}
    assert set(SENSORS) <= running, f"sensors not running after `dagster sensor start`: {running}"

    # -- mockups: rendered by daemon-launched runs; autopilot approves at once, supervised queues ------
    deploy.wait_for(
        "every design's mockups (supervised: completed and queued; autopilot: approved)",
        lambda: (sorted(_mockup_statuses(deploy, supervised)) == ["completed"] * sum(supervised_designs.values())
                 and len(_pending(deploy, supervised, "mockup")) == sum(supervised_designs.values())
                 and sorted(_mockup_statuses(deploy, autopilot)) == ["approved"] * sum(autopilot_designs.values())),
        PHASE_TIMEOUT,
    )

    # -- supervised: approve the mockups, then the products (autopilot goes on meanwhile) ----------------
    assert supervised_shop.products == {}, "a supervised design reached the shop before any approval"
    assert _approve_all(deploy, SUPERVISED) == sum(supervised_designs.values())
    deploy.wait_for("a product approval for every supervised design",
                    lambda: len(_pending(deploy, supervised, "product")) == SUPERVISED_DESIGNS, PHASE_TIMEOUT)
    deploy.wait_for_runs_to_finish(PHASE_TIMEOUT)
    assert supervised_shop.products == {}, "a supervised product reached the shop before its approval"

    assert _approve_all(deploy, SUPERVISED) == SUPERVISED_DESIGNS
    deploy.wait_for(
        "every supervised design on its shop exactly once, with nothing left to approve",
        lambda: (_on_shop_exactly_once(deploy, supervised, supervised_shop, supervised_designs)
                 and not _pending(deploy, supervised, "product") and not _pending(deploy, supervised, "mockup")),
        PHASE_TIMEOUT,
    )
    # Autopilot reaches its shop with no person involved, by the same sensors (a failure names which user).
    deploy.wait_for("every autopilot design on its shop exactly once",
                    lambda: _on_shop_exactly_once(deploy, autopilot, autopilot_shop, autopilot_designs), PHASE_TIMEOUT)
    assert not [i for i in deploy.approvals() if i["user_id"] == autopilot]
    runs = deploy.wait_for_runs_to_finish(PHASE_TIMEOUT)
    failed = [r for r in runs if r.status != "SUCCESS"]
    assert not failed, "runs did not succeed:\n" + deploy.report()

    # -- a second round of ticks changes nothing ------------------------------------------------------
    settled_at = time.time()
    before = (len(runs), _shop_state(supervised_shop), _shop_state(autopilot_shop), deploy.approvals(),
              supervised_shop.operation_counts["productSet"], autopilot_shop.operation_counts["productSet"])
    deploy.wait_for(
        "a further tick of every sensor",
        lambda: all(any(t.timestamp > settled_at and t.status.value in ("SKIPPED", "SUCCESS") for t in ticks)
                    for name, ticks in deploy.sensor_ticks().items() if name in SENSORS),
        PHASE_TIMEOUT,
    )
    runs = deploy.wait_for_runs_to_finish(PHASE_TIMEOUT)
    after = (len(runs), _shop_state(supervised_shop), _shop_state(autopilot_shop), deploy.approvals(),
             supervised_shop.operation_counts["productSet"], autopilot_shop.operation_counts["productSet"])
    assert after == before, "a further round of sensor ticks changed something:\n" + deploy.report()

    # -- a price change waits for re-approval before it reaches the shop ---------------------------------
    assert set(_unframed_8x10_prices(supervised_shop).values()) == {OLD_8X10_PRICE}
    _set_8x10_price(NEW_8X10_PRICE, deploy)
    deploy.wait_for("a re-approval of every supervised product after the price change",
                    lambda: len(_pending(deploy, supervised, "product")) == SUPERVISED_DESIGNS, PHASE_TIMEOUT)
    deploy.wait_for_runs_to_finish(PHASE_TIMEOUT)
    assert set(_unframed_8x10_prices(supervised_shop).values()) == {OLD_8X10_PRICE}, \
        "the new price reached the shop before it was approved"
    assert _approve_all(deploy, SUPERVISED) == SUPERVISED_DESIGNS
    deploy.wait_for(
        f"the approved price {NEW_8X10_PRICE} on every supervised listing",
        lambda: (set(_unframed_8x10_prices(supervised_shop).values()) == {NEW_8X10_PRICE}
                 and len(_unframed_8x10_prices(supervised_shop)) == SUPERVISED_DESIGNS),
        PHASE_TIMEOUT,
    )
    runs = deploy.wait_for_runs_to_finish(PHASE_TIMEOUT)
    assert _on_shop_exactly_once(deploy, supervised, supervised_shop, supervised_designs)
    # One user's price is theirs alone.
    assert set(_unframed_8x10_prices(autopilot_shop).values()) == {OLD_8X10_PRICE}

    # -- the profile's per-user run limit held ---------------------------------------------------------
    _check_user_run_limit(deploy, runs, {supervised: SUPERVISED, autopilot: AUTOPILOT})


def _set_8x10_price(price: Decimal, deploy: Deployment) -> None:
    """The supervised user's 8x10 unframed price override, as an operator sets it."""
    deploy.haven("pricing", "set", "--user", SUPERVISED, "--size", "8x10", "--base", str(price))


def _check_user_run_limit(deploy: Deployment, runs, emails: dict[str, str]) -> None:
    """No user ever had more runs in progress at once than the profile's ``haven/user`` limit."""
    limit = tag_limits()[USER_TAG]
    by_sensor = [r for r in runs if r.tags.get("dagster/sensor_name")]
    untagged = [f"{r.job_name} ({r.tags.get('dagster/sensor_name')})" for r in by_sensor if r.user is None]
    assert not untagged, (f"runs requested by sensors without a {USER_TAG} tag escape the per-user limit: {untagged}"
                          + deploy.report())
    for user_id, email in emails.items():
        mine = [r for r in runs if r.user == user_id]
        assert mine, f"no run tagged for {email}"
        peak = max_overlap((r.start_time, r.end_time) for r in mine)
        # Demand: runs of the user that existed (queued or running) at one moment.
        demand = max_overlap((r.create_time, r.end_time) for r in mine)
        print(f"{email}: {len(mine)} run(s); at most {peak} in progress at once (limit {limit}), "
              f"{demand} queued or in progress at once")
        assert peak <= limit, f"{email} had {peak} runs in progress at once; the profile allows {limit}" + deploy.report()
