"""The assets' shared ending: a result with metadata, or a failure naming how many designs failed."""

from __future__ import annotations

import dagster as dg
import pytest

from haven_pipelines.defs.metadata import result_or_failure


def test_no_failures_give_the_result_with_its_metadata():
    metadata = {"products_built": dg.MetadataValue.int(2)}
    result = result_or_failure([], "product(s) could not be built", metadata)
    assert isinstance(result, dg.MaterializeResult)
    assert result.metadata == metadata


def test_failures_raise_naming_the_count_and_the_first_design_with_the_same_metadata():
    metadata = {"failed": dg.MetadataValue.int(2)}
    failed = [{"asset_id": "a1", "error": "no approved mockups"}, {"asset_id": "a2", "error": "boom"}]
    with pytest.raises(dg.Failure) as raised:
        result_or_failure(failed, "listing(s) failed", metadata)
    assert raised.value.description == "2 listing(s) failed; first: design a1: no approved mockups"
    assert raised.value.metadata == metadata
