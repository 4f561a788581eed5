"""The ``haven`` command: the people-facing side of Haven Pipelines.

Each command group lives in its own module beside this one and is registered here.
"""

from __future__ import annotations

import click

from haven_pipelines.cli.approvals import approvals
from haven_pipelines.cli.db import db
from haven_pipelines.cli.pipeline import pipeline
from haven_pipelines.cli.products import products
from haven_pipelines.cli.render import mockups, render


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="haven-pipelines")
def main() -> None:
    """Haven Pipelines: approved artwork to mockups, products and Shopify listings.

    The database is HAVEN_DATABASE_URL (default: a SQLite file in HAVEN_DATA_DIR, ./.haven).
    """


for command in (db, render, mockups, products, approvals, pipeline):
    main.add_command(command)


def _register_optional() -> None:
    """Groups whose modules are written by other parts of the project register here once present."""
    import importlib

    for module, name in (("demo", "demo"), ("credits", "credits"), ("shopify", "shopify"), ("scenes", "scenes")):
        try:
            mod = importlib.import_module(f"haven_pipelines.cli.{module}")
        except ModuleNotFoundError:
            continue
        main.add_command(getattr(mod, name))


_register_optional()
