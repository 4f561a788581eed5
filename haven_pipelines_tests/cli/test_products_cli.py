"""``haven products create|show|retire``: the source's create request, one product in full, retire's default."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.tables import products, shopify_outbox
from haven_pipelines.services.product_views import admin_url


def _request(tmp_path, payload, name="request.json") -> str:
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


def _source_request(design: dict, **extra) -> dict:
    """The request as Haven Hub's UI sent it: camelCase names, explicit and default prices."""
    return {
        "title": "Rest Is Courage", "description": "A quiet print.\n\nFor the reading corner.", "collection": "Grounding",
        "quoteId": design["quote_id"], "assetId": design["id"], "tags": ["calm", "Calm", "gift"],
        "variants": [
            {"size": "8x10", "frameStyle": "Black", "price": 55.0, "compareAtPrice": "65.00"},
            {"size": "11x14"},
            {"size": "24x36", "isDigital": True},
        ],
        **extra,
    }


def test_create_from_the_sources_request_then_show(haven, tmp_path):
    design = haven.designs()[0]
    created = haven.json("products", "create", "--file", _request(tmp_path, _source_request(design)))
    shown = haven.json("products", "show", created["id"])
    assert shown == json.loads(json.dumps(created, default=str))
    assert (shown["title"], shown["collection"], shown["status"]) == ("Rest Is Courage", "grounding", "draft")
    assert shown["quote_id"] == design["quote_id"] and shown["quote_text"] == design["text"]
    assert shown["asset_id"] is None  # not the design's catalogue product (see product_views)
    assert shown["description"] == "<p>A quiet print.</p>\n<p>For the reading corner.</p>"
    assert [(v["title"], v["price"], v["compare_at_price"], bool(v["is_digital"])) for v in shown["variants"]] == [
        ("8x10 / Black Frame", "55.00", "65.00", False), ("11x14", "34.99", None, False), ("24x36 / Digital Download", "19.99", None, True),
    ]
    assert [(i["position"], i["source"], i["asset_id"]) for i in shown["images"]] == [(1, "asset", design["id"])]
    assert shown["approval"] == {"required": False, "mode": "autopilot", "status": None, "item_id": None,
                                 "decided_at": None, "note": None, "changes": None}
    assert (shown["admin_url"], shown["sync_error"], shown["shopify_product_gid"]) == (None, None, None)
    text = haven("products", "show", created["id"]).output
    assert "approval:    not needed (products run in autopilot)" in text
    assert "shopify:     not published" in text
    # The variants and images tables have headers; the framed 8x10's row shows its price and compare-at price.
    lines = text.splitlines()
    assert [line.split() for line in lines if line.strip().startswith("sku")] == [["sku", "title", "price", "compare", "at"]]
    assert [line.split() for line in lines if line.strip().startswith("position")] == [["position", "source", "src"]]
    [framed] = [line for line in lines if "8x10 / Black Frame" in line]
    assert framed.split()[-2:] == ["55.00", "65.00"]
    assert f"quote:       {design['text']}" in text


def test_publish_immediately_publishes_at_once(haven, tmp_path):
    design = haven.designs()[1]
    request = _source_request(design, publishImmediately=True, images=[{"assetId": design["id"]}])
    created = haven.json("products", "create", "--file", _request(tmp_path, request))
    assert len(created["images"]) == 1  # the asset named twice is one image
    sent = haven.query(select(shopify_outbox.c.operation).where(shopify_outbox.c.product_id == created["id"]))
    # The dry run recorded the image's staged upload and the one productSet.
    assert [s["operation"] for s in sent] == ["StagedUploadsCreate", "ProductSet"]


