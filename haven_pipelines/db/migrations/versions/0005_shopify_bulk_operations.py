"""Shopify bulk publishes, remembered so that a run that dies collects the result instead of resending.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``shopify_bulk_operations``: one row per ``bulkOperationRunMutation`` a catalogue run starts: the
shop, Shopify's operation GID (stored before the run waits), the line order (product id and content
digest of each JSONL line), and whether the result was applied (see
``haven_pipelines.services.bulk_publish``).
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopify_bulk_operations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("operation_gid", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=10), server_default=sa.text("'starting'"), nullable=False),
        sa.Column("shopify_status", sa.String(length=16), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('starting', 'running', 'collected', 'abandoned')",
            name=op.f("ck_shopify_bulk_operations_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_shopify_bulk_operations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_bulk_operations")),
    )
    with op.batch_alter_table("shopify_bulk_operations", schema=None) as batch_op:
        batch_op.create_index("ix_shopify_bulk_operations_user_id_status", ["user_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shopify_bulk_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_shopify_bulk_operations_user_id_status")
    op.drop_table("shopify_bulk_operations")
