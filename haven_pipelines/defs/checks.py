"""Asset checks: each is a pure rule over figures (see ``health.py``) wrapped in an ``@asset_check``.

| check | asset | severity when it fails |
| --- | --- | --- |
| ``annual_budget_not_exceeded`` | mockups | ERROR |
| ``monthly_soft_limit`` | mockups | WARN from 80 % of a user's soft limit |
| ``mockup_files_exist`` | mockups | ERROR |
| ``ledger_balances`` | mockups | ERROR |
| ``active_products_synced`` | shopify_listings | ERROR |
| ``<table>_matches_model`` | each analyst table | ERROR |
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
import pandera.errors

from haven_pipelines.defs.assets.analytics import ANALYST_TABLES
from haven_pipelines.defs.assets.listings import shopify_listings
from haven_pipelines.defs.assets.mockups import mockups
from haven_pipelines.services.health import UserUsage, active_products, all_usage, completed_mockup_files, ledger_figures
from haven_pipelines.defs.metadata import examples
from haven_pipelines.defs.resources import HavenResource
from haven_pipelines.defs.schemas import SCHEMAS
from haven_pipelines.domain.credits import SOFT_LIMIT_WARNING_RATIO, credit_card
from haven_pipelines.services.analytics import TABLE_PREFIX, read_table


@dataclass(frozen=True)
class Verdict:
    """What a rule found: passed or not, the severity to report, counts and examples."""

    passed: bool
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
    metadata: dict[str, object] = field(default_factory=dict)

    def result(self) -> dg.AssetCheckResult:
        """The Dagster check result."""
        return dg.AssetCheckResult(passed=self.passed, severity=self.severity, metadata=self.metadata)


# -- pure rules ------------------------------------------------------------------------------------

# The worst of several bars is the one furthest along this order.
_COLOUR_RANK = ("green", "amber", "red")


def annual_budget_rule(usages: Sequence[UserUsage]) -> Verdict:
    """Fails (ERROR) when any user's credits used this year exceed the annual budget.

    Its metadata also carries the source's credit card over all users: how many users' annual bars
    are green, amber or red, the highest annual share and its colour, and who has reached the 80 %
    annual warning or the 80 % monthly soft-limit warning.
    """
    over = [u for u in usages if u.usage.used_this_year > u.usage.annual_budget]
    cards = [(u, credit_card(u.usage)) for u in usages]
    colours = [c.annual_bar_colour for _, c in cards]
    highest = max((c.annual_percent for _, c in cards), default=0.0)
    annual_warned = [u for u, c in cards if c.annual_warning]
    monthly_warned = [u for u, c in cards if c.monthly_warning]
    return Verdict(
        passed=not over,
        metadata={
            "users_checked": len(usages),
            "users_over_budget": len(over),
            "examples": [f"{u.user_id}: {u.usage.used_this_year}/{u.usage.annual_budget}" for u in examples(over)],
            "highest_percent_of_annual_budget": highest,
            "annual_bar_colour": max(colours, key=_COLOUR_RANK.index, default="green"),
            "users_annual_bar_green": colours.count("green"),
            "users_annual_bar_amber": colours.count("amber"),
            "users_annual_bar_red": colours.count("red"),
            "users_at_annual_warning": len(annual_warned),
            "users_at_monthly_warning": len(monthly_warned),
            "annual_warning_examples": [
                f"{u.user_id}: {u.usage.used_this_year}/{u.usage.annual_budget}" for u in examples(annual_warned)
            ],
        },
    )


def monthly_soft_limit_rule(usages: Sequence[UserUsage]) -> Verdict:
    """Warns (WARN) when any user has used 80 % or more of this month's soft limit."""
    near = [u for u in usages if u.usage.monthly_ratio >= SOFT_LIMIT_WARNING_RATIO]
    highest = max((u.usage.monthly_ratio for u in usages if u.usage.monthly_soft_limit > 0), default=0.0)
    return Verdict(
        passed=not near,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "users_checked": len(usages),
            "users_at_or_over_80_percent": len(near),
            "highest_percent_of_soft_limit": round(highest * 100, 1),
            "examples": [f"{u.user_id}: {u.usage.used_this_month}/{u.usage.monthly_soft_limit}" for u in examples(near)],
        },
    )


