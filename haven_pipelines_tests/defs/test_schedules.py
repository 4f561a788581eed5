"""Schedules: the nightly hour and shop time zone, and the runs each schedule requests."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from haven_pipelines.defs.schedules import build_nightly_schedule, monthly_credit_report_schedule, nightly_hour, shop_timezone
from haven_pipelines.domain.errors import ValidationError


def test_nightly_hour_and_timezone_defaults_and_errors():
    assert nightly_hour(None) == 2 and nightly_hour("23") == 23
    assert shop_timezone("") == "UTC" and shop_timezone("Europe/London") == "Europe/London"
    with pytest.raises(ValidationError, match="HAVEN_NIGHTLY_HOUR"):
        nightly_hour("24")
    with pytest.raises(ValidationError, match="HAVEN_SHOP_TIMEZONE"):
        shop_timezone("Mars/Olympus")


def test_nightly_schedule_runs_the_catalog_job_at_the_shop_hour(instance):
    schedule = build_nightly_schedule(4, "America/New_York")
    assert schedule.cron_schedule == "0 4 * * *"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.job_name == "nightly_catalog_job"
    when = datetime(2026, 3, 2, 4, 0, tzinfo=ZoneInfo("America/New_York"))
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context:
        result = schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1


def test_monthly_report_targets_the_analyst_tables(instance):
    assert monthly_credit_report_schedule.job_name == "credit_report_job"
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 6, 1, 6)) as context:
        result = monthly_credit_report_schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1
