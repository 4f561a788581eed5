"""Shared lookups for the design-partitioned assets (thin wrappers over the design services)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from haven_pipelines.domain.errors import NotFound
from haven_pipelines.services.designs import owner_of


def designs_by_owner(engine: Engine, asset_ids: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Group design ids by the user who owns each design; returns (owner -> ids, unknown ids).

    Every later step acts as that owner, so a run spanning several users never mixes their rows.
    """
    owners: dict[str, list[str]] = {}
    unknown: list[str] = []
    for asset_id in asset_ids:
        try:
            owners.setdefault(owner_of(engine, asset_id), []).append(asset_id)
        except NotFound:
            unknown.append(asset_id)
    return owners, unknown
