"""Row-level security and the database roles, on the real PostgreSQL server (migration 0008).

Each test gets its own migrated database; the roles are this session's (``HAVEN_DB_ROLE_PREFIX``,
see the root conftest), so concurrent sessions on the same server never meet. "As the application
role" means a session whose current role is ``<prefix>app``: a superuser would bypass row-level
security altogether, so the admin connection only sets the data up and observes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select, text, true
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError

from haven_pipelines import settings
from haven_pipelines.db import tables as t
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.activity import ActivityStore
from haven_pipelines.db.stores.approvals import ApprovalStore
from haven_pipelines.db.stores.bulk_operations import BulkOperationStore
from haven_pipelines.db.stores.base import UserScopedStore
from haven_pipelines.db.stores.designs import DesignStore, approved_designs_page
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.retries import RetryStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tenancy import act_as, cross_tenant
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.services import analytics
from haven_pipelines.services.database import grant_analyst
from haven_pipelines_tests.conftest import admin_execute, session_role_prefix
from haven_pipelines_tests.db.test_isolation import CASES, Case, _pricing, _product, _scene, check_isolation

pytestmark = pytest.mark.postgres

#: Every table with row-level security: (table, whether it also holds system rows everyone reads).
RLS_TABLES = [
    (t.user_settings, False), (t.quotes, False), (t.assets, False), (t.mockups, False),
    (t.credit_balances, False), (t.credit_month_balances, False), (t.credit_reservations, False),
    (t.mockup_credit_usage, False), (t.products, False), (t.product_variants, False),
    (t.product_images, False), (t.approval_items, False), (t.activity_log, False), (t.retry_queue, False),
    (t.integrations, False), (t.shopify_outbox, False), (t.shopify_bulk_operations, False),
    (t.mockup_scene_templates, True), (t.product_pricing, True),
]


def _as_role(url: str, role: str, **kwargs) -> Engine:
    """An engine whose every session runs as ``role`` (the admin login switches at connect)."""
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_conn, _record):  # noqa: ANN001 - DB-API objects
        with dbapi_conn.cursor() as cur:
            cur.execute(f'SET ROLE "{role}"')
        dbapi_conn.commit()

    return engine


@pytest.fixture
def roles() -> settings.DbRoles:
    return settings.db_roles()


@pytest.fixture
def admin(pg_url) -> Iterator[Engine]:
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app_engine(pg_url, roles) -> Iterator[Engine]:
    engine = _as_role(pg_url, roles.app)
    yield engine
    engine.dispose()


@pytest.fixture
def login_factory(pg_url) -> Iterator:
    """Make LOGIN roles of this session's prefix and engines connected as them (the server trusts
    loopback); the roles are dropped after the test."""
    made: list[str] = []
    engines: list[Engine] = []

    def make(member_of: str | None = None, name: str | None = None) -> str:
        name = name or f"{session_role_prefix()}login_{uuid.uuid4().hex[:8]}"
        made.append(name)
        if member_of is not None:
            admin_execute(f'CREATE ROLE "{name}" LOGIN IN ROLE "{member_of}"')
        return name

    def connect(name: str) -> Engine:
        engine = create_engine(make_url(pg_url).set(username=name, password=None).render_as_string(hide_password=False))
        engines.append(engine)
        return engine

    make.connect = connect  # type: ignore[attr-defined]
    yield make
    for engine in engines:
        engine.dispose()
    for name in made:
        admin_execute(f'DROP ROLE IF EXISTS "{name}"')


def _populate(admin: Engine, email: str) -> str:
    """A user with at least one row in every table that has row-level security; returns the id."""
    ledger = CreditLedger(admin)
    with admin.begin() as conn:
        user_id = get_or_create_user(conn, email)["id"]
        refs = _product(conn, user_id)
        _pricing(conn, user_id)
        _scene(conn, user_id)
        ApprovalStore(conn, user_id).enqueue("mockup", refs["mockup"], {"url": "u"}, "grounding")
        ActivityStore(conn, user_id).log("mockup.generated", "mockup", None, {"credits": 1})
        RetryStore(conn, user_id).enqueue("render_mockup", refs["mockup"], {}, "timeout")
        conn.execute(insert(t.shopify_outbox).values(user_id=user_id, operation="ProductSet", document="mutation",
                                                     variables={}, mode="dry_run"))
        BulkOperationStore(conn, user_id).create(f"{email.split('@')[0]}-shop", [{"product_id": refs["product"], "digest": "d"}])
    reservation = ledger.reserve(user_id, 1, idempotency_key=f"k-{email}", renderer="local", scene="bedroom")
    ledger.commit(user_id, reservation.id, refs["mockup"])
    with admin.begin() as conn:
        IntegrationStore(conn, user_id).connect("shopify", f"{email.split('@')[0]}-shop", "shpat_secret")
    return user_id


def test_every_table_with_a_user_column_is_under_row_level_security():
    # A new tenant table must join migration 0008's list (and this test's), or its rows are open to all.
    owned = {table.name for table in t.metadata.tables.values() if "user_id" in table.c}
    assert owned - {"analyst_logins"} == {table.name for table, _ in RLS_TABLES}


@pytest.fixture
def two_shops(admin, monkeypatch) -> tuple[str, str]:
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    return _populate(admin, "a@example.com"), _populate(admin, "b@example.com")


def _count(conn, table, **where) -> int:
    stmt = select(text("count(*)")).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    return conn.execute(stmt).scalar_one()


def test_the_application_role_without_a_user_setting_reads_no_tenant_row(admin, app_engine, two_shops):
    a, b = two_shops
    with admin.connect() as conn:
        for table, _system in RLS_TABLES:
            assert _count(conn, table, user_id=a) > 0 and _count(conn, table, user_id=b) > 0, table.name
        system_rows = {table.name: _count(conn, table, is_system=True) for table, system in RLS_TABLES if system}
    assert all(system_rows.values())
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == settings.db_roles().app
        for table, system in RLS_TABLES:
            # Only the system rows (scenes, pricing) are readable without a user's setting.
            assert _count(conn, table) == (system_rows[table.name] if system else 0), table.name


def test_with_a_users_setting_the_other_shops_rows_are_invisible_and_untouchable(admin, app_engine, two_shops):
    a, b = two_shops
    with admin.connect() as conn:
        before = {table.name: [tuple(r) for r in conn.execute(select(table).where(table.c.user_id == b))]
                  for table, _system in RLS_TABLES}
    with app_engine.begin() as conn:
        act_as(conn, a)
        for table, system in RLS_TABLES:
            visible = set(conn.execute(select(table.c.user_id).distinct()).scalars())
            assert visible == ({a, None} if system else {a}), table.name
            assert _count(conn, table, user_id=b) == 0, table.name
            # Aimed straight at B's rows, by their owner column: nothing matches.
            assert conn.execute(table.update().where(table.c.user_id == b).values(user_id=table.c.user_id)).rowcount == 0
            assert conn.execute(table.delete().where(table.c.user_id == b)).rowcount == 0
            # Unfiltered, an UPDATE reaches only A's rows.
            updated = conn.execute(table.update().values(user_id=table.c.user_id)).rowcount
            assert updated == _count(conn, table, user_id=a), table.name
        # A cannot hand a row to B, nor write one in B's name.
        with pytest.raises(ProgrammingError, match="row-level security"), conn.begin_nested():
            conn.execute(t.activity_log.update().values(user_id=b))
        with pytest.raises(ProgrammingError, match="row-level security"), conn.begin_nested():
            conn.execute(insert(t.activity_log).values(user_id=b, action="forged", details={}))
    with admin.connect() as conn:
        after = {table.name: [tuple(r) for r in conn.execute(select(table).where(table.c.user_id == b))]
                 for table, _system in RLS_TABLES}
    assert after == before


def test_the_setting_is_local_to_its_transaction(app_engine, two_shops):
    a, _b = two_shops
    with app_engine.connect() as conn:
        act_as(conn, a)
        assert _count(conn, t.mockups) == 1
        conn.commit()
        assert _count(conn, t.mockups) == 0  # the next transaction on the same pooled connection


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_isolation_suite_holds_on_row_level_security_alone(pg_url, app_engine, admin, case: Case, monkeypatch):
    # The stores' own user filter becomes "every row": only the database's policies separate A and B.
    monkeypatch.setattr(UserScopedStore, "_owned", lambda self, table=None: true())
    check_isolation(app_engine, case, observer=admin)


def test_cross_tenant_reads_need_the_explicit_switch(admin, roles, login_factory, two_shops):
    a, b = two_shops
    # A deployment's login: a member of the application role (as the migration makes its runner).
    name = login_factory(member_of=roles.app)
    login = login_factory.connect(name)
    with login.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == name
        assert _count(conn, t.assets) == 0, "a login in the application role read across tenants by default"
        cross_tenant(conn)
        assert conn.execute(text("SELECT current_user")).scalar_one() == roles.pipeline
        assert {r["user_id"] for r in approved_designs_page(conn, None, 100)} == {a, b}
    with login.connect() as conn:  # the switch ended with the transaction
        assert _count(conn, t.assets) == 0
    # The pipeline's cross-user work as that login: the sweeper and the analyst tables.
    swept = CreditLedger(login).sweep(timedelta(0))
    assert swept == []  # both reservations were committed
    frame = analytics.credit_usage_monthly(login)
    assert set(frame["user_id"]) == {a, b}
    assert analytics.write_table(login, "credit_usage_monthly", frame) == len(frame)


def test_a_shop_analyst_login_reads_only_its_shops_usage(admin, pg_url, roles, login_factory, two_shops):
    a, b = two_shops
    name = f"{session_role_prefix()}analyst_a_{uuid.uuid4().hex[:6]}"
    login_factory(name=name)  # registered for dropping; grant_analyst creates it
    grant = grant_analyst(admin, "a@example.com", name)
    assert (grant.user_id, grant.created, grant.group) == (a, True, roles.shop_analyst)
    analyst = login_factory.connect(name)
    with analyst.connect() as conn:
        for view in ("usage_credit_ledger", "usage_credit_monthly"):
            assert set(conn.execute(text(f"SELECT DISTINCT user_id FROM {view}")).scalars()) == {a}, view
        # Its own setting opens nothing: the shop comes from the login, not from a setting it controls.
        conn.execute(text("SELECT set_config('haven.user_id', :b, false)"), {"b": b})
        assert set(conn.execute(text("SELECT DISTINCT user_id FROM usage_credit_ledger")).scalars()) == {a}
        assert conn.execute(text("SELECT count(*) FROM mockup_credit_usage WHERE user_id = :b"), {"b": b}).scalar_one() == 0
    # Re-granting moves the login to the other shop.
    assert grant_analyst(admin, "b@example.com", name).created is False
    with analyst.connect() as conn:
        assert set(conn.execute(text("SELECT DISTINCT user_id FROM usage_credit_ledger")).scalars()) == {b}


def test_the_analyst_role_reads_every_tenants_usage_and_analyst_tables(admin, pg_url, roles, two_shops):
    a, b = two_shops
    for name in ("credit_usage_monthly", "credit_usage_by_scene", "render_outcomes"):
        analytics.write_table(admin, name, getattr(analytics, name)(admin))
    engine = _as_role(pg_url, roles.analyst)
    try:
        with engine.connect() as conn:
            assert set(conn.execute(text("SELECT DISTINCT user_id FROM usage_credit_monthly")).scalars()) == {a, b}
            assert set(conn.execute(text("SELECT DISTINCT user_id FROM analytics_credit_usage_monthly")).scalars()) == {a, b}
            assert conn.execute(text("SELECT count(*) FROM analytics_render_outcomes")).scalar_one() > 0
            with pytest.raises(ProgrammingError, match="permission denied"), conn.begin_nested():
                conn.execute(text("DELETE FROM analytics_credit_usage_monthly"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["analyst", "shop_analyst"])
def test_no_analyst_role_can_read_integrations(pg_url, roles, two_shops, kind):
    engine = _as_role(pg_url, getattr(roles, kind))
    try:
        for table in ("integrations", "users", "products", "assets"):
            with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(f"SELECT * FROM {table}"))
    finally:
        engine.dispose()


def test_grant_analyst_refuses_bad_names_and_the_deployments_roles(admin, roles, two_shops):
    from haven_pipelines.domain.errors import ValidationError

    for bad in ("Robert'); DROP TABLE users;--", "", "UPPER", roles.app, roles.pipeline):
        with pytest.raises(ValidationError, match="login"):
            grant_analyst(admin, "a@example.com", bad)


def test_the_application_works_as_its_role_supervised_flow_pricing_and_create(pg_url, admin, app_engine, tmp_path):
    """The use cases, run through an application-role engine: a forgotten scope would read nothing
    or be refused by a policy. Render (supervised), approve, build, publish (dry run: the outbox),
    a price override that rebuilds, a product created from a request with a quote, the review queue."""
    from haven_pipelines.integrations.blobstore import LocalBlobStore
    from haven_pipelines.services import review
    from haven_pipelines.services.approvals import decide
    from haven_pipelines.services.context import build_context
    from haven_pipelines.services.pricing import set_price
    from haven_pipelines.services.product_views import create_from_request, product_view
    from haven_pipelines.services.products import ProductService
    from haven_pipelines.services.render import RenderService, RenderTask
    from haven_pipelines.services.renderers import LocalRendererAdapter
    from haven_pipelines_tests.services.conftest import World

    ctx = build_context(engine=app_engine, blob=LocalBlobStore(tmp_path / "images"),
                        renderer_impl=LocalRendererAdapter(workers=1, width=400))
    world = World(ctx)
    user = world.user("shop@example.com")  # supervised
    design = world.design(user)
    outcome = RenderService(ctx).render_batch(user, [RenderTask(design, "bedroom")]).outcomes[0]
    assert outcome.status == "completed" and outcome.approval_item_id
    assert [i["id"] for i in review.pending_items(app_engine, user)] == [outcome.approval_item_id]
    decide(app_engine, user, outcome.approval_item_id, "approved")
    service = ProductService(ctx)
    built = service.build_for_design(user, design)
    published = service.publish(user, built.product_id, require_approval=False)
    assert published.dry_run
    change = set_price(ctx, user, "8x10", base="31.00")
    assert change.rebuilt == [built.product_id]
    with world.ctx.engine.connect() as conn:
        quote = DesignStore(conn, user).list_quotes(limit=1).rows[0]["id"]
    created = create_from_request(ctx, user, {"title": "Made by request", "quoteId": quote,
                                              "variants": [{"size": "8x10", "price": "20.00"}]})
    assert product_view(app_engine, user, created["id"])["quote_text"] == "Rest is a form of courage"
    with admin.connect() as conn:  # what the admin sees: every write landed, as the user's
        assert _count(conn, t.shopify_outbox, user_id=user) >= 1
        assert _count(conn, t.mockup_credit_usage, user_id=user) == 1
        assert conn.execute(select(t.products.c.quote_id).where(t.products.c.id == created["id"])).scalar_one() == quote
