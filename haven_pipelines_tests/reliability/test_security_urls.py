"""Outbound URLs: Dynamic Mockups exports are fetched only over https from public hosts (no file://,
no loopback, private, link-local or metadata addresses unless a test configuration allows them),
every redirect hop is checked again, sizes are refused before the body is read, and the API key
never goes to an export host.

The export URL comes from the API's answer, so these are the answers a compromised or forged API
(or a man in the middle of a proxy) could send. No request may reach a refused host: the transport
records every host it is asked for.
"""

from __future__ import annotations

import httpx
import pytest

from haven_pipelines.integrations.dynamic_mockups import DownloadError, DynamicMockupsClient
from haven_pipelines.integrations.http import RetryPolicy
from haven_pipelines.services.renderers import DynamicMockupsRenderer, RenderFailure, RenderJob
from haven_pipelines_tests.reliability.helpers import png_bytes

API_KEY = "dm_live_SECRET_key_for_url_tests"
PUBLIC = {"exports.example.com": ["93.184.215.14"], "cdn.example.net": ["151.101.1.1"], "internal.example.com": ["10.1.2.3"],
          "rebound.example.com": ["93.184.215.14", "127.0.0.1"], "v6.example.com": ["fd00::1"]}
NO_RETRY = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, max_retry_after=0.0, jitter=False)


class CountingStream(httpx.SyncByteStream):
    """A body that records how many chunks were read from it."""

    def __init__(self, chunks: int, size: int = 64 * 1024):
        self.chunks, self.size, self.read = chunks, size, 0

    def __iter__(self):
        for _ in range(self.chunks):
            self.read += 1
            yield b"\xff" * self.size


