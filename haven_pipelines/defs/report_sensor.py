"""The analyst tables can follow every catalogue run, not only the nightly one.

The nightly job rebuilds the tables itself (its last op), so they follow each night with no extra
run. ``credit_report_after_runs_sensor`` is for a team that launches catalogue runs by day too: a
run status sensor that, when ``catalogue_job`` or ``generate_mockups_job`` succeeds, requests one
``credit_report_job`` run keyed by the finished run's id (a re-evaluation never asks twice for the
same run). It spends no credits, but it is off by default like the other sensors: with the approved
designs sensor on, a busy day means one report run per generate run. The report run carries the
finished run's ``haven/user`` tag, so the per-user run limits see it.
"""

import dagster as dg

from haven_pipelines.defs.jobs import catalogue_job, credit_report_job, generate_mockups_job

WATCHED_JOBS = [catalogue_job, generate_mockups_job]
USER_TAG = "haven/user"


@dg.run_status_sensor(
    name="credit_report_after_runs_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=WATCHED_JOBS,
    request_job=credit_report_job,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "After every successful catalogue_job or generate_mockups_job run, launches credit_report_job to "
        "rebuild the analyst tables (credit usage by month, day and scene, render outcomes), so their "
        "figures follow daytime runs too (the nightly job rebuilds them itself). Spends no credits. "
        "Stopped by default: start it under Automation, or `dagster sensor start credit_report_after_runs_sensor`."
    ),
)
def credit_report_after_runs_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    """One credit report per finished run (the run id is the run key, so it is never asked twice)."""
    finished = context.dagster_run
    tags = {"haven/after_run": finished.run_id, "haven/after_job": finished.job_name}
    if USER_TAG in finished.tags:
        tags[USER_TAG] = finished.tags[USER_TAG]
    return dg.RunRequest(run_key=f"after:{finished.run_id}", tags=tags)


REPORT_SENSORS = [credit_report_after_runs_sensor]
