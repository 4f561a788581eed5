"""The one Dagster ``Definitions`` of Haven Pipelines, built from named lists.

Load it with ``dagster dev`` (``[tool.dagster]`` in pyproject, or ``workspace.yaml``), or
``dagster dev -m haven_pipelines.definitions``. Resources take their settings from the environment
when a run starts (``haven_pipelines.settings``, see ``haven_pipelines/defs/resources.py``); with
nothing set they use the embedded defaults: SQLite in ``HAVEN_DATA_DIR``, the local renderer, local
images, Shopify dry run. Only the nightly schedule's hour and time zone are read when the
definitions are built (a cron schedule is part of the definition).
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from haven_pipelines.defs.assets.analytics import ANALYST_TABLES
from haven_pipelines.defs.checks import ASSET_CHECKS
from haven_pipelines.defs.jobs import DESIGN_GRAPH, JOBS
from haven_pipelines.defs.partitions import DESIGNS_PARTITION, PartitionMove
from haven_pipelines.defs.partitions import migrate_design_partitions as _migrate_design_partitions
from haven_pipelines.defs.resources import (
    BlobStoreResource,
    CreditBudgetResource,
    HavenDatabaseResource,
    HavenResource,
    RendererResource,
    ShopifyResource,
)
from haven_pipelines.defs.report_sensor import REPORT_SENSORS
from haven_pipelines.defs.schedules import build_schedules
from haven_pipelines.defs.sensors import SENSORS

ASSETS = [*DESIGN_GRAPH, *ANALYST_TABLES]
__all__ = ["ASSETS", "DESIGNS_PARTITION", "PartitionMove", "build_definitions", "build_resources", "defs",
           "migrate_design_partitions"]


def migrate_design_partitions(instance: dg.DagsterInstance, engine, *, dry_run: bool = False) -> PartitionMove:
    """Move the instance's ``designs`` partitions to their designs' readable keys, carrying the
    latest materialisation of every design-graph asset (see ``defs/partitions.py``)."""
    return _migrate_design_partitions(instance, engine, [a.key for a in DESIGN_GRAPH], dry_run=dry_run)


def build_resources(haven: HavenResource | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources by key; ``haven`` overrides the default (tests, the CLI, benchmarks)."""
    haven = haven or HavenResource(
        database=HavenDatabaseResource(),
        renderer=RendererResource(),
        blob_store=BlobStoreResource(),
        shopify=ShopifyResource(),
    )
    return {"haven": haven, "budget": CreditBudgetResource(haven=haven)}


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The code location's definitions; the nightly schedule's hour and time zone are read now.

    Args:
        environ: the variables to read (default: ``os.environ``); resources read theirs when a run starts.
    """
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=JOBS,
        schedules=build_schedules(environ),
        sensors=[*SENSORS, *REPORT_SENSORS],
        resources=build_resources(),
    )


defs = build_definitions()
