"""Fixtures for the Dagster layer: a migrated SQLite app database with approved designs, the
resources pointed at it, and an ephemeral Dagster instance."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image
from sqlalchemy import update

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.users import SettingsStore, get_or_create_user
from haven_pipelines.db.tables import assets
from haven_pipelines.defs.resources import (
    BlobStoreResource,
    HavenDatabaseResource,
    HavenResource,
    RendererResource,
    ShopifyResource,
)
from haven_pipelines.domain.keys import design_key
from haven_pipelines.services.context import build_context
from haven_pipelines.services.designs import partition_keys


# Dagster 1.13's own nested-resource code calls its deprecated InitResourceContext.dagster_run
# (dagster/_core/execution/context/init.py, replace_config); not ours to fix, so not an error here.
DAGSTER_NESTED_RESOURCE_WARNING = "ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"


def pytest_collection_modifyitems(items):
    """Apply the filter above to this folder's tests only."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings(DAGSTER_NESTED_RESOURCE_WARNING))


@dataclass
class AppDb:
    """A migrated app database and its data folder, with helpers to seed designs."""

    url: str
    data_dir: str

    def haven(self) -> HavenResource:
        """A HavenResource on this database and data folder (local renderer, dry run)."""
        return HavenResource(
            database=HavenDatabaseResource(url=self.url),
            renderer=RendererResource(kind="local"),
            blob_store=BlobStoreResource(kind="local", data_dir=self.data_dir),
            shopify=ShopifyResource(mode="dry_run"),
        )

    def user(self, email: str = "ops@example.com", *, mode: str = "autopilot", annual_budget: int = 3500) -> str:
        """A user with the given operator mode and budget; returns the id."""
        engine = create_engine(self.url)
        try:
            with engine.begin() as conn:
                user_id = get_or_create_user(conn, email)["id"]
                SettingsStore(conn, user_id).update(global_mode=mode, annual_mockup_budget=annual_budget)
        finally:
            engine.dispose()
        return user_id

    def designs(self, user_id: str, n: int, collection: str = "growth", approved: bool = True) -> list[str]:
        """``n`` designs with stored artwork for the user; returns their ids in approval order."""
        ctx = build_context(database_url=self.url, data_dir=self.data_dir)
        ids = []
        try:
            for i in range(n):
                buf = io.BytesIO()
                Image.new("RGB", (80, 100), (30 + i % 200, 90, 120)).save(buf, "PNG")
                data = buf.getvalue()
                with ctx.engine.begin() as conn:
                    store = DesignStore(conn, user_id)
                    quote = store.create_quote(f"Quote {i}", collection)
                    aid = store.create_asset("pending://", "pending", "png", 80, 100, quote["id"])["id"]
                stored = ctx.blob_store.put(design_key(user_id, aid, data, "png"), data, "image/png")
                with ctx.engine.begin() as conn:
                    conn.execute(update(assets).where(assets.c.id == aid).values(file_url=stored.url, file_key=stored.key))
                    if approved:
                        DesignStore(conn, user_id).approve_asset(aid)
                ids.append(aid)
        finally:
            ctx.engine.dispose()
        return ids

    def partition_keys(self, asset_ids: list[str]) -> list[str]:
        """The designs' partition keys (``quote-0-1a2b3c4d``...), in the same order."""
        engine = create_engine(self.url)
        try:
            keys = partition_keys(engine, asset_ids)
        finally:
            engine.dispose()
        return [keys[a] for a in asset_ids]


@pytest.fixture
def app_db(sqlite_url, tmp_path) -> AppDb:
    """A fresh migrated SQLite app database in the test's folder (a copy of the session's template)."""
    return AppDb(url=sqlite_url, data_dir=str(tmp_path / "data"))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An ephemeral Dagster instance (in memory), disposed after the test."""
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


class _PaidRenderer:
    """The local renderer, charging one credit per render (as Dynamic Mockups does), so that the
    budget gate can be tested offline."""

    def __init__(self, inner):
        self._inner = inner
        self.credits_per_render = 1

    def __getattr__(self, name):
        return getattr(self._inner, name)


class PaidHavenResource(HavenResource):
    """HavenResource whose renderer costs one credit per render."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self.ctx.renderer = _PaidRenderer(self.ctx.renderer)


def paid_haven(db: AppDb) -> PaidHavenResource:
    """A paid-renderer HavenResource on ``db``."""
    plain = db.haven()
    return PaidHavenResource(database=plain.database, renderer=plain.renderer, blob_store=plain.blob_store, shopify=plain.shopify)