def files_exist_rule(rows: Sequence[dict], exists: Callable[[str], bool]) -> Verdict:
    """Fails when a completed mockup has no file key or its file is not in the blob store."""
    missing = [r["id"] for r in rows if not r.get("file_key") or not exists(r["file_key"])]
    return Verdict(
        passed=not missing,
        metadata={"mockups_checked": len(rows), "missing_files": len(missing), "examples": examples(missing)},
    )


def products_synced_rule(rows: Sequence[dict]) -> Verdict:
    """Fails when an active product has no Shopify id or carries a sync error."""
    no_id = [r["id"] for r in rows if not (r.get("shopify_product_gid") or r.get("shopify_product_id"))]
    errors = [r["id"] for r in rows if r.get("sync_error")]
    return Verdict(
        passed=not no_id and not errors,
        metadata={
            "active_products": len(rows),
            "without_shopify_id": len(no_id),
            "with_sync_error": len(errors),
            "examples": examples(no_id + errors),
        },
    )


def ledger_balance_rule(charged: int, on_mockups: int, open_reservations: int) -> Verdict:
    """Fails when net credits charged differ from credits on mockups plus open reservations."""
    difference = charged - on_mockups - open_reservations
    return Verdict(
        passed=difference == 0,
        metadata={
            "credits_charged": charged,
            "credits_on_mockups": on_mockups,
            "open_reservations": open_reservations,
            "difference": difference,
        },
    )


def frame_rule(name: str, frame: pd.DataFrame) -> Verdict:
    """Fails when the stored analyst table no longer matches its pandera model."""
    try:
        SCHEMAS[name].validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return Verdict(
            passed=False,
            metadata={"rows": len(frame), "failure_cases": len(cases),
                      "examples": [f"{r['column']}: {r['check']}" for _, r in cases.head(5).iterrows()]},
        )
    return Verdict(passed=True, metadata={"rows": len(frame)})


# -- checks ------------------------------------------------------------------------------------------


@dg.asset_check(asset=mockups, description="No user has used more credits this year than the annual budget.")
def annual_budget_not_exceeded(haven: HavenResource) -> dg.AssetCheckResult:
    """ERROR when a user's yearly credits exceed the budget (the ledger should make this impossible)."""
    return annual_budget_rule(all_usage(haven.ctx)).result()


@dg.asset_check(asset=mockups, description="Warns when a user reaches 80 % of the monthly soft limit.")
def monthly_soft_limit(haven: HavenResource) -> dg.AssetCheckResult:
    """WARN at 80 % of a user's monthly soft limit (the limit itself never blocks)."""
    return monthly_soft_limit_rule(all_usage(haven.ctx)).result()


@dg.asset_check(asset=mockups, description="Every completed mockup's image is in the blob store.")
def mockup_files_exist(haven: HavenResource) -> dg.AssetCheckResult:
    """ERROR when a completed, approved or rejected mockup's file is missing from storage."""
    ctx = haven.ctx
    return files_exist_rule(completed_mockup_files(ctx.engine), ctx.blob_store.exists).result()


@dg.asset_check(asset=mockups, description="Credits charged equal credits on mockups plus open reservations.")
def ledger_balances(haven: HavenResource) -> dg.AssetCheckResult:
    """ERROR when the ledger and the mockups disagree about credits charged."""
    return ledger_balance_rule(**ledger_figures(haven.ctx.engine)).result()


@dg.asset_check(asset=shopify_listings, description="Every active product has a Shopify id and no sync error.")
def active_products_synced(haven: HavenResource) -> dg.AssetCheckResult:
    """ERROR when an active product is missing on Shopify or its last sync failed."""
    return products_synced_rule(active_products(haven.ctx.engine)).result()


def _table_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    name = asset.key.path[-1]

    @dg.asset_check(asset=asset, name=f"{name}_matches_model",
                    description=f"The stored table {TABLE_PREFIX}{name} passes its pandera model.")
    def _check(haven: HavenResource) -> dg.AssetCheckResult:
        frame = read_table(haven.ctx.engine, name)
        return frame_rule(name, frame).result()

    return _check


ASSET_CHECKS = [
    annual_budget_not_exceeded,
    monthly_soft_limit,
    mockup_files_exist,
    ledger_balances,
    active_products_synced,
    *[_table_check(a) for a in ANALYST_TABLES],
]
