"""Metadata helpers shared by assets, checks and jobs: the shapes the Dagster UI shows well.

Secrets never reach metadata: only ids, counts, statuses, storage URLs and error messages (the
services already strip credentials from their errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

# Tables in metadata are for reading at a glance; the full data is in the database.
MAX_TABLE_ROWS = 50


def link(url: str | None) -> dg.MetadataValue | None:
    """A URL metadata value, or a path value for local files; None when there is no URL."""
    if not url:
        return None
    if url.startswith("file://"):
        return dg.MetadataValue.path(url.removeprefix("file://"))
    return dg.MetadataValue.url(url)


def table(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> dg.MetadataValue:
    """A metadata table of the first :data:`MAX_TABLE_ROWS` rows (values shown as text)."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name=c, type="string") for c in columns])
    records = [
        dg.TableRecord({c: "" if row.get(c) is None else str(row.get(c)) for c in columns})
        for row in rows[:MAX_TABLE_ROWS]
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def without_none(values: Mapping[str, object]) -> dict[str, object]:
    """The mapping without None values (Dagster rejects None metadata)."""
    return {k: v for k, v in values.items() if v is not None}


def examples(items: Iterable[object], limit: int = 5) -> list[object]:
    """The first few items, for "examples" metadata in checks and failures."""
    out = []
    for item in items:
        if len(out) >= limit:
            break
        out.append(item)
    return out


def result_or_failure(failed: Sequence[Mapping[str, object]], what_failed: str, metadata: dict[str, object]) -> dg.MaterializeResult:
    """The materialisation's result, or, when designs failed, a ``dg.Failure`` naming how many and
    the first design's error (raised after the others were done, with the same metadata)."""
    if failed:
        first = failed[0]
        raise dg.Failure(
            description=f"{len(failed)} {what_failed}; first: design {first['asset_id']}: {first['error']}",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


# Dagster shows run tags in the runs list and on the run page; a long tag is hard to read there.
MAX_TAG_LABELS = 3


def tag_run(context: dg.AssetExecutionContext | dg.OpExecutionContext, tags: Mapping[str, str]) -> None:
    """Add ``tags`` to the current run (shown in the runs list and on the run's page)."""
    if tags:
        context.instance.add_run_tags(context.run.run_id, dict(tags))


def designs_tag(labels: Sequence[str]) -> dict[str, str]:
    """The ``haven/designs`` run tag: the first few design labels and how many more."""
    if not labels:
        return {}
    shown = "; ".join(labels[:MAX_TAG_LABELS])
    more = len(labels) - MAX_TAG_LABELS
    return {"haven/designs": shown + (f" and {more} more" if more > 0 else "")}
