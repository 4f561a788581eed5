"""``haven approvals``: the review queue for people, one item at a time or a batch at once."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import (
    DESIGN_ID,
    acting_user,
    echo_json,
    echo_table,
    engine,
    handle_errors,
    json_option,
    paging_options,
    user_option,
)
from haven_pipelines.services.designs import partition_keys
from haven_pipelines.services.review import KINDS, decide_all, decide_one, review_queue


@click.group("approvals")
def approvals() -> None:
    """Review mockups and products waiting for a decision."""


def _quote(text: str | None, width: int = 40) -> str:
    if not text:
        return "(no quote)"
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f'"{text}"'


@approvals.command("list")
@user_option
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]), default="pending", show_default=True)
@click.option("--type", "--kind", "type_", type=click.Choice(KINDS), help="Only mockups or only products.")
@paging_options
@json_option
@handle_errors
def list_items(user_ref, status, type_, limit, offset, as_json):
    """List the queue, oldest first, each item with its design's quote; says why when it is empty."""
    eng = engine()
    try:
        page = review_queue(eng, acting_user(eng, user_ref), status=status, kind=type_, limit=limit, offset=offset)
        # The table names each design by the key the Dagster UI lists (the JSON keeps the id).
        keys = {} if as_json else partition_keys(eng, [r["design_id"] for r in page.items if r["design_id"]])
    finally:
        eng.dispose()
    if as_json:
        echo_json({"total": page.total, "items": page.items, "empty_reason": page.empty_reason})
        return
    if page.items:
        echo_table(["item", "type", "status", "scene or title", "quote", "design"],
                   [(r["id"], r["type"], r["status"], (r["payload"] or {}).get("scene") or (r["payload"] or {}).get("title"),
                     _quote(r["quote_text"]), keys.get(r["design_id"], r["design_id"])) for r in page.items])
    if page.empty_reason:
        click.echo(page.empty_reason)
    else:
        click.echo(f"{len(page.items)} of {page.total}")


def _batch_options(func):
    func = click.option("--design", "design_id", type=DESIGN_ID, help="With --all: only this design's items.")(func)
    func = click.option("--kind", type=click.Choice(KINDS), help="With --all: only mockups or only products.")(func)
    func = click.option("--all", "all_", is_flag=True, help="Every pending item (narrowed by --kind and --design).")(func)
    return click.argument("item_id", required=False)(func)


def _decide(user_ref, item_id, all_, kind, design_id, decision, note, as_json) -> None:
    if bool(item_id) == bool(all_):
        raise click.UsageError("give one ITEM_ID or --all")
    if item_id and (kind or design_id):
        raise click.UsageError("--kind and --design narrow --all; they do not go with an ITEM_ID")
    eng = engine()
    try:
        user_id = acting_user(eng, user_ref)
        if item_id:
            facts = decide_one(eng, user_id, item_id, decision, note)
        else:
            batch = decide_all(eng, user_id, decision, kind=kind, design_id=design_id, note=note)
        if not as_json:  # the lines name each design by its partition key, as the list does
            ids = [facts["asset_id"]] if item_id else [d["design_id"] for d in batch.decided]
            keys = partition_keys(eng, [i for i in ids if i])
    finally:
        eng.dispose()
    if item_id:
        if as_json:
            echo_json(facts)
        else:
            click.echo(f"{decision} {facts['type']} {facts['reference_id']} (design {keys.get(facts['asset_id'], facts['asset_id'])})")
        return
    if as_json:
        echo_json(batch.as_dict())
        return
    for d in batch.decided:
        click.echo(f"{decision} {d['type']} {d['reference_id']} {_quote(d['quote_text'])} "
                   f"(design {keys.get(d['design_id'], d['design_id'])})")
    for s in batch.skipped:
        click.echo(f"skipped {s['type']} {s['reference_id']}: {s['reason']}")
    click.echo(f"{len(batch.decided)} {decision}, {len(batch.skipped)} skipped")


@approvals.command("approve")
@user_option
@_batch_options
@click.option("--note", help="A note kept with the decision.")
@json_option
@handle_errors
def approve(user_ref, item_id, all_, kind, design_id, note, as_json):
    """Approve ITEM_ID, or every pending item with --all; the approval sensor then publishes what follows."""
    _decide(user_ref, item_id, all_, kind, design_id, "approved", note, as_json)


@approvals.command("reject")
@user_option
@_batch_options
@click.option("--reason", "--note", "reason", required=True, help="Why (kept with the decision).")
@json_option
@handle_errors
def reject(user_ref, item_id, all_, kind, design_id, reason, as_json):
    """Reject ITEM_ID, or every pending item with --all, with a reason."""
    _decide(user_ref, item_id, all_, kind, design_id, "rejected", reason, as_json)
