"""Launchpad config: good config is accepted, bad config is refused with the field named."""

import dagster as dg
import pytest
from pydantic import ValidationError as PydanticError

from haven_pipelines.defs.jobs import GenerateMockupsConfig, RetireConfig, RetryConfig

UUIDS = [f"00000000-0000-0000-0000-{i:012d}" for i in range(25)]


def test_generate_config_accepts_the_source_limits_and_deduplicates():
    config = GenerateMockupsConfig(user="ops@example.com", asset_ids=[UUIDS[0], UUIDS[0], UUIDS[1]], scenes=["bedroom"] * 2)
    assert config.asset_ids == UUIDS[:2]
    assert config.scenes == ["bedroom"]
    assert GenerateMockupsConfig(user="u", asset_ids=UUIDS[:20]).scenes == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"asset_ids": []}, "asset_ids"),
        ({"asset_ids": UUIDS[:21]}, "asset_ids"),
        ({"asset_ids": UUIDS[:1], "scenes": ["a", "b", "c", "d", "e", "f"]}, "scenes"),
        ({"asset_ids": UUIDS[:1], "scenes": ["../etc"]}, "scenes"),
        ({"asset_ids": UUIDS[:1], "user": "  "}, "user"),
    ],
)
def test_generate_config_names_the_bad_field(values, field):
    with pytest.raises(PydanticError) as info:
        GenerateMockupsConfig(**{"user": "u", **values})
    assert f"{field}:" in str(info.value)


def test_retire_reason_and_retry_limit_are_checked():
    assert RetireConfig(user="u", product_id="p", reason="seasonal").reason == "seasonal"
    with pytest.raises(PydanticError, match="reason: must be one of underperformer, manual, seasonal"):
        RetireConfig(user="u", product_id="p", reason="bored")
    with pytest.raises(PydanticError, match="limit: must be 1 to 500"):
        RetryConfig(limit=0)


def test_launchpad_rejects_a_bad_run_config_naming_the_field(app_db, instance):
    from haven_pipelines.definitions import build_resources, defs

    job = defs.get_job_def("retire_product_job")
    result = job.execute_in_process(
        run_config={"ops": {"retire_product": {"config": {"user": "ops@example.com", "product_id": "p", "reason": "bored"}}}},
        resources=build_resources(app_db.haven()), instance=instance, raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "reason: must be one of" in str(failure.event_specific_data.error)
