"""Initial schema, with the five system scenes and the ten system pricing rows seeded.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The seed values are Haven Hub's, copied as data here (not imported from ``domain``) so that this
migration keeps meaning what it meant when it was written.
"""

import uuid
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

# Stable ids for seeded rows, so that every database names them alike.
_SEED_NS = uuid.UUID("6d1f4a52-8f0e-4c3b-9b1e-2f6c0f5a7e11")

SYSTEM_SCENES = [
    ("bedroom", "Bedroom", "Cozy bedroom setting with natural light", ["grounding", "wholeness"], 800, 1000),
    ("therapy_office", "Therapy Office", "Professional office with warm tones", ["wholeness", "growth"], 600, 800),
    ("living_room", "Living Room", "Modern living space with natural elements", ["grounding", "growth"], 900, 1200),
    ("reading_nook", "Reading Nook", "Intimate corner with soft lighting", ["grounding", "wholeness"], 500, 700),
    ("home_office", "Home Office", "Productive workspace with inspiring decor", ["growth"], 600, 800),
]

SYSTEM_PRICING = [
    ("8x10", "24.99", "49.99", "9.99", "8.00"),
    ("11x14", "34.99", "69.99", "12.99", "12.00"),
    ("16x20", "49.99", "99.99", "14.99", "18.00"),
    ("12x16", "39.99", "79.99", "12.99", "14.00"),
    ("18x24", "59.99", "119.99", "16.99", "22.00"),
    ("12x18", "44.99", "89.99", "14.99", "16.00"),
    ("16x24", "54.99", "109.99", "16.99", "20.00"),
    ("24x36", "79.99", "159.99", "19.99", "30.00"),
    ("A4", "29.99", "59.99", "9.99", "10.00"),
    ("A3", "44.99", "89.99", "12.99", "15.00"),
]


