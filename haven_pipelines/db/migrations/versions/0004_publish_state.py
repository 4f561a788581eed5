"""What the shop has: the input digest of each product's last productSet, and each image's Shopify media.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- ``products.published_digest`` now holds the digest of the last ``productSet`` input the shop
  accepted (``haven_pipelines.domain.shopify_input.product_set_digest``), no longer the approval
  content digest: it covers everything sent (unit costs, status, options), not only what a customer
  sees. Existing values are cleared, so the first run after the upgrade sends each product once and
  learns its media ids; after that an unchanged product sends nothing.
- ``products.published_mode``: ``live`` or ``dry_run``, which kind of publish wrote
  ``published_digest`` and the media ids. A live run trusts only live state, so a dry run never
  makes a live run skip what the shop has not seen.
- ``products.shopify_deleted_at``: when the product was found deleted on Shopify. Catalogue runs do
  not recreate it; an operator's ``haven products publish`` does, and clears it.
- ``product_images.shopify_media_digest``: the SHA-256 of the bytes the image's Shopify media
  (``shopify_media_id``, a ``MediaImage`` GID) was made from.
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("published_mode", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("shopify_deleted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("product_images") as batch:
        batch.add_column(sa.Column("shopify_media_digest", sa.String(length=64), nullable=True))
    # The old values are approval content digests: they match no input digest, so clear them.
    op.execute("UPDATE products SET published_digest = NULL")


def downgrade() -> None:
    with op.batch_alter_table("product_images") as batch:
        batch.drop_column("shopify_media_digest")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("shopify_deleted_at")
        batch.drop_column("published_mode")
    # 0003 compared content digests: an input digest would never match, so leave none behind.
    op.execute("UPDATE products SET published_digest = NULL")
