"""Secrets: with known fake keys and tokens set the way a deployment sets them, run the real paths
(Dagster runs with the Dynamic Mockups renderer and S3 storage, ``haven shopify connect``, product
build, publish and reconcile against the fake Shopify, failures on purpose) and prove none of the
secrets appears in logs, captured output, run metadata (the Dagster event log), error messages, the
Shopify outbox or any table of the database in clear text.
"""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import dagster as dg
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from haven_pipelines.db import tables
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.integrations.dynamic_mockups import DownloadPolicy, DynamicMockupsClient
from haven_pipelines.services.context import build_context
from haven_pipelines.services.renderers import DynamicMockupsRenderer
from haven_pipelines_tests.fakes.dynamic_mockups_server import FakeDynamicMockups
from haven_pipelines_tests.fakes.s3_server import FAKE_AWS_ENV, MotoS3Server
from haven_pipelines_tests.fakes.shopify_server import FakeShopify
from haven_pipelines_tests.reliability.helpers import database_text, make_design, make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore:InitResourceContext.dagster_run is deprecated:DeprecationWarning"),
]

RUN = uuid.uuid4().hex[:8]
SECRETS = {
    "DYNAMIC_MOCKUPS_API_KEY": f"dm_live_{RUN}_KEY_must_not_leak",
    "SHOPIFY_ACCESS_TOKEN": f"shpat_{RUN}_token_must_not_leak",
    "WRONG_SHOPIFY_TOKEN": f"shpat_{RUN}_WRONG_token_must_not_leak",
    "HAVEN_SECRET_KEY": generate_key(),
    "AWS_SECRET_ACCESS_KEY": f"aws_{RUN}_secret_must_not_leak",
    "AWS_SESSION_TOKEN": f"aws_{RUN}_session_must_not_leak",
}


def _loopback_haven(haven):
    """The same resource, whose Dynamic Mockups renderer may download exports from the loopback fake
    (a test configuration: production refuses http and loopback exports)."""
    from haven_pipelines.defs.resources import HavenResource

    class LoopbackHaven(HavenResource):
        def setup_for_execution(self, context):
            super().setup_for_execution(context)
            settings = self.ctx.settings  # resolved from DYNAMIC_MOCKUPS_API_KEY and the rest, as a run does
            client = DynamicMockupsClient(settings.dynamic_mockups_api_key, base_url=settings.dynamic_mockups_base_url,
                                          download_policy=DownloadPolicy(allow_http=True, allow_private_addresses=True))
            self.ctx._closers.append(client.close)
            self.ctx.renderer = DynamicMockupsRenderer(client, workers=2, image_size=400)

    return LoopbackHaven(database=haven.database, renderer=haven.renderer, blob_store=haven.blob_store, shopify=haven.shopify)


