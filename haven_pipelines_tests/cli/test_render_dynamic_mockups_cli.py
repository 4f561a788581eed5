"""``haven scenes sync`` and ``haven render`` against the fake Dynamic Mockups API, with images on S3 (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from haven_pipelines.cli import main
from haven_pipelines.cli.common import CliWiring
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import assets, mockups
from haven_pipelines.services.context import build_blob_store
from haven_pipelines.settings import Settings
from haven_pipelines.integrations.dynamic_mockups import DownloadPolicy
from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups
from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV, MotoS3Server


@pytest.fixture
def remote_env(tmp_path, monkeypatch):
    """A fresh database, a moto S3 bucket with a public URL base, and the fake API, wired by environment.

    The fake serves its exports over http on loopback, which the production download policy refuses;
    the command is invoked in-process with a wiring that admits them (only code can pass one).
    """
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with MotoS3Server() as s3, FakeDynamicMockups(credits=10) as api:
        client = boto3.client("s3", endpoint_url=s3.endpoint_url, region_name="us-east-1")
        client.create_bucket(Bucket="haven-cli")
        client.close()
        env = {
            "HAVEN_DATA_DIR": str(tmp_path / "data"),
            "HAVEN_DATABASE_URL": f"sqlite:///{tmp_path / 'haven.db'}",
            "HAVEN_RENDERER": "dynamic_mockups",
            "DYNAMIC_MOCKUPS_API_KEY": api.api_key,
            "DYNAMIC_MOCKUPS_BASE_URL": api.base_url,
            "HAVEN_S3_BUCKET": "haven-cli",
            "HAVEN_S3_ENDPOINT_URL": s3.endpoint_url,
            "HAVEN_S3_PUBLIC_URL_BASE": "https://images.example.test/haven-cli",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runner = CliRunner()
        wiring = CliWiring(download_policy=DownloadPolicy(allow_http=True, allow_private_addresses=True))

        def run(*args, ok=True, obj=wiring):
            result = runner.invoke(main, list(args), catch_exceptions=False, obj=obj)
            if ok:
                assert result.exit_code == 0, result.output
            return result

        run("db", "upgrade")
        run("demo", "--load", "--designs", "1")
        yield run, api


def test_without_the_wiring_the_loopback_exports_are_refused(remote_env):
    """The same environment, no injected policy: the production rule refuses the fake's http exports."""
    run, api = remote_env
    run("scenes", "sync", obj=None)
    engine = create_engine()
    with engine.connect() as conn:
        design = conn.execute(select(assets.c.id)).scalar_one()
    outcome = run("render", "--design", design, "--scene", "bedroom", "--json", ok=False, obj=None)
    assert outcome.exit_code == 1
    result = json.loads(outcome.output)
    assert result["rendered"] == 0 and result["creditsCharged"] == 0, result
    assert "must be https" in json.dumps(result)
    assert api.snapshot()["exports_served"] == 0
    engine.dispose()


def test_scenes_sync_then_render_all_scenes_remotely(remote_env):
    run, api = remote_env
    synced = json.loads(run("scenes", "sync", "--json").output)
    assert {s["status"] for s in synced} == {"set"} and len(synced) == 5
    assert json.loads(run("scenes", "sync", "--json").output)[0]["status"] == "unchanged"
    engine = create_engine()
    with engine.connect() as conn:
        design = conn.execute(select(assets.c.id)).scalar_one()
    result = json.loads(run("render", "--design", design, "--all-scenes", "--json").output)
    assert result["rendered"] == 5 and result["creditsCharged"] == 5
    assert json.loads(run("credits", "show", "--json").output)["used_this_year"] == 5
    store = build_blob_store(Settings.from_env())
    with engine.connect() as conn:
        rows = conn.execute(select(mockups)).mappings().all()
    assert all(r["renderer"] == "dynamic_mockups" and r["credits_used"] == 1 for r in rows)
    for row in rows:
        assert store.exists(row["file_key"]) and store.get(row["file_key"])[:2] == b"\xff\xd8"  # a JPEG
    again = json.loads(run("render", "--design", design, "--scene", "bedroom", "--json").output)
    assert again["skipped"] == 1 and again["creditsCharged"] == 0
    engine.dispose()


def test_render_refused_up_front_when_credits_cannot_cover(remote_env):
    run, _api = remote_env
    run("scenes", "sync")
    engine = create_engine()
    with engine.begin() as conn:
        design = conn.execute(select(assets.c.id)).scalar_one()
        from haven_pipelines.db.stores.users import SettingsStore, resolve_user

        SettingsStore(conn, resolve_user(conn, "demo@haven.local")["id"]).update(annual_mockup_budget=2)
    result = run("render", "--design", design, "--all-scenes", ok=False)
    assert result.exit_code != 0 and "requested 5 credit(s), 2 of 2 remaining" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(mockups)).first() is None
    engine.dispose()
