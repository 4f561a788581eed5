"""A realistic product for the Shopify tests and the benchmark, built by the real domain code.

The default catalogue profile gives 21 variants (five sizes, unframed and three frames, plus a
digital download) and 6 images (the design and five approved mockups), exactly what Haven publishes.
"""

from __future__ import annotations

import uuid
from typing import Any

from haven_pipelines.domain.catalogue import DesignInfo, MockupImage, ProductSpec, build_product_spec, load_catalogue_profile
from haven_pipelines.domain.scenes import SYSTEM_SCENES
from haven_pipelines.domain.shopify_input import product_set_identifier, product_set_input


def product_spec(n: int = 0, *, text: str | None = None) -> ProductSpec:
    """The ``n``-th demo product: stable ids, so the same ``n`` always gives the same handle and SKUs."""
    product_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"haven-test-product-{n}"))
    asset_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"haven-test-design-{n}"))
    design = DesignInfo(
        asset_id=asset_id,
        file_url=f"https://cdn.example.com/designs/{asset_id}.png",
        text=text or f"Be still and know, number {n}",
        attribution="Psalm 46:10",
        collection="grounding",
        mood="calm",
    )
    mockups = [
        MockupImage(
            mockup_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"haven-test-mockup-{n}-{scene.key}")),
            scene=scene.key,
            status="approved",
            file_url=f"https://cdn.example.com/mockups/{asset_id}/{scene.key}.jpg",
        )
        for scene in SYSTEM_SCENES
    ]
    return build_product_spec(load_catalogue_profile(), design, mockups, {}, None, product_id)


def product_set_variables(n: int = 0, *, gid: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """``(input, identifier)`` for ``productSet``, as the product service builds them."""
    spec = product_spec(n)
    urls = [image.src for image in spec.images]
    return product_set_input(spec, image_urls=urls, status="ACTIVE"), product_set_identifier(gid, spec.handle)