class Exports:
    """An httpx transport standing in for every export host; records each request."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, object] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(f"{request.url.host}{request.url.path}")
        if callable(route):
            return route(request)
        if route is not None:
            return route
        return httpx.Response(200, content=png_bytes(), headers={"content-type": "image/png"})

    @property
    def hosts(self) -> list[str]:
        return [r.url.host for r in self.requests]


@pytest.fixture
def exports():
    return Exports()


@pytest.fixture
def client(exports):
    with DynamicMockupsClient(API_KEY, base_url="https://api.dm.test/api/v1", transport=httpx.MockTransport(exports),
                              retry=NO_RETRY, sleep=lambda s: None) as c:
        yield c


def resolver(host: str) -> list[str]:
    """DNS for the test: the names above, nothing else."""
    return PUBLIC.get(host, [])


REFUSED = [
    ("file URL", "file:///etc/passwd", "file://"),
    ("ftp URL", "ftp://exports.example.com/a.png", "ftp://"),
    ("plain http", "http://exports.example.com/a.png", "must be https"),
    ("relative path", "/exports/a.png", "relative"),
    ("embedded credentials", "https://user:pw@exports.example.com/a.png", "credentials"),
    ("loopback IPv4", "https://127.0.0.1/a.png", "not a public address"),
    ("loopback name", "https://localhost/a.png", "loopback"),
    ("loopback subdomain", "https://api.localhost/a.png", "loopback"),
    ("loopback IPv6", "https://[::1]/a.png", "not a public address"),
    ("IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/a.png", "not a public address"),
    ("cloud metadata", "https://169.254.169.254/latest/meta-data/iam/security-credentials/", "not a public address"),
    ("private 10/8", "https://10.0.0.5/a.png", "not a public address"),
    ("private 172.16/12", "https://172.16.3.4/a.png", "not a public address"),
    ("private 192.168/16", "https://192.168.1.1/a.png", "not a public address"),
    ("unspecified 0.0.0.0", "https://0.0.0.0/a.png", "not a public address"),
    ("carrier-grade NAT", "https://100.64.0.1/a.png", "not a public address"),
    ("unique-local IPv6", "https://[fd12:3456::1]/a.png", "not a public address"),
    ("name resolving to 10.1.2.3", "https://internal.example.com/a.png", "10.1.2.3"),
    ("8 KB URL", "https://exports.example.com/" + "a" * 8192, "the limit is 4096"),
    ("port not a number", "https://exports.example.com:abc/a.png", "not a valid URL"),
    ("name with one loopback answer (rebinding)", "https://rebound.example.com/a.png", "127.0.0.1"),
    ("name resolving to unique-local IPv6", "https://v6.example.com/a.png", "fd00::1"),
]


def test_export_urls_to_non_public_or_non_https_places_are_refused_unsent(client, exports, reliability_record):
    problems = []
    for name, url, words in REFUSED:
        try:
            client.download(url, resolver=resolver)
            problems.append(f"{name}: downloaded")
        except DownloadError as exc:
            if words not in str(exc):
                problems.append(f"{name}: {exc} (expected {words!r})")
            if API_KEY in str(exc):
                problems.append(f"{name}: the API key is in the error")
    assert not problems, "\n".join(problems)
    assert exports.requests == [], f"refused URLs were fetched: {exports.hosts}"
    # The same client fetches a public https export, without the API key.
    assert client.download("https://exports.example.com/ok.png", resolver=resolver, expect_image=True)
    assert exports.hosts == ["exports.example.com"]
    assert "x-api-key" not in exports.requests[0].headers and API_KEY not in str(exports.requests[0].headers)
    reliability_record(
        "Security", "Export downloads: schemes and addresses",
        f"{len(REFUSED)} export URLs a forged API answer could carry: file://, ftp://, plain http, relative, embedded "
        "credentials, loopback (IPv4, IPv6, mapped, names), cloud metadata 169.254.169.254, RFC 1918, CGNAT, "
        "0.0.0.0, unique-local IPv6, names resolving to private addresses (one of several answers is enough), "
        "an 8 KB URL and a port that is not a number",
        "Each refused with DownloadError naming the scheme or the non-public address before any request was "
        "made; a public https export was fetched without the x-api-key header",
        ["no request to a refused host", "API key never sent to an export host", "API key not in any error"],
        {"bad_inputs": len(REFUSED)},
    )


def test_redirects_are_checked_hop_by_hop(client, exports, reliability_record):
    def to(location: str):
        return httpx.Response(302, headers={"location": location})

    exports.routes.update({
        "exports.example.com/to-metadata.png": to("https://169.254.169.254/latest/meta-data/"),
        "exports.example.com/to-http.png": to("http://cdn.example.net/a.png"),
        "exports.example.com/to-file.png": to("file:///etc/shadow"),
        "exports.example.com/to-internal.png": to("https://internal.example.com/a.png"),
        "exports.example.com/to-other-host.png": to("https://cdn.example.net/a.png"),
        "exports.example.com/loop.png": to("https://exports.example.com/loop.png"),
        "exports.example.com/to-cdn.png": to("https://cdn.example.net/final.png"),
        "exports.example.com/to-garbage.png": to("https://cdn.example.net:abc/x.png"),
        "exports.example.com/to-huge.png": to("https://cdn.example.net/" + "b" * 10_000),
    })
    cases = [
        ("to cloud metadata", "to-metadata", {}, "not a public address"),
        ("to plain http", "to-http", {}, "must be https"),
        ("to file://", "to-file", {}, "file://"),
        ("to a private name", "to-internal", {}, "10.1.2.3"),
        ("to a host outside allowed_hosts", "to-other-host", {"allowed_hosts": ["exports.example.com"]}, "not an allowed export host"),
        ("redirect loop", "loop", {}, "redirects"),
        ("to an unparsable Location", "to-garbage", {}, "RemoteProtocolError fetching https://exports.example.com/to-garbage.png"),
        ("to a 10 KB Location", "to-huge", {}, "the limit is 4096"),
    ]
    problems = []
    for name, path, extra, words in cases:
        try:
            client.download(f"https://exports.example.com/{path}.png", resolver=resolver, **extra)
            problems.append(f"{name}: downloaded")
        except DownloadError as exc:
            if words not in str(exc):
                problems.append(f"{name}: {exc} (expected {words!r})")
    assert not problems, "\n".join(problems)
    assert set(exports.hosts) == {"exports.example.com"}, exports.hosts  # no refused hop was requested
    # A redirect to another public https host is followed (exports live behind CDNs), key-free.
    assert client.download("https://exports.example.com/to-cdn.png", resolver=resolver, expect_image=True)
    assert exports.hosts[-1] == "cdn.example.net" and "x-api-key" not in exports.requests[-1].headers
    reliability_record(
        "Security", "Export downloads: redirects",
        "Export URLs on a public host answering 302 to cloud metadata, plain http, file://, a name resolving to a "
        "private address, a host outside allowed_hosts, itself (a loop), an unparsable and a 10 KB Location",
        "Each hop was checked like the first URL: every bad hop refused before it was requested, the loop stopped "
        "after 5 redirects; a redirect to another public https host was followed without the API key",
        ["no request to a refused hop", "redirect count bounded", "API key never sent to an export host"],
        {"bad_inputs": len(cases)},
    )


def test_sizes_are_refused_before_the_body_is_read(client, exports, reliability_record):
    declared = CountingStream(chunks=10)
    undeclared = CountingStream(chunks=1000)  # 64 MB if it were all read
    exports.routes.update({
        "exports.example.com/declared.png": lambda r: httpx.Response(200, headers={"content-length": str(500 * 1024 * 1024)},
                                                                     stream=declared),
        "exports.example.com/chunked.png": lambda r: httpx.Response(200, stream=undeclared),
    })
    with pytest.raises(DownloadError, match=r"524288000 bytes; the limit is 1048576"):
        client.download("https://exports.example.com/declared.png", resolver=resolver, max_bytes=1024 * 1024)
    assert declared.read == 0, "the body was read although Content-Length was over the limit"
    with pytest.raises(DownloadError, match="larger than the limit of 1048576 bytes"):
        client.download("https://exports.example.com/chunked.png", resolver=resolver, max_bytes=1024 * 1024)
    assert undeclared.read <= 1024 * 1024 // (64 * 1024) + 1, f"read {undeclared.read} chunks past the limit"
    reliability_record(
        "Security", "Export downloads: size limits",
        "An export declaring 500 MB in Content-Length, and a chunked export of 64 MB without a length, against a 1 MB limit",
        "The first was refused from its headers without reading a byte of the body; the second was cut off as soon "
        "as it passed the limit (17 of 1000 chunks read)",
        ["no body read past the limit", "DownloadError names the size and the limit"],
        {"bad_inputs": 2},
    )


def test_the_renderer_refuses_a_private_export_and_reports_the_render_failed(exports):
    """End to end through the renderer seam: a batch answer pointing at the metadata service fails that
    render with the reason, and the metadata host is never contacted."""

    def api(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.dm.test":
            return httpx.Response(200, json={"data": {"renders": [
                {"status": "success", "export_label": "job-1", "export_path": "https://169.254.169.254/latest/meta-data/x.jpg"},
            ]}})
        return exports(request)

    with DynamicMockupsClient(API_KEY, base_url="https://api.dm.test/api/v1", transport=httpx.MockTransport(api),
                              retry=NO_RETRY, sleep=lambda s: None) as client:
        renderer = DynamicMockupsRenderer(client, workers=1)
        job = RenderJob(key="d:bedroom", artwork=png_bytes(), artwork_url="https://images.example.com/d.png",
                        scene_key="bedroom", scene_config={}, dm_mockup_uuid="m", dm_smart_object_uuid="s", label="job-1")
        [result] = renderer.render_many([job])
    assert isinstance(result, RenderFailure)
    assert "169.254.169.254 is not a public address" in str(result)
    assert exports.requests == []
