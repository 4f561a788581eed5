"""Export downloads: https only (unless the client's policy allows http), size caps, redirects checked, images verified."""

from __future__ import annotations

import io
import zlib

import httpx
import pytest
from PIL import Image

from haven_pipelines.integrations.dynamic_mockups import DownloadError, DownloadPolicy, DynamicMockupsClient, RenderRequest
from haven_pipelines_tests.integrations.conftest import FAST_RETRY, make_client

#: The fake API serves its exports over http on 127.0.0.1: only a client built with this policy may fetch them.
LOOPBACK = DownloadPolicy(allow_http=True, allow_private_addresses=True)


def PUBLIC(host: str) -> list[str]:  # noqa: N802 - reads as a constant resolver
    """A resolver that answers a public address without DNS (the tests stay offline)."""
    return ["93.184.215.14"]


@pytest.fixture
def loopback_client(fake_dm):
    """A client of the fake whose download policy admits its http exports on loopback."""
    with make_client(fake_dm, download_policy=LOOPBACK) as client:
        yield client


@pytest.fixture
def export_url(fake_dm, dm_client) -> str:
    t = fake_dm.templates[0]
    request = RenderRequest(t.uuid, t.smart_objects[0]["uuid"], "https://cdn.example.com/a.png")
    return dm_client.render_request(request).export_path


def test_download_returns_a_real_image_without_sending_the_key(fake_dm, loopback_client, export_url):
    data = loopback_client.download(export_url, expect_image=True)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (96, 120)
    # The fake saw the key on the API call only; the export request carried none.
    assert fake_dm.snapshot()["exports_served"] == 1
    assert fake_dm.api_keys_seen() == {fake_dm.api_key}
    assert loopback_client.stats()["downloads"] == 1


def test_export_host_never_receives_the_key():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"img")

    with DynamicMockupsClient("the-key", transport=httpx.MockTransport(handler)) as client:
        assert client.download("https://exports.example.com/a.jpg", resolver=PUBLIC) == b"img"
    assert "x-api-key" not in seen[0].headers


def test_plain_http_and_loopback_are_refused_by_the_default_policy(dm_client, export_url):
    with pytest.raises(DownloadError, match="https"):
        dm_client.download(export_url)


def test_allowing_http_alone_still_refuses_a_loopback_host(fake_dm, export_url):
    with make_client(fake_dm, download_policy=DownloadPolicy(allow_http=True)) as client:
        with pytest.raises(DownloadError, match="127.0.0.1 is not a public address"):
            client.download(export_url)
    assert fake_dm.snapshot()["exports_served"] == 0  # refused before any request


def test_policy_host_list_applies_to_every_call(fake_dm, export_url):
    policy = DownloadPolicy(allow_http=True, allow_private_addresses=True, allowed_hosts=frozenset({"exports.example.com"}))
    with make_client(fake_dm, download_policy=policy) as client:
        with pytest.raises(DownloadError, match="not an allowed export host"):
            client.download(export_url)


def test_host_allow_list(loopback_client, export_url):
    with pytest.raises(DownloadError, match="not an allowed export host"):
        loopback_client.download(export_url, allowed_hosts=["exports.example.com"])
    assert loopback_client.download(export_url, allowed_hosts=["127.0.0.1"])


@pytest.mark.parametrize("mode", ["garbage", "html"])
def test_not_an_image_is_refused_when_an_image_is_expected(fake_dm, loopback_client, export_url, mode):
    fake_dm.export_mode = mode
    assert loopback_client.download(export_url)  # bytes, when no image is demanded
    with pytest.raises(DownloadError, match="not a usable image"):
        loopback_client.download(export_url, expect_image=True)


@pytest.mark.parametrize("mode", ["huge", "huge_unsized"])
def test_size_cap_by_content_length_and_while_streaming(fake_dm, loopback_client, export_url, mode):
    fake_dm.export_mode = mode
    fake_dm.huge_bytes = 3 * 1024 * 1024
    with pytest.raises(DownloadError, match="limit"):
        loopback_client.download(export_url, max_bytes=1024 * 1024)


def test_redirect_to_plain_http_elsewhere_is_checked(fake_dm, loopback_client, export_url):
    fake_dm.export_mode = "redirect"
    fake_dm.redirect_target = "http://evil.example.com/x.jpg"
    with pytest.raises(DownloadError, match="not an allowed export host"):
        loopback_client.download(export_url, allowed_hosts=["127.0.0.1"])


def test_redirect_loop_is_cut(fake_dm, loopback_client, export_url):
    fake_dm.export_mode = "redirect"
    fake_dm.redirect_target = None  # redirects to another export path, which redirects again
    with pytest.raises(DownloadError, match="redirects"):
        loopback_client.download(export_url)


def test_https_redirect_to_http_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://exports.example.com/a.jpg"})

    with DynamicMockupsClient("k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(DownloadError, match="must be https"):
            client.download("https://exports.example.com/a.jpg", resolver=PUBLIC)


def test_server_error_on_export_is_retried_then_reported(fake_dm, loopback_client, export_url):
    fake_dm.export_mode = "error"
    with pytest.raises(DownloadError, match="status 500"):
        loopback_client.download(export_url)
    assert fake_dm.snapshot()["exports_served"] == FAST_RETRY.max_attempts


def test_decompression_bomb_is_refused():
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    png = bytearray(buf.getvalue())
    # Rewrite the header to claim 30000 x 30000 pixels (a few bytes that would decode to 900 MB).
    png[16:24] = (30000).to_bytes(4, "big") * 2
    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bytes(png))

    with DynamicMockupsClient("k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(DownloadError, match="DecompressionBomb"):
            client.download("https://exports.example.com/bomb.png", expect_image=True, resolver=PUBLIC)


def test_error_messages_drop_query_strings():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, content=b"denied")

    with DynamicMockupsClient("k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(DownloadError) as info:
            client.download("https://s3.example.com/a.jpg?X-Amz-Signature=sekrit", resolver=PUBLIC)
    assert "sekrit" not in str(info.value) and "s3.example.com/a.jpg" in str(info.value)
