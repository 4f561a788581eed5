"""What a person sees in the Dagster UI after the quickstart, checked in Chromium.

Each test opens a page as a person would (by its address), waits for what they would look for, and
saves a screenshot. Expected figures come from the application database the quickstart wrote, never
from the metadata under test.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import assets, mockups, product_variants, products
from haven_pipelines.defs.schemas import SCHEMAS
from haven_pipelines.services.previews import design_labels, price_range
from haven_pipelines_tests.ui.conftest import DESIGNS

# One module, so one xdist worker (scripts/test.sh distributes by file): the tests share one
# quickstart, webserver and browser (module fixtures), which a split would build once per worker.
pytestmark = [pytest.mark.slow, pytest.mark.daemon, pytest.mark.browser]

CATALOGUE_ASSETS = ("approved_design_assets", "mockups", "products", "shopify_listings")
LOCATION = "haven_pipelines"


@pytest.fixture(scope="module")
def designs(quickstart_instance) -> list[dict]:
    """Each design of the quickstart: id, partition key, label, its mockups' scenes and its product's
    price range."""
    engine = create_engine(quickstart_instance.database_url)
    try:
        with engine.connect() as conn:
            keys = dict(conn.execute(sa.select(assets.c.id, assets.c.partition_key).order_by(assets.c.id)).all())
            ids = list(keys)
            scenes = {a: sorted(s for (s,) in conn.execute(sa.select(mockups.c.scene).where(mockups.c.asset_id == a)))
                      for a in ids}
            prices = {a: [p for (p,) in conn.execute(
                sa.select(product_variants.c.price).join(products, products.c.id == product_variants.c.product_id)
                .where(products.c.asset_id == a))] for a in ids}
        labels = design_labels(engine, ids)
    finally:
        engine.dispose()
    return [{"id": a, "key": keys[a], "label": labels[a], "scenes": scenes[a],
             "price_range": price_range(Decimal(p) for p in prices[a])} for a in ids]


def _metadata_row(page, key: str):
    """The row of the metadata table whose first cell is ``key``."""
    return page.locator("tr").filter(has=page.locator("td", has_text=re.compile(rf"^{re.escape(key)}$"))).first


def _open_markdown(page, key: str):
    """Open the Markdown dialog of metadata entry ``key``; returns the dialog."""
    _metadata_row(page, key).get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


def _loaded_images(dialog) -> list[dict]:
    """Every image in the dialog once each has finished loading: alt text, source, natural width."""
    images = dialog.locator("img")
    images.first.wait_for()
    dialog.page.wait_for_function(
        "els => els.every(e => e.complete)", arg=images.element_handles(), timeout=60_000
    )
    return images.evaluate_all("els => els.map(e => ({alt: e.alt, src: e.src, width: e.naturalWidth}))")


def test_lineage_graph_shows_the_four_catalogue_assets(page, screenshots):
    page.goto(f"/locations/{LOCATION}/asset-groups/catalogue")
    for name in CATALOGUE_ASSETS:
        page.get_by_text(name, exact=True).first.wait_for()
    page.screenshot(path=screenshots / "lineage_catalogue.png")


def test_the_partition_list_names_each_design_by_its_quote(page, screenshots, designs):
    """The keys are readable and short enough to show whole in the partition list; its filter box
    finds a design by its quote's first word; a partition's page is headed by its key. (Expected keys
    come from the database's quotes and ids, not from the UI.)"""
    page.goto("/assets/mockups?view=partitions")
    for design in designs:
        slug = design["key"].rsplit("-", 1)[0]
        assert slug != "design" and design["key"].endswith(design["id"].replace("-", "")[:8])
        # Visible whole: the list cuts a longer key in the middle (a hidden copy keeps the full text).
        page.get_by_text(design["key"], exact=True).filter(visible=True).first.wait_for()
    assert not any(d["id"] in page.content() for d in designs)  # no bare id is a partition any more
    page.screenshot(path=screenshots / "mockups_partition_list.png")

    first, others = designs[0], designs[1:]
    word = first["key"].split("-", 1)[0]
    assert not any(d["key"].startswith(word) for d in others)
    page.get_by_placeholder("Filter by name").fill(word)
    page.get_by_text(others[0]["key"], exact=True).filter(visible=True).wait_for(state="detached")
    page.get_by_text(first["key"], exact=True).filter(visible=True).first.wait_for()
    assert all(page.get_by_text(d["key"], exact=True).filter(visible=True).count() == 0 for d in others)
    page.screenshot(path=screenshots / "mockups_partition_filter.png")

    page.goto(f"/assets/mockups?view=partitions&partition={first['key']}")
    _metadata_row(page, "design").get_by_text(first["label"]).wait_for()
    page.get_by_text(first["key"], exact=True).filter(visible=True).first.wait_for()
    page.screenshot(path=screenshots / "mockups_partition_page_key.png")


def test_each_mockups_partition_shows_its_own_mockup_images_and_counts(page, screenshots, designs):
    assert len(designs) == DESIGNS
    sources_by_design: dict[str, set[str]] = {}
    for n, design in enumerate(designs, 1):
        page.goto(f"/assets/mockups?view=partitions&partition={design['key']}")
        _metadata_row(page, "design").get_by_text(design["label"]).wait_for()
        # Its own figures, not the run's: each run renders all designs at once. The page shows the
        # latest materialisation, the quickstart's second run, which found this design's mockups
        # made (its own count skipped, never the run's total) and rendered nothing.
        assert _metadata_row(page, "renders_skipped").locator("td").nth(1).inner_text().strip() == str(len(design["scenes"]))
        assert _metadata_row(page, "renders_done").locator("td").nth(1).inner_text().strip() == "0"
        assert _metadata_row(page, "mockups_shown").locator("td").nth(1).inner_text().strip() == str(len(design["scenes"]))
        page.screenshot(path=screenshots / f"mockups_partition_{n}.png")

        dialog = _open_markdown(page, "preview")
        images = _loaded_images(dialog)
        dialog.get_by_text(design["label"]).wait_for()
        assert sorted(i["alt"] for i in images) == design["scenes"]
        assert all(i["width"] > 0 for i in images), images
        assert all(i["src"].startswith("data:image/jpeg;base64,") for i in images)
        for scene in design["scenes"]:  # the scene's name is written under its picture
            dialog.get_by_text(scene, exact=True).wait_for()
        page.screenshot(path=screenshots / f"mockups_partition_{n}_preview.png")
        dialog.get_by_role("button", name="Close").click()
        sources_by_design[design["id"]] = {i["src"] for i in images}
    # No two designs show the same picture.
    shown = [s for sources in sources_by_design.values() for s in sources]
    assert len(shown) == len(set(shown)) == sum(len(d["scenes"]) for d in designs)


def test_each_products_partition_shows_its_main_image_and_price_range(page, screenshots, designs):
    for n, design in enumerate(designs, 1):
        page.goto(f"/assets/products?view=partitions&partition={design['key']}")
        _metadata_row(page, "design").get_by_text(design["label"]).wait_for()
        dialog = _open_markdown(page, "preview")
        [image] = _loaded_images(dialog)
        assert image["width"] > 0
        dialog.get_by_text(f"price {design['price_range']}").wait_for()
        if n == 1:
            page.screenshot(path=screenshots / "products_partition_preview.png")
        dialog.get_by_role("button", name="Close").click()


def test_runs_list_names_the_designs_and_carries_the_run_totals(page, screenshots, designs):
    page.goto("/runs")
    renders = sum(len(d["scenes"]) for d in designs)
    # The quickstart's one catalogue run is the only run with these tags.
    page.get_by_text(re.compile(rf"^haven/renders_done: {renders}$")).first.wait_for()
    page.get_by_text(re.compile(rf"^haven/design_count: {len(designs)}$")).first.wait_for()
    tag = page.get_by_text(re.compile(r"^haven/designs: ")).first.inner_text()
    for design in designs:  # each design named by its quote (the chip may be cut off on screen)
        assert design["label"] in tag
    page.screenshot(path=screenshots / "runs.png")


def test_credit_usage_monthly_shows_its_schema_figures_rows_preview_and_a_plot(page, screenshots, designs):
    page.goto("/assets/credit_usage_monthly")
    for column in SCHEMAS["credit_usage_monthly"].to_schema().columns:
        page.get_by_text(column, exact=True).first.wait_for()
    page.screenshot(path=screenshots / "credit_usage_monthly_overview.png", full_page=True)
    page.goto("/assets/credit_usage_monthly?view=events")
    for key in ("dagster/row_count", "net_credits_latest_month", "users_over_80_percent", "lowest_remaining_annual",
                "credits_this_month", "renders_this_month", "preview"):
        _metadata_row(page, key).wait_for()
    # This month's renders: every mockup the quickstart made (the local renderer charges no credits,
    # so the render count is the figure that moves).
    renders = sum(len(d["scenes"]) for d in designs)
    assert _metadata_row(page, "renders_this_month").locator("td").nth(1).inner_text().strip() == str(renders)
    page.screenshot(path=screenshots / "credit_usage_monthly_events.png")
    # Two materialisations (the quickstart ran twice): the overview's metadata section plots the figures.
    page.goto("/assets/credit_usage_monthly")
    page.get_by_text("Plots", exact=True).first.click()
    page.locator("canvas").first.wait_for()
    page.screenshot(path=screenshots / "credit_usage_monthly_plots.png", full_page=True)


def test_automation_page_lists_each_sensor_and_each_sensor_page_shows_its_description(page, screenshots):
    from haven_pipelines.definitions import defs

    SENSORS = list(defs.sensors)  # noqa: N806 - every sensor of the code location, the analysts' too
    assert len(SENSORS) >= 4
    page.goto("/automation")
    for sensor in SENSORS:
        page.get_by_text(sensor.name, exact=True).first.wait_for()
    page.screenshot(path=screenshots / "automation.png")
    for sensor in SENSORS:
        assert sensor.description
        page.goto(f"/locations/{LOCATION}/sensors/{sensor.name}")
        # The UI renders the description's Markdown; its first words are plain text.
        first_words = sensor.description.split("`")[0].strip()
        page.get_by_text(first_words).first.wait_for()
        page.screenshot(path=screenshots / f"sensor_{sensor.name}.png")
