"""Runs cannot hang: every render and publish job carries a maximum runtime and retries, both instance
profiles turn run monitoring and run retries on, and the sweeper never refunds a run still allowed
to finish."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from haven_pipelines.definitions import defs
from haven_pipelines.defs.jobs import STALE_RESERVATION_AGE
from haven_pipelines.defs.run_limits import MAX_RETRIES_TAG, MAX_RUNTIME_TAG

ROOT = Path(__file__).resolve().parents[2]
PROFILES = [ROOT / "dagster.yaml", ROOT / "deploy" / "dagster.postgres.yaml"]
RENDER_JOBS = ("catalogue_job", "generate_mockups_job", "nightly_catalog_job", "retry_queue_job")
PUBLISH_JOBS = ("design_listing_job", "publish_product_job", "retire_product_job")


def _tags(name: str) -> dict[str, str]:
    return dict(defs.get_repository_def().get_job(name).tags)


@pytest.mark.parametrize("name", RENDER_JOBS + PUBLISH_JOBS)
def test_each_render_and_publish_job_has_a_maximum_runtime_and_a_retry(name):
    tags = _tags(name)
    assert int(tags[MAX_RUNTIME_TAG]) > 0 and int(tags[MAX_RETRIES_TAG]) == 1
    if name in PUBLISH_JOBS:
        assert int(tags[MAX_RUNTIME_TAG]) < int(_tags("catalogue_job")[MAX_RUNTIME_TAG])


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_both_instance_profiles_monitor_and_retry_runs(profile):
    config = yaml.safe_load(profile.read_text())
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_retries"]["enabled"] is True
    # Runs without the tag are not retried: only the jobs that say they are safe to rerun are.
    assert config["run_retries"]["max_retries"] == 0
    # A reservation older than the sweeper's age cannot belong to a render run still allowed to finish.
    longest = max(int(_tags(name)[MAX_RUNTIME_TAG]) for name in RENDER_JOBS)
    assert timedelta(seconds=longest + config["run_monitoring"]["poll_interval_seconds"]) < STALE_RESERVATION_AGE