def _seed() -> None:
    from decimal import Decimal

    now = datetime.now(UTC)
    scenes = sa.table(
        "mockup_scene_templates",
        sa.column("id", sa.String), sa.column("user_id", sa.String), sa.column("scene_key", sa.String),
        sa.column("name", sa.String), sa.column("description", sa.Text),
        sa.column("recommended_collections", sa.JSON), sa.column("width", sa.Integer),
        sa.column("height", sa.Integer), sa.column("config", sa.JSON), sa.column("is_system", sa.Boolean),
        sa.column("is_active", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(scenes, [
        {"id": str(uuid.uuid5(_SEED_NS, f"scene:{key}")), "user_id": None, "scene_key": key, "name": name,
         "description": desc, "recommended_collections": cols, "width": w, "height": h, "config": {},
         "is_system": True, "is_active": True, "created_at": now, "updated_at": now}
        for key, name, desc, cols, w, h in SYSTEM_SCENES
    ])
    pricing = sa.table(
        "product_pricing",
        sa.column("id", sa.String), sa.column("user_id", sa.String), sa.column("size", sa.String),
        sa.column("base_price", sa.Numeric(10, 2)), sa.column("framed_price", sa.Numeric(10, 2)),
        sa.column("digital_price", sa.Numeric(10, 2)), sa.column("cost", sa.Numeric(10, 2)),
        sa.column("is_system", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(pricing, [
        {"id": str(uuid.uuid5(_SEED_NS, f"pricing:{size}")), "user_id": None, "size": size,
         "base_price": Decimal(b), "framed_price": Decimal(f), "digital_price": Decimal(d), "cost": Decimal(c),
         "is_system": True, "created_at": now, "updated_at": now}
        for size, b, f, d, c in SYSTEM_PRICING
    ])


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('activity_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=True),
    sa.Column('entity_id', sa.String(length=36), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_activity_log_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_log'))
    )
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_log_user_id'), ['user_id'], unique=False)

    op.create_table('approval_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('reference_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('collection', sa.String(length=20), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_approval_items_status_valid')),
    sa.CheckConstraint("type IN ('mockup', 'product')", name=op.f('ck_approval_items_type_valid')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_approval_items_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_items')),
    sa.UniqueConstraint('type', 'reference_id', name=op.f('uq_approval_items_type_reference_id'))
    )
    with op.batch_alter_table('approval_items', schema=None) as batch_op:
        batch_op.create_index('ix_approval_items_status_decided_at', ['status', 'decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_items_user_id'), ['user_id'], unique=False)

    op.create_table('credit_balances',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('ledger_seq', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('used >= 0', name=op.f('ck_credit_balances_used_nonnegative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_balances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'year', name=op.f('pk_credit_balances'))
    )
    op.create_table('integrations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'connected'"), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('encrypted_credentials', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_integrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('user_id', 'provider', name=op.f('uq_integrations_user_id_provider'))
    )
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrations_user_id'), ['user_id'], unique=False)

    op.create_table('mockup_scene_templates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('scene_key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('recommended_collections', sa.JSON(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('dm_mockup_uuid', sa.String(length=64), nullable=True),
    sa.Column('dm_smart_object_uuid', sa.String(length=64), nullable=True),
    sa.Column('is_system', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(is_system AND user_id IS NULL) OR (NOT is_system AND user_id IS NOT NULL)', name=op.f('ck_mockup_scene_templates_system_xor_user')),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_mockup_scene_templates_size_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mockup_scene_templates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mockup_scene_templates')),
    sa.UniqueConstraint('user_id', 'scene_key', name=op.f('uq_mockup_scene_templates_user_id_scene_key'))
    )
    with op.batch_alter_table('mockup_scene_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mockup_scene_templates_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_scene_templates_system_key', ['scene_key'], unique=True, sqlite_where=sa.text('is_system'), postgresql_where=sa.text('is_system'))

    op.create_table('product_pricing',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('size', sa.String(length=20), nullable=False),
    sa.Column('base_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('framed_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('digital_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('cost', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('is_system', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(is_system AND user_id IS NULL) OR (NOT is_system AND user_id IS NOT NULL)', name=op.f('ck_product_pricing_system_xor_user')),
    sa.CheckConstraint('base_price > 0 AND framed_price > 0 AND digital_price > 0 AND cost >= 0', name=op.f('ck_product_pricing_prices_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_product_pricing_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_pricing')),
    sa.UniqueConstraint('user_id', 'size', name=op.f('uq_product_pricing_user_id_size'))
    )
    with op.batch_alter_table('product_pricing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_pricing_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_product_pricing_system_size', ['size'], unique=True, sqlite_where=sa.text('is_system'), postgresql_where=sa.text('is_system'))

    op.create_table('quotes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attribution', sa.String(length=200), nullable=True),
    sa.Column('collection', sa.String(length=20), nullable=False),
    sa.Column('mood', sa.String(length=50), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("collection IN ('grounding', 'wholeness', 'growth')", name=op.f('ck_quotes_collection_valid')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quotes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes'))
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_user_id'), ['user_id'], unique=False)

    op.create_table('retry_queue',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=36), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('max_attempts', sa.Integer(), server_default=sa.text('5'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'done', 'dead')", name=op.f('ck_retry_queue_status_valid')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_retry_queue_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retry_queue'))
    )
    with op.batch_alter_table('retry_queue', schema=None) as batch_op:
        batch_op.create_index('ix_retry_queue_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_retry_queue_user_id'), ['user_id'], unique=False)

    op.create_table('user_settings',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('annual_mockup_budget', sa.Integer(), server_default=sa.text('(3500)'), nullable=False),
    sa.Column('monthly_mockup_soft_limit', sa.Integer(), server_default=sa.text('(292)'), nullable=False),
    sa.Column('global_mode', sa.String(length=20), server_default=sa.text("'supervised'"), nullable=False),
    sa.Column('module_overrides', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default=sa.text("'UTC'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("global_mode IN ('supervised', 'assisted', 'autopilot')", name=op.f('ck_user_settings_global_mode_valid')),
    sa.CheckConstraint('annual_mockup_budget >= 0', name=op.f('ck_user_settings_annual_budget_nonnegative')),
    sa.CheckConstraint('monthly_mockup_soft_limit >= 0', name=op.f('ck_user_settings_soft_limit_nonnegative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_settings'))
    )
    op.create_table('assets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('quote_id', sa.String(length=36), nullable=True),
    sa.Column('file_url', sa.Text(), nullable=False),
    sa.Column('file_key', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('approval_status', sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("approval_status IN ('pending', 'approved', 'rejected')", name=op.f('ck_assets_approval_status_valid')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_assets_quote_id_quotes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index('ix_assets_approval_status_approved_at', ['approval_status', 'approved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_quote_id'), ['quote_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_user_id'), ['user_id'], unique=False)

    op.create_table('mockups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=False),
    sa.Column('quote_id', sa.String(length=36), nullable=True),
    sa.Column('scene', sa.String(length=64), nullable=False),
    sa.Column('scene_config', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('file_url', sa.Text(), nullable=True),
    sa.Column('file_key', sa.Text(), nullable=True),
    sa.Column('thumbnail_url', sa.Text(), nullable=True),
    sa.Column('thumbnail_key', sa.Text(), nullable=True),
    sa.Column('renderer', sa.String(length=32), nullable=True),
    sa.Column('render_id', sa.String(length=128), nullable=True),
    sa.Column('renderer_metadata', sa.JSON(), nullable=False),
    sa.Column('credits_used', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('render_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('quality_score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('pins', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('impressions', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'generating', 'completed', 'failed', 'approved', 'rejected')", name=op.f('ck_mockups_status_valid')),
    sa.CheckConstraint('credits_used >= 0', name=op.f('ck_mockups_credits_nonnegative')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_mockups_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_mockups_quote_id_quotes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mockups_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mockups')),
    sa.UniqueConstraint('asset_id', 'scene', name=op.f('uq_mockups_asset_id_scene'))
    )
    with op.batch_alter_table('mockups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mockups_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mockups_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_mockups_user_id_created_at', ['user_id', 'created_at'], unique=False)
        batch_op.create_index('ix_mockups_user_id_status', ['user_id', 'status'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=True),
    sa.Column('quote_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('handle', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'draft'"), nullable=False),
    sa.Column('collection', sa.String(length=20), nullable=True),
    sa.Column('vendor', sa.String(length=100), server_default=sa.text("'Haven & Hold'"), nullable=False),
    sa.Column('product_type', sa.String(length=100), server_default=sa.text("'Print'"), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('shopify_product_id', sa.String(length=64), nullable=True),
    sa.Column('shopify_product_gid', sa.String(length=128), nullable=True),
    sa.Column('shopify_handle', sa.String(length=255), nullable=True),
    sa.Column('retire_reason', sa.String(length=20), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('views', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('orders', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=12, scale=2), server_default=sa.text('0'), nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("collection IS NULL OR collection IN ('grounding', 'wholeness', 'growth')", name=op.f('ck_products_collection_valid')),
    sa.CheckConstraint("retire_reason IS NULL OR retire_reason IN ('underperformer', 'manual', 'seasonal')", name=op.f('ck_products_retire_reason_valid')),
    sa.CheckConstraint("status IN ('draft', 'pending', 'active', 'retired', 'archived')", name=op.f('ck_products_status_valid')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_products_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_products_quote_id_quotes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_products_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('user_id', 'asset_id', name=op.f('uq_products_user_id_asset_id')),
    sa.UniqueConstraint('user_id', 'handle', name=op.f('uq_products_user_id_handle'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_products_user_id_status', ['user_id', 'status'], unique=False)

    op.create_table('credit_reservations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'open'"), nullable=False),
    sa.Column('renderer', sa.String(length=32), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('mockup_id', sa.String(length=36), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("operation IN ('generation', 'regeneration')", name=op.f('ck_credit_reservations_operation_valid')),
    sa.CheckConstraint("status IN ('open', 'committed', 'refunded')", name=op.f('ck_credit_reservations_status_valid')),
    sa.CheckConstraint('credits >= 0', name=op.f('ck_credit_reservations_credits_nonnegative')),
    sa.ForeignKeyConstraint(['mockup_id'], ['mockups.id'], name=op.f('fk_credit_reservations_mockup_id_mockups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_reservations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_reservations')),
    sa.UniqueConstraint('user_id', 'idempotency_key', name=op.f('uq_credit_reservations_user_id_idempotency_key'))
    )
    with op.batch_alter_table('credit_reservations', schema=None) as batch_op:
        batch_op.create_index('ix_credit_reservations_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_reservations_user_id'), ['user_id'], unique=False)

    op.create_table('product_images',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('src', sa.Text(), nullable=False),
    sa.Column('file_key', sa.Text(), nullable=True),
    sa.Column('alt', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=True),
    sa.Column('mockup_id', sa.String(length=36), nullable=True),
    sa.Column('shopify_media_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('asset', 'mockup', 'upload')", name=op.f('ck_product_images_source_valid')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_product_images_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mockup_id'], ['mockups.id'], name=op.f('fk_product_images_mockup_id_mockups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_images_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_product_images_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_images')),
    sa.UniqueConstraint('product_id', 'position', name=op.f('uq_product_images_product_id_position'))
    )
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_images_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_images_user_id'), ['user_id'], unique=False)

    op.create_table('product_variants',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('size', sa.String(length=20), nullable=False),
    sa.Column('frame_style', sa.String(length=30), nullable=True),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('compare_at_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('inventory_quantity', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('inventory_policy', sa.String(length=10), server_default=sa.text("'continue'"), nullable=False),
    sa.Column('is_digital', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('digital_file_url', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('shopify_variant_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("inventory_policy IN ('continue', 'deny')", name=op.f('ck_product_variants_inventory_policy_valid')),
    sa.CheckConstraint('compare_at_price IS NULL OR compare_at_price > 0', name=op.f('ck_product_variants_compare_at_positive')),
    sa.CheckConstraint('price > 0', name=op.f('ck_product_variants_price_positive')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_variants_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_product_variants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_variants')),
    sa.UniqueConstraint('sku', name=op.f('uq_product_variants_sku'))
    )
    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_variants_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_variants_user_id'), ['user_id'], unique=False)

    op.create_table('shopify_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=True),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_shopify_outbox_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shopify_outbox_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_outbox'))
    )
    with op.batch_alter_table('shopify_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopify_outbox_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shopify_outbox_user_id'), ['user_id'], unique=False)

    op.create_table('mockup_credit_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('mockup_id', sa.String(length=36), nullable=True),
    sa.Column('reservation_id', sa.String(length=36), nullable=True),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('renderer', sa.String(length=32), nullable=True),
    sa.Column('scene', sa.String(length=64), nullable=True),
    sa.Column('balance_before', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("operation IN ('generation', 'regeneration', 'refund')", name=op.f('ck_mockup_credit_usage_operation_valid')),
    sa.CheckConstraint('balance_after = balance_before + credits', name=op.f('ck_mockup_credit_usage_balance_chains')),
    sa.CheckConstraint('month BETWEEN 1 AND 12', name=op.f('ck_mockup_credit_usage_month_valid')),
    sa.ForeignKeyConstraint(['mockup_id'], ['mockups.id'], name=op.f('fk_mockup_credit_usage_mockup_id_mockups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reservation_id'], ['credit_reservations.id'], name=op.f('fk_mockup_credit_usage_reservation_id_credit_reservations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mockup_credit_usage_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mockup_credit_usage')),
    sa.UniqueConstraint('user_id', 'year', 'seq', name=op.f('uq_mockup_credit_usage_user_id_year_seq'))
    )
    with op.batch_alter_table('mockup_credit_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mockup_credit_usage_mockup_id'), ['mockup_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mockup_credit_usage_reservation_id'), ['reservation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mockup_credit_usage_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_mockup_credit_usage_user_id_year_month', ['user_id', 'year', 'month'], unique=False)


    _seed()


def downgrade() -> None:
    with op.batch_alter_table('mockup_credit_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_mockup_credit_usage_user_id_year_month')
        batch_op.drop_index(batch_op.f('ix_mockup_credit_usage_user_id'))
        batch_op.drop_index(batch_op.f('ix_mockup_credit_usage_reservation_id'))
        batch_op.drop_index(batch_op.f('ix_mockup_credit_usage_mockup_id'))

    op.drop_table('mockup_credit_usage')
    with op.batch_alter_table('shopify_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopify_outbox_user_id'))
        batch_op.drop_index(batch_op.f('ix_shopify_outbox_product_id'))

    op.drop_table('shopify_outbox')
    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_variants_user_id'))
        batch_op.drop_index(batch_op.f('ix_product_variants_product_id'))

    op.drop_table('product_variants')
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_images_user_id'))
        batch_op.drop_index(batch_op.f('ix_product_images_product_id'))

    op.drop_table('product_images')
    with op.batch_alter_table('credit_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_reservations_user_id'))
        batch_op.drop_index('ix_credit_reservations_status_created_at')

    op.drop_table('credit_reservations')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_user_id_status')
        batch_op.drop_index(batch_op.f('ix_products_user_id'))

    op.drop_table('products')
    with op.batch_alter_table('mockups', schema=None) as batch_op:
        batch_op.drop_index('ix_mockups_user_id_status')
        batch_op.drop_index('ix_mockups_user_id_created_at')
        batch_op.drop_index(batch_op.f('ix_mockups_user_id'))
        batch_op.drop_index(batch_op.f('ix_mockups_asset_id'))

    op.drop_table('mockups')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_user_id'))
        batch_op.drop_index(batch_op.f('ix_assets_quote_id'))
        batch_op.drop_index('ix_assets_approval_status_approved_at')

    op.drop_table('assets')
    op.drop_table('user_settings')
    with op.batch_alter_table('retry_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retry_queue_user_id'))
        batch_op.drop_index('ix_retry_queue_status_next_attempt_at')

    op.drop_table('retry_queue')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quotes_user_id'))

    op.drop_table('quotes')
    with op.batch_alter_table('product_pricing', schema=None) as batch_op:
        batch_op.drop_index('uq_product_pricing_system_size', sqlite_where=sa.text('is_system'), postgresql_where=sa.text('is_system'))
        batch_op.drop_index(batch_op.f('ix_product_pricing_user_id'))

    op.drop_table('product_pricing')
    with op.batch_alter_table('mockup_scene_templates', schema=None) as batch_op:
        batch_op.drop_index('uq_scene_templates_system_key', sqlite_where=sa.text('is_system'), postgresql_where=sa.text('is_system'))
        batch_op.drop_index(batch_op.f('ix_mockup_scene_templates_user_id'))

    op.drop_table('mockup_scene_templates')
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrations_user_id'))

    op.drop_table('integrations')
    op.drop_table('credit_balances')
    with op.batch_alter_table('approval_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_items_user_id'))
        batch_op.drop_index('ix_approval_items_status_decided_at')

    op.drop_table('approval_items')
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_log_user_id'))

    op.drop_table('activity_log')
    op.drop_table('users')
