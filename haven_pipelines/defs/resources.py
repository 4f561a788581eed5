"""Dagster resources: one per outside system, together producing the services' ``AppContext``.

Every setting may be given as resource config (``dg.EnvVar`` where a deployment binds a secret) and
is otherwise read from the environment **when a run or sensor tick starts** (never at import), so
the embedded default (SQLite, local renderer, local images, Shopify dry run) needs no variable set.
``dg.EnvVar`` itself fails when its variable is unset, which is why the optional settings fall back
through :func:`_env` instead of binding ``EnvVar`` unconditionally.

| resource | setting | environment fallback | default |
| --- | --- | --- | --- |
| ``HavenDatabaseResource`` | ``url`` | ``HAVEN_DATABASE_URL`` | SQLite in ``HAVEN_DATA_DIR`` |
| ``RendererResource`` | ``kind``, ``api_key``, ``base_url``, ``workers`` | ``HAVEN_RENDERER``, ``DYNAMIC_MOCKUPS_API_KEY``, ``DYNAMIC_MOCKUPS_BASE_URL``, ``HAVEN_RENDER_WORKERS`` | local, no key |
| ``BlobStoreResource`` | ``kind``, ``s3_bucket``, ``s3_endpoint_url``, ``s3_public_url_base``, ``data_dir`` | ``HAVEN_BLOB_STORE``, ``HAVEN_S3_BUCKET``, ``HAVEN_S3_ENDPOINT_URL``, ``HAVEN_S3_PUBLIC_URL_BASE``, ``HAVEN_DATA_DIR`` | local folder |
| ``ShopifyResource`` | ``mode``, ``base_url`` | ``HAVEN_SHOPIFY_MODE``, ``HAVEN_SHOPIFY_BASE_URL`` | auto (dry run without credentials) |
"""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from haven_pipelines.domain.credits import CreditUsage
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.services.context import AppContext, build_context
from haven_pipelines.services.render import check_budget

RENDERER_KINDS = ("local", "dynamic_mockups")
BLOB_STORE_KINDS = ("local", "s3")
SHOPIFY_MODES = ("auto", "dry_run", "live")


def _env(name: str) -> str | None:
    """The variable's value, or None when unset or empty (read at call time)."""
    return dg.EnvVar(name).get_value() or None


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(field, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


class HavenDatabaseResource(dg.ConfigurableResource):
    """The application database (SQLite by default, PostgreSQL in a real deployment).

    ``url`` may carry a password: bind it with ``dg.EnvVar("HAVEN_DATABASE_URL")`` rather than
    writing it into config; it is never logged (see ``redact_url``).
    """

    url: str | None = None

    def resolved_url(self) -> str | None:
        """The configured URL, else ``HAVEN_DATABASE_URL``; None lets the services use their default."""
        return self.url or _env("HAVEN_DATABASE_URL")


class RendererResource(dg.ConfigurableResource):
    """Which renderer draws mockups: the local Pillow compositor (free, offline) or Dynamic Mockups."""

    kind: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    workers: int | None = None

    def settings(self) -> dict[str, object]:
        """Keyword arguments for ``build_context``; the API key is never returned anywhere else."""
        kind = _choice("renderer.kind", self.kind or _env("HAVEN_RENDERER") or "local", RENDERER_KINDS)
        workers = self.workers
        if workers is None and _env("HAVEN_RENDER_WORKERS"):
            try:
                workers = int(_env("HAVEN_RENDER_WORKERS") or "")
            except ValueError:
                raise ValidationError("HAVEN_RENDER_WORKERS", "must be a whole number") from None
        if workers is not None and workers < 1:
            raise ValidationError("renderer.workers", f"must be at least 1, got {workers}")
        api_key = self.api_key or _env("DYNAMIC_MOCKUPS_API_KEY")
        if kind == "dynamic_mockups" and not api_key:
            raise ValidationError("renderer.api_key", "Dynamic Mockups needs an API key (DYNAMIC_MOCKUPS_API_KEY)")
        return {
            "renderer": kind,
            "dynamic_mockups_api_key": api_key,
            "dynamic_mockups_base_url": self.base_url or _env("DYNAMIC_MOCKUPS_BASE_URL"),
            "workers": workers,
        }


class BlobStoreResource(dg.ConfigurableResource):
    """Where images live: a local folder (default) or an S3-compatible bucket (S3, R2, MinIO)."""

    kind: str | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_public_url_base: str | None = None
    data_dir: str | None = None

    def settings(self) -> dict[str, object]:
        """Keyword arguments for ``build_context`` (S3 credentials stay with boto3's own chain)."""
        kind = _choice("blob_store.kind", self.kind or _env("HAVEN_BLOB_STORE") or "local", BLOB_STORE_KINDS)
        bucket = self.s3_bucket or _env("HAVEN_S3_BUCKET")
        if kind == "s3" and not bucket:
            raise ValidationError("blob_store.s3_bucket", "an S3 blob store needs a bucket (HAVEN_S3_BUCKET)")
        return {
            "blob_store": kind,
            "s3_bucket": bucket,
            "s3_endpoint_url": self.s3_endpoint_url or _env("HAVEN_S3_ENDPOINT_URL"),
            "s3_public_url_base": self.s3_public_url_base or _env("HAVEN_S3_PUBLIC_URL_BASE"),
            "data_dir": self.data_dir or _env("HAVEN_DATA_DIR"),
        }


class ShopifyResource(dg.ConfigurableResource):
    """Shopify Admin GraphQL: ``dry_run`` records every mutation, ``live`` sends it, ``auto`` picks
    live only for users with a connected Shopify integration."""

    mode: str | None = None
    base_url: str | None = None

    def settings(self) -> dict[str, object]:
        """Keyword arguments for ``build_context``."""
        mode = _choice("shopify.mode", self.mode or _env("HAVEN_SHOPIFY_MODE") or "auto", SHOPIFY_MODES)
        return {"shopify_mode": mode, "shopify_base_url": self.base_url or _env("HAVEN_SHOPIFY_BASE_URL")}


class HavenResource(dg.ConfigurableResource):
    """The services' ``AppContext`` (engine, blob store, ledger, renderer, Shopify), built once per
    run or sensor tick from the four resources it holds, and closed when the run ends."""

    # Dagster treats nested resources as required: give all four (definitions.build_resources does).
    database: HavenDatabaseResource
    renderer: RendererResource
    blob_store: BlobStoreResource
    shopify: ShopifyResource

    _ctx: AppContext | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Resolve settings and build the context; bad settings fail here, naming the field."""
        self._ctx = build_context(
            database_url=self.database.resolved_url(),
            **self.renderer.settings(),
            **self.blob_store.settings(),
            **self.shopify.settings(),
        )

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