def test_bad_requests_name_the_field_and_create_nothing(haven_sqlite, tmp_path):
    haven = haven_sqlite
    design = haven.designs()[0]
    cases = [
        ("{not json", "file: not valid JSON"),
        ("[1, 2]", "file: must hold a JSON object"),
        ({**_source_request(design), "title": "x" * 201}, "title: must be at most 200 characters, got 201"),
        ({**_source_request(design), "title": "  "}, "title: must not be empty"),
        ({**_source_request(design), "quoteId": "nope"}, "quote_id: quote nope not found"),
        ({**_source_request(design), "assetId": "nope"}, "asset_id: design asset nope not found"),
        ({**_source_request(design), "publishImmediately": "yes"}, "publish: must be true or false"),
        ({**_source_request(design), "publish": True, "publishImmediately": True}, "publish: is given twice"),
        ({**_source_request(design), "variants": []}, "variants: must have at least one variant"),
        ({**_source_request(design), "variants": [{"size": "8x10", "price": -3}]}, "variants[0].price: must be positive"),
        ({**_source_request(design), "variants": [{"size": "8x10", "compareAtPrice": 1}]}, "variants[0].compare_at_price"),
        ({**_source_request(design), "colour": "red"}, "colour: is not a known field"),
    ]
    for i, (payload, says) in enumerate(cases):
        result = haven("products", "create", "--file", _request(tmp_path, payload, f"r{i}.json"), ok=False)
        assert result.exit_code == 1, (payload, result.output)
        assert says in result.output, (says, result.output)
        assert "Traceback" not in result.output
    missing = haven("products", "create", "--file", str(tmp_path / "absent.json"), ok=False)
    assert missing.exit_code == 2 and "--file" in missing.output
    assert haven.json("products", "list")["total"] == 0


def test_show_has_the_approval_state_sync_error_and_admin_link(haven):
    haven("settings", "set", "--mode", "supervised")
    product_id = haven.json("products", "build", "--design", haven.designs()[0]["id"])["product_id"]
    pending = haven.json("products", "show", product_id)["approval"]
    assert (pending["required"], pending["mode"], pending["status"]) == (True, "supervised", "pending")
    haven("approvals", "approve", pending["item_id"], "--note", "looks right")
    approved = haven.json("products", "show", product_id)["approval"]
    assert (approved["status"], approved["note"]) == ("approved", "looks right") and approved["decided_at"]

    user_id = haven.user_id  # read first: a second writer inside the transaction would wait on SQLite's lock
    engine = create_engine(haven.url)
    try:
        with engine.begin() as conn:
            IntegrationStore(conn, user_id).connect("shopify", "haven-and-hold.myshopify.com", "shpat_test")
            conn.execute(update(products).where(products.c.id == product_id).values(
                shopify_product_id="8123", shopify_product_gid="gid://shopify/Product/8123", sync_error="THROTTLED"))
    finally:
        engine.dispose()
    shown = haven.json("products", "show", product_id)
    assert shown["admin_url"] == "https://admin.shopify.com/store/haven-and-hold/products/8123"
    assert shown["sync_error"] == "THROTTLED"
    text = haven("products", "show", product_id).output
    assert "sync error:  THROTTLED" in text and "approval:    approved" in text and "looks right" in text
    assert "https://admin.shopify.com/store/haven-and-hold/products/8123" in text
    missing = haven("products", "show", "no-such-product", ok=False)
    assert missing.exit_code == 1 and "product no-such-product not found" in missing.output


def test_admin_url():
    assert admin_url("shop.myshopify.com", "1") == "https://admin.shopify.com/store/shop/products/1"
    assert admin_url(None, "1") is None and admin_url("shop.myshopify.com", None) is None


def test_retire_reason_defaults_to_manual(haven_sqlite):
    haven = haven_sqlite
    product_id = haven.json("products", "build", "--design", haven.designs()[0]["id"])["product_id"]
    assert f"retired {product_id} (manual)" in haven("products", "retire", product_id).output
    shown = haven.json("products", "show", product_id)
    assert (shown["status"], shown["retire_reason"]) == ("retired", "manual")
    bad = haven("products", "retire", product_id, "--reason", "bored", ok=False)
    assert bad.exit_code == 2 and "--reason" in bad.output
