"""Property-based tests (hypothesis) that the domain suites do not already make.

``haven_pipelines_tests/domain`` covers price resolution order, SKU shape, single-usage invariants,
handles and a sound spec per design. Added here:

- usage arithmetic over *sequences*: the real ledger on PostgreSQL against a model (reserve, commit,
  refund, idempotent replays in any order), and the pure budget check over request streams;
- pricing through the catalogue: every variant's price follows the user's overrides, and an
  override for one size moves that size's variants only;
- SKUs: unique per product, independent of how the frame is spelt;
- the catalogue builder and the Shopify input: deterministic whatever the order of pricing rows and
  mockups, and JSON-stable.
"""

from __future__ import annotations

import json
import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haven_pipelines.db.stores.designs import DesignStore
from haven_pipelines.db.stores.ledger import CreditLedger
from haven_pipelines.db.stores.mockups import MockupStore
from haven_pipelines.domain.catalogue import DesignInfo, MockupImage, build_product_spec, load_catalogue_profile
from haven_pipelines.domain.credits import CreditUsage, fits_budget
from haven_pipelines.domain.errors import BudgetExceeded
from haven_pipelines.domain.pricing import SYSTEM_BY_SIZE, SizePrice, make_sku, row_price
from haven_pipelines.domain.shopify_input import product_set_input
from haven_pipelines_tests.reliability.helpers import make_user

PROFILE = load_catalogue_profile()
SIZES = sorted({v.size for v in build_product_spec(
    PROFILE, DesignInfo("a", "https://x/a.png", "k", None, "Text", None, "growth", None), [], {}, None, "p").variants})
SCENES = ["bedroom", "therapy_office", "living_room", "reading_nook", "home_office"]

cents = st.integers(1, 99_999).map(lambda c: (Decimal(c) / 100).quantize(Decimal("0.01")))
override = st.builds(lambda b, f, d, c: (b, f, d, c), cents, cents, cents, cents)


def _design(collection: str = "growth", text: str = "Let the light in") -> DesignInfo:
    return DesignInfo(asset_id="a9d3e2f1-0000-4000-8000-000000000001", file_url="https://cdn.example.com/a.png",
                      file_key="designs/u/a.png", quote_id="q", text=text, attribution=None, collection=collection, mood=None)


def _rows(overrides: dict[str, tuple]) -> dict[str, SizePrice]:
    return {size: SizePrice(size, *prices) for size, prices in overrides.items()}


# -- usage arithmetic -----------------------------------------------------------------------------------------


@given(budget=st.integers(0, 500), requests=st.lists(st.integers(0, 60), max_size=40))
def test_greedy_budget_checks_never_overspend_and_refuse_only_what_would(budget, requests):
    used = 0
    for n in requests:
        if fits_budget(used, n, budget):
            used += n
        else:
            assert used + n > budget  # a refusal is never spurious
        assert 0 <= used <= budget
        usage = CreditUsage(2026, 1, used, used, budget, 292)
        assert usage.remaining_annual == budget - used


@given(soft=st.integers(1, 1000), usages=st.lists(st.integers(0, 2000), min_size=2, max_size=10))
def test_warning_and_bar_colour_only_escalate_as_the_month_fills(soft, usages):
    order = {"green": 0, "amber": 1, "red": 2}
    seen = [CreditUsage(2026, 1, u, u, 3500, soft) for u in sorted(usages)]
    colours = [order[u.bar_colour()] for u in seen]
    warnings = [u.soft_limit_warning for u in seen]
    assert colours == sorted(colours)
    assert warnings == sorted(warnings)


def _mockup(engine, user_id: str) -> str:
    """A fresh mockup row of the user for a commit to point at."""
    with engine.begin() as conn:
        designs = DesignStore(conn, user_id)
        asset = designs.create_asset("pending://", "pending", "png", 10, 10, quote_id=designs.create_quote("Q", "growth")["id"])
        return MockupStore(conn, user_id).start(asset["id"], "bedroom")["id"]


OPS = st.lists(
    st.tuples(st.sampled_from(["reserve", "commit", "refund", "replay"]), st.integers(0, 4), st.integers(0, 7)),
    min_size=1, max_size=25,
)


