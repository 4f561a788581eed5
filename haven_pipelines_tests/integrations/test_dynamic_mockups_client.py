"""The Dynamic Mockups client against the fake API on a local socket (and MockTransport for odd answers)."""

from __future__ import annotations

import json
import logging
import traceback

import httpx
import pytest

from haven_pipelines.integrations.dynamic_mockups import (
    ApiUnreachable,
    AuthenticationError,
    DownloadPolicy,
    DynamicMockupsClient,
    DynamicMockupsError,
    InsufficientCredits,
    InvalidRequest,
    MalformedResponse,
    MockupNotFound,
    RateLimited,
    RenderFailed,
    RenderRequest,
    ServerError,
)
from haven_pipelines_tests.integrations.conftest import FAST_RETRY, make_client


def _request(fake, i: int = 0, **kw) -> RenderRequest:
    t = fake.templates[i % len(fake.templates)]
    return RenderRequest(t.uuid, t.smart_objects[0]["uuid"], kw.pop("asset_url", f"https://cdn.example.com/art/{i}.png"), **kw)


def test_render_returns_the_export_and_charges_one_credit(fake_dm, dm_client):
    fake_dm.credits = 3
    t = fake_dm.templates[0]
    result = dm_client.render(t.uuid, t.smart_objects[0]["uuid"], "https://cdn.example.com/a.png", "cover", "label-1", "png", 800)
    assert result.export_path.startswith(fake_dm.root_url + "/exports/") and result.export_path.endswith(".png")
    assert result.export_label == "label-1"
    assert result.mockup_uuid == t.uuid
    assert result.render_id and result.render_id in result.export_path
    assert result.metadata["export_path"] == result.export_path
    assert fake_dm.snapshot()["credits"] == 2
    assert fake_dm.snapshot()["renders_done"] == 1


def test_list_and_get_mockups_parse_smart_objects(fake_dm, dm_client):
    templates = dm_client.list_mockups()
    assert [t.uuid for t in templates] == [t.uuid for t in fake_dm.templates]
    so = templates[0].smart_objects[0]
    assert (so.name, so.width, so.height, so.top, so.left) == ("Artwork", 800, 1000, 120, 340)
    one = dm_client.get_mockup(templates[2].uuid)
    assert one == templates[2]
    assert dm_client.list_mockups(name="Reading nook frame")[0].name == "Reading nook frame"


def test_unknown_mockup_is_not_found(dm_client):
    with pytest.raises(MockupNotFound) as info:
        dm_client.get_mockup("00000000-0000-4000-8000-000000000000")
    assert info.value.status == 404 and isinstance(info.value, InvalidRequest)


def test_connection_is_reused(fake_dm, dm_client):
    for _ in range(5):
        dm_client.list_mockups()
    # One keep-alive connection served all five requests: never more than one in flight, and
    # the pool holds a single connection.
    pool = dm_client._http._transport._pool
    assert len(pool.connections) == 1
    assert fake_dm.snapshot()["by_endpoint"]["GET /mockups"] == 5


def test_wrong_key_is_authentication_error_and_not_retried(fake_dm):
    with make_client(fake_dm, api_key="wrong-key-123") as client:
        with pytest.raises(AuthenticationError) as info:
            client.list_mockups()
    assert info.value.status == 401
    assert fake_dm.snapshot()["sent_401"] == 1


def test_empty_key_is_refused_before_any_request():
    with pytest.raises(AuthenticationError, match="DYNAMIC_MOCKUPS_API_KEY"):
        DynamicMockupsClient("  ")


def test_invalid_body_is_422_with_the_field_and_never_retried(fake_dm, dm_client):
    with pytest.raises(InvalidRequest) as info:
        dm_client.render("not-a-known-mockup", "so", "https://cdn.example.com/a.png")
    assert info.value.status == 422
    assert "mockup_uuid" in str(info.value)
    assert fake_dm.snapshot()["by_endpoint"]["POST /renders"] == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fit": "squash"}, "fit"),
        ({"image_format": "gif"}, "image_format"),
        ({"image_size": 0}, "image_size"),
        ({"asset_url": "ftp://x/a.png"}, "asset_url"),
        ({"asset_url": ""}, "asset_url"),
    ],
)
def test_bad_arguments_are_refused_locally(fake_dm, dm_client, kwargs, field):
    t = fake_dm.templates[0]
    args = {"mockup_uuid": t.uuid, "smart_object_uuid": t.smart_objects[0]["uuid"], "asset_url": "https://cdn.example.com/a.png"}
    args.update(kwargs)
    with pytest.raises(InvalidRequest, match=field):
        dm_client.render(**args)
    assert fake_dm.snapshot()["requests"] == 0


