"""The analyst tables follow the catalogue: rebuilt after every successful catalogue or nightly run.

``credit_report_after_runs_sensor`` is a run status sensor: when ``nightly_catalog_job``,
``catalogue_job`` or ``generate_mockups_job`` succeeds, it requests one ``credit_report_job`` run
keyed by the finished run's id, so a re-evaluation never asks twice for the same run. It is on by
default (it spends no credits and only rebuilds tables); the monthly schedule stays as a safety
net, and ``credit_report_job`` can be launched by hand at any time.
"""

import dagster as dg

from haven_pipelines.defs.jobs import catalogue_job, credit_report_job, generate_mockups_job, nightly_catalog_job

WATCHED_JOBS = [nightly_catalog_job, catalogue_job, generate_mockups_job]


@dg.run_status_sensor(
    name="credit_report_after_runs_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=WATCHED_JOBS,
    request_job=credit_report_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After every successful nightly_catalog_job, catalogue_job or generate_mockups_job run, launches "
        "credit_report_job to rebuild the analyst tables (credit usage by month, day and scene, render "
        "outcomes), so their figures follow each night's renders. Spends no credits; on by default."
    ),
)
def credit_report_after_runs_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    """One credit report per finished run (the run id is the run key, so it is never asked twice)."""
    finished = context.dagster_run
    return dg.RunRequest(run_key=f"after:{finished.run_id}", tags={"haven/after_run": finished.run_id,
                                                                    "haven/after_job": finished.job_name})


REPORT_SENSORS = [credit_report_after_runs_sensor]
