"""Partitions: one dynamic partition per approved design, keyed by a readable key of its quote.

A design's key is ``<quote slug>-<first 8 hex digits of its id>`` (``roots-before-branches-6e714a3a``),
more hex digits only where two designs would otherwise share one. It is computed once, when the
design is created, and stored with it (``assets.partition_key``), so editing the quote never moves
the design to another partition. ``services/designs.py`` owns the mapping both ways; the Dagster
layer turns keys into design ids at its edges (:func:`designs_in_run` here, the sensors, the op jobs,
the CLI) and everything below it speaks ids. docs/dagster.md says why keys look like this, and
``haven pipeline migrate-partitions`` moves an instance's older bare-id keys to them.

Mockups are partitioned **per design only, not design x scene**, on purpose:

- The scenes a design gets depend on its quote's collection (two to four of the five system
  scenes), and users may add private scenes. A static scene dimension would show every
  never-to-be-rendered (design, scene) pair as a missing partition forever.
- The credit gate, the approval of a product and the Shopify listing all act per design, so one
  partition per design lines the whole graph up on one key and the UI shows one row per artwork.
- A design is 2-5 renders; a backfill of hundreds of designs already runs as one run fanned out
  over the render service's bounded pool, so finer partitions would only add bookkeeping.

Per-scene detail (status, file, credits) is in each materialisation's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from sqlalchemy.engine import Engine

from haven_pipelines.services.designs import DesignPartitions, designs_for_keys, partition_keys

DESIGNS_PARTITION = "designs"

design_partitions = dg.DynamicPartitionsDefinition(name=DESIGNS_PARTITION)


def designs_in_run(context: dg.AssetExecutionContext, engine: Engine) -> DesignPartitions:
    """The designs of the run's partition keys (one read), in the keys' order.

    Raises:
        dg.Failure: some keys name no design in the database (the first five are named), before
            anything is done for the others.
    """
    found = designs_for_keys(engine, list(context.partition_keys))
    if found.unknown:
        raise dg.Failure(
            description=f"{len(found.unknown)} design partition(s) have no design asset in the database: "
                        f"{', '.join(found.unknown[:5])}",
            metadata={"unknown_designs": len(found.unknown)},
        )
    return found


# -- moving an instance's older partitions to the readable keys ---------------------------------------

#: Old keys whose materialisations are read per query when they are carried to the new keys.
_CARRY_CHUNK = 100
_RECORDS_PER_PAGE = 1000


@dataclass(frozen=True)
class PartitionMove:
    """What :func:`migrate_design_partitions` did (or, in a dry run, would do)."""

    moved: list[tuple[str, str]]
    """(old key, new key) of each partition moved, in the instance's order."""
    unknown: list[str]
    """Partitions that name no design in the database (left as they are)."""
    carried: int
    """Materialisations carried to a new key (the latest of each asset and moved partition)."""
    dry_run: bool


def migrate_design_partitions(instance: dg.DagsterInstance, engine: Engine, asset_keys: Sequence[dg.AssetKey],
                              *, dry_run: bool = False) -> PartitionMove:
    """Move the ``designs`` partitions whose key is not their design's key (the bare design ids of
    instances from before migration 0009) to the design's key.

    Dagster cannot rename a partition, so for each such partition this adds the new key, records
    under it one materialisation of each asset in ``asset_keys`` that copies the latest one of the
    old key (its metadata, plus ``moved_from``; so the partition list shows the design as
    materialised, with its pictures), then deletes the old key. Every earlier event stays in the
    event log under the old key. Idempotent: a second call finds nothing to move, and a call after
    an interrupted one carries only what the new key lacks.

    Args:
        instance: the Dagster instance (``DagsterInstance.get()`` for ``$DAGSTER_HOME``).
        engine: the application database, which holds each design's key.
        asset_keys: the design-partitioned assets whose latest materialisation is carried over.
        dry_run: only count; change nothing.
    """
    current = list(instance.get_dynamic_partitions(DESIGNS_PARTITION))
    found = designs_for_keys(engine, current)
    wanted = partition_keys(engine, list(found.design_of.values()))
    moved = [(key, wanted[found.design_of[key]]) for key in current
             if key in found.design_of and wanted.get(found.design_of[key], key) != key]
    if dry_run or not moved:
        return PartitionMove(moved, found.unknown, 0, dry_run)
    present = set(current)
    new_keys = [new for _old, new in moved if new not in present]
    if new_keys:
        instance.add_dynamic_partitions(DESIGNS_PARTITION, list(dict.fromkeys(new_keys)))
    carried = sum(_carry_latest(instance, key, moved) for key in asset_keys)
    for old, _new in moved:
        instance.delete_dynamic_partition(DESIGNS_PARTITION, old)
    return PartitionMove(moved, found.unknown, carried, False)


def _latest_by_partition(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: list[str]) -> dict[str, object]:
    """The newest materialisation record of ``asset_key`` in each of ``partitions`` that has one."""
    latest: dict[str, object] = {}
    for start in range(0, len(partitions), _CARRY_CHUNK):
        chunk = partitions[start : start + _CARRY_CHUNK]
        cursor = None
        while True:
            page = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=chunk), limit=_RECORDS_PER_PAGE, cursor=cursor)
            for record in page.records:  # newest first
                latest.setdefault(record.partition_key, record)
            if not page.has_more:
                break
            cursor = page.cursor
    return latest


def _carry_latest(instance: dg.DagsterInstance, asset_key: dg.AssetKey, moved: list[tuple[str, str]]) -> int:
    """Record under each new key the latest materialisation of ``asset_key`` of its old key, unless
    the new key has one already (a new run, or an earlier interrupted migration). Returns how many."""
    old_latest = _latest_by_partition(instance, asset_key, [old for old, _new in moved])
    have = _latest_by_partition(instance, asset_key, [new for old, new in moved if old in old_latest])
    carried = 0
    for old, new in moved:
        record = old_latest.get(old)
        if record is None or new in have:
            continue
        materialization = record.asset_materialization  # type: ignore[attr-defined]
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=asset_key, partition=new,
            description=f"Carried over from the design's former partition {old} (haven pipeline migrate-partitions).",
            metadata={**materialization.metadata, "moved_from": dg.MetadataValue.text(old)},
        ))
        carried += 1
    return carried
