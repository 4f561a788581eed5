"""Dagster resources: one per outside system, together producing the services' ``AppContext``.

Settings are resolved by :meth:`haven_pipelines.settings.Settings.from_env` **when a run or sensor
tick starts** (never at import): resource config, where given, overrides the field; the environment
gives the rest, with the same defaults and the same validation as the ``haven`` CLI, so the CLI and
a run always agree (``HAVEN_S3_BUCKET`` alone means S3 for both). The embedded default (SQLite,
local renderer, local images, Shopify dry run) needs no variable set. A deployment may bind a
secret with ``dg.EnvVar`` in config; left unset, the same variable is read at run start anyway.

| resource | config field | overrides (variable) |
| --- | --- | --- |
| ``HavenDatabaseResource`` | ``url`` | ``HAVEN_DATABASE_URL`` |
| ``RendererResource`` | ``kind``, ``api_key``, ``base_url``, ``workers`` | ``HAVEN_RENDERER``, ``DYNAMIC_MOCKUPS_API_KEY``, ``DYNAMIC_MOCKUPS_BASE_URL``, ``HAVEN_RENDER_WORKERS`` |
| ``BlobStoreResource`` | ``kind``, ``s3_bucket``, ``s3_endpoint_url``, ``s3_region``, ``s3_public_url_base``, ``s3_presign_seconds``, ``data_dir`` | ``HAVEN_BLOB_STORE``, ``HAVEN_S3_BUCKET``, ``HAVEN_S3_ENDPOINT_URL``, ``HAVEN_S3_REGION``, ``HAVEN_S3_PUBLIC_URL_BASE``, ``HAVEN_S3_PRESIGN_SECONDS``, ``HAVEN_DATA_DIR`` |
| ``ShopifyResource`` | ``mode``, ``base_url`` | ``HAVEN_SHOPIFY_MODE``, ``HAVEN_SHOPIFY_BASE_URL`` |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from haven_pipelines.domain.credits import CreditUsage
from haven_pipelines.services.context import AppContext, build_context
from haven_pipelines.services.render import check_budget, require_credits
from haven_pipelines.settings import Settings


class HavenDatabaseResource(dg.ConfigurableResource):
    """The application database (SQLite by default, PostgreSQL in a real deployment).

    ``url`` may carry a password: bind it with ``dg.EnvVar("HAVEN_DATABASE_URL")`` rather than
    writing it into config; it is never logged (see ``redact_url``).
    """

    url: str | None = None

    def overrides(self) -> dict[str, Any]:
        """The configured fields as ``Settings`` overrides (None: from the environment)."""
        return {"database_url": self.url}


class RendererResource(dg.ConfigurableResource):
    """Which renderer draws mockups: the local Pillow compositor (free, offline) or Dynamic Mockups."""

    kind: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    workers: int | None = None

    def overrides(self) -> dict[str, Any]:
        """The configured fields as ``Settings`` overrides (None: from the environment)."""
        return {"renderer": self.kind, "dynamic_mockups_api_key": self.api_key,
                "dynamic_mockups_base_url": self.base_url, "render_workers": self.workers}


class BlobStoreResource(dg.ConfigurableResource):
    """Where images live: a local folder (default) or an S3-compatible bucket (S3, R2, MinIO)."""

    kind: str | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_public_url_base: str | None = None
    s3_presign_seconds: int | None = None
    data_dir: str | None = None

    def overrides(self) -> dict[str, Any]:
        """The configured fields as ``Settings`` overrides (S3 credentials stay with boto3's own chain)."""
        return {"blob_store": self.kind, "s3_bucket": self.s3_bucket, "s3_endpoint_url": self.s3_endpoint_url,
                "s3_region": self.s3_region, "s3_public_url_base": self.s3_public_url_base,
                "s3_presign_seconds": self.s3_presign_seconds, "data_dir": self.data_dir}


class ShopifyResource(dg.ConfigurableResource):
    """Shopify Admin GraphQL: ``dry_run`` records every mutation, ``live`` sends it, ``auto`` picks
    live only for users with a connected Shopify integration."""

    mode: str | None = None
    base_url: str | None = None

    def overrides(self) -> dict[str, Any]:
        """The configured fields as ``Settings`` overrides (None: from the environment)."""
        return {"shopify_mode": self.mode, "shopify_base_url": self.base_url}


class HavenResource(dg.ConfigurableResource):
    """The services' ``AppContext`` (engine, blob store, ledger, renderer, Shopify), built once per
    run or sensor tick from the four resources it holds, and closed when the run ends."""

    # Dagster treats nested resources as required: give all four (definitions.build_resources does).
    database: HavenDatabaseResource
    renderer: RendererResource
    blob_store: BlobStoreResource
    shopify: ShopifyResource

    _ctx: AppContext | None = PrivateAttr(default=None)

    def resolve_settings(self) -> Settings:
        """The settings of this run: resource config over the environment, read now.

        Raises:
            ValidationError: a bad value, naming the variable (or the config field).
        """
        return Settings.from_env(**self.database.overrides(), **self.renderer.overrides(),
                                 **self.blob_store.overrides(), **self.shopify.overrides())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Resolve settings and build the context; bad settings fail here, naming the variable."""
        self._ctx = build_context(self.resolve_settings())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the engine's pool (SQLite files and Postgres connections are released)."""
        if self._ctx is not None:
            _close(self._ctx)
            self._ctx = None

    @property
    def ctx(self) -> AppContext:
        """The context; only valid while the resource is in use by a run or tick."""
        if self._ctx is None:
            raise RuntimeError("HavenResource used outside a run: call it from an asset, op, sensor or schedule")
        return self._ctx


def _close(ctx: AppContext) -> None:
    close = getattr(ctx, "close", None)
    if callable(close):
        close()
    else:
        ctx.engine.dispose()


class CreditBudgetResource(dg.ConfigurableResource):
    """The credit budget gate: answers "can this user spend N more credits this year?" from the
    ledger before a partition renders. The binding reservation happens per render inside the
    render service (a row-locked ledger update), so two concurrent runs can never overspend; this
    gate only stops a run early, before anything is rendered or charged."""

    haven: HavenResource

    def usage(self, user_id: str) -> CreditUsage:
        """The user's credit position for the current year and month."""
        return self.haven.ctx.ledger.usage(user_id)

    def check(self, user_id: str, credits: int) -> CreditUsage:
        """The user's usage when ``credits`` more fit the annual budget.

        Raises:
            BudgetExceeded: naming the requested and remaining credits; nothing is charged.
        """
        return check_budget(self.haven.ctx.ledger, user_id, credits, 1)

    def usages(self, user_ids: Sequence[str]) -> dict[str, CreditUsage]:
        """The credit positions of several users (current year and month), read in one statement."""
        return self.haven.ctx.ledger.usages(user_ids)

    @staticmethod
    def check_usage(usage: CreditUsage, credits: int) -> CreditUsage:
        """:meth:`check` against a usage already read (from :meth:`usages`).

        Raises:
            BudgetExceeded: naming the requested and remaining credits; nothing is charged.
        """
        return require_credits(usage, credits)
