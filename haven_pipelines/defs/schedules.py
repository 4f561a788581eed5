"""Schedules: the nightly catalogue run and the monthly credit report.

The nightly hour (``HAVEN_NIGHTLY_HOUR``, default 2) and the shop's time zone
(``HAVEN_SHOP_TIMEZONE``, default UTC) are read when the definitions are built
(:func:`build_schedules`, called by ``definitions.py``), never at import: a cron schedule is part of
the definition, so unlike resource settings it cannot wait for a run to start. Change them and
reload the code location.

A bad value does not take the code location down (the jobs, sensors and the other schedule keep
working): the nightly schedule is then defined at its default time with a description that names
the variable, and every tick fails with that ``ValidationError`` instead of running at a time
nobody chose.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from haven_pipelines.defs.jobs import credit_report_job, nightly_catalog_job
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.settings import DEFAULT_NIGHTLY_HOUR, DEFAULT_SHOP_TIMEZONE, nightly_schedule_settings


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


def build_schedules(environ: Mapping[str, str] | None = None) -> list[dg.ScheduleDefinition]:
    """Every schedule, the nightly one at ``HAVEN_NIGHTLY_HOUR`` in ``HAVEN_SHOP_TIMEZONE`` (read now).

    A bad hour or time zone gives :func:`misconfigured_nightly_schedule` in place of the nightly one.
    """
    try:
        hour, timezone = nightly_schedule_settings(environ)
    except ValidationError as error:
        return [misconfigured_nightly_schedule(error), monthly_credit_report_schedule]
    return [build_nightly_schedule(hour, timezone), monthly_credit_report_schedule]


def misconfigured_nightly_schedule(error: ValidationError) -> dg.ScheduleDefinition:
    """The nightly schedule when its variables are bad: every tick fails with ``error``, nothing runs."""

    @dg.schedule(
        name="nightly_catalog_schedule",
        job=nightly_catalog_job,
        cron_schedule=f"0 {DEFAULT_NIGHTLY_HOUR} * * *",
        execution_timezone=DEFAULT_SHOP_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Not scheduled: {error}. Fix the variable and reload the code location.",
    )
    def nightly_catalog_schedule(context: dg.ScheduleEvaluationContext):
        raise ValidationError(error.field, error.reason)

    return nightly_catalog_schedule
