"""Row-level security on every tenant table, the database roles, and the usage views for analysts.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02

PostgreSQL only, but for the (unused) ``analyst_logins`` table, which both backends get so that
the models stay one (on SQLite the stores' own ``user_id`` filters are the scoping). Roles are cluster-wide, so their names come from ``HAVEN_DB_ROLE_PREFIX``
(default ``haven_``; see :func:`haven_pipelines.settings.db_roles`) when the migration runs:

- ``<prefix>app``: the application. Reads and writes every application table, but row-level
  security lets it see a tenant row only when the transaction's ``haven.user_id`` setting names
  the row's user (the stores set it with ``set_config(..., true)``, which is ``SET LOCAL``).
  System rows of ``mockup_scene_templates`` and ``product_pricing`` are readable by all.
  NOINHERIT, and a member of the pipeline role: a login in the application role may switch to the
  pipeline role explicitly (``SET LOCAL ROLE``), but never has its rights by accident.
- ``<prefix>pipeline``: the pipeline's cross-tenant work (sensors, the nightly, analytics, the
  sweeper). Its policies pass every row. It owns the analyst tables it rebuilds.
- ``<prefix>analyst``: read-only on the ``analytics_*`` tables and the usage views, every tenant.
- ``<prefix>shop_analyst``: the group of per-shop analyst logins (``haven db grant-analyst``); each
  reads the usage views for the one user ``analyst_logins`` maps it to, and nothing else.

No analyst role has any right on ``integrations`` (or any other application table but the ledger
behind the usage views). ``users`` stays outside row-level security: it is the directory that
turns a login's email into the user whose setting is then set (no analyst role may read it).

The role running this migration (unless it is a superuser, which bypasses row-level security
anyway) is made a member of the application role, so the owner's own connections are scoped like
the application's. Downgrade removes the policies, views, function, mapping table and grants from
this database; the roles stay, because other databases on the same server may use them.
"""

import os
import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Tables whose every row belongs to one user (``user_id``).
TENANT_TABLES = (
    "user_settings", "quotes", "assets", "mockups", "credit_balances", "credit_month_balances",
    "credit_reservations", "mockup_credit_usage", "products", "product_variants", "product_images",
    "approval_items", "activity_log", "retry_queue", "integrations", "shopify_outbox", "shopify_bulk_operations",
)
#: Tenant tables that also hold system rows (``is_system``, no user) that every user reads.
SYSTEM_ROW_TABLES = ("mockup_scene_templates", "product_pricing")
ALL_RLS_TABLES = TENANT_TABLES + SYSTEM_ROW_TABLES
SEQUENCES = ("activity_log_id_seq", "mockup_credit_usage_id_seq", "shopify_outbox_id_seq")
USAGE_VIEWS = ("usage_credit_ledger", "usage_credit_monthly")
SETTING = "current_setting('haven.user_id', true)"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


def _roles() -> dict[str, str]:
    # Migrations stay frozen: the prefix rule is repeated here rather than imported from settings.
    prefix = (os.environ.get("HAVEN_DB_ROLE_PREFIX") or "haven_").strip()
    if not _NAME.match(prefix):
        raise ValueError(f"HAVEN_DB_ROLE_PREFIX: must be lower-case letters, digits and _ (at most 40), got {prefix!r}")
    return {kind: f"{prefix}{kind}" for kind in ("app", "pipeline", "analyst", "shop_analyst")}


