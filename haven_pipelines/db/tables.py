"""SQLAlchemy Core tables: the application database, the same on SQLite and PostgreSQL.

Ported tables (Haven Hub phases 9 and 10): ``mockups``, ``mockup_credit_usage``,
``mockup_scene_templates``, ``products``, ``product_variants``, ``product_images``,
``product_pricing``. Referenced tables from earlier phases, in their smallest useful form:
``users``, ``quotes``, ``assets`` (design assets), ``user_settings``, ``approval_items``,
``activity_log``, ``retry_queue``, ``integrations``. Added by this port: ``credit_balances`` (the
row that serialises reservations), ``credit_month_balances`` (the month's running total),
``credit_reservations`` and ``shopify_outbox`` (dry-run record).

Every user-owned row carries ``user_id``; stores filter by it on every statement.
Ids are UUID strings (36 characters) so that both engines store them the same way.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from haven_pipelines.domain.approval import PRODUCT_STATES

# Deterministic constraint names, so that Alembic migrations name them the same on both engines.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

MOCKUP_STATUSES = ("pending", "generating", "completed", "failed", "approved", "rejected")
# draft, awaiting_approval, approved, active, sync_error, retired, archived: see domain.approval.
PRODUCT_STATUSES = PRODUCT_STATES
COLLECTIONS = ("grounding", "wholeness", "growth")
RETIRE_REASONS = ("underperformer", "manual", "seasonal")
CREDIT_OPERATIONS = ("generation", "regeneration", "refund")
RESERVATION_STATUSES = ("open", "committed", "refunded")
ASSET_APPROVAL_STATUSES = ("pending", "approved", "rejected")
APPROVAL_STATUSES = ("pending", "approved", "rejected")
APPROVAL_TYPES = ("mockup", "product")
RETRY_STATUSES = ("pending", "done", "dead")
IMAGE_SOURCES = ("asset", "mockup", "upload")
INVENTORY_POLICIES = ("continue", "deny")
# starting: written before Shopify was asked; running: Shopify's id stored, result not yet applied;
# collected: every result line applied; abandoned: Shopify never started it (nothing was sent).
BULK_STATUSES = ("starting", "running", "collected", "abandoned")


def new_id() -> str:
    """A new random row id (UUID4 as text)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every timestamp column stores UTC."""
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _id(**kw) -> Column:
    return Column("id", String(36), primary_key=True, default=new_id, **kw)


def _user_fk(nullable: bool = False, *, index: bool = True) -> Column:
    # ``index=False`` where a unique constraint or index already starts with user_id: a second
    # index on the same prefix would only cost every insert.
    return Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable, index=index)


def _timestamps() -> list[Column]:
    # updated_at is maintained by SQLAlchemy's onupdate on every UPDATE the stores issue.
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        Column("updated_at", DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow),
    ]


users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200)),
    *_timestamps(),
)

user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("annual_mockup_budget", Integer, nullable=False, default=3500, server_default=text("3500")),
    Column("monthly_mockup_soft_limit", Integer, nullable=False, default=292, server_default=text("292")),
    Column("global_mode", String(20), nullable=False, default="supervised", server_default=text("'supervised'")),
    Column("module_overrides", JSON, nullable=False, default=dict),
    Column("timezone", String(64), nullable=False, default="UTC", server_default=text("'UTC'")),
    *_timestamps(),
    CheckConstraint("annual_mockup_budget >= 0", name="annual_budget_nonnegative"),
    CheckConstraint("monthly_mockup_soft_limit >= 0", name="soft_limit_nonnegative"),
    CheckConstraint(_in("global_mode", ("supervised", "assisted", "autopilot")), name="global_mode_valid"),
)

quotes = Table(
    "quotes",
    metadata,
    _id(),
    _user_fk(),
    Column("text", Text, nullable=False),
    Column("attribution", String(200)),
    Column("collection", String(20), nullable=False),
    Column("mood", String(50)),
    *_timestamps(),
    CheckConstraint(_in("collection", COLLECTIONS), name="collection_valid"),
)

assets = Table(
    "assets",
    metadata,
    _id(),
    _user_fk(),
    Column("quote_id", String(36), ForeignKey("quotes.id", ondelete="SET NULL"), index=True),
    Column("file_url", Text, nullable=False),
    Column("file_key", Text, nullable=False),
    Column("format", String(20), nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("approval_status", String(20), nullable=False, default="pending", server_default=text("'pending'")),
    Column("approved_at", DateTime(timezone=True)),
    # The design's Dagster partition key, ``<quote slug>-<id hex>`` (domain/labels.py): set once when
    # the design is created and never changed, so editing the quote never moves its partition. NULL
    # only for a row written around the store: such a design is keyed by its id, as before 0009.
    Column("partition_key", String(80)),
    *_timestamps(),
    CheckConstraint(_in("approval_status", ASSET_APPROVAL_STATUSES), name="approval_status_valid"),
    Index("ix_assets_approval_status_approved_at", "approval_status", "approved_at"),
    # Across users: a partition key names one design in the whole Dagster instance.
    Index("uq_assets_partition_key", "partition_key", unique=True),
)

mockup_scene_templates = Table(
    "mockup_scene_templates",
    metadata,
    _id(),
    # NULL for system scenes, which every user sees; a user's own scenes are private to them.
    _user_fk(nullable=True),
    Column("scene_key", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("recommended_collections", JSON, nullable=False, default=list),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    # Local renderer geometry (frame quad, fit, light) and anything else a scene needs.
    Column("config", JSON, nullable=False, default=dict),
    Column("dm_mockup_uuid", String(64)),
    Column("dm_smart_object_uuid", String(64)),
    Column("is_system", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("is_active", Boolean, nullable=False, default=True, server_default=text("true")),
    *_timestamps(),
    CheckConstraint("(is_system AND user_id IS NULL) OR (NOT is_system AND user_id IS NOT NULL)", name="system_xor_user"),
    CheckConstraint("width > 0 AND height > 0", name="size_positive"),
    Index("uq_scene_templates_system_key", "scene_key", unique=True,
          sqlite_where=text("is_system"), postgresql_where=text("is_system")),
    UniqueConstraint("user_id", "scene_key"),
)

mockups = Table(
    "mockups",
    metadata,
    _id(),
    _user_fk(),
    Column("asset_id", String(36), ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("quote_id", String(36), ForeignKey("quotes.id", ondelete="SET NULL")),
    Column("scene", String(64), nullable=False),
    Column("scene_config", JSON, nullable=False, default=dict),
    Column("status", String(20), nullable=False, default="pending", server_default=text("'pending'")),
    Column("file_url", Text),
    Column("file_key", Text),
    Column("thumbnail_url", Text),
    Column("thumbnail_key", Text),
    Column("renderer", String(32)),
    Column("render_id", String(128)),
    Column("renderer_metadata", JSON, nullable=False, default=dict),
    # Total credits charged for this mockup over all its renders (first render and regenerations).
    Column("credits_used", Integer, nullable=False, default=0, server_default=text("0")),
    Column("render_count", Integer, nullable=False, default=0, server_default=text("0")),
    Column("quality_score", Numeric(5, 2)),
    Column("pins", Integer, nullable=False, default=0, server_default=text("0")),
    Column("impressions", Integer, nullable=False, default=0, server_default=text("0")),
    Column("error_message", Text),
    Column("approved_at", DateTime(timezone=True)),
    Column("rejected_at", DateTime(timezone=True)),
    *_timestamps(),
    CheckConstraint(_in("status", MOCKUP_STATUSES), name="status_valid"),
    CheckConstraint("credits_used >= 0", name="credits_nonnegative"),
    # One mockup per design and scene; a regeneration re-renders the same row.
    UniqueConstraint("asset_id", "scene"),
    Index("ix_mockups_user_id_status", "user_id", "status"),
    Index("ix_mockups_user_id_created_at", "user_id", "created_at"),
)

credit_balances = Table(
    "credit_balances",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("year", Integer, primary_key=True),
    # Running total of credits charged this year, net of refunds. Reservations update it with a
    # conditional UPDATE, which takes the row lock and so serialises concurrent reservations.
    Column("used", Integer, nullable=False, default=0, server_default=text("0")),
    Column("ledger_seq", Integer, nullable=False, default=0, server_default=text("0")),
    *_timestamps(),
    CheckConstraint("used >= 0", name="used_nonnegative"),
)

# The month's net credits (charges minus refunds) per user, kept by the same transaction that books
# each ledger row, so that a reservation reads its month's usage from one row instead of a sum.
credit_month_balances = Table(
    "credit_month_balances",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("used", Integer, nullable=False, default=0, server_default=text("0")),
    *_timestamps(),
    CheckConstraint("used >= 0", name="used_nonnegative"),
    CheckConstraint("month BETWEEN 1 AND 12", name="month_valid"),
)

credit_reservations = Table(
    "credit_reservations",
    metadata,
    _id(),
    _user_fk(index=False),  # uq (user_id, idempotency_key) serves look-ups by user
    Column("idempotency_key", String(200), nullable=False),
    Column("credits", Integer, nullable=False),
    Column("operation", String(20), nullable=False),
    Column("status", String(20), nullable=False, default="open", server_default=text("'open'")),
    Column("renderer", String(32)),
    Column("purpose", Text),
    Column("mockup_id", String(36), ForeignKey("mockups.id", ondelete="SET NULL")),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("close_reason", Text),
    Column("closed_at", DateTime(timezone=True)),
    *_timestamps(),
    CheckConstraint("credits >= 0", name="credits_nonnegative"),
    CheckConstraint(_in("operation", ("generation", "regeneration")), name="operation_valid"),
    CheckConstraint(_in("status", RESERVATION_STATUSES), name="status_valid"),
    UniqueConstraint("user_id", "idempotency_key"),
    Index("ix_credit_reservations_status_created_at", "status", "created_at"),
)

mockup_credit_usage = Table(
    "mockup_credit_usage",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    _user_fk(index=False),  # uq (user_id, year, seq) and ix (user_id, year, month) serve look-ups by user
    Column("mockup_id", String(36), ForeignKey("mockups.id", ondelete="SET NULL"), index=True),
    Column("reservation_id", String(36), ForeignKey("credit_reservations.id", ondelete="SET NULL"), index=True),
    # Positive for generation and regeneration, negative for a refund.
    Column("credits", Integer, nullable=False),
    Column("operation", String(20), nullable=False),
    Column("renderer", String(32)),
    Column("scene", String(64)),
    # Credits used this year before and after this row; each row's before is the previous after.
    Column("balance_before", Integer, nullable=False),
    Column("balance_after", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
    CheckConstraint(_in("operation", CREDIT_OPERATIONS), name="operation_valid"),
    CheckConstraint("month BETWEEN 1 AND 12", name="month_valid"),
    CheckConstraint("balance_after = balance_before + credits", name="balance_chains"),
    UniqueConstraint("user_id", "year", "seq"),
    Index("ix_mockup_credit_usage_user_id_year_month", "user_id", "year", "month"),
)

products = Table(
    "products",
    metadata,
    _id(),
    _user_fk(),
    Column("asset_id", String(36), ForeignKey("assets.id", ondelete="SET NULL")),
    Column("quote_id", String(36), ForeignKey("quotes.id", ondelete="SET NULL")),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    Column("handle", String(255), nullable=False),
    Column("status", String(20), nullable=False, default="draft", server_default=text("'draft'")),
    Column("collection", String(20)),
    Column("vendor", String(100), nullable=False, default="Haven & Hold", server_default=text("'Haven & Hold'")),
    Column("product_type", String(100), nullable=False, default="Print", server_default=text("'Print'")),
    Column("tags", JSON, nullable=False, default=list),
    Column("shopify_product_id", String(64)),
    Column("shopify_product_gid", String(128)),
    Column("shopify_handle", String(255)),
    Column("retire_reason", String(20)),
    Column("retired_at", DateTime(timezone=True)),
    Column("published_at", DateTime(timezone=True)),
    Column("views", Integer, nullable=False, default=0, server_default=text("0")),
    Column("orders", Integer, nullable=False, default=0, server_default=text("0")),
    Column("revenue", Numeric(12, 2), nullable=False, default=0, server_default=text("0")),
    Column("last_synced_at", DateTime(timezone=True)),
    Column("sync_error", Text),
    # The digest of the last productSet input the shop accepted (domain.shopify_input.product_set_digest;
    # recorded in dry run too): a catalogue run sends a product again only when its input differs.
    Column("published_digest", String(64)),
    # Which kind of publish wrote published_digest and the images' media ids: live or dry_run. A live
    # run trusts only live state.
    Column("published_mode", String(10)),
    # When the product was found deleted on Shopify: catalogue runs report it and never recreate it.
    Column("shopify_deleted_at", DateTime(timezone=True)),
    *_timestamps(),
    CheckConstraint(_in("status", PRODUCT_STATUSES), name="status_valid"),
    CheckConstraint(f"collection IS NULL OR {_in('collection', COLLECTIONS)}", name="collection_valid"),
    CheckConstraint(f"retire_reason IS NULL OR {_in('retire_reason', RETIRE_REASONS)}", name="retire_reason_valid"),
    UniqueConstraint("user_id", "handle"),
    # One automatically built product per design (NULL asset ids are not compared).
    UniqueConstraint("user_id", "asset_id"),
    Index("ix_products_user_id_status", "user_id", "status"),
)

product_variants = Table(
    "product_variants",
    metadata,
    _id(),
    _user_fk(),
    Column("product_id", String(36), ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("size", String(20), nullable=False),
    Column("frame_style", String(30)),
    Column("price", Numeric(10, 2), nullable=False),
    Column("compare_at_price", Numeric(10, 2)),
    Column("sku", String(64), nullable=False, unique=True),
    Column("inventory_quantity", Integer, nullable=False, default=0, server_default=text("0")),
    Column("inventory_policy", String(10), nullable=False, default="continue", server_default=text("'continue'")),
    Column("is_digital", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("digital_file_url", Text),
    Column("position", Integer, nullable=False, default=0, server_default=text("0")),
    Column("shopify_variant_id", String(128)),
    *_timestamps(),
    CheckConstraint("price > 0", name="price_positive"),
    CheckConstraint("compare_at_price IS NULL OR compare_at_price > 0", name="compare_at_positive"),
    CheckConstraint(_in("inventory_policy", INVENTORY_POLICIES), name="inventory_policy_valid"),
)

product_images = Table(
    "product_images",
    metadata,
    _id(),
    _user_fk(),
    Column("product_id", String(36), ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("src", Text, nullable=False),
    Column("file_key", Text),
    Column("alt", Text),
    Column("source", String(10), nullable=False),
    Column("asset_id", String(36), ForeignKey("assets.id", ondelete="SET NULL")),
    Column("mockup_id", String(36), ForeignKey("mockups.id", ondelete="SET NULL")),
    # The MediaImage GID Shopify made from this image, and the SHA-256 of the bytes it was made from:
    # a re-publish references the file by id instead of uploading it again.
    Column("shopify_media_id", String(128)),
    Column("shopify_media_digest", String(64)),
    *_timestamps(),
    CheckConstraint(_in("source", IMAGE_SOURCES), name="source_valid"),
    UniqueConstraint("product_id", "position"),
)

product_pricing = Table(
    "product_pricing",
    metadata,
    _id(),
    # NULL for the system default rows; a user's rows override them per size.
    _user_fk(nullable=True),
    Column("size", String(20), nullable=False),
    Column("base_price", Numeric(10, 2), nullable=False),
    Column("framed_price", Numeric(10, 2), nullable=False),
    Column("digital_price", Numeric(10, 2), nullable=False),
    Column("cost", Numeric(10, 2), nullable=False),
    Column("is_system", Boolean, nullable=False, default=False, server_default=text("false")),
    *_timestamps(),
    CheckConstraint("(is_system AND user_id IS NULL) OR (NOT is_system AND user_id IS NOT NULL)", name="system_xor_user"),
    CheckConstraint("base_price > 0 AND framed_price > 0 AND digital_price > 0 AND cost >= 0", name="prices_positive"),
    Index("uq_product_pricing_system_size", "size", unique=True,
          sqlite_where=text("is_system"), postgresql_where=text("is_system")),
    UniqueConstraint("user_id", "size"),
)

approval_items = Table(
    "approval_items",
    metadata,
    _id(),
    _user_fk(),
    Column("type", String(20), nullable=False),
    Column("reference_id", String(36), nullable=False),
    Column("status", String(20), nullable=False, default="pending", server_default=text("'pending'")),
    Column("payload", JSON, nullable=False, default=dict),
    Column("collection", String(20)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_note", Text),
    # What the decision covers: the product's content digest or the mockup's image digest
    # (domain.approval). NULL for items from before digests were kept: they match nothing.
    Column("content_digest", String(64)),
    *_timestamps(),
    CheckConstraint(_in("type", APPROVAL_TYPES), name="type_valid"),
    CheckConstraint(_in("status", APPROVAL_STATUSES), name="status_valid"),
    UniqueConstraint("type", "reference_id"),
    Index("ix_approval_items_status_decided_at", "status", "decided_at"),
)

activity_log = Table(
    "activity_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    _user_fk(),
    Column("action", String(64), nullable=False),
    Column("entity_type", String(32)),
    Column("entity_id", String(36)),
    Column("details", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
)

retry_queue = Table(
    "retry_queue",
    metadata,
    _id(),
    _user_fk(),
    Column("operation", String(64), nullable=False),
    Column("entity_id", String(36), nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    Column("attempts", Integer, nullable=False, default=0, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, default=5, server_default=text("5")),
    Column("last_error", Text),
    Column("status", String(10), nullable=False, default="pending", server_default=text("'pending'")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, default=utcnow),
    *_timestamps(),
    CheckConstraint(_in("status", RETRY_STATUSES), name="status_valid"),
    Index("ix_retry_queue_status_next_attempt_at", "status", "next_attempt_at"),
)

integrations = Table(
    "integrations",
    metadata,
    _id(),
    _user_fk(),
    Column("provider", String(32), nullable=False),
    Column("account", String(255)),
    Column("status", String(20), nullable=False, default="connected", server_default=text("'connected'")),
    Column("settings", JSON, nullable=False, default=dict),
    # Fernet token of the credential; never the credential itself.
    Column("encrypted_credentials", Text),
    *_timestamps(),
    UniqueConstraint("user_id", "provider"),
)

shopify_outbox = Table(
    "shopify_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    _user_fk(),
    Column("product_id", String(36), ForeignKey("products.id", ondelete="SET NULL"), index=True),
    Column("operation", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Column("variables", JSON, nullable=False),
    Column("mode", String(10), nullable=False, default="dry_run"),
    Column("response", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
)

# One Shopify bulk publish (bulkOperationRunMutation): written before the operation starts, its
# Shopify id stored before the run waits for it, so that a run that dies collects its result next
# time instead of sending the products again. ``lines`` is the JSONL line order:
# ``[{"product_id", "digest"}, ...]`` (the digest of the content each line sent).
shopify_bulk_operations = Table(
    "shopify_bulk_operations",
    metadata,
    _id(),
    _user_fk(index=False),  # ix (user_id, status) serves look-ups by user
    Column("shop", String(255), nullable=False),
    Column("operation_gid", String(128)),
    Column("status", String(10), nullable=False, default="starting", server_default=text("'starting'")),
    Column("shopify_status", String(16)),
    Column("lines", JSON, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("error", Text),
    Column("collected_at", DateTime(timezone=True)),
    *_timestamps(),
    CheckConstraint(_in("status", BULK_STATUSES), name="status_valid"),
    Index("ix_shopify_bulk_operations_user_id_status", "user_id", "status"),
)

# PostgreSQL's per-shop analyst logins (``haven db grant-analyst``): which user's usage each login
# reads. Not a tenant table: only the pipeline role and the owner touch it (migration 0008).
analyst_logins = Table(
    "analyst_logins",
    metadata,
    Column("login", String(63), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
