"""Fixtures for the renderer tests: encoded sample images in every mode, and a small renderer."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from haven_pipelines.rendering.local import LocalRenderer, SceneCache

TEST_WIDTH = 600


def encode_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """Encode ``image`` in memory."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.fixture(scope="session")
def scene_cache() -> SceneCache:
    """One cache for the session: each scene is drawn once per width across all tests."""
    return SceneCache(maxsize=32)


@pytest.fixture
def renderer(scene_cache: SceneCache) -> LocalRenderer:
    """A renderer at a small width (the drawing is the same, only smaller and faster)."""
    return LocalRenderer(width=TEST_WIDTH, cache=scene_cache)


@pytest.fixture
def magenta_png() -> bytes:
    """A plain magenta artwork, 400x500: easy to find in a render."""
    return encode_bytes(Image.new("RGB", (400, 500), (230, 0, 230)))