def _create_role(name: str, options: str) -> None:
    # Two migrations on the same server may race to create the same role: the loser carries on.
    op.execute(f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
        CREATE ROLE "{name}" {options};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$""")


def upgrade() -> None:
    # The mapping of per-shop analyst logins exists on both backends (the model is one), used on PostgreSQL.
    op.create_table(
        "analyst_logins",
        sa.Column("login", sa.String(63), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    r = _roles()
    app, pipeline, analyst, shop = r["app"], r["pipeline"], r["analyst"], r["shop_analyst"]
    _create_role(pipeline, "NOLOGIN")
    _create_role(app, "NOLOGIN NOINHERIT")
    _create_role(analyst, "NOLOGIN")
    _create_role(shop, "NOLOGIN")
    op.execute(f'GRANT "{pipeline}" TO "{app}"')
    op.execute(f"""
DO $$ BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT %I TO %I', '{app}', current_user);
    END IF;
END $$""")

    # The shop analyst's policy asks this function, not the table: the logins read nothing directly.
    op.execute("""
CREATE FUNCTION haven_analyst_user_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$fn$ SELECT user_id FROM analyst_logins WHERE login = session_user $fn$""")
    op.execute("REVOKE ALL ON FUNCTION haven_analyst_user_id() FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION haven_analyst_user_id() TO "{shop}"')

    for table in ALL_RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f'CREATE POLICY tenant_rows ON {table} TO "{app}" '
                   f"USING (user_id = {SETTING}) WITH CHECK (user_id = {SETTING})")
        op.execute(f'CREATE POLICY cross_tenant ON {table} TO "{pipeline}" USING (true) WITH CHECK (true)')
    for table in SYSTEM_ROW_TABLES:
        op.execute(f'CREATE POLICY system_rows ON {table} FOR SELECT TO "{app}" USING (is_system)')
    op.execute(f'CREATE POLICY analyst_all ON mockup_credit_usage FOR SELECT TO "{analyst}" USING (true)')
    op.execute(f'CREATE POLICY analyst_own_shop ON mockup_credit_usage FOR SELECT TO "{shop}" '
               "USING (user_id = haven_analyst_user_id())")

    app_tables = ", ".join(ALL_RLS_TABLES + ("users",))
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {app_tables} TO "{app}", "{pipeline}"')
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE {", ".join(SEQUENCES)} TO "{app}", "{pipeline}"')
    op.execute(f'GRANT SELECT ON alembic_version TO "{app}", "{pipeline}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON analyst_logins TO "{pipeline}"')
    # The pipeline creates and replaces the analytics_* tables; what it creates the analyst may read.
    op.execute(f'GRANT CREATE ON SCHEMA public TO "{pipeline}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{pipeline}" IN SCHEMA public GRANT SELECT ON TABLES TO "{analyst}"')
    op.execute(f"""
DO $$ DECLARE t text; BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'analytics\\_%' LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO %I', t, '{pipeline}');
        EXECUTE format('GRANT SELECT ON %I TO %I', t, '{analyst}');
    END LOOP;
END $$""")

    # security_invoker: the ledger's policies apply to whoever reads the view (PostgreSQL 15+).
    op.execute("""
CREATE VIEW usage_credit_ledger WITH (security_invoker = true) AS
SELECT user_id, year, month, seq, operation, credits, scene, renderer, created_at FROM mockup_credit_usage""")
    op.execute("""
CREATE VIEW usage_credit_monthly WITH (security_invoker = true) AS
SELECT user_id, year, month,
       COALESCE(SUM(credits) FILTER (WHERE operation = 'generation'), 0)::integer AS generations,
       COALESCE(SUM(credits) FILTER (WHERE operation = 'regeneration'), 0)::integer AS regenerations,
       COALESCE(-SUM(credits) FILTER (WHERE operation = 'refund'), 0)::integer AS refunds,
       SUM(credits)::integer AS net_credits
FROM mockup_credit_usage GROUP BY user_id, year, month""")
    op.execute(f'GRANT SELECT ON {", ".join(USAGE_VIEWS)} TO "{analyst}", "{shop}", "{app}", "{pipeline}"')
    op.execute(f'GRANT SELECT ON mockup_credit_usage TO "{analyst}", "{shop}"')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_table("analyst_logins")
        return
    r = _roles()
    app, pipeline, analyst, shop = r["app"], r["pipeline"], r["analyst"], r["shop_analyst"]
    op.execute(f"DROP VIEW IF EXISTS {', '.join(USAGE_VIEWS)}")
    for table in ALL_RLS_TABLES:
        for policy in ("tenant_rows", "cross_tenant", "system_rows", "analyst_all", "analyst_own_shop"):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS haven_analyst_user_id()")
    op.execute("DROP TABLE IF EXISTS analyst_logins")
    app_tables = ", ".join(ALL_RLS_TABLES + ("users",))
    op.execute(f'REVOKE ALL ON {app_tables} FROM "{app}", "{pipeline}", "{analyst}", "{shop}"')
    op.execute(f'REVOKE ALL ON SEQUENCE {", ".join(SEQUENCES)} FROM "{app}", "{pipeline}"')
    op.execute(f'REVOKE ALL ON alembic_version FROM "{app}", "{pipeline}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{pipeline}" IN SCHEMA public REVOKE SELECT ON TABLES FROM "{analyst}"')
    op.execute(f"""
DO $$ DECLARE t text; BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'analytics\\_%' LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO %I', t, current_user);
    END LOOP;
END $$""")
    op.execute(f'REVOKE CREATE ON SCHEMA public FROM "{pipeline}"')
