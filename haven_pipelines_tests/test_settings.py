"""One configuration: the ``haven`` CLI and a Dagster run resolve the same settings, and build the
same parts, for every variable of the README's configuration table; bad values are refused naming
the variable; secrets stay out of ``repr``."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from haven_pipelines.cli import main
from haven_pipelines.cli import common as cli_common
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.settings import VARIABLES, Settings
from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV

README = Path(__file__).resolve().parents[1] / "README.md"
#: Rows of the README table that other libraries read (boto3, Dagster), not ``Settings``.
READ_ELSEWHERE = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DAGSTER_HOME"}
SECRET_KEY = generate_key()


def non_default(tmp: Path) -> dict[str, tuple[str, object]]:
    """variable -> (a value other than its default, the field value it must resolve to)."""
    schema = tmp / "schema.json"
    schema.write_text("{}")
    return {
        "HAVEN_DATA_DIR": (str(tmp / "elsewhere"), (tmp / "elsewhere").resolve()),
        "HAVEN_DATABASE_URL": (f"sqlite:///{tmp / 'other.db'}", f"sqlite:///{tmp / 'other.db'}"),
        "HAVEN_SECRET_KEY": (SECRET_KEY, True),
        "HAVEN_SHOPIFY_SCHEMA": (str(schema), schema.resolve()),
        "HAVEN_RENDERER": ("dynamic_mockups", "dynamic_mockups"),
        "HAVEN_RENDER_WORKERS": ("3", 3),
        "DYNAMIC_MOCKUPS_API_KEY": ("dm_test_key_123", "dm_test_key_123"),
        "DYNAMIC_MOCKUPS_BASE_URL": ("https://dm-proxy.example.test/api/v1", "https://dm-proxy.example.test/api/v1"),
        "HAVEN_BLOB_STORE": ("s3", "s3"),
        "HAVEN_S3_BUCKET": ("haven-images", "haven-images"),
        "HAVEN_S3_ENDPOINT_URL": ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        "HAVEN_S3_REGION": ("eu-central-1", "eu-central-1"),
        "HAVEN_S3_PUBLIC_URL_BASE": ("https://images.example.test", "https://images.example.test"),
        "HAVEN_S3_PRESIGN_SECONDS": ("600", 600),
        "HAVEN_SHOPIFY_MODE": ("live", "live"),
        "HAVEN_SHOPIFY_BASE_URL": ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
        "HAVEN_SHOPIFY_BULK_THRESHOLD": ("40", 40),
        "HAVEN_NIGHTLY_HOUR": ("5", 5),
        "HAVEN_SHOP_TIMEZONE": ("Europe/Paris", "Europe/Paris"),
        "HAVEN_DB_ROLE_PREFIX": ("haven_staging_", "haven_staging_"),
    }


#: What a variable needs beside it to be usable (an S3 store needs a bucket, Dynamic Mockups a key).
NEEDS = {
    "HAVEN_RENDERER": {"DYNAMIC_MOCKUPS_API_KEY": "dm_test_key_123"},
    "HAVEN_BLOB_STORE": {"HAVEN_S3_BUCKET": "haven-images"},
    "HAVEN_S3_ENDPOINT_URL": {"HAVEN_S3_BUCKET": "haven-images"},
    "HAVEN_S3_REGION": {"HAVEN_S3_BUCKET": "haven-images"},
    "HAVEN_S3_PUBLIC_URL_BASE": {"HAVEN_S3_BUCKET": "haven-images"},
    "HAVEN_S3_PRESIGN_SECONDS": {"HAVEN_S3_BUCKET": "haven-images"},
}


def readme_variables() -> set[str]:
    """Every variable named in the first column of the README's configuration table."""
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No setting from the caller's shell; a data folder under tmp_path; fake AWS credentials."""
    for name in VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def parts(ctx) -> dict[str, object]:
    """What a context was built from and into: settings, database, image store, renderer, Shopify."""
    blob, renderer = ctx.blob_store, ctx.renderer
    client = getattr(renderer, "client", None)
    return {
        "settings": ctx.settings,
        "database": ctx.engine.url.render_as_string(hide_password=False),
        "blob_store": (type(blob).__name__, str(getattr(blob, "root", "")), getattr(blob, "bucket", None),
                       getattr(blob, "endpoint_url", None), getattr(blob, "public_url_base", None),
                       getattr(blob, "presign_seconds", None)),
        "renderer": (renderer.name, renderer.max_workers, getattr(client, "base_url", None)),
        "shopify": (ctx.shopify_mode, ctx.shopify_base_url),
    }


