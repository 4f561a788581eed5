"""The services' wiring: one ``AppContext`` built from settings when a run or command starts.

Nothing here runs at import. ``build_context`` is what the Dagster resources and the CLI call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from haven_pipelines import settings
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.blobstore import BlobStore, LocalBlobStore, make_blob_store


@dataclass
class AppContext:
    """Everything a use case needs: database, image storage, ledger, renderer, Shopify, catalogue."""

    engine: Engine
    blob_store: BlobStore
    ledger: CreditLedger
    renderer: Any
    shopify_mode: str = "auto"
    shopify_base_url: str | None = None
    catalogue_profile: Any = None
    _closers: list = field(default_factory=list)

    def close(self) -> None:
        """Release connections and HTTP clients."""
        for closer in self._closers:
            closer()
        self.engine.dispose()


def build_context(
    *,
    database_url: str | None = None,
    renderer: str = "local",
    dynamic_mockups_api_key: str | None = None,
    dynamic_mockups_base_url: str | None = None,
    blob_store: str = "local",
    s3_bucket: str | None = None,
    s3_endpoint_url: str | None = None,
    s3_public_url_base: str | None = None,
    data_dir: str | None = None,
    shopify_mode: str = "auto",
    shopify_base_url: str | None = None,
    workers: int | None = None,
    allow_insecure_downloads: bool = False,
    engine: Engine | None = None,
    blob: BlobStore | None = None,
    renderer_impl: Any = None,
) -> AppContext:
    """Build the context from settings (the explicit ``engine``/``blob``/``renderer_impl`` win; tests use them).

    ``allow_insecure_downloads`` lets Dynamic Mockups exports come over http from loopback: for the
    local fake API in tests only, never in a deployment.

    Raises:
        ValidationError: an unknown renderer, blob store or Shopify mode, naming the setting.
    """
    from haven_pipelines.domain.catalogue import load_catalogue_profile
    from haven_pipelines.services.renderers import DynamicMockupsRenderer, LocalRendererAdapter

    if shopify_mode not in ("auto", "dry_run", "live"):
        raise ValidationError("shopify_mode", f"must be auto, dry_run or live, got {shopify_mode!r}")
    engine = engine or create_engine(database_url)
    closers: list = []
    if blob is None:
        if blob_store == "local":
            root = Path(data_dir) if data_dir else settings.data_dir()
            blob = LocalBlobStore(root / "images")
        elif blob_store == "s3":
            env = dict(os.environ)
            env.update({k: v for k, v in {"HAVEN_S3_BUCKET": s3_bucket, "HAVEN_S3_ENDPOINT_URL": s3_endpoint_url,
                                          "HAVEN_S3_PUBLIC_URL_BASE": s3_public_url_base}.items() if v})
            blob = make_blob_store(env)
        else:
            raise ValidationError("blob_store", f"must be local or s3, got {blob_store!r}")
    if renderer_impl is None:
        if renderer == "local":
            renderer_impl = LocalRendererAdapter(workers=workers)
        elif renderer == "dynamic_mockups":
            from haven_pipelines.integrations.dynamic_mockups.client import DEFAULT_BASE_URL, DynamicMockupsClient

            if not dynamic_mockups_api_key:
                raise ValidationError("DYNAMIC_MOCKUPS_API_KEY", "the Dynamic Mockups renderer needs an API key")
            client = DynamicMockupsClient(dynamic_mockups_api_key, base_url=dynamic_mockups_base_url or DEFAULT_BASE_URL)
            closers.append(client.close)
            renderer_impl = DynamicMockupsRenderer(client, workers=workers or 4,
                                                   allow_insecure_downloads=allow_insecure_downloads)
        else:
            raise ValidationError("renderer", f"must be local or dynamic_mockups, got {renderer!r}")
    return AppContext(
        engine=engine,
        blob_store=blob,
        ledger=CreditLedger(engine),
        renderer=renderer_impl,
        shopify_mode=shopify_mode,
        shopify_base_url=shopify_base_url,
        catalogue_profile=load_catalogue_profile(),
        _closers=closers,
    )
