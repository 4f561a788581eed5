"""What the Dagster UI shows of a design: its label, its mockups as small inline images, its product.

The UI renders Markdown metadata, but only images it can fetch: a ``file://`` link to the local image
folder never shows from an http page. So each image is either the bucket's permanent public URL (when
``HAVEN_S3_PUBLIC_URL_BASE`` is set) or, otherwise, a ``data:`` URI of a small JPEG embedded in the
metadata itself. The embedded copies are kept small (:data:`EMBED_SIDE` pixels, a few kilobytes each)
because Dagster stores metadata in its event log for good.

A missing or unreadable image is shown as text, never an error: a preview must not fail a run that
rendered and charged correctly.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.tables import assets, mockups, quotes
from haven_pipelines.db.tenancy import cross_tenant_connection
from haven_pipelines.domain.labels import design_label
from haven_pipelines.domain.errors import HavenError
from haven_pipelines.integrations.blobstore import BlobStore
from haven_pipelines.rendering.images import make_thumbnail

EMBED_SIDE = 160
EMBED_QUALITY = 70
# Mockups the gallery shows: what exists for people to see (failed renders have no image).
SHOWN_STATUSES = ("completed", "approved", "rejected")


@dataclass(frozen=True)
class SceneImage:
    """One mockup as the gallery shows it: its scene, status and an image source (or None)."""

    scene: str
    status: str
    src: str | None


def image_src(store: BlobStore, key: str | None, *, side: int = EMBED_SIDE) -> str | None:
    """A source the UI can load for the image under ``key``: the permanent public URL, else a
    ``data:image/jpeg`` URI of a copy at most ``side`` pixels on its longer side; None when the
    image cannot be read."""
    if not key:
        return None
    public = store.permanent_url(key)
    if public:
        return public
    try:
        small = make_thumbnail(store.get(key), max_side=side, quality=EMBED_QUALITY)
    except (HavenError, OSError):  # a missing file or bad bytes: a preview never fails the run
        return None
    return "data:image/jpeg;base64," + base64.b64encode(small.data).decode("ascii")


def design_labels(engine: Engine, asset_ids: Iterable[str]) -> dict[str, str]:
    """Each design's label (:func:`~haven_pipelines.domain.labels.design_label`), by id.

    A system read across users, like the other partition lookups: labels are for the orchestration
    layer, which acts for everyone. Unknown ids get the plain ``design <id>`` label.
    """
    ids = list(dict.fromkeys(asset_ids))
    found: dict[str, str | None] = {}
    with cross_tenant_connection(engine) as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(
                select(assets.c.id, quotes.c.text)
                .select_from(assets.outerjoin(quotes, quotes.c.id == assets.c.quote_id))
                .where(assets.c.id.in_(chunk))
            )
            found.update({r.id: r.text for r in rows})
    return {a: design_label(found.get(a), a) for a in ids}


def design_gallery(engine: Engine, store: BlobStore, asset_id: str) -> list[SceneImage]:
    """The design's current mockups, one per scene (the newest), in scene order, each with an image
    source from :func:`image_src` (its thumbnail). A system read, like the labels."""
    with cross_tenant_connection(engine) as conn:
        rows = conn.execute(
            select(mockups.c.scene, mockups.c.status, mockups.c.thumbnail_key, mockups.c.file_key)
            .where(mockups.c.asset_id == asset_id, mockups.c.status.in_(SHOWN_STATUSES))
            .order_by(mockups.c.scene, mockups.c.created_at.desc())
        ).all()
    newest: dict[str, SceneImage] = {}
    for row in rows:
        if row.scene not in newest:
            newest[row.scene] = SceneImage(row.scene, row.status, image_src(store, row.thumbnail_key or row.file_key))
    return list(newest.values())


def gallery_markdown(label: str, images: Sequence[SceneImage]) -> str:
    """Markdown for the UI: the design's label, then each mockup image with its scene under it."""
    if not images:
        return f"**{label}**\n\n_no mockup rendered yet_"
    parts = [f"**{label}**", ""]
    for image in images:
        picture = f"![{image.scene}]({image.src})" if image.src else "_image not readable_"
        parts += [picture, "", f"*{image.scene}* ({image.status})", ""]
    return "\n".join(parts).rstrip() + "\n"


def price_range(prices: Iterable[Decimal | str]) -> str | None:
    """``24.99 – 159.99`` (or one price when all are equal); None without prices."""
    values = sorted(Decimal(p) for p in prices)
    if not values:
        return None
    return f"{values[0]}" if values[0] == values[-1] else f"{values[0]} – {values[-1]}"


def product_markdown(store: BlobStore, label: str, title: str, image_key: str | None, prices: Iterable[Decimal | str]) -> str:
    """Markdown for the UI: the product's main image, its title and its price range."""
    src = image_src(store, image_key)
    span = price_range(prices)
    parts = [f"**{label}**", "", f"![main image of {title}]({src})" if src else "_no image_", "",
             f"*{title}*", "", f"price {span}" if span else "no variants"]
    return "\n".join(parts) + "\n"


def artwork_markdown(engine: Engine, store: BlobStore, asset_id: str, label: str) -> str:
    """Markdown for the UI: the design's own artwork (small), under its label (a system read)."""
    with cross_tenant_connection(engine) as conn:
        key = conn.execute(select(assets.c.file_key).where(assets.c.id == asset_id)).scalar()
    src = image_src(store, key)
    return f"**{label}**\n\n" + (f"![artwork]({src})\n" if src else "_artwork not readable_\n")


def design_product_markdown(engine: Engine, store: BlobStore, user_id: str, asset_id: str, label: str) -> str:
    """:func:`product_markdown` of the product built for the design (the user's), or a line saying
    there is none yet."""
    with engine.connect() as conn:
        detail = ProductStore(conn, user_id).find_by_asset(asset_id)
    if detail is None:
        return f"**{label}**\n\n_no product built yet_\n"
    main = detail.images[0]["file_key"] if detail.images else None
    return product_markdown(store, label, detail.product["title"], main, (v["price"] for v in detail.variants))
