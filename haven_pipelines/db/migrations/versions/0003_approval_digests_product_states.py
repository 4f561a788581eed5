"""Approvals of definite content, and product states that say what they mean.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

- ``approval_items.content_digest``: what a decision covers (the product's content digest or the
  mockup's image digest, see ``haven_pipelines.domain.approval``). Items decided before this
  revision have none, and a missing digest matches no content: the first catalogue run after the
  upgrade asks for each product's approval once more, with the content it would publish.
- ``products.published_digest``: the digest of what the last successful publish sent, so that a
  catalogue run publishes only what changed.
- Product states: ``pending`` meant two things, "awaiting approval" (Haven Hub's meaning) and "the
  last sync failed" (this port's ``set_sync_error``). It becomes ``sync_error`` where a sync error
  is recorded and ``awaiting_approval`` otherwise; a ``draft`` whose approval item waits becomes
  ``awaiting_approval``, and a ``draft`` already approved becomes ``approved``. The new states:
  draft, awaiting_approval, approved, active, sync_error, retired, archived.

Downgrade maps ``sync_error`` and ``awaiting_approval`` back to ``pending`` and ``approved`` back to
``draft`` (what 0002 had), then drops the two columns.
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_STATES = ("draft", "awaiting_approval", "approved", "active", "sync_error", "retired", "archived")
OLD_STATES = ("draft", "pending", "active", "retired", "archived")


def _check(states: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def _item_status_is(status: str) -> str:
    """SQL: the product's approval item has ``status`` (same text on SQLite and PostgreSQL)."""
    return (
        "EXISTS (SELECT 1 FROM approval_items a WHERE a.type = 'product' AND a.reference_id = products.id "
        f"AND a.status = '{status}')"
    )


def upgrade() -> None:
    with op.batch_alter_table("approval_items") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("published_digest", sa.String(length=64), nullable=True))
        batch.drop_constraint(op.f("ck_products_status_valid"), type_="check")
    op.execute("UPDATE products SET status = 'sync_error' WHERE status = 'pending' AND sync_error IS NOT NULL")
    op.execute("UPDATE products SET status = 'awaiting_approval' WHERE status = 'pending'")
    op.execute(f"UPDATE products SET status = 'awaiting_approval' WHERE status = 'draft' AND {_item_status_is('pending')}")
    op.execute(f"UPDATE products SET status = 'approved' WHERE status = 'draft' AND {_item_status_is('approved')}")
    with op.batch_alter_table("products") as batch:
        batch.create_check_constraint(op.f("ck_products_status_valid"), _check(NEW_STATES))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint(op.f("ck_products_status_valid"), type_="check")
    op.execute("UPDATE products SET status = 'pending' WHERE status IN ('sync_error', 'awaiting_approval')")
    op.execute("UPDATE products SET status = 'draft' WHERE status = 'approved'")
    with op.batch_alter_table("products") as batch:
        batch.create_check_constraint(op.f("ck_products_status_valid"), _check(OLD_STATES))
        batch.drop_column("published_digest")
    with op.batch_alter_table("approval_items") as batch:
        batch.drop_column("content_digest")