def cli_parts() -> dict[str, object]:
    """What the ``haven`` CLI builds for a command (no database here: its schema check is left out)."""
    ctx = cli_common.app_context(require_schema=False)
    try:
        return parts(ctx)
    finally:
        ctx.close()


def run_parts() -> dict[str, object]:
    """What a Dagster run builds: the deployed resources, set up as a run sets them up."""
    from haven_pipelines.definitions import build_resources

    with dg.build_resources(build_resources()) as resources:
        return parts(resources.haven.ctx)


def test_the_table_the_settings_and_this_test_name_the_same_variables(tmp_path):
    assert readme_variables() - READ_ELSEWHERE == set(VARIABLES.values())
    assert set(non_default(tmp_path)) == set(VARIABLES.values())
    assert "HAVEN_DM_INSECURE_DOWNLOADS_FOR_TESTS" not in README.read_text()


@pytest.mark.parametrize("variable", sorted(VARIABLES.values()))
def test_cli_and_a_run_resolve_the_same_value(variable, tmp_path, clean_env):
    value, expected = non_default(tmp_path)[variable]
    for name, needed in NEEDS.get(variable, {}).items():
        clean_env.setenv(name, needed)
    clean_env.setenv(variable, value)
    field = next(f for f, v in VARIABLES.items() if v == variable)
    cli, run = cli_parts(), run_parts()
    assert getattr(cli["settings"], field) == expected
    assert Settings.from_env().secret_key_set == (variable == "HAVEN_SECRET_KEY")
    assert cli == run


def test_a_bucket_alone_means_s3_for_both(tmp_path, clean_env):
    clean_env.setenv("HAVEN_S3_BUCKET", "haven-images")
    cli, run = cli_parts(), run_parts()
    assert cli["blob_store"][0] == run["blob_store"][0] == "S3BlobStore"
    clean_env.setenv("HAVEN_BLOB_STORE", "local")  # an explicit choice wins over the default
    assert cli_parts()["blob_store"][0] == run_parts()["blob_store"][0] == "LocalBlobStore"


def test_every_variable_at_once_in_a_materialized_run(tmp_path, clean_env):
    for variable, (value, _expected) in non_default(tmp_path).items():
        clean_env.setenv(variable, value)
    seen: list[dict[str, object]] = []

    @dg.asset
    def probe(haven: HavenResource) -> None:
        seen.append(parts(haven.ctx))

    from haven_pipelines.definitions import build_resources

    assert dg.materialize([probe], resources=build_resources()).success
    cli = cli_parts()
    assert seen == [cli]
    settings = cli["settings"]
    for variable, (_value, expected) in non_default(tmp_path).items():
        field = next(f for f, v in VARIABLES.items() if v == variable)
        assert getattr(settings, field) == expected, variable
    assert cli["renderer"] == ("dynamic_mockups", 3, "https://dm-proxy.example.test/api/v1")
    assert cli["blob_store"][0] == "S3BlobStore"


def test_resource_config_overrides_the_environment(tmp_path, clean_env):
    from haven_pipelines.defs.resources import BlobStoreResource, HavenDatabaseResource, RendererResource, ShopifyResource

    clean_env.setenv("HAVEN_RENDER_WORKERS", "3")
    clean_env.setenv("HAVEN_SHOPIFY_MODE", "live")
    haven = HavenResource(database=HavenDatabaseResource(), renderer=RendererResource(workers=2),
                          blob_store=BlobStoreResource(), shopify=ShopifyResource(mode="dry_run"))
    resolved = haven.resolve_settings()
    assert (resolved.render_workers, resolved.shopify_mode) == (2, "dry_run")
    with pytest.raises(ValidationError, match="^shopify_mode: must be one of"):
        HavenResource(database=HavenDatabaseResource(), renderer=RendererResource(), blob_store=BlobStoreResource(),
                      shopify=ShopifyResource(mode="yolo")).resolve_settings()


