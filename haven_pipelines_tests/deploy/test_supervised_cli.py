"""Issue 11's "Done means", run as a person would: the real ``haven`` program, a fresh SQLite database.

``haven db upgrade && haven demo --load --designs 2 && haven settings set --mode supervised``, then
``haven pipeline run``, ``haven approvals approve --all``, ``haven pipeline run``,
``haven approvals approve --all``, ``haven pipeline run``: every design's productSet is in the
dry-run outbox and no approval is pending; a fourth ``haven pipeline run`` opens no approval.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import approval_items, assets, products, shopify_outbox

pytestmark = [pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HAVEN = Path(sys.executable).with_name("haven")


@pytest.fixture
def haven(tmp_path):
    """Run the real ``haven`` entry point against a fresh data folder, SQLite database and DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "DAGSTER_", "SHOPIFY_"))}
    env.update(HAVEN_DATA_DIR=str(tmp_path / "data"), HAVEN_DATABASE_URL=f"sqlite:///{tmp_path / 'haven.db'}",
               DAGSTER_HOME=str(home))

    def run(*args: str) -> str:
        done = subprocess.run([str(HAVEN), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"`haven {' '.join(args)}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run.url = env["HAVEN_DATABASE_URL"]  # type: ignore[attr-defined]
    return run


def _counts(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            designs = set(conn.execute(select(assets.c.id).where(assets.c.approval_status == "approved")).scalars())
            published = set(conn.execute(
                select(products.c.asset_id).join(shopify_outbox, shopify_outbox.c.product_id == products.c.id)
                .where(shopify_outbox.c.operation == "ProductSet", shopify_outbox.c.mode == "dry_run")
            ).scalars())
            pending = conn.execute(select(func.count()).select_from(approval_items)
                                   .where(approval_items.c.status == "pending")).scalar_one()
            items = conn.execute(select(func.count()).select_from(approval_items)).scalar_one()
            product_sets = conn.execute(select(func.count()).select_from(shopify_outbox)
                                        .where(shopify_outbox.c.operation == "ProductSet")).scalar_one()
    finally:
        engine.dispose()
    return {"designs": designs, "published": published, "pending": pending, "items": items, "product_sets": product_sets}


def test_supervised_shop_publishes_after_two_rounds_of_approval(haven):
    started = time.monotonic()
    try:
        haven("db", "upgrade")
        haven("demo", "--load", "--designs", "2")
        haven("settings", "set", "--mode", "supervised")

        haven("pipeline", "run")
        first = _counts(haven.url)
        assert len(first["designs"]) == 2
        assert first["pending"] > 0, "supervised: the rendered mockups should wait for approval"
        assert first["product_sets"] == 0, "nothing may be published before an approval"

        haven("approvals", "approve", "--all")
        haven("pipeline", "run")
        second = _counts(haven.url)
        assert second["pending"] == 2, f"one product approval per design expected, got {second['pending']} pending"
        assert second["product_sets"] == 0, "a product was published before its approval"

        haven("approvals", "approve", "--all")
        haven("pipeline", "run")
        third = _counts(haven.url)
        assert third["published"] == third["designs"], f"designs without a productSet in the outbox: {third}"
        assert third["pending"] == 0, f"approvals still pending after approving everything: {third}"

        haven("pipeline", "run")
        fourth = _counts(haven.url)
        assert fourth["pending"] == 0 and fourth["items"] == third["items"], f"a fourth run opened an approval: {fourth}"
    finally:
        print(f"\nsupervised CLI test: wall time {time.monotonic() - started:.1f} s")