@pytest.fixture
def deployment(pg_url, pg_engine, tmp_path, monkeypatch):
    """Fake Dynamic Mockups, S3 (moto) and Shopify, with the secrets in the environment."""
    with FakeDynamicMockups(api_key=SECRETS["DYNAMIC_MOCKUPS_API_KEY"], rate=None, seed=3) as dm, \
            MotoS3Server() as s3, FakeShopify(SECRETS["SHOPIFY_ACCESS_TOKEN"]) as shop:
        for name, value in FAKE_AWS_ENV.items():
            monkeypatch.setenv(name, value)
        bucket = f"haven-secrets-{RUN}"
        env = {
            "HAVEN_DATABASE_URL": pg_url,
            "HAVEN_DATA_DIR": str(tmp_path / "data"),
            "HAVEN_RENDERER": "dynamic_mockups",
            "DYNAMIC_MOCKUPS_API_KEY": SECRETS["DYNAMIC_MOCKUPS_API_KEY"],
            "DYNAMIC_MOCKUPS_BASE_URL": dm.base_url,
            "HAVEN_SECRET_KEY": SECRETS["HAVEN_SECRET_KEY"],
            "AWS_SECRET_ACCESS_KEY": SECRETS["AWS_SECRET_ACCESS_KEY"],
            "AWS_SESSION_TOKEN": SECRETS["AWS_SESSION_TOKEN"],
            "HAVEN_S3_BUCKET": bucket,
            "HAVEN_BLOB_STORE": "s3",
            "HAVEN_S3_ENDPOINT_URL": s3.endpoint_url,
            "HAVEN_S3_PUBLIC_URL_BASE": f"{s3.endpoint_url}/{bucket}",
            "HAVEN_SHOPIFY_MODE": "auto",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN", raising=False)
        monkeypatch.delenv("HAVEN_SHOPIFY_BASE_URL", raising=False)
        client = boto3.client("s3", endpoint_url=s3.endpoint_url, region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        client.close()
        yield {"dm": dm, "shop": shop, "s3": s3, "bucket": bucket, "pg_url": pg_url, "engine": pg_engine}


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_no_secret_in_logs_run_metadata_errors_outbox_or_database(deployment, caplog, capfd, reliability_record):
    from haven_pipelines.cli import main
    from haven_pipelines.definitions import build_resources, defs

    caplog.set_level(logging.DEBUG)
    engine = deployment["engine"]
    shop = deployment["shop"]
    texts: dict[str, str] = {}

    # Designs in S3, owned by an autopilot user.
    ctx = build_context(database_url=deployment["pg_url"], renderer="local", blob_store="s3",
                        s3_bucket=deployment["bucket"], s3_endpoint_url=deployment["s3"].endpoint_url,
                        s3_public_url_base=f"{deployment['s3'].endpoint_url}/{deployment['bucket']}")
    try:
        user_id = make_user(engine, "shop@example.com", global_mode="autopilot")
        designs = [make_design(ctx, user_id), make_design(ctx, user_id, collection="growth")]
    finally:
        ctx.close()

    runner = CliRunner()
    dm = deployment["dm"]
    synced = runner.invoke(main, ["scenes", "sync", "--map", f"bedroom={dm.templates[0].uuid}",
                                  "--map", f"living_room={dm.templates[1].uuid}"])
    assert "bedroom" in synced.output and "living_room" in synced.output, synced.output
    texts["cli: scenes sync"] = synced.output

    resources = build_resources()  # every setting from the environment, as a deployment runs
    config = {"ops": {"generate_mockups": {"config": {"user": "shop@example.com", "asset_ids": designs,
                                                      "scenes": ["bedroom", "living_room"]}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        # 1. Production settings: the fake's exports are http on loopback, so every download is refused.
        refused = defs.get_job_def("generate_mockups_job").execute_in_process(
            run_config=config, resources=resources, instance=instance, raise_on_error=False)
        # 2. The test configuration that lets downloads reach the loopback fake: the renders succeed.
        rendered = defs.get_job_def("generate_mockups_job").execute_in_process(
            run_config=config, resources={**resources, "haven": _loopback_haven(resources["haven"])},
            instance=instance, raise_on_error=False)
        with engine.connect() as conn:
            statuses = conn.execute(select(tables.mockups.c.status)).scalars().all()
        with engine.connect() as conn:
            errs = conn.execute(select(tables.mockups.c.error_message)).scalars().all()
        assert sorted(statuses) == ["approved"] * 4, errs
        with engine.connect() as conn:
            failed_errors = conn.execute(select(tables.retry_queue.c.last_error)).scalars().all()
        assert failed_errors and all("https" in (e or "") for e in failed_errors), failed_errors

        # 3. Shopify: a wrong token is refused, the right one connected (encrypted with HAVEN_SECRET_KEY).
        wrong = runner.invoke(main, ["shopify", "connect", "--user", "shop@example.com", "--shop", shop.shop_domain,
                                     "--base-url", shop.base_url], input=SECRETS["WRONG_SHOPIFY_TOKEN"] + "\n")
        assert wrong.exit_code == 1, wrong.output
        texts["cli: wrong token"] = wrong.output
        ok = runner.invoke(main, ["shopify", "connect", "--user", "shop@example.com", "--shop", shop.shop_domain,
                                  "--base-url", shop.base_url], input=SECRETS["SHOPIFY_ACCESS_TOKEN"] + "\n")
        assert ok.exit_code == 0, ok.output
        texts["cli: connect"] = ok.output
        built = runner.invoke(main, ["products", "build", "--user", "shop@example.com", "--design", designs[0], "--json"])
        assert built.exit_code == 0, built.output
        texts["cli: build"] = built.output
        product_id = json.loads(built.output)["product_id"]
        published = defs.get_job_def("publish_product_job").execute_in_process(
            run_config={"ops": {"publish_product": {"config": {"user": "shop@example.com", "product_id": product_id}}}},
            resources=resources, instance=instance, raise_on_error=False)
        assert published.success
        assert [p.handle for p in shop.products.values()] and len(shop.products) == 1
        for args in (["products", "publish", "--user", "shop@example.com", product_id],
                     ["products", "reconcile", "--user", "shop@example.com", "--json"],
                     ["products", "list", "--user", "shop@example.com", "--json"],
                     ["mockups", "list", "--user", "shop@example.com", "--json"]):
            out = runner.invoke(main, args)
            assert out.exit_code == 0, out.output
            texts[f"cli: {' '.join(args[:2])}"] = out.output

        # Run metadata: every event of every run, and the stored run configs.
        runs = [refused, rendered, published]
        for result in runs:
            for entry in instance.all_logs(result.run_id):
                texts[f"event log {result.run_id[:8]}"] = texts.get(f"event log {result.run_id[:8]}", "") + repr(entry)
            texts[f"run config {result.run_id[:8]}"] = repr(instance.get_run_by_id(result.run_id).run_config)
        events = sum(len(instance.all_logs(r.run_id)) for r in runs)

    texts["database"] = database_text(engine)
    with engine.connect() as conn:
        outbox = conn.execute(select(tables.shopify_outbox)).mappings().all()
        stored = conn.execute(select(tables.integrations.c.encrypted_credentials)).scalars().all()
    texts["outbox"] = repr([dict(r) for r in outbox])
    texts["logs"] = caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records)
    captured = capfd.readouterr()
    texts["captured output"] = captured.out + captured.err

    leaks = {where: _leaks(text) for where, text in texts.items() if _leaks(text)}
    assert not leaks, f"secrets in clear text: {leaks}"
    assert stored and all(s and SECRETS["SHOPIFY_ACCESS_TOKEN"] not in s for s in stored)  # stored, but encrypted
    assert deployment["dm"].api_keys_seen() == {SECRETS["DYNAMIC_MOCKUPS_API_KEY"]}  # the key was really used
    assert len(caplog.records) > 0 and events > 0
    reliability_record(
        "Security", "Secrets never in clear text",
        f"{len(SECRETS)} known fake secrets (Dynamic Mockups key, Shopify token, a wrong Shopify token, "
        "HAVEN_SECRET_KEY, AWS secret key and session token) in the environment, through 3 Dagster runs (renders "
        "refused on download, renders succeeding into S3, a live publish), haven shopify connect (wrong and right "
        "token), products build, publish, reconcile and list, mockups list",
        "The keys were used (the fake Dynamic Mockups saw its key, Shopify accepted the token, S3 stored the "
        "images) and appeared nowhere: not in log records at DEBUG, captured stdout/stderr, CLI output, the "
        "Dagster event log or stored run configs, error messages (mockups, retry queue, sync errors), the Shopify "
        "outbox, or any column of any table; the Shopify token is stored Fernet-encrypted",
        ["no secret in logs or captured output", "no secret in the Dagster event log or run config",
         "no secret in error messages or the outbox", "no secret in any table (full dump)"],
        {"secrets_checked": len(SECRETS), "places_searched": len(texts), "renders_verified": 4, "publishes_verified": 2},
    )
