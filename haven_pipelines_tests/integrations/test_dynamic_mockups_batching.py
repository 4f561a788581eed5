"""render_many: the batch endpoint, failures handled one by one, and credits stopping the work."""

from __future__ import annotations

import pytest

from haven_pipelines.integrations.dynamic_mockups import InsufficientCredits, InvalidRequest, RenderRequest, ServerError


def _requests(fake, n: int) -> list[RenderRequest]:
    out = []
    for i in range(n):
        t = fake.templates[i % len(fake.templates)]
        out.append(RenderRequest(t.uuid, t.smart_objects[0]["uuid"], f"https://cdn.example.com/art/{i}.png", export_label=f"r{i}"))
    return out


def test_many_renders_use_the_batch_endpoint_in_order(fake_dm, dm_client):
    requests = _requests(fake_dm, 23)
    outcomes = dm_client.render_many(requests, batch_size=10, workers=3)
    assert [o.request for o in outcomes] == requests
    assert all(o.ok for o in outcomes)
    assert [o.result.export_label for o in outcomes] == [f"r{i}" for i in range(23)]
    assert fake_dm.snapshot()["by_endpoint"] == {"POST /renders/batch": 3}
    assert fake_dm.snapshot()["renders_done"] == 23


def test_a_failed_render_inside_a_batch_is_retried_alone(fake_dm, dm_client):
    fake_dm.transient_batch_failures = 2
    outcomes = dm_client.render_many(_requests(fake_dm, 10), batch_size=10)
    assert all(o.ok for o in outcomes)
    by_endpoint = fake_dm.snapshot()["by_endpoint"]
    assert by_endpoint == {"POST /renders/batch": 1, "POST /renders": 2}


def test_a_render_that_always_fails_does_not_fail_the_others(fake_dm, dm_client):
    requests = _requests(fake_dm, 10)
    fake_dm.failing_assets.add(requests[4].asset_url)
    outcomes = dm_client.render_many(requests, batch_size=5)
    assert [o.ok for o in outcomes] == [True] * 4 + [False] + [True] * 5
    assert isinstance(outcomes[4].error, InvalidRequest)  # the single retry's 422
    assert fake_dm.snapshot()["renders_done"] == 9


def test_an_invalid_batch_is_split_to_find_the_bad_render(fake_dm, dm_client):
    requests = _requests(fake_dm, 4)
    requests[1] = RenderRequest("00000000-0000-4000-8000-000000000000", "so", "https://cdn.example.com/x.png")
    outcomes = dm_client.render_many(requests, batch_size=4)
    assert [o.ok for o in outcomes] == [True, False, True, True]
    assert "mockup_uuid" in str(outcomes[1].error)


def test_running_out_of_credits_stops_further_submissions(fake_dm, dm_client):
    fake_dm.credits = 15
    outcomes = dm_client.render_many(_requests(fake_dm, 40), batch_size=10, workers=1)
    assert [o.ok for o in outcomes] == [True] * 10 + [False] * 30
    assert all(isinstance(o.error, InsufficientCredits) for o in outcomes[10:])
    assert all("not sent" in str(o.error) for o in outcomes[20:])
    snap = fake_dm.snapshot()
    # Batch 1 paid; batch 2 was refused (403); batches 3 and 4 were never sent.
    assert snap["by_endpoint"] == {"POST /renders/batch": 2}
    assert snap["credits"] == 5


def test_a_batch_that_keeps_failing_server_side_fails_its_renders_without_fanning_out(fake_dm, dm_client):
    fake_dm.script.extend([503, 503, 503])
    outcomes = dm_client.render_many(_requests(fake_dm, 5), batch_size=5)
    assert all(isinstance(o.error, ServerError) for o in outcomes)
    assert fake_dm.snapshot()["by_endpoint"] == {"POST /renders/batch": 3}


def test_batch_size_one_uses_single_renders(fake_dm, dm_client):
    outcomes = dm_client.render_many(_requests(fake_dm, 3), batch_size=1, workers=2)
    assert all(o.ok for o in outcomes)
    assert fake_dm.snapshot()["by_endpoint"] == {"POST /renders": 3}


@pytest.mark.parametrize(("kwargs", "field"), [({"batch_size": 0}, "batch_size"), ({"workers": 0}, "workers"), ({"image_format": "bmp"}, "image_format")])
def test_bad_settings_are_refused_before_sending(fake_dm, dm_client, kwargs, field):
    with pytest.raises(InvalidRequest, match=field):
        dm_client.render_many(_requests(fake_dm, 2), **kwargs)
    assert fake_dm.snapshot()["requests"] == 0
