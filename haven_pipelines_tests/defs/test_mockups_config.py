"""The ``mockups`` asset's launchpad config: explicit scenes, and unknown scenes refused before any charge."""

import dagster as dg

from haven_pipelines.definitions import build_resources
from haven_pipelines.defs.jobs import DESIGN_GRAPH
from haven_pipelines_tests.defs.conftest import paid_haven


def _config(scenes):
    return {"ops": {"mockups": {"config": {"scenes": scenes}}}}


def test_config_scenes_override_the_collection_recommendation(app_db, instance):
    user = app_db.user(mode="autopilot")
    [design] = app_db.designs(user, 1)  # a growth design: three recommended scenes
    instance.add_dynamic_partitions("designs", [design])
    all_five = ["bedroom", "therapy_office", "living_room", "reading_nook", "home_office"]
    result = dg.materialize(DESIGN_GRAPH[:2], resources=build_resources(app_db.haven()), instance=instance,
                            partition_key=design, run_config=_config(all_five))
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("mockups")]
    assert event.materialization.metadata["renders_done"].value == 5


def test_unknown_config_scene_fails_before_anything_is_charged(app_db, instance):
    user = app_db.user(mode="autopilot")
    [design] = app_db.designs(user, 1)
    instance.add_dynamic_partitions("designs", [design])
    haven = paid_haven(app_db)
    result = dg.materialize(DESIGN_GRAPH[:2], resources=build_resources(haven), instance=instance,
                            partition_key=design, run_config=_config(["bedroom", "attic"]), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "unknown scene 'attic'" in str(failure.event_specific_data.error)
    from haven_pipelines.services.context import build_context

    ctx = build_context(database_url=app_db.url)
    try:
        assert ctx.ledger.usage(user).used_this_year == 0
    finally:
        ctx.close()


def test_a_photo_scene_in_config_renders_free(app_db, instance, tmp_path):
    from haven_pipelines.services.context import build_context
    from haven_pipelines.services.scenes import PhotoSceneRequest, add_photo_scene
    from haven_pipelines_tests.cli.test_photo_scenes_cli import QUAD, room_photo

    user = app_db.user(mode="autopilot")
    [design] = app_db.designs(user, 1)
    ctx = build_context(database_url=app_db.url, data_dir=app_db.data_dir)
    try:
        photo = room_photo(tmp_path / "room.jpg").read_bytes()
        add_photo_scene(ctx.engine, ctx.blob_store, user, PhotoSceneRequest("my_wall", "My wall", photo, QUAD))
    finally:
        ctx.close()
    instance.add_dynamic_partitions("designs", [design])
    result = dg.materialize(DESIGN_GRAPH[:2], resources=build_resources(app_db.haven()), instance=instance,
                            partition_key=design, run_config=_config(["my_wall"]))
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("mockups")]
    assert event.materialization.metadata["renders_done"].value == 1
    ctx = build_context(database_url=app_db.url, data_dir=app_db.data_dir)
    try:
        assert ctx.ledger.usage(user).used_this_year == 0
    finally:
        ctx.close()
