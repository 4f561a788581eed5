"""How long a run may take and how often Dagster retries it: the tags the render and publish jobs carry.

The source gave its render task a 600 s limit and two attempts with backoff. Here a run batches many
renders, so the limit is per run: Dagster's run monitoring (``run_monitoring`` in both instance
profiles, ``dagster.yaml`` and ``deploy/dagster.postgres.yaml``) fails a run that has been running
longer than its ``dagster/max_runtime`` and terminates its worker; Dagster's run retries
(``run_retries``) then launch it again, up to ``dagster/max_retries`` times. A rerun is safe because
every run is idempotent: a render already finished is skipped, a reservation left open by the failed
run is either taken over under the same idempotency key or refunded by the sweeper, and publishing
upserts by Shopify id.

The render limit stays below the sweeper's age (``STALE_RESERVATION_AGE`` in ``jobs.py``, one hour)
with room for the monitor's poll interval, so that the sweeper never refunds the reservation of a
run still allowed to finish. A launch may override both tags (the launchpad, ``dagster job launch
--tags``).
"""

MAX_RUNTIME_TAG = "dagster/max_runtime"
MAX_RETRIES_TAG = "dagster/max_retries"

#: Seconds a run that renders mockups may take (45 minutes: a night's batch is a few minutes here).
RENDER_MAX_RUNTIME_SECONDS = 45 * 60
#: Seconds a run that only builds, publishes or retires products may take.
PUBLISH_MAX_RUNTIME_SECONDS = 15 * 60
#: Retries after the first attempt: two attempts in all, as in the source.
RUN_RETRIES = 1

RENDER_RUN_TAGS = {MAX_RUNTIME_TAG: str(RENDER_MAX_RUNTIME_SECONDS), MAX_RETRIES_TAG: str(RUN_RETRIES)}
PUBLISH_RUN_TAGS = {MAX_RUNTIME_TAG: str(PUBLISH_MAX_RUNTIME_SECONDS), MAX_RETRIES_TAG: str(RUN_RETRIES)}