@pytest.mark.postgres
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(0, 12), ops=OPS)
def test_ledger_on_postgres_follows_the_model_for_any_sequence(pg_engine, reliability_record, budget, ops):
    """Reserve, commit, refund and replay (same idempotency key) in any order: the ledger's usage is
    the model's, never above the budget, refusals happen exactly when the model says, and the chain holds."""
    ledger = CreditLedger(pg_engine)
    user_id = make_user(pg_engine, f"prop-{uuid.uuid4().hex[:10]}@example.com", annual_mockup_budget=budget)
    model: dict[str, dict] = {}  # key -> {"credits", "status", "id"}
    for op, credits, slot in ops:
        key = f"k{slot}"
        held = sum(r["credits"] for r in model.values() if r["status"] != "refunded")
        if op in ("reserve", "replay"):
            existing = model.get(key)
            amount = existing["credits"] if existing else credits
            if existing is None and held + amount > budget:
                with pytest.raises(BudgetExceeded):
                    ledger.reserve(user_id, amount, idempotency_key=key)
                continue
            reservation = ledger.reserve(user_id, amount, idempotency_key=key)
            if existing is None:
                model[key] = {"credits": amount, "status": "open", "id": reservation.id}
            else:
                assert reservation.id == existing["id"]  # a replay returns the same reservation, charges nothing
        elif model.get(key, {}).get("status") == "open":
            if op == "commit":
                ledger.commit(user_id, model[key]["id"], _mockup(pg_engine, user_id))
                model[key]["status"] = "committed"
            else:
                ledger.refund(user_id, model[key]["id"], "property test")
                model[key]["status"] = "refunded"
        usage = ledger.usage(user_id)
        expected = sum(r["credits"] for r in model.values() if r["status"] != "refunded")
        assert usage.used_this_year == expected <= budget
    assert ledger.check_chain(user_id, ledger.usage(user_id).year) == []
    reliability_record(
        "Properties", "Credit ledger against a model (hypothesis, PostgreSQL)",
        "Random sequences of up to 25 reserve, commit, refund and replayed-reserve operations over 8 idempotency "
        "keys, amounts 0 to 4, annual budgets 0 to 12 (25 generated sequences per run, shrunk on failure)",
        "The ledger's yearly usage always equalled the model's (reserved minus refunded), a reservation was "
        "refused exactly when it would pass the budget, a replayed key returned the same reservation and charged "
        "nothing, and the ledger chain verified after every sequence",
        ["usage == model after every step", "usage <= budget", "refusal iff over budget", "check_chain empty"],
        {"max_examples": 25},
    )


# -- pricing and SKUs through the catalogue ------------------------------------------------------------------------


@given(overrides=st.dictionaries(st.sampled_from(SIZES), override, max_size=len(SIZES)))
def test_every_variant_price_follows_the_users_override_else_the_system_row(overrides):
    spec = build_product_spec(PROFILE, _design(), [], _rows(overrides), None, "3f2a9c1e-5b7d-4c21-9a0e-6d1f2b3c4d5e")
    for v in spec.variants:
        row = _rows(overrides).get(v.size) or SYSTEM_BY_SIZE.get(v.size)
        assert row is not None
        assert v.price == row_price(row, frame_style=v.frame_style, is_digital=v.is_digital)
        assert v.price == v.price.quantize(Decimal("0.01")) and v.price > 0


@given(size=st.sampled_from(SIZES), prices=override)
def test_an_override_for_one_size_moves_only_that_sizes_variants(size, prices):
    pid = "3f2a9c1e-5b7d-4c21-9a0e-6d1f2b3c4d5e"
    plain = build_product_spec(PROFILE, _design(), [], {}, None, pid)
    changed = build_product_spec(PROFILE, _design(), [], _rows({size: prices}), None, pid)
    for a, b in zip(plain.variants, changed.variants, strict=True):
        assert a.sku == b.sku and a.title == b.title
        if a.size != size:
            assert a.price == b.price


@given(pid=st.uuids().map(str), frame=st.sampled_from(["black", "white", "natural"]),
       spelling=st.sampled_from([str.lower, str.upper, str.title, lambda s: f"  {s} "]))
