"""``haven products``: build, publish, retire, list and reconcile products."""

from __future__ import annotations

import click

from haven_pipelines.cli.common import (
    DESIGN_ID,
    acting_user,
    app_context,
    echo_json,
    echo_table,
    engine,
    handle_errors,
    json_option,
    paging_options,
    user_option,
)
from haven_pipelines.services import product_views
from haven_pipelines.domain.approval import PRODUCT_STATES


@click.group("products")
def products() -> None:
    """Products and their Shopify listings."""


@products.command("build")
@user_option
@click.option("--design", "asset_id", type=DESIGN_ID, required=True, help="Approved design asset id.")
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
@click.option("--reason", type=click.Choice(["underperformer", "manual", "seasonal"]), default="manual",
              show_default=True, help="Why (Haven Hub's reasons; manual when not given, as in the source).")
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
@click.option("--status", type=click.Choice(PRODUCT_STATES))
@click.option("--collection", type=click.Choice(["grounding", "wholeness", "growth"]))
@click.option("--search")
@paging_options
@json_option
@handle_errors
def list_products(user_ref, status, collection, search, limit, offset, as_json):
    """List products newest first with variants and images, and the total."""
    eng = engine()
    try:
        page = product_views.list_products(eng, acting_user(eng, user_ref), status=status, collection=collection, search=search,
                             limit=limit, offset=offset)
    finally:
        eng.dispose()
    if as_json:
        echo_json({"total": page.total, "limit": limit, "offset": offset, "products": [d.as_dict() for d in page.rows]})
        return
    echo_table(["product", "status", "variants", "images", "title"],
               [(d.id, d["status"], len(d.variants), len(d.images), d["title"]) for d in page.rows], right={2, 3})
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


@products.command("create")
@user_option
@click.option("--file", "request_file", type=click.File("r"), required=True,
              help="The create request as JSON (- for standard input): title, description, collection, quoteId, "
                   "assetId, variants (size, frameStyle, price, compareAtPrice, isDigital), images, publishImmediately.")
@json_option
@handle_errors
def create(user_ref, request_file, as_json):
    """Create a product from Haven Hub's create request (snake_case or the source's camelCase names)."""
    ctx = app_context()
    try:
        product = product_views.create_from_request(ctx, acting_user(ctx.engine, user_ref),
                                                     product_views.read_request(request_file.read()))
    finally:
        ctx.close()
    if as_json:
        echo_json(product)
        return
    click.echo(f"created product {product['id']}: {len(product['variants'])} variants, {len(product['images'])} images, "
               f"{product['status']}")
    _echo_product(product)


def _echo_product(p: dict) -> None:
    click.echo(f"{p['title']}  ({p['id']})")
    click.echo(f"  status:      {p['status']}" + (f" ({p['retire_reason']})" if p.get("retire_reason") else ""))
    click.echo(f"  collection:  {p['collection'] or '-'}    handle: {p['handle']}")
    if p.get("quote_text"):
        click.echo(f"  quote:       {p['quote_text']}")
    approval = p["approval"]
    if not approval["required"]:
        state = f"not needed (products run in {approval['mode']})"
    elif approval["status"] is None:
        state = "none opened yet"
    else:
        state = approval["status"] + (f" (item {approval['item_id']})" if approval["item_id"] else "")
        if approval["note"]:
            state += f": {approval['note']}"
    click.echo(f"  approval:    {state}")
    if approval.get("changes"):
        click.echo(f"  changed:     {approval['changes']}")
    click.echo(f"  shopify:     {p['shopify_product_gid'] or 'not published'}" + (f"  {p['admin_url']}" if p["admin_url"] else ""))
    if p["sync_error"]:
        click.echo(f"  sync error:  {p['sync_error']}")
    click.echo(f"  variants ({len(p['variants'])}):")
    echo_table(["sku", "title", "price", "compare at"],
               [(v["sku"], v["title"], v["price"], v["compare_at_price"]) for v in p["variants"]], right={2, 3}, indent="    ")
    click.echo(f"  images ({len(p['images'])}):")
    echo_table(["position", "source", "src"], [(i["position"], i["source"], i["src"]) for i in p["images"]],
               right={0}, indent="    ")


@products.command("show")
@user_option
@click.argument("product_id")
@json_option
@handle_errors
def show(user_ref, product_id, as_json):
    """One product: variants with prices, images, status, sync error, Shopify admin link, approval state."""
    eng = engine()
    try:
        product = product_views.product_view(eng, acting_user(eng, user_ref), product_id)
    finally:
        eng.dispose()
    if as_json:
        echo_json(product)
    else:
        _echo_product(product)
