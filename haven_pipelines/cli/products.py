"""``haven products``: build, publish, retire, list and reconcile products."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import acting_user, app_context, echo_json, handle_errors, json_option, paging_options, user_option
from haven_pipelines.db.stores.products import ProductStore
from haven_pipelines.db.tables import PRODUCT_STATUSES


@click.group("products")
def products() -> None:
    """Products and their Shopify listings."""


@products.command("build")
@user_option
@click.option("--design", "asset_id", required=True, help="Approved design asset id.")
@json_option
@handle_errors
def build(user_ref, asset_id, as_json):
    """Build (or rebuild in place) the design's product from the catalogue profile."""
    from haven_pipelines.services.products import ProductService

    ctx = app_context()
    try:
        result = ProductService(ctx).build_for_design(acting_user(ctx.engine, user_ref), asset_id)
    finally:
        ctx.close()
    if as_json:
        echo_json(result.__dict__)
    else:
        verb = "created" if result.created else "updated"
        click.echo(f"{verb} product {result.product_id}: {result.variant_count} variants, {result.image_count} images"
                   + (f"; waiting for approval (item {result.approval_item_id})" if result.approval_item_id else ""))


@products.command("publish")
@user_option
@click.argument("product_id")
@json_option
@handle_errors
def publish(user_ref, product_id, as_json):
    """Publish a product to Shopify (a recorded dry run until a shop is connected)."""
    from haven_pipelines.services.products import ProductService

    ctx = app_context()
    try:
        result = ProductService(ctx).publish(acting_user(ctx.engine, user_ref), product_id)
    finally:
        ctx.close()
    if as_json:
        echo_json(result.__dict__)
    elif result.dry_run:
        click.echo(f"dry run: productSet for {result.handle} recorded in shopify_outbox (ids {list(result.outbox_ids)}); "
                   f"{result.variant_count} variants; nothing was sent")
    else:
        click.echo(f"published {result.shopify_gid} ({result.handle}), {result.variant_count} variants: {result.admin_url}")


@products.command("retire")
@user_option
@click.argument("product_id")
@click.option("--reason", type=click.Choice(["underperformer", "manual", "seasonal"]), required=True)
@handle_errors
def retire(user_ref, product_id, reason):
    """Retire a product and archive it on Shopify."""
    from haven_pipelines.services.products import ProductService

    ctx = app_context()
    try:
        result = ProductService(ctx).retire(acting_user(ctx.engine, user_ref), product_id, reason)
    finally:
        ctx.close()
    where = "recorded (dry run)" if result.dry_run else "archived on Shopify"
    click.echo(f"retired {product_id} ({reason}); {where if result.shopify_gid else 'never published'}")


@products.command("list")
@user_option
@click.option("--status", type=click.Choice(PRODUCT_STATUSES))
@click.option("--collection", type=click.Choice(["grounding", "wholeness", "growth"]))
@click.option("--search")
@paging_options
@json_option
@handle_errors
def list_products(user_ref, status, collection, search, limit, offset, as_json):
    """List products newest first with variants and images, and the total."""
    from haven_pipelines.cli.common import engine

    eng = engine()
    try:
        user_id = acting_user(eng, user_ref)
        with eng.connect() as conn:
            page = ProductStore(conn, user_id).list(status=status, collection=collection, search=search, limit=limit, offset=offset)
    finally:
        eng.dispose()
    if as_json:
        echo_json({"total": page.total, "limit": limit, "offset": offset, "products": [d.as_dict() for d in page.rows]})
        return
    for d in page.rows:
        click.echo(f"{d.id}  {d['status']:8} {len(d.variants):2} variants {len(d.images)} images  {d['title']}")
    click.echo(f"{len(page.rows)} of {page.total}")


@products.command("reconcile")
@user_option
@click.option("--fix", is_flag=True, help="Publish drifted products again.")
@json_option
@handle_errors
def reconcile(user_ref, fix, as_json):
    """Compare local products with Shopify and report (or fix) the drift."""
    from haven_pipelines.services.products import ProductService

    ctx = app_context()
    try:
        report = ProductService(ctx).reconcile(acting_user(ctx.engine, user_ref), fix=fix)
    finally:
        ctx.close()
    if as_json:
        echo_json(report.__dict__)
        return
    if report.dry_run:
        click.echo("dry run: no shop connected, nothing to compare")
        return
    click.echo(f"checked {report.checked}; drifted {len(report.drifted)}; missing on Shopify "
               f"{len(report.missing_on_shopify)}; fixed {report.fixed}")
    for d in report.drifted:
        click.echo(f"  {d['product_id']}: " + "; ".join(d["differences"]))
    for m in report.missing_on_shopify:
        click.echo(f"  {m['product_id']}: deleted on Shopify ({m['gid']})")
