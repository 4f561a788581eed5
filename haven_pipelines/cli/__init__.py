"""The ``haven`` command: the people-facing side of Haven Pipelines.

Each command group lives in its own module beside this one and is registered here.
"""

from __future__ import annotations

import click

from haven_pipelines.cli.approvals import approvals
from haven_pipelines.cli.credits import credits
from haven_pipelines.cli.db import db
from haven_pipelines.cli.demo import demo
from haven_pipelines.cli.pipeline import pipeline
from haven_pipelines.cli.pricing import pricing
from haven_pipelines.cli.products import products
from haven_pipelines.cli.render import mockups, render
from haven_pipelines.cli.scenes import scenes
from haven_pipelines.cli.settings import settings
from haven_pipelines.cli.shopify import shopify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="haven-pipelines")
def main() -> None:
    """Haven Pipelines: approved artwork to mockups, products and Shopify listings.

    The database is HAVEN_DATABASE_URL (default: a SQLite file in HAVEN_DATA_DIR, ./.haven).
    """


for command in (db, demo, settings, credits, pricing, render, mockups, scenes, products, shopify, approvals, pipeline):
    main.add_command(command)