BAD = [
    ("HAVEN_DATA_DIR", "FILE", {}),
    ("HAVEN_DATABASE_URL", "not a url at all", {}),
    ("HAVEN_SECRET_KEY", "not-a-fernet-key", {}),
    ("HAVEN_SHOPIFY_SCHEMA", "/nonexistent/admin.json.gz", {}),
    ("HAVEN_RENDERER", "pillow", {}),
    ("HAVEN_RENDER_WORKERS", "0", {}),
    ("HAVEN_RENDER_WORKERS", "four", {}),
    ("DYNAMIC_MOCKUPS_API_KEY", "", {"HAVEN_RENDERER": "dynamic_mockups"}),
    ("DYNAMIC_MOCKUPS_BASE_URL", "ftp://dm.example.test", {}),
    ("HAVEN_BLOB_STORE", "gcs", {}),
    ("HAVEN_S3_BUCKET", "", {"HAVEN_BLOB_STORE": "s3"}),
    ("HAVEN_S3_ENDPOINT_URL", "minio:9000", {"HAVEN_S3_BUCKET": "b"}),
    ("HAVEN_S3_PUBLIC_URL_BASE", "images.example.test", {"HAVEN_S3_BUCKET": "b"}),
    ("HAVEN_S3_PRESIGN_SECONDS", "an hour", {"HAVEN_S3_BUCKET": "b"}),
    ("HAVEN_SHOPIFY_MODE", "yolo", {}),
    ("HAVEN_SHOPIFY_BASE_URL", "localhost:8081", {}),
    ("HAVEN_NIGHTLY_HOUR", "24", {}),
    ("HAVEN_SHOPIFY_BULK_THRESHOLD", "0", {}),
    ("HAVEN_SHOPIFY_BULK_THRESHOLD", "a few hundred", {}),
    ("HAVEN_SHOP_TIMEZONE", "Mars/Olympus", {}),
]


@pytest.mark.parametrize(("variable", "value", "beside"), BAD, ids=[f"{v}={x!r}" for v, x, _ in BAD])
def test_a_bad_value_is_refused_by_both_naming_the_variable(variable, value, beside, tmp_path, clean_env):
    if value == "FILE":
        value = str(tmp_path / "a-file")
        Path(value).write_text("")
    for name, other in beside.items():
        clean_env.setenv(name, other)
    clean_env.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        cli_common.app_context()  # the setting is named before the (missing) database is
    assert info.value.field == variable
    result = CliRunner().invoke(main, ["render", "--design", "00000000-0000-0000-0000-000000000001", "--scene", "bedroom"])
    assert result.exit_code == 1 and f"Error: {variable}: " in result.output, result.output
    with pytest.raises(dg.DagsterResourceFunctionError) as run_info:
        run_parts()
    assert isinstance(run_info.value.__cause__, ValidationError) and run_info.value.__cause__.field == variable
    if variable == "HAVEN_SECRET_KEY":
        assert value not in str(info.value)


def test_settings_are_read_when_called_not_at_import(tmp_path, clean_env):
    first = Settings.from_env()
    clean_env.setenv("HAVEN_SHOPIFY_MODE", "dry_run")
    assert (first.shopify_mode, Settings.from_env().shopify_mode) == ("auto", "dry_run")


def test_secrets_stay_out_of_repr(tmp_path):
    settings = Settings.from_env({
        "DYNAMIC_MOCKUPS_API_KEY": "dm_live_SECRET_value", "HAVEN_SECRET_KEY": SECRET_KEY,
        "HAVEN_DATABASE_URL": "postgresql://haven:pg_SECRET_pw@db.internal/haven", "HAVEN_DATA_DIR": str(tmp_path),
    })
    text = repr(settings) + str(settings) + repr(settings.safe_items())
    assert settings.dynamic_mockups_api_key == "dm_live_SECRET_value" and settings.secret_key_set
    for secret in ("dm_live_SECRET_value", "pg_SECRET_pw", SECRET_KEY):
        assert secret not in text
    assert "db.internal" in text and "dynamic_mockups_api_key='***'" in text


def test_an_unknown_override_is_refused():
    with pytest.raises(TypeError, match="not a setting: workers"):
        Settings.from_env({}, workers=2)


def test_no_test_switch_in_the_package():
    package = Path(__file__).resolve().parents[1] / "haven_pipelines"
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py")
                 if re.search(r"for_tests|FOR_TESTS|allow_insecure", p.read_text())]
    assert offenders == []
