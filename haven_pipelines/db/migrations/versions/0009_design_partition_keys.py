"""Each design gets a readable, stable Dagster partition key: ``assets.partition_key``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

The key is ``<quote slug>-<first 8 hex digits of the id>`` (``roots-before-branches-6e714a3a``), with
more hex digits only where two designs would otherwise share one; unique across users. Existing
designs get theirs here, oldest first (so an older design keeps the shorter key), computed from the
quote text they have now. From then on the store sets it when a design is created and nothing
changes it. Partitions already in a Dagster instance are keyed by the bare id: ``haven pipeline
migrate-partitions`` (or the next ``haven pipeline run``) moves them to these keys.

On PostgreSQL the table has forced row-level security (migration 0008): unless the migrating role
bypasses it, the backfill runs as the pipeline role, which sees every user's rows, and switches
back before Alembic records the revision.
"""

import os
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Migrations stay frozen: the key rule of haven_pipelines.domain.labels (as of this revision) is
# repeated here rather than imported, so a later change of the rule cannot rewrite this backfill.
SLUG_CHARS = 24
# Each character's width in the Dagster UI's partition list, and the widest key shown whole (the sum
# of its characters' widths, px).
KEY_CHAR_WIDTHS = {
    "a": 7.98, "b": 8.37, "c": 7.73, "d": 8.37, "e": 7.94, "f": 5.57, "g": 8.36, "h": 8.13, "i": 3.42,
    "j": 3.64, "k": 8.26, "l": 3.98, "m": 12.28, "n": 8.13, "o": 8.11, "p": 8.37, "q": 8.37, "r": 5.35,
    "s": 7.42, "t": 5.53, "u": 8.05, "v": 7.50, "w": 11.47, "x": 8.19, "y": 7.52, "z": 7.69, "-": 5.95,
    "0": 9.39, "1": 5.38, "2": 8.67, "3": 8.58, "4": 8.89, "5": 8.76, "6": 8.74, "7": 8.18, "8": 8.46,
    "9": 8.74,
}
KEY_WIDTH_PX = 222.6
KEY_ID_LENGTHS = (8, 12, 16, 20, 24, 28, 32)
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Latin letters that Unicode does not decompose into an ASCII letter and a mark.
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ø": "o", "Ø": "O", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i"})
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
_BATCH = 500


def _width(text):
    widest = max(KEY_CHAR_WIDTHS.values())
    return sum(KEY_CHAR_WIDTHS.get(ch, widest) for ch in text)


def _slug(text, width):
    ascii_text = unicodedata.normalize("NFKD", (text or "").translate(_LETTERS)).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALNUM.sub("-", _APOSTROPHES.sub("", ascii_text).lower()).strip("-")
    if len(slug) > SLUG_CHARS:
        cut = slug[: SLUG_CHARS + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:SLUG_CHARS]
    slug = slug.strip("-")
    if _width(slug) > width:
        words = slug.split("-")
        while len(words) > 1 and _width("-".join(words)) > width:
            words.pop()
        slug = "-".join(words)
        while len(slug) > 1 and _width(slug) > width:
            slug = slug[:-1]
    return slug or "design"


def _key(text, asset_id, taken):
    digits = re.sub(r"[^0-9a-f]", "", asset_id.lower()) or asset_id.encode().hex()
    slug = _slug(text, KEY_WIDTH_PX - _width("-" + digits[: KEY_ID_LENGTHS[0]]))
    for n in KEY_ID_LENGTHS:
        key = f"{slug}-{digits[:n]}"
        if key not in taken:
            return key
    return f"{slug}-{asset_id.encode().hex()}"[:80]  # not reached for distinct UUIDs


def _pipeline_role():
    prefix = (os.environ.get("HAVEN_DB_ROLE_PREFIX") or "haven_").strip()
    if not _NAME.match(prefix):
        raise ValueError(f"HAVEN_DB_ROLE_PREFIX: must be lower-case letters, digits and _ (at most 40), got {prefix!r}")
    return f"{prefix}pipeline"


def upgrade() -> None:
    bind = op.get_bind()
    # Plain ALTERs on both backends: a batch (copy-and-drop) of ``assets`` on SQLite would cascade
    # the drop to every mockup (foreign keys are on, and cannot be turned off inside the migration's
    # transaction). So the column stays nullable in the schema; the store always sets it.
    op.add_column("assets", sa.Column("partition_key", sa.String(length=80), nullable=True))
    switched = False
    if bind.dialect.name == "postgresql":
        bypass = bind.execute(sa.text(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar()
        if not bypass:
            bind.execute(sa.text("SELECT set_config('role', :role, true)"), {"role": _pipeline_role()})
            switched = True
    rows = bind.execute(sa.text(
        "SELECT a.id, q.text FROM assets a LEFT JOIN quotes q ON q.id = a.quote_id "
        "ORDER BY a.created_at, a.id")).all()
    taken: set[str] = set()
    updates = []
    for asset_id, text in rows:
        key = _key(text, asset_id, taken)
        taken.add(key)
        updates.append({"k": key, "i": asset_id})
    for start in range(0, len(updates), _BATCH):
        bind.execute(sa.text("UPDATE assets SET partition_key = :k WHERE id = :i"), updates[start : start + _BATCH])
    if switched:
        bind.execute(sa.text("RESET ROLE"))
    op.create_index("uq_assets_partition_key", "assets", ["partition_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_assets_partition_key", table_name="assets")
    op.drop_column("assets", "partition_key")  # SQLite 3.35+ drops a column in place