def test_skus_are_unique_per_product_and_ignore_how_the_frame_is_spelt(pid, frame, spelling):
    spec = build_product_spec(PROFILE, _design(), [], {}, None, pid)
    skus = [v.sku for v in spec.variants]
    assert len(set(skus)) == len(skus)
    assert all(s.startswith(f"HH-{pid[:8].upper()}-") and s == s.upper() and s.isascii() for s in skus)
    assert make_sku(pid, "8x10", spelling(frame)) == make_sku(pid, "8x10", frame)


# -- catalogue and Shopify input determinism ---------------------------------------------------------------------


@given(
    overrides=st.dictionaries(st.sampled_from(SIZES), override, max_size=4),
    scenes=st.lists(st.sampled_from(SCENES), unique=True),
    statuses=st.lists(st.sampled_from(["approved", "completed", "rejected", "failed"]), min_size=5, max_size=5),
    collection=st.sampled_from(["grounding", "wholeness", "growth"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_spec_and_its_productset_input_are_deterministic(overrides, scenes, statuses, collection, seed):
    pid = "3f2a9c1e-5b7d-4c21-9a0e-6d1f2b3c4d5e"
    mockups = [MockupImage(f"m-{s}", s, statuses[i], f"https://cdn.example.com/{s}.jpg", f"mockups/{s}.jpg")
               for i, s in enumerate(scenes)]
    rows = _rows(overrides)
    shuffled_mockups = list(mockups)
    random.Random(seed).shuffle(shuffled_mockups)
    shuffled_rows = dict(sorted(rows.items(), key=lambda kv: random.Random(seed).random()))
    first = build_product_spec(PROFILE, _design(collection), mockups, rows, None, pid)
    again = build_product_spec(PROFILE, _design(collection), shuffled_mockups, shuffled_rows, None, pid)
    assert first == again
    urls = [i.src for i in first.images]
    one = product_set_input(first, image_urls=urls)
    two = product_set_input(again, image_urls=urls)
    assert json.dumps(one, sort_keys=True, default=str) == json.dumps(two, sort_keys=True, default=str)
    assert len(one["variants"]) == len(first.variants)
    assert json.loads(json.dumps(one, default=str)) == json.loads(json.dumps(two, default=str))


# -- the report itself ---------------------------------------------------------------------------------------------

_words = st.text(alphabet=st.characters(codec="ascii", categories=["L", "N", "Zs"]), min_size=1, max_size=12).filter(str.strip)
_figures = st.dictionaries(st.sampled_from(["bad_inputs", "lost", "renders_verified", "tick_ms", "wall_seconds", "ratio"]),
                           st.one_of(st.integers(0, 10_000), st.floats(0.001, 1e5)), max_size=4)


@given(entries=st.lists(st.tuples(_words, _words, _figures), min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_the_report_text_does_not_depend_on_the_order_scenarios_finished(entries, seed):
    from haven_pipelines_tests.reliability.report import Collector, comparable, make_record, render

    records = [make_record(section, scenario, "injected", "behaviour", ["invariant"],
                           {k: (int(v) if k in ("bad_inputs", "lost", "renders_verified") else v) for k, v in figures.items()})
               for section, scenario, figures in entries]
    first, second = Collector(), Collector()
    for r in records:
        first.add(r)
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    for r in shuffled:
        second.add(r)
    assert render(first.sorted()) == render(second.sorted())
    # Measured figures (timings) may change between runs without failing the check; counts may not.
    remeasured = [make_record(r.section, r.scenario, r.injected, r.behaviour, list(r.invariants),
                              {k: (v * 3 + 1 if k in ("tick_ms", "wall_seconds") else v) for k, v in r.figures})
                  for r in records]
    again = Collector()
    for r in remeasured:
        again.add(r)
    assert comparable(render(again.sorted())) == comparable(render(first.sorted()))
    recounted = [make_record(r.section, r.scenario, r.injected, r.behaviour, list(r.invariants),
                             {**dict(r.figures), "renders_verified": dict(r.figures).get("renders_verified", 0) + 1})
                 for r in records]
    changed = Collector()
    for r in recounted:
        changed.add(r)
    assert comparable(render(changed.sorted())) != comparable(render(first.sorted()))
