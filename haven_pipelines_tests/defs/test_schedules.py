"""Schedules: the nightly hour and shop time zone, and the runs each schedule requests."""

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from haven_pipelines.defs.schedules import build_nightly_schedule, build_schedules, monthly_credit_report_schedule
from haven_pipelines.definitions import build_definitions
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.settings import nightly_hour, shop_timezone


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


def _nightly(definitions: dg.Definitions) -> dg.ScheduleDefinition:
    return definitions.get_repository_def().get_schedule_def("nightly_catalog_schedule")


def test_definitions_read_the_hour_and_time_zone_when_built():
    nightly = _nightly(build_definitions({"HAVEN_NIGHTLY_HOUR": "5", "HAVEN_SHOP_TIMEZONE": "Europe/Paris"}))
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("0 5 * * *", "Europe/Paris")
    nightly = _nightly(build_definitions({}))
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("0 2 * * *", "UTC")


@pytest.mark.parametrize(("variable", "value"), [("HAVEN_NIGHTLY_HOUR", "25"), ("HAVEN_NIGHTLY_HOUR", "two"),
                                                 ("HAVEN_SHOP_TIMEZONE", "Mars/Olympus")])
def test_a_bad_value_keeps_the_location_loaded_and_fails_each_tick_naming_it(variable, value, instance):
    definitions = build_definitions({variable: value})
    dg.Definitions.validate_loadable(definitions)
    repo = definitions.get_repository_def()
    assert {s.name for s in repo.schedule_defs} == {"nightly_catalog_schedule", "monthly_credit_report_schedule"}
    assert repo.get_job("nightly_catalog_job")  # the rest of the location is there
    nightly = repo.get_schedule_def("nightly_catalog_schedule")
    assert nightly.description.startswith(f"Not scheduled: {variable}: ")
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 3, 2, 2)) as context:
        with pytest.raises(dg.DagsterUserCodeExecutionError) as info:  # Dagster's wrapper of an evaluation error
            nightly.evaluate_tick(context)
    error = info.value.__cause__
    assert isinstance(error, ValidationError) and error.field == variable and repr(value) in str(error)
    assert [s.name for s in build_schedules({variable: value})] == ["nightly_catalog_schedule", "monthly_credit_report_schedule"]


def test_importing_the_code_location_reads_no_bad_value():
    """A bad hour in the environment: importing schedules and definitions still succeeds (nothing read at import
    but the schedule's own variables, and those do not raise)."""
    env = {**os.environ, "HAVEN_NIGHTLY_HOUR": "24", "HAVEN_SHOP_TIMEZONE": "Nowhere/Else", "HAVEN_RENDERER": "bogus"}
    code = ("import haven_pipelines.defs.schedules, haven_pipelines.definitions as d; "
            "print(d.defs.get_repository_def().get_schedule_def('nightly_catalog_schedule').description)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "HAVEN_NIGHTLY_HOUR: must be a whole hour 0-23, got '24'" in done.stdout
