"""Fixtures for the service tests: an AppContext on a migrated database with a local image folder."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.domain.keys import design_key
from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.context import build_context


def png_bytes(size=(400, 500), color=(180, 120, 90)) -> bytes:
    """A small real PNG artwork."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class World:
    """A context plus helpers to make users and approved designs."""

    ctx: object

    def user(self, email: str, **settings) -> str:
        with self.ctx.engine.begin() as conn:
            user_id = get_or_create_user(conn, email)["id"]
            if settings:
                SettingsStore(conn, user_id).update(**settings)
        return user_id

    def design(self, user_id: str, *, collection: str = "grounding", approved: bool = True, data: bytes | None = None) -> str:
        data = data or png_bytes()
        with self.ctx.engine.begin() as conn:
            store = DesignStore(conn, user_id)
            quote = store.create_quote("Rest is a form of courage", collection, mood="calm")
            asset = store.create_asset("pending://", "pending", "png", 400, 500, quote_id=quote["id"])
            key = design_key(user_id, asset["id"], data, "png")
            stored = self.ctx.blob_store.put(key, data, "image/png")
            from sqlalchemy import update

            from haven_pipelines.db.tables import assets

            conn.execute(update(assets).where(assets.c.id == asset["id"]).values(file_url=stored.url, file_key=key))
            if approved:
                store.approve_asset(asset["id"])
        return asset["id"]


@pytest.fixture
def world(engine, tmp_path):
    """An AppContext on the ``engine`` fixture's database (SQLite and PostgreSQL), local renderer at 600 px."""
    from haven_pipelines.services.renderers import LocalRendererAdapter

    renderer = LocalRendererAdapter(workers=2, width=600)  # small renders keep the suite fast; the size rule is tested in rendering/
    ctx = build_context(engine=engine, blob=LocalBlobStore(tmp_path / "images"), renderer_impl=renderer)
    yield World(ctx)
