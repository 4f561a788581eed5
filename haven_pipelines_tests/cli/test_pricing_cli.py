"""``haven pricing list|set|reset``: system rows, the user's overrides, and the products a change reaches."""

from __future__ import annotations

import json

from haven_pipelines.domain.pricing import SYSTEM_PRICING


def _price(product: dict, size: str, frame: str | None = None, digital: bool = False) -> str:
    [variant] = [v for v in product["variants"]
                 if v["size"] == size and v["frame_style"] == frame and bool(v["is_digital"]) == digital]
    return variant["price"]


def _build(haven, design_id: str) -> str:
    return haven.json("products", "build", "--design", design_id)["product_id"]


def test_list_shows_every_system_size_and_which_row_wins(haven_user):
    sizes = haven_user.json("pricing", "list")["sizes"]
    assert [s["size"] for s in sizes] == [row.size for row in SYSTEM_PRICING]
    assert all(s["wins"] == "system" and s["override"] is None for s in sizes)
    assert sizes[0]["effective"] == {"base": "24.99", "framed": "49.99", "digital": "9.99", "cost": "8.00"}
    text = haven_user("pricing", "list").output
    assert "8x10      24.99    49.99     9.99     8.00  system" in text


def test_set_overrides_one_size_rebuilds_its_products_and_reset_restores_it(haven):
    first, second = (d["id"] for d in haven.designs())
    products = [_build(haven, first), _build(haven, second)]
    change = haven.json("pricing", "set", "--size", "8X10", "--base", "27.50")
    assert change["size"] == "8x10" and change["affected_products"] == 2
    assert sorted(change["rebuilt"]) == sorted(products) and change["awaiting_approval"] == []  # autopilot
    assert change["pricing"]["wins"] == "override"
    assert change["pricing"]["effective"] == {"base": "27.50", "framed": "49.99", "digital": "9.99", "cost": "8.00"}
    for product_id in products:
        shown = haven.json("products", "show", product_id)
        assert _price(shown, "8x10") == "27.50"
        assert _price(shown, "8x10", "black") == "49.99"  # not given: kept
        assert _price(shown, "11x14") == "34.99"  # another size: untouched
    listed = {s["size"]: s for s in haven.json("pricing", "list")["sizes"]}
    assert listed["8x10"]["wins"] == "override" and listed["8x10"]["system"]["base"] == "24.99"
    assert listed["11x14"]["wins"] == "system"

    text = haven("pricing", "set", "--size", "8x10", "--framed", "52.00", "--cost", "0").output
    assert "set 8x10: 27.50 / framed 52.00 / digital 9.99 / cost 0.00 (override)" in text
    assert "2 product(s) have a 8x10 variant: 2 rebuilt, 0 waiting for approval" in text

    reset = haven.json("pricing", "reset", "--size", "8x10")
    assert reset["pricing"]["wins"] == "system" and reset["affected_products"] == 2
    assert _price(haven.json("products", "show", products[0]), "8x10") == "24.99"
    again = haven("pricing", "reset", "--size", "8x10", ok=False)
    assert again.exit_code == 1 and "pricing override 8x10 not found" in again.output


def test_a_price_change_puts_an_approved_product_back_for_review_in_supervised_mode(haven):
    haven("settings", "set", "--mode", "supervised")
    design = haven.designs()[0]["id"]
    product_id = _build(haven, design)
    assert haven.json("products", "show", product_id)["approval"]["status"] == "pending"
    haven("approvals", "approve", "--all", "--kind", "product")
    assert haven.json("products", "show", product_id)["approval"]["status"] == "approved"

    change = haven.json("pricing", "set", "--size", "11x14", "--framed", "75.00")
    assert change["rebuilt"] == [product_id] and change["awaiting_approval"] == [product_id]
    shown = haven.json("products", "show", product_id)
    assert _price(shown, "11x14", "white") == "75.00"
    assert shown["approval"]["status"] == "pending" and shown["approval"]["required"] is True

    # A size no product has reaches none.
    untouched = haven.json("pricing", "set", "--size", "A4", "--base", "31.00")
    assert (untouched["affected_products"], untouched["rebuilt"]) == (0, [])


def test_products_created_by_request_keep_their_prices(haven, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"title": "By hand", "variants": [{"size": "8x10"}, {"size": "8x10", "frameStyle": "black"}]}))
    manual = haven.json("products", "create", "--file", str(request))
    change = haven.json("pricing", "set", "--size", "8x10", "--base", "30.00")
    assert (change["affected_products"], change["rebuilt"], change["not_rebuilt_created_by_request"]) == (1, [], [manual["id"]])
    assert _price(haven.json("products", "show", manual["id"]), "8x10") == "24.99"


def test_bad_prices_name_the_option_and_change_nothing(haven_user):
    before = haven_user.json("pricing", "list")
    cases = [
        (("--size", "8x10", "--base", "0"), "--base: must be positive"),
        (("--size", "8x10", "--framed", "49.999"), "--framed: must have at most 2 decimal places"),
        (("--size", "8x10", "--digital", "cheap"), "--digital: is not a number"),
        (("--size", "8x10", "--cost", "-1"), "--cost: must be positive"),
        (("--size", "8by10", "--base", "20"), "--size: must look like 8x10 or A4"),
        (("--size", "8x10",), "give at least one of base, framed, digital or cost"),
        (("--size", "20x30", "--base", "20"), "--framed: 20x30 has no system price: give base, framed, digital and cost"),
    ]
    for args, says in cases:
        result = haven_user("pricing", "set", *args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        assert says in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert "--size" in haven_user("pricing", "set", "--base", "20", ok=False).output  # required
    assert haven_user.json("pricing", "list") == before
    new = haven_user.json("pricing", "set", "--size", "20x30", "--base", "20", "--framed", "40", "--digital", "5", "--cost", "6")
    assert new["pricing"]["effective"] == {"base": "20.00", "framed": "40.00", "digital": "5.00", "cost": "6.00"}
    assert haven_user.json("pricing", "list")["sizes"][-1]["size"] == "20x30"
