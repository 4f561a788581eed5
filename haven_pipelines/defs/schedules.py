"""Schedules: the nightly catalogue run and the monthly credit report.

The nightly hour (``HAVEN_NIGHTLY_HOUR``, default 2) and the shop's time zone
(``HAVEN_SHOP_TIMEZONE``, default UTC) are read when the code location loads: a cron schedule is
part of the definition, so unlike resource settings it cannot wait for a run to start. Change them
and reload the code location.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from haven_pipelines.defs.jobs import credit_report_job, nightly_catalog_job
from haven_pipelines.domain.errors import ValidationError


def nightly_hour(value: str | None) -> int:
    """The hour 0-23 from ``HAVEN_NIGHTLY_HOUR`` (None or empty: 2)."""
    if value is None or not value.strip():
        return 2
    try:
        hour = int(value)
    except ValueError:
        raise ValidationError("HAVEN_NIGHTLY_HOUR", f"must be a whole hour 0-23, got {value!r}") from None
    if not 0 <= hour <= 23:
        raise ValidationError("HAVEN_NIGHTLY_HOUR", f"must be a whole hour 0-23, got {hour}")
    return hour


def shop_timezone(value: str | None) -> str:
    """The IANA time zone from ``HAVEN_SHOP_TIMEZONE`` (None or empty: UTC)."""
    if value is None or not value.strip():
        return "UTC"
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("HAVEN_SHOP_TIMEZONE", f"not an IANA time zone: {value!r}") from None
    return value.strip()


def build_nightly_schedule(hour: int, timezone: str) -> dg.ScheduleDefinition:
    """The nightly schedule at ``hour`` o'clock in ``timezone``."""
    return dg.ScheduleDefinition(
        name="nightly_catalog_schedule",
        job=nightly_catalog_job,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Every night at {hour:02d}:00 ({timezone}): launches nightly_catalog_job, which renders pending "
            "mockups (spends credits with Dynamic Mockups, within each user's annual budget), applies approval "
            "decisions, builds products, publishes what is approved and changed, reconciles with Shopify and "
            "refunds stale reservations. Stopped by default: start it under Automation, or "
            "`dagster schedule start nightly_catalog_schedule`."
        ),
    )


nightly_catalog_schedule = build_nightly_schedule(
    nightly_hour(os.environ.get("HAVEN_NIGHTLY_HOUR")), shop_timezone(os.environ.get("HAVEN_SHOP_TIMEZONE"))
)

monthly_credit_report_schedule = dg.ScheduleDefinition(
    name="monthly_credit_report_schedule",
    job=credit_report_job,
    # 06:00 on the 1st, after the previous month has closed in every time zone.
    cron_schedule="0 6 1 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "On the 1st of each month at 06:00 UTC: launches credit_report_job to rebuild the analyst tables "
        "(credit usage, render outcomes). Spends no credits. Stopped by default: start it under Automation, "
        "or `dagster schedule start monthly_credit_report_schedule`."
    ),
)

SCHEDULES = [nightly_catalog_schedule, monthly_credit_report_schedule]
