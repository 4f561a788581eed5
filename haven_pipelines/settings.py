"""The one configuration of Haven Pipelines, read from the environment when called (never at import).

The CLI (``haven``), the Dagster resources (when a run or sensor tick starts), the nightly schedule
(when the definitions are built) and the scripts all resolve their settings here, so that one
environment means one behaviour everywhere. Resource config and code may override single fields
(:meth:`Settings.from_env` keyword arguments); the environment fills the rest.

Every variable, its default and its meaning is in the README's configuration table; ``VARIABLES``
maps each field to its variable. A bad value raises
:class:`~haven_pipelines.domain.errors.ValidationError` naming the variable (or, for an override,
the field) and the reason. Secrets (the Dynamic Mockups key, a database password) never appear in
``repr``; of ``HAVEN_SECRET_KEY`` only its presence is kept, the key itself is read by
:mod:`haven_pipelines.db.crypto` when a credential is encrypted or decrypted.

``python -m haven_pipelines.settings`` prints the resolved settings (secrets masked) and exits 1 on
a bad value: the scripts run it before anything else.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from haven_pipelines.domain.errors import ValidationError

RENDERERS = ("local", "dynamic_mockups")
BLOB_STORES = ("local", "s3")
SHOPIFY_MODES = ("auto", "dry_run", "live")
DEFAULT_NIGHTLY_HOUR = 2
DEFAULT_SHOP_TIMEZONE = "UTC"
#: More products than this to send (or to check) in one run go through one Shopify bulk operation.
DEFAULT_SHOPIFY_BULK_THRESHOLD = 250
DEFAULT_DB_ROLE_PREFIX = "haven_"
_ROLE_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")

#: Settings field -> the environment variable it is read from.
VARIABLES: dict[str, str] = {
    "data_dir": "HAVEN_DATA_DIR",
    "database_url": "HAVEN_DATABASE_URL",
    "secret_key_set": "HAVEN_SECRET_KEY",
    "shopify_schema": "HAVEN_SHOPIFY_SCHEMA",
    "renderer": "HAVEN_RENDERER",
    "render_workers": "HAVEN_RENDER_WORKERS",
    "dynamic_mockups_api_key": "DYNAMIC_MOCKUPS_API_KEY",
    "dynamic_mockups_base_url": "DYNAMIC_MOCKUPS_BASE_URL",
    "blob_store": "HAVEN_BLOB_STORE",
    "s3_bucket": "HAVEN_S3_BUCKET",
    "s3_endpoint_url": "HAVEN_S3_ENDPOINT_URL",
    "s3_region": "HAVEN_S3_REGION",
    "s3_public_url_base": "HAVEN_S3_PUBLIC_URL_BASE",
    "s3_presign_seconds": "HAVEN_S3_PRESIGN_SECONDS",
    "shopify_mode": "HAVEN_SHOPIFY_MODE",
    "shopify_base_url": "HAVEN_SHOPIFY_BASE_URL",
    "shopify_bulk_threshold": "HAVEN_SHOPIFY_BULK_THRESHOLD",
    "nightly_hour": "HAVEN_NIGHTLY_HOUR",
    "shop_timezone": "HAVEN_SHOP_TIMEZONE",
    "db_role_prefix": "HAVEN_DB_ROLE_PREFIX",
}


@dataclass(frozen=True, repr=False)
class Settings:
    """Every setting of the application, typed and validated. Build it with :meth:`from_env`.

    ``render_workers`` None means the renderer's own default (the cores for the local compositor,
    4 for Dynamic Mockups); ``shopify_schema`` None means the copy the package ships.
    """

    data_dir: Path
    database_url: str
    secret_key_set: bool
    shopify_schema: Path | None
    renderer: str
    render_workers: int | None
    dynamic_mockups_api_key: str | None
    dynamic_mockups_base_url: str
    blob_store: str
    s3_bucket: str | None
    s3_endpoint_url: str | None
    s3_region: str | None
    s3_public_url_base: str | None
    s3_presign_seconds: int | None
    shopify_mode: str
    shopify_base_url: str | None
    shopify_bulk_threshold: int
    nightly_hour: int
    shop_timezone: str
    db_role_prefix: str = DEFAULT_DB_ROLE_PREFIX

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The settings from ``environ`` (default: ``os.environ``, read now), with ``overrides`` on top.

        Args:
            environ: the variables to read; an empty value counts as unset.
            overrides: field name -> value (resource config, code); None means "not given". A
                value may be given as text, as in the environment, or already typed.

        Raises:
            ValidationError: a bad value or combination, naming the variable (or the overridden field).
            TypeError: an override that is not a field.
        """
        env = os.environ if environ is None else environ
        unknown = sorted(set(overrides) - set(VARIABLES))
        if unknown:
            raise TypeError(f"not a setting: {', '.join(unknown)}")
        given = {k: v for k, v in overrides.items() if v is not None}

        def raw(name: str) -> tuple[Any, str]:
            """The value of field ``name`` and the name to blame when it is bad."""
            if name in given:
                return given[name], name
            value = env.get(VARIABLES[name])
            return (value if value is None or str(value).strip() else None), VARIABLES[name]

        data_dir = _data_dir(*raw("data_dir"))
        database_url = _database_url(*raw("database_url")) or f"sqlite:///{data_dir / 'haven.db'}"
        secret_key_set = _secret_key_present(*raw("secret_key_set"))
        bucket = _text(*raw("s3_bucket"))
        blob_value, blob_label = raw("blob_store")
        # README: the store is s3 when a bucket is named, unless HAVEN_BLOB_STORE says otherwise.
        blob_store = _choice(blob_value, blob_label, BLOB_STORES) if blob_value is not None else ("s3" if bucket else "local")
        if blob_store == "s3" and not bucket:
            raise ValidationError(VARIABLES["s3_bucket"], f"{blob_label}=s3 needs a bucket name")
        from haven_pipelines.integrations.dynamic_mockups.client import DEFAULT_BASE_URL

        renderer_value, renderer_label = raw("renderer")
        mode_value, mode_label = raw("shopify_mode")
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            secret_key_set=secret_key_set,
            shopify_schema=_schema_file(*raw("shopify_schema")),
            renderer=_choice(renderer_value, renderer_label, RENDERERS) if renderer_value is not None else "local",
            render_workers=_positive_int(*raw("render_workers"), what="a whole number of renders, at least 1"),
            dynamic_mockups_api_key=_text(*raw("dynamic_mockups_api_key")),
            dynamic_mockups_base_url=_http_url(*raw("dynamic_mockups_base_url")) or DEFAULT_BASE_URL,
            blob_store=blob_store,
            s3_bucket=bucket,
            s3_endpoint_url=_http_url(*raw("s3_endpoint_url")),
            s3_region=_text(*raw("s3_region")),
            s3_public_url_base=_http_url(*raw("s3_public_url_base")),
            s3_presign_seconds=_positive_int(*raw("s3_presign_seconds"), what="a whole number of seconds, at least 1"),
            shopify_mode=_choice(mode_value, mode_label, SHOPIFY_MODES) if mode_value is not None else "auto",
            shopify_base_url=_http_url(*raw("shopify_base_url")),
            shopify_bulk_threshold=_positive_int(*raw("shopify_bulk_threshold"), what="a whole number of products, at least 1")
            or DEFAULT_SHOPIFY_BULK_THRESHOLD,
            nightly_hour=_hour(*raw("nightly_hour")),
            shop_timezone=_timezone(*raw("shop_timezone")),
            db_role_prefix=_role_prefix(*raw("db_role_prefix")),
        )

    def safe_items(self) -> dict[str, str]:
        """Every field as text fit for logs and ``repr``: the API key masked, a database password hidden."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "dynamic_mockups_api_key":
                value = "***" if value else None
            elif f.name == "database_url":
                value = _redact_url(value)
            out[f.name] = "None" if value is None else str(value)
        return out

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.safe_items().items()) + ")"

    __str__ = __repr__


# -- single values ---------------------------------------------------------------------------------


def nightly_hour(value: str | None) -> int:
    """The hour 0-23 from ``HAVEN_NIGHTLY_HOUR`` (None or empty: 2)."""
    return _hour(value if value is None or value.strip() else None, VARIABLES["nightly_hour"])


def shop_timezone(value: str | None) -> str:
    """The IANA time zone from ``HAVEN_SHOP_TIMEZONE`` (None or empty: UTC)."""
    return _timezone(value if value is None or value.strip() else None, VARIABLES["shop_timezone"])


def nightly_schedule_settings(environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """``(hour, time zone)`` of the nightly schedule, reading only those two variables.

    The definitions are built from these; the other settings wait for a run, so a bad
    ``HAVEN_RENDER_WORKERS`` fails that run, not the loading of the code location.
    """
    env = os.environ if environ is None else environ
    return nightly_hour(env.get(VARIABLES["nightly_hour"])), shop_timezone(env.get(VARIABLES["shop_timezone"]))


@dataclass(frozen=True)
class DbRoles:
    """The PostgreSQL role names of one deployment (see migration 0008 and the README).

    Roles are cluster-wide, so every name shares the prefix ``HAVEN_DB_ROLE_PREFIX``: two
    deployments (or two test sessions) on one server use different prefixes.
    """

    prefix: str

    @property
    def app(self) -> str:
        """The application role: tenant rows only, selected by ``haven.user_id``."""
        return f"{self.prefix}app"

    @property
    def pipeline(self) -> str:
        """The cross-tenant pipeline role (sensors, the nightly, analytics, the sweeper)."""
        return f"{self.prefix}pipeline"

    @property
    def analyst(self) -> str:
        """Read-only on the analyst tables and usage views, every tenant."""
        return f"{self.prefix}analyst"

    @property
    def shop_analyst(self) -> str:
        """The group of per-shop analyst logins (``haven db grant-analyst``)."""
        return f"{self.prefix}shop_analyst"


def db_roles(environ: Mapping[str, str] | None = None) -> DbRoles:
    """The role names from ``HAVEN_DB_ROLE_PREFIX`` (default ``haven_``), reading only that variable."""
    env = os.environ if environ is None else environ
    value = env.get(VARIABLES["db_role_prefix"])
    return DbRoles(_role_prefix(value if value is None or value.strip() else None, VARIABLES["db_role_prefix"]))


def _text(value: Any, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(label, f"must be text, got {type(value).__name__}")
    return value.strip() or None


def _data_dir(value: Any, label: str) -> Path:
    text = _text(value, label) if not isinstance(value, Path) else str(value)
    path = Path(text or ".haven").expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ValidationError(label, f"{str(path)!r} is a file, not a folder")
    return path


def _database_url(value: Any, label: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = _text(value, label)
    if text is None:
        return None
    try:
        make_url(text)
    except ArgumentError:
        # Not echoed: a mistyped URL may still hold a password.
        raise ValidationError(label, "not a database URL (sqlite:///path or postgresql://user@host/db)") from None
    return text


def _secret_key_present(value: Any, label: str) -> bool:
    """Whether a key is set; each comma-separated key must be a Fernet key (never echoed)."""
    if isinstance(value, bool):
        return value
    parts = [part.strip() for part in str(value or "").split(",") if part.strip()]
    if parts:
        from cryptography.fernet import Fernet

        for position, part in enumerate(parts, start=1):
            try:
                Fernet(part.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise ValidationError(label, f"key {position} of {len(parts)} is malformed: a Fernet key is "
                                             "32 bytes, url-safe base64 encoded") from None
    return bool(parts)


def _choice(value: Any, label: str, allowed: tuple[str, ...]) -> str:
    text = _text(value, label)
    if text not in allowed:
        raise ValidationError(label, f"must be one of {', '.join(allowed)}, got {value!r}")
    return text


def _positive_int(value: Any, label: str, *, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(label, f"must be {what}, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text.isdigit():
            raise ValidationError(label, f"must be {what}, got {value!r}")
        number = int(text)
    if number < 1:
        raise ValidationError(label, f"must be {what}, got {value!r}")
    return number


def _http_url(value: Any, label: str) -> str | None:
    text = _text(value, label)
    if text is None:
        return None
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest.split("/", 1)[0]:
        raise ValidationError(label, f"must be an http(s) URL with a host, got {text!r}")
    return text


def _schema_file(value: Any, label: str) -> Path | None:
    if value is None:
        return None
    path = Path(str(value).strip()).expanduser()
    if not path.is_file():
        raise ValidationError(label, f"no file at {str(path)!r}")
    return path.resolve()


def _hour(value: Any, label: str) -> int:
    if value is None:
        return DEFAULT_NIGHTLY_HOUR
    text = str(value).strip()
    try:
        hour = int(text)
    except ValueError:
        raise ValidationError(label, f"must be a whole hour 0-23, got {value!r}") from None
    if isinstance(value, bool) or not 0 <= hour <= 23:
        raise ValidationError(label, f"must be a whole hour 0-23, got {value!r}")
    return hour


def _timezone(value: Any, label: str) -> str:
    if value is None:
        return DEFAULT_SHOP_TIMEZONE
    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(label, f"not an IANA time zone: {value!r}") from None
    return text


def _role_prefix(value: Any, label: str) -> str:
    if value is None:
        return DEFAULT_DB_ROLE_PREFIX
    text = str(value).strip()
    if not _ROLE_PREFIX.match(text):
        raise ValidationError(label, f"must be lower-case letters, digits and _ (at most 40, not starting with a digit), got {value!r}")
    return text


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


def main() -> int:
    """Print the resolved settings (secrets masked); exit 1 naming the variable when one is bad."""
    try:
        resolved = Settings.from_env()
    except ValidationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    for name, value in resolved.safe_items().items():
        if name == "secret_key_set":
            value = "set" if resolved.secret_key_set else "not set"
        print(f"{VARIABLES[name]:26} {'(default)' if value == 'None' else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
