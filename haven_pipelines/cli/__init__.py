"""The ``haven`` command: the people-facing side of Haven Pipelines.

Each command group lives in its own module beside this one and is registered here.
"""

from __future__ import annotations

import click

from haven_pipelines.cli import db as db_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="haven-pipelines")
def main() -> None:
    """Haven Pipelines: approved artwork to mockups, products and Shopify listings.

    The database is HAVEN_DATABASE_URL (default: a SQLite file in HAVEN_DATA_DIR, ./.haven).
    """


main.add_command(db_cmd.db)
