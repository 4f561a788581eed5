"""The CLI path a user takes: demo → render → build → publish (dry run, then to the fake Shopify) → retire."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from haven_pipelines.cli import main
from haven_pipelines.db.crypto import generate_key
from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import integrations, shopify_outbox
from haven_pipelines_tests.fakes.shopify_server import FakeShopify


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A fresh data folder and database, as a new user's machine would have."""
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HAVEN_DATABASE_URL", f"sqlite:///{tmp_path / 'haven.db'}")
    monkeypatch.setenv("HAVEN_SECRET_KEY", generate_key())
    for name in ("HAVEN_RENDERER", "HAVEN_S3_BUCKET", "HAVEN_SHOPIFY_MODE", "HAVEN_SHOPIFY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args, input=None, ok=True):
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("db", "upgrade")
    run("demo", "--load", "--designs", "1")
    return run


def _design_id(run) -> str:
    out = run("mockups", "list", "--json")
    assert json.loads(out.output)["total"] == 0
    from haven_pipelines.db.tables import assets

    engine = create_engine()
    try:
        with engine.connect() as conn:
            return conn.execute(select(assets.c.id)).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_render_build_publish_dry_run_then_live_then_retire(cli_env):
    run = cli_env
    design = _design_id(run)
    rendered = json.loads(run("render", "--design", design, "--scene", "bedroom", "--scene", "reading_nook", "--json").output)
    assert rendered["rendered"] == 2 and rendered["creditsCharged"] == 0
    listed = json.loads(run("mockups", "list", "--design", design, "--json").output)
    assert listed["total"] == 2 and all(m["status"] == "approved" for m in listed["mockups"])

    built = json.loads(run("products", "build", "--design", design, "--json").output)
    product_id = built["product_id"]
    assert built["variant_count"] == 21 and built["created"]
    dry = run("products", "publish", product_id)
    assert "dry run" in dry.output and "nothing was sent" in dry.output
    engine = create_engine()
    with engine.connect() as conn:
        recorded = conn.execute(select(shopify_outbox.c.operation)).scalars().all()
    assert "ProductSet" in recorded

    with FakeShopify() as shop:
        connected = run("shopify", "connect", "--shop", shop.shop_domain, "--base-url", shop.base_url, input=shop.token + "\n")
        assert shop.token not in connected.output
        with engine.connect() as conn:
            stored = conn.execute(select(integrations.c.encrypted_credentials)).scalar_one()
        assert shop.token not in stored
        live = run("products", "publish", product_id)
        assert "published gid://shopify/Product/" in live.output
        again = run("products", "publish", product_id)
        assert "published" in again.output
        assert len(shop.products) == 1  # the second publish upserted the same product
        product = next(iter(shop.products.values()))
        assert len(product.variants) == 21 and product.status == "ACTIVE"
        retired = run("products", "retire", product_id, "--reason", "seasonal")
        assert "archived on Shopify" in retired.output
        assert next(iter(shop.products.values())).status == "ARCHIVED"
    listed = json.loads(run("products", "list", "--status", "retired", "--json").output)
    assert listed["total"] == 1 and listed["products"][0]["retire_reason"] == "seasonal"
    engine.dispose()


def test_bad_cli_input_names_the_problem(cli_env):
    run = cli_env
    unknown = "00000000-0000-0000-0000-00000000beef"
    result = run("render", "--design", unknown, "--scene", "bedroom", ok=False)
    assert result.exit_code != 0 and f"design asset {unknown} not found" in result.output
    result = run("render", "--design", "nope", "--scene", "bedroom", ok=False)
    assert result.exit_code == 2 and "'--design': 'nope' is neither a design id" in result.output
    result = run("products", "retire", "x", "--reason", "bored", ok=False)
    assert result.exit_code != 0 and "bored" in result.output
    result = run("mockups", "list", "--limit", "101", ok=False)
    assert result.exit_code != 0 and "101" in result.output


@pytest.mark.slow
def test_pipeline_run_on_a_live_shop_sends_nothing_the_second_time(cli_env, monkeypatch):
    run = cli_env
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with FakeShopify(bucket_size=4000, restore_rate=1000) as shop:
        run("shopify", "connect", "--shop", shop.shop_domain, "--base-url", shop.base_url, input=shop.token + "\n")
        first = run("pipeline", "run")
        assert "publishing     1 sent, 0 unchanged, 0 failed" in first.output
        assert len(shop.products) == 1 and shop.operation_counts["productSet"] == 1
        uploads = shop.stats.uploads
        assert uploads >= 2 and shop.operation_counts["stagedUploadsCreate"] == 1
        assert f"images {uploads} uploaded, 0 reused" in first.output

        shop.reset_stats()
        second = run("pipeline", "run")
        assert "publishing     0 sent, 1 unchanged, 0 failed; images 0 uploaded, 0 reused; 0 throttle points spent" in second.output
        assert shop.stats.requests == 0 and shop.stats.uploads == 0
