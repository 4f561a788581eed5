"""``haven approvals``: the review queue for people."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import acting_user, echo_json, engine, handle_errors, json_option, paging_options, user_option
from haven_pipelines.db.stores.approvals import ApprovalStore


@click.group("approvals")
def approvals() -> None:
    """Review mockups and products waiting for a decision."""


@approvals.command("list")
@user_option
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]), default="pending", show_default=True)
@click.option("--type", "type_", type=click.Choice(["mockup", "product"]))
@paging_options
@json_option
@handle_errors
def list_items(user_ref, status, type_, limit, offset, as_json):
    """List the queue, oldest first."""
    eng = engine()
    try:
        user_id = acting_user(eng, user_ref)
        with eng.connect() as conn:
            page = ApprovalStore(conn, user_id).list(status=status, type=type_, limit=limit, offset=offset)
    finally:
        eng.dispose()
    rows = [dict(r) for r in page.rows]
    if as_json:
        echo_json({"total": page.total, "items": rows})
        return
    for r in rows:
        payload = r["payload"] or {}
        what = payload.get("scene") or payload.get("title") or ""
        click.echo(f"{r['id']}  {r['type']:7} {r['status']:8} {what:20} {payload.get('mockupUrl') or payload.get('handle') or ''}")
    click.echo(f"{len(rows)} of {page.total}")


def _decide(user_ref: str, item_id: str, decision: str, note: str | None) -> None:
    from haven_pipelines.services.approvals import decide

    eng = engine()
    try:
        facts = decide(eng, acting_user(eng, user_ref), item_id, decision, note)
    finally:
        eng.dispose()
    click.echo(f"{decision} {facts['type']} {facts['reference_id']} (design {facts['asset_id']})")


@approvals.command("approve")
@user_option
@click.argument("item_id")
@click.option("--note")
@handle_errors
def approve(user_ref, item_id, note):
    """Approve an item; the approval sensor then builds and publishes what follows."""
    _decide(user_ref, item_id, "approved", note)


@approvals.command("reject")
@user_option
@click.argument("item_id")
@click.option("--note")
@handle_errors
def reject(user_ref, item_id, note):
    """Reject an item."""
    _decide(user_ref, item_id, "rejected", note)
