"""The services' wiring: one ``AppContext`` built from settings when a run or command starts.

Nothing here runs at import. ``build_context`` is what the Dagster resources and the CLI call, each
with the :class:`~haven_pipelines.settings.Settings` it resolved, so both build the same parts from
the same environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.blobstore import BlobStore, LocalBlobStore
from haven_pipelines.integrations.dynamic_mockups.download import DownloadPolicy
from haven_pipelines.settings import VARIABLES, Settings


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
    settings: Settings | None = None
    _closers: list = field(default_factory=list)

    def close(self) -> None:
        """Release connections and HTTP clients."""
        for closer in self._closers:
            closer()
        self.engine.dispose()


def build_context(
    settings: Settings | None = None,
    *,
    download_policy: DownloadPolicy | None = None,
    engine: Engine | None = None,
    blob: BlobStore | None = None,
    renderer_impl: Any = None,
    **overrides: Any,
) -> AppContext:
    """Build the context from ``settings`` (default: :meth:`Settings.from_env` with ``overrides``).

    Args:
        settings: the resolved settings; give either these or ``overrides``, not both.
        download_policy: which Dynamic Mockups export URLs may be fetched (default: the production
            rule, https from public hosts only). Only code can pass another one (tests reach a fake
            API on loopback this way); no environment variable loosens it.
        engine, blob, renderer_impl: ready parts that win over the settings (tests use them).
        overrides: single settings by field name (``database_url``, ``renderer``, ``data_dir``...).

    Raises:
        ValidationError: a bad setting, or the Dynamic Mockups renderer without an API key,
            naming the variable.
    """
    from haven_pipelines.domain.catalogue import load_catalogue_profile

    if settings is None:
        settings = Settings.from_env(**overrides)
    elif overrides:
        raise TypeError("give settings or single overrides, not both")
    closers: list = []
    try:
        if blob is None:
            blob = build_blob_store(settings)
        if renderer_impl is None:
            renderer_impl = _renderer(settings, download_policy, closers, blob)
    except BaseException:
        for closer in closers:  # a bad S3 setting must not leave the renderer's HTTP client open
            closer()
        raise
    engine = engine or create_engine(settings.database_url)
    return AppContext(
        engine=engine,
        blob_store=blob,
        ledger=CreditLedger(engine),
        renderer=renderer_impl,
        shopify_mode=settings.shopify_mode,
        shopify_base_url=settings.shopify_base_url,
        catalogue_profile=load_catalogue_profile(),
        settings=settings,
        _closers=closers,
    )


def build_blob_store(settings: Settings) -> BlobStore:
    """The image store the settings name: ``<data folder>/images`` or the S3 bucket."""
    if settings.blob_store == "s3":
        from haven_pipelines.integrations.s3 import S3BlobStore

        return S3BlobStore(
            settings.s3_bucket or "",
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            public_url_base=settings.s3_public_url_base,
            presign_seconds=settings.s3_presign_seconds,
        )
    return LocalBlobStore(settings.data_dir / "images")


def _renderer(settings: Settings, download_policy: DownloadPolicy | None, closers: list, blob: BlobStore) -> Any:
    """The renderer the settings name; a Dynamic Mockups client's ``close`` joins ``closers``.

    The local renderer reads photo scenes' photos from ``blob``."""
    from haven_pipelines.services.renderers import DynamicMockupsRenderer, LocalRendererAdapter

    if settings.renderer == "local":
        # Prepared rooms are kept in the data folder, so a new process does not draw them again.
        return LocalRendererAdapter(workers=settings.render_workers, room_cache=settings.data_dir / "rooms",
                                    photos=blob.get)
    from haven_pipelines.integrations.dynamic_mockups.client import DynamicMockupsClient

    if not settings.dynamic_mockups_api_key:
        raise ValidationError(VARIABLES["dynamic_mockups_api_key"], "the Dynamic Mockups renderer needs an API key")
    client = DynamicMockupsClient(settings.dynamic_mockups_api_key, base_url=settings.dynamic_mockups_base_url,
                                  download_policy=download_policy)
    closers.append(client.close)
    return DynamicMockupsRenderer(client, workers=settings.render_workers or 4)