def test_out_of_credits_is_403_insufficient_credits(fake_dm, dm_client):
    fake_dm.credits = 0
    with pytest.raises(InsufficientCredits) as info:
        dm_client.render_request(_request(fake_dm))
    assert info.value.status == 403 and info.value.stops_batch
    assert fake_dm.snapshot()["by_endpoint"]["POST /renders"] == 1


def test_5xx_is_retried_then_succeeds(fake_dm, dm_client):
    fake_dm.script.extend([503, 500])
    result = dm_client.render_request(_request(fake_dm))
    assert result.export_path
    assert dm_client.stats()["retries"] == 2
    assert fake_dm.snapshot()["by_endpoint"]["POST /renders"] == 3


def test_5xx_every_time_is_server_error(fake_dm, dm_client):
    fake_dm.script.extend([502, 502, 502])
    with pytest.raises(ServerError) as info:
        dm_client.render_request(_request(fake_dm))
    assert info.value.status == 502 and info.value.retryable


def test_429_is_retried_and_counted(fake_dm, dm_client):
    fake_dm.script.extend([429])
    assert dm_client.render_request(_request(fake_dm)).export_path
    assert dm_client.stats()["responses_429"] == 1


def test_429_every_time_is_rate_limited(fake_dm, dm_client):
    fake_dm.script.extend([429, 429, 429])
    with pytest.raises(RateLimited):
        dm_client.list_mockups()


def test_timeout_is_retried_then_unreachable(fake_dm):
    fake_dm.hang_seconds = 1.0
    fake_dm.script.extend(["hang", "hang"])
    with make_client(fake_dm, timeout=0.2, retry=FAST_RETRY) as client:
        assert client.list_mockups()  # two timeouts, then an answer on the third attempt
        fake_dm.script.extend(["hang", "hang", "hang"])
        with pytest.raises(ApiUnreachable, match="timeout"):
            client.list_mockups()


def test_dropped_connection_is_retried(fake_dm, dm_client):
    fake_dm.script.append("drop")
    assert dm_client.list_mockups()
    assert dm_client.stats()["retries"] == 1


def test_connection_refused_is_unreachable():
    # A port nothing listens on: bind, read the port, close.
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with DynamicMockupsClient("k", base_url=f"http://127.0.0.1:{port}/api/v1", retry=FAST_RETRY, timeout=0.5) as client:
        with pytest.raises(ApiUnreachable):
            client.list_mockups()


@pytest.mark.parametrize("fault", ["malformed", "wrong_shape"])
def test_malformed_answers(fake_dm, dm_client, fault):
    fake_dm.script.append(fault)
    with pytest.raises(MalformedResponse):
        dm_client.render_request(_request(fake_dm))


def test_batch_answers_per_render_with_partial_success(fake_dm, dm_client):
    requests = [_request(fake_dm, i) for i in range(4)]
    fake_dm.failing_assets.add(requests[2].asset_url)
    outcomes = dm_client.render_batch(requests, image_format="webp")
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert [o.request for o in outcomes] == requests
    assert isinstance(outcomes[2].error, RenderFailed) and "could not be loaded" in str(outcomes[2].error)
    assert all(o.result.export_path.endswith(".webp") for o in outcomes if o.ok)
    assert fake_dm.snapshot()["by_endpoint"] == {"POST /renders/batch": 1}


def test_batch_refused_as_a_whole_raises(fake_dm, dm_client):
    fake_dm.credits = 2
    with pytest.raises(InsufficientCredits):
        dm_client.render_batch([_request(fake_dm, i) for i in range(3)])
    assert fake_dm.snapshot()["credits"] == 2


