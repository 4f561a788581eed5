"""Approval rules: routing by operator mode (autopilot, assisted, supervised; module override, else
global mode; skip-approval), content digests, named changes, and product states."""

from __future__ import annotations

import pytest

from decimal import Decimal

from haven_pipelines.domain.approval import (
    OPERATOR_MODES,
    auto_approve,
    content_changes,
    content_digest,
    image_digest,
    product_content,
    product_status,
)
from haven_pipelines.domain.approval import effective_mode


@pytest.mark.parametrize(
    ("global_mode", "overrides", "module", "mode"),
    [
        ("supervised", {}, "mockups", "supervised"),
        ("autopilot", {}, "mockups", "autopilot"),
        ("autopilot", {"mockups": "supervised"}, "mockups", "supervised"),
        ("supervised", {"mockups": "autopilot"}, "mockups", "autopilot"),
        ("assisted", {"products": "autopilot"}, "mockups", "assisted"),
        (None, None, "mockups", "supervised"),
        (None, {"mockups": "assisted"}, "mockups", "assisted"),
    ],
)
def test_effective_mode(global_mode, overrides, module, mode):
    assert effective_mode(global_mode, overrides, module) == mode


@pytest.mark.parametrize(
    ("global_mode", "overrides", "skip", "approved"),
    [
        ("supervised", {}, False, False),  # queued for a person
        ("assisted", {}, False, True),  # assisted: mockups approved at once, products reviewed
        ("autopilot", {}, False, True),
        ("autopilot", {"mockups": "supervised"}, False, False),  # the module override wins
        ("supervised", {"mockups": "autopilot"}, False, True),
        ("supervised", {"products": "autopilot"}, False, False),  # another module's override is irrelevant
        ("supervised", {}, True, True),  # the request asked to skip approval
        ("autopilot", {"mockups": "supervised"}, True, True),
    ],
)
def test_mockup_routing(global_mode, overrides, skip, approved):
    assert auto_approve(global_mode, overrides, skip_approval=skip) is approved


def test_routing_for_another_module():
    assert auto_approve("supervised", {"products": "autopilot"}, module="products") is True
    assert auto_approve("autopilot", {"products": "assisted"}, module="products") is False
    # assisted means a person reviews products, whichever level sets it.
    assert auto_approve("assisted", {}, module="products") is False
    assert auto_approve("autopilot", {"mockups": "assisted"}, module="mockups") is True


PRODUCT = {"title": "Rest", "description": "<p>Rest</p>", "vendor": "Haven & Hold", "product_type": "Print",
           "tags": ["wall art", "calm"]}
VARIANTS = [
    {"sku": "HH-1-810-UNF", "title": "8x10", "size": "8x10", "frame_style": None, "is_digital": False,
     "price": Decimal("24.99"), "compare_at_price": None, "inventory_policy": "continue"},
    {"sku": "HH-1-810-BLA", "title": "8x10 / Black Frame", "size": "8x10", "frame_style": "black",
     "is_digital": False, "price": Decimal("49.99"), "compare_at_price": None, "inventory_policy": "continue"},
]
IMAGES = [{"position": 1, "src": "file:///a.png", "file_key": "designs/u/a-1.png", "alt": "Rest"},
          {"position": 2, "src": "file:///b.jpg", "file_key": "mockups/u/a/bedroom-2.jpg", "alt": "Rest in a bedroom"}]


def _content(**changes):
    product = {**PRODUCT, **changes.pop("product", {})}
    return product_content(product, changes.pop("variants", VARIANTS), changes.pop("images", IMAGES))


def test_content_digest_ignores_row_order_and_number_spelling():
    same = product_content({**PRODUCT, "tags": ["calm", "wall art"]},
                           [dict(v, price=str(v["price"])) for v in reversed(VARIANTS)],
                           list(reversed(IMAGES)))
    assert content_digest(same) == content_digest(_content())
    assert len(content_digest(_content())) == 64


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"variants": [dict(VARIANTS[0], price=Decimal("29.99")), VARIANTS[1]]}, ["prices"]),
        ({"variants": [VARIANTS[0]]}, ["variants"]),
        ({"images": IMAGES[:1]}, ["images"]),
        ({"images": [IMAGES[0], dict(IMAGES[1], file_key="mockups/u/a/bedroom-3.jpg")]}, ["images"]),
        ({"product": {"title": "Rest more"}}, ["title"]),
        ({"product": {"description": "<p>New</p>"}}, ["description"]),
        ({"product": {"tags": ["wall art"]}}, ["tags"]),
        ({"product": {"vendor": "Other"}}, ["details"]),
        ({"product": {"title": "Rest more"}, "variants": [dict(VARIANTS[0], price=Decimal("9.99")), VARIANTS[1]]},
         ["title", "prices"]),
    ],
)
def test_a_change_a_customer_would_see_changes_the_digest_and_is_named(change, named):
    before, after = _content(), _content(**change)
    assert content_digest(after) != content_digest(before)
    assert content_changes(before, after) == named


def test_no_change_names_nothing_and_a_first_review_is_new():
    assert content_changes(_content(), _content()) == []
    assert content_changes(None, _content()) == ["new"]


def test_what_a_customer_cannot_see_does_not_change_the_digest():
    unseen = [dict(v, cost=Decimal("8.00"), inventory_quantity=7, shopify_variant_id="gid://v/1") for v in VARIANTS]
    assert content_digest(_content(variants=unseen)) == content_digest(_content())


def test_image_digest_is_of_the_bytes():
    assert image_digest(b"abc") == image_digest(b"abc") != image_digest(b"abd")


@pytest.mark.parametrize(
    ("current", "review", "status"),
    [
        ("draft", "not_ready", "draft"),
        ("draft", "pending", "awaiting_approval"),
        ("awaiting_approval", "approved", "approved"),
        ("awaiting_approval", "rejected", "draft"),
        ("draft", "auto", "approved"),
        ("approved", "pending", "awaiting_approval"),
        # Shopify-facing states are kept: a live product's changes wait in its approval item.
        ("active", "pending", "active"),
        ("sync_error", "approved", "sync_error"),
        ("retired", "pending", "retired"),
    ],
)
def test_product_status_follows_the_review(current, review, status):
    assert product_status(current, review) == status


def test_product_status_refuses_an_unknown_review_state():
    with pytest.raises(ValueError, match="review"):
        product_status("draft", "maybe")


def test_modes():
    assert OPERATOR_MODES == ("supervised", "assisted", "autopilot")
