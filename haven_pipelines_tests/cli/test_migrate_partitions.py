"""Readable partition keys on an instance that predates them: ``haven pipeline migrate-partitions``
on a real persistent Dagster instance (a folder, reopened between steps) whose ``designs``
partitions are keyed by bare design ids; and ``--design`` taking a key as well as an id."""

from __future__ import annotations

import dagster as dg
import pytest

from haven_pipelines.definitions import DESIGNS_PARTITION, build_resources
from haven_pipelines.defs.jobs import DESIGN_GRAPH
from haven_pipelines.defs.assets.mockups import mockups
from haven_pipelines.domain.labels import design_partition_key

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning", "ignore::dagster.PreviewWarning")

GONE = "00000000-0000-4000-8000-00000000dead"  # a partition whose design was deleted


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _latest(instance, key: str):
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=mockups.key, asset_partitions=[key]), limit=1).records
    return record.asset_materialization


def test_old_bare_id_partitions_move_to_readable_keys_once(haven_sqlite, dagster_home):
    designs = haven_sqlite.designs()
    ids = [d["id"] for d in designs]
    keys = [design_partition_key(d["text"], d["id"]) for d in designs]
    # An instance as it was before readable keys: partitions named by the ids, materialised under them.
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(DESIGNS_PARTITION, [*ids, GONE])
        for asset_id in ids:
            assert dg.materialize(DESIGN_GRAPH[:2], partition_key=asset_id, instance=instance,
                                  resources=build_resources()).success

    dry = haven_sqlite("pipeline", "migrate-partitions", "--dry-run")
    assert "would move 2 design partition(s) to readable keys (dry run: nothing changed)" in dry.output
    assert f"{ids[0]} -> {keys[0]}" in dry.output
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(DESIGNS_PARTITION) == [*ids, GONE]

    moved = haven_sqlite("pipeline", "migrate-partitions")
    assert "moved 2 design partition(s) to readable keys; carried 4 materialisation(s)" in moved.output
    assert f"1 partition(s) name no design in the database and were left as they are: {GONE}" in moved.output
    with dg.DagsterInstance.get() as instance:  # reopened from the folder
        assert instance.get_dynamic_partitions(DESIGNS_PARTITION) == [GONE, *keys]
        carried = _latest(instance, keys[0])
        assert carried.metadata["moved_from"].value == ids[0]
        assert carried.metadata["design"].value.startswith(f"“{designs[0]['text'][:10]}")
        assert "preview" in carried.metadata  # the pictures come along
        # The old key's history stays in the event log; its partition is gone.
        assert _latest(instance, ids[0]).metadata["design"] == carried.metadata["design"]
        # The new key runs as any partition does.
        assert dg.materialize(DESIGN_GRAPH[:1], partition_key=keys[1], instance=instance,
                              resources=build_resources()).success

    again = haven_sqlite("pipeline", "migrate-partitions")
    assert "nothing to move: every design partition has its design's key" in again.output
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(DESIGNS_PARTITION) == [GONE, *keys]
        assert len(instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=mockups.key, asset_partitions=[keys[0]]), limit=10).records) == 1


def test_migrate_partitions_needs_an_instance(haven_sqlite, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    result = haven_sqlite("pipeline", "migrate-partitions", ok=False)
    assert result.exit_code == 1 and "DAGSTER_HOME is not set" in result.output


def test_design_options_take_a_design_key_as_well_as_an_id(haven_sqlite):
    design = haven_sqlite.designs()[0]
    key = design_partition_key(design["text"], design["id"])
    by_key = haven_sqlite.json("mockups", "list", "--design", key)
    by_id = haven_sqlite.json("mockups", "list", "--design", design["id"])
    assert by_key == by_id
    unknown = haven_sqlite("mockups", "list", "--design", "no-such-design-12345678", ok=False)
    assert unknown.exit_code == 2
    assert "Invalid value for '--design': no design has the key 'no-such-design-12345678'" in unknown.output


def test_pipeline_run_moves_old_partitions_before_it_runs(haven_sqlite, dagster_home):
    designs = haven_sqlite.designs()
    keys = [design_partition_key(d["text"], d["id"]) for d in designs]
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(DESIGNS_PARTITION, [d["id"] for d in designs])
    result = haven_sqlite("pipeline", "run")
    assert "moved 2 design partition(s) to readable keys; carried 0 materialisation(s)" in result.output
    assert "designs        2 materialised" in result.output
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(DESIGNS_PARTITION) == keys
        assert all(_latest(instance, key).metadata["design"].value.endswith(key[-8:]) for key in keys)


def test_mockups_list_names_each_design_by_the_key_the_ui_lists(haven_sqlite):
    design = haven_sqlite.designs()[0]
    key = design_partition_key(design["text"], design["id"])
    haven_sqlite("render", "--design", design["id"], "--scene", "bedroom")
    table = haven_sqlite("mockups", "list").output.splitlines()
    assert table[0].split()[:3] == ["mockup", "design", "status"]
    assert table[-1] == "1 of 1"
    assert [row.split()[1] for row in table[1:-1]] == [key]
    assert haven_sqlite.json("mockups", "list")["mockups"][0]["partition_key"] == key