def test_batch_answer_with_wrong_count_is_malformed(fake_dm):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {"renders": [{"status": "success", "export_path": "https://x/1.jpg"}]}})

    with DynamicMockupsClient("k", transport=httpx.MockTransport(handler), retry=FAST_RETRY) as client:
        with pytest.raises(MalformedResponse, match="2 object"):
            client.render_batch([_request(fake_dm, 0), _request(fake_dm, 1)])


def test_request_shape_follows_the_documented_contract(fake_dm):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"export_path": "https://s3.example.com/e/abc.jpg", "export_label": "L"}})

    with DynamicMockupsClient("secret-k", transport=httpx.MockTransport(handler)) as client:
        client.render("m-uuid", "so-uuid", "https://cdn.example.com/a.png", "cover", "L", "jpg", 1200)
    request = seen[0]
    assert request.method == "POST" and request.url == "https://app.dynamicmockups.com/api/v1/renders"
    assert request.headers["x-api-key"] == "secret-k" and request.headers["accept"] == "application/json"
    assert json.loads(request.content) == {
        "mockup_uuid": "m-uuid",
        "smart_objects": [{"uuid": "so-uuid", "asset": {"url": "https://cdn.example.com/a.png", "fit": "cover"}}],
        "export_label": "L",
        "export_options": {"image_format": "jpg", "image_size": 1200},
    }


def test_from_env_reads_key_and_base_url(fake_dm):
    env = {"DYNAMIC_MOCKUPS_API_KEY": fake_dm.api_key, "DYNAMIC_MOCKUPS_BASE_URL": fake_dm.base_url}
    with DynamicMockupsClient.from_env(env, retry=FAST_RETRY) as client:
        assert client.base_url == fake_dm.base_url
        assert len(client.list_mockups()) == 5


# -- the key never leaks -------------------------------------------------------------------------


def _all_text(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))])


def test_api_key_never_appears_in_errors_repr_logs_or_metadata(fake_dm, caplog):
    caplog.set_level(logging.DEBUG)
    key = fake_dm.api_key
    texts: list[str] = []
    with make_client(fake_dm) as client:
        texts.append(repr(client))
        result = client.render_request(_request(fake_dm))
        texts.append(repr(result))
        faults = [[401], [403], [422], [429, 429, 429], [503, 503, 503], ["malformed"], ["hang", "hang", "hang"]]
        for script in faults:
            fake_dm.script.extend(script)
            with pytest.raises(DynamicMockupsError) as info:
                client.list_mockups()
            texts.append(_all_text(info.value))
        fake_dm.credits = 0
        with pytest.raises(InsufficientCredits) as info:
            client.render_request(_request(fake_dm))
        texts.append(_all_text(info.value))
        fake_dm.export_mode = "html"
        with make_client(fake_dm, download_policy=DownloadPolicy(allow_http=True, allow_private_addresses=True)) as loopback:
            with pytest.raises(DynamicMockupsError) as info:
                loopback.download(result.export_path, expect_image=True)
        texts.append(_all_text(info.value))
    with make_client(fake_dm, api_key=key + "-wrong") as bad:
        with pytest.raises(AuthenticationError) as info:
            bad.list_mockups()
        texts.append(_all_text(info.value))
    texts.append(caplog.text)
    blob = "\n".join(texts)
    assert key not in blob
    assert len(texts) == 13  # every error above was really raised and looked at


def test_a_server_echoing_the_key_is_scrubbed():
    key = "sk_live_echoed_0123456789"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/renders"):
            return httpx.Response(200, json={"data": {"export_path": f"https://x/e.jpg?k={key}", "api_key": key, "note": f"for {key}"}})
        return httpx.Response(422, json={"message": f"bad key {key}", "errors": {"x": [key]}})

    with DynamicMockupsClient(key, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(InvalidRequest) as info:
            client.list_mockups()
        result = client.render("m", "s", "https://cdn.example.com/a.png")
    assert key not in _all_text(info.value) and "***" in str(info.value)
    assert "api_key" not in result.metadata
    assert key not in json.dumps(dict(result.metadata))
