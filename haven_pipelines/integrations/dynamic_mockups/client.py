"""The Dynamic Mockups v1 HTTP client (https://app.dynamicmockups.com/api/v1).

The v1 API is synchronous: ``POST /renders`` answers with the finished image's URL, and
``POST /renders/batch`` renders many at once with per-render answers (partial success is possible).
The source polled an invented asynchronous API every 2 seconds; there is nothing to poll.

One :class:`httpx.Client` per instance (connections are reused), explicit timeouts, a shared
:class:`~haven_pipelines.integrations.ratelimit.RateLimiter` that keeps every thread of this client
under the documented 300 requests a minute, and retries only on 429, 5xx and transport failures
(see :mod:`haven_pipelines.integrations.http`). The API key lives only in the request headers of the
API client: it is not in ``repr``, in error messages, in returned metadata, and it is never sent
to export hosts (downloads use a second client without it).

A timed-out ``POST /renders`` is retried as the issue asks; the API gives no idempotency key, so
a render that finished server-side after our timeout may be charged twice. The render service's
ledger records what *we* reserved; a generous read timeout (120 s) keeps this rare.
"""

from __future__ import annotations

import io
import ipaddress
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from haven_pipelines.integrations.dynamic_mockups import errors as e
from haven_pipelines.integrations.dynamic_mockups.download import STRICT, DownloadPolicy
from haven_pipelines.integrations.dynamic_mockups.models import (
    FITS,
    IMAGE_FORMATS,
    MockupTemplate,
    RenderOutcome,
    RenderRequest,
    RenderResult,
    SmartObject,
)
from haven_pipelines.integrations.http import RetryEvent, RetryPolicy, retry_after_seconds, scrub, send_with_retries
from haven_pipelines.integrations.ratelimit import RateLimiter

DEFAULT_BASE_URL = "https://app.dynamicmockups.com/api/v1"
#: A single render usually takes seconds; the read timeout leaves room for a slow one.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=60.0)
#: A batch renders many images in one request, so it may take much longer to answer.
DEFAULT_BATCH_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=30.0, pool=60.0)
DEFAULT_DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=60.0)
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
#: Longer export URLs are refused as malformed: an answer's URL ends up in metadata, messages and the database.
MAX_URL_LENGTH = 4096
_SECRET_HINTS = ("key", "token", "secret", "password", "authorization", "signature", "credential")


class DynamicMockupsClient:
    """Typed access to the Dynamic Mockups v1 API.

    Args:
        api_key: the account's API key (``DYNAMIC_MOCKUPS_API_KEY``); sent as ``x-api-key``.
        base_url: API root (``DYNAMIC_MOCKUPS_BASE_URL``); a fake server's URL in tests.
        timeout: timeouts of single requests (a float means the same for every phase).
        max_requests_per_minute: the client-side limit shared by every thread using this client.
        transport: an httpx transport to use instead of the network (tests: ``httpx.MockTransport``).
        retry: attempts and backoff for 429, 5xx and transport failures.
        batch_timeout: timeouts of ``POST /renders/batch``.
        download_timeout: timeouts of export downloads.
        max_connections: size of the connection pool (the render pool should not exceed it).
        rate_headroom: fraction kept below ``max_requests_per_minute`` (default 2.5 %). A server that
            enforces its limit by spacing counts a request that arrives a little late, followed by
            one on time, as too early; running slightly under the limit lets such offsets drain
            instead of piling up into 429s.
        limiter: a limiter to share with other clients of the same key (default: a new one).
        sleep: the wait function used between retries (injectable for tests).
        download_policy: which export URLs :meth:`download` may fetch (default: https from public
            hosts only; see :class:`~haven_pipelines.integrations.dynamic_mockups.download.DownloadPolicy`).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_requests_per_minute: float = 300,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        batch_timeout: httpx.Timeout | float = DEFAULT_BATCH_TIMEOUT,
        download_timeout: httpx.Timeout | float = DEFAULT_DOWNLOAD_TIMEOUT,
        max_connections: int = 20,
        rate_headroom: float = 0.025,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        download_policy: DownloadPolicy | None = None,
    ):
        if not api_key or not api_key.strip():
            raise e.AuthenticationError("api_key: empty; set DYNAMIC_MOCKUPS_API_KEY")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        if not 0 <= rate_headroom < 1:
            raise ValueError("rate_headroom must be in [0, 1)")
        self.limiter = limiter or RateLimiter.per_minute(max_requests_per_minute * (1 - rate_headroom))
        self.retry = retry or RetryPolicy()
        self._batch_timeout = batch_timeout
        self._sleep = sleep
        self.download_policy = download_policy or STRICT
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers={"x-api-key": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            limits=limits,
            follow_redirects=False,
        )
        # Exports live on another host (S3); that host must never receive the API key.
        self._download_http = httpx.Client(
            timeout=download_timeout, transport=transport, limits=limits, follow_redirects=False
        )
        self._stats_lock = threading.Lock()
        self._stats = {"requests": 0, "responses_429": 0, "retries": 0, "downloads": 0}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> DynamicMockupsClient:
        """A client from ``DYNAMIC_MOCKUPS_API_KEY`` and ``DYNAMIC_MOCKUPS_BASE_URL`` (read now, not at import)."""
        env = os.environ if env is None else env
        return cls(
            env.get("DYNAMIC_MOCKUPS_API_KEY", ""),
            base_url=env.get("DYNAMIC_MOCKUPS_BASE_URL") or DEFAULT_BASE_URL,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"DynamicMockupsClient(base_url={self.base_url!r})"

    def __enter__(self) -> DynamicMockupsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools."""
        self._http.close()
        self._download_http.close()

    def stats(self) -> dict[str, int]:
        """Counters since creation: requests sent, 429 answers received, retries, downloads."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            self._stats[name] += n

    # -- the API -------------------------------------------------------------------------------

    def render(
        self,
        mockup_uuid: str,
        smart_object_uuid: str,
        asset_url: str,
        fit: str = "contain",
        export_label: str | None = None,
        image_format: str = "jpg",
        image_size: int | None = None,
    ) -> RenderResult:
        """Render one artwork into one template (``POST /renders``); one credit.

        Returns:
            The finished render; its ``export_path`` is the image URL.

        Raises:
            InvalidRequest: bad arguments (checked before sending) or a 400/422 answer.
            InsufficientCredits, AuthenticationError, RateLimited, ServerError, ApiUnreachable,
            MalformedResponse: see :mod:`.errors`.
        """
        request = RenderRequest(mockup_uuid, smart_object_uuid, asset_url, fit, export_label)  # type: ignore[arg-type]
        return self.render_request(request, image_format=image_format, image_size=image_size)

    def render_request(self, request: RenderRequest, *, image_format: str = "jpg", image_size: int | None = None) -> RenderResult:
        """:meth:`render` taking a :class:`RenderRequest`."""
        _check_request(request)
        body = request.body()
        body["export_options"] = export_options(image_format, image_size)
        payload = self._call("POST", "renders", json=body)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise e.MalformedResponse("answer has no 'data' object", endpoint="/renders")
        return self._result(data, request, "/renders")

    def render_batch(
        self, requests: Sequence[RenderRequest], image_format: str = "jpg", image_size: int | None = None
    ) -> list[RenderOutcome]:
        """Render many in one request (``POST /renders/batch``); one outcome per request, in order.

        A render that failed inside the batch comes back as an outcome with a :class:`RenderFailed`
        error; the others keep their results.

        Raises:
            DynamicMockupsError: when the batch as a whole is refused (403 credits, 401, 400/422, ...).
        """
        if not requests:
            return []
        options = export_options(image_format, image_size)
        renders = []
        for i, request in enumerate(requests):
            _check_request(request, index=i)
            body = request.body()
            # Labels let us match answers to requests even if the API reorders them.
            body["export_label"] = _batch_label(i, request)
            renders.append(body)
        payload = self._call(
            "POST", "renders/batch", json={"export_options": options, "renders": renders}, timeout=self._batch_timeout
        )
        data = payload.get("data") if isinstance(payload, dict) else None
        items = data.get("renders") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) != len(requests) or not all(isinstance(x, dict) for x in items):
            raise e.MalformedResponse(
                f"expected data.renders with {len(requests)} object(s)", endpoint="/renders/batch"
            )
        by_label = {item.get("export_label"): item for item in items}
        outcomes = []
        for i, request in enumerate(requests):
            item = by_label.get(_batch_label(i, request)) if len(by_label) == len(items) else None
            item = item if item is not None else items[i]
            if item.get("status", "success") == "success" and item.get("export_path"):
                try:
                    outcomes.append(RenderOutcome(request, result=self._result(item, request, "/renders/batch")))
                except e.MalformedResponse as exc:
                    outcomes.append(RenderOutcome(request, error=exc))
            else:
                reason = item.get("error") or item.get("message") or f"status {item.get('status')!r}"
                outcomes.append(
                    RenderOutcome(request, error=e.RenderFailed(self._clean(str(reason)), endpoint="/renders/batch"))
                )
        return outcomes

    def render_many(
        self,
        requests: Sequence[RenderRequest],
        batch_size: int = 10,
        workers: int = 4,
        *,
        image_format: str = "jpg",
        image_size: int | None = None,
    ) -> list[RenderOutcome]:
        """Render many through the batch endpoint; see :func:`.batching.render_many`."""
        from haven_pipelines.integrations.dynamic_mockups.batching import render_many

        return render_many(
            self, requests, batch_size=batch_size, workers=workers, image_format=image_format, image_size=image_size
        )

    def list_mockups(self, *, name: str | None = None, collection_uuid: str | None = None) -> list[MockupTemplate]:
        """The account's mockup templates (``GET /mockups``), optionally filtered."""
        params = {k: v for k, v in (("name", name), ("collection_uuid", collection_uuid)) if v}
        payload = self._call("GET", "mockups", params=params or None)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise e.MalformedResponse("answer has no 'data' list", endpoint="/mockups")
        return [_template(item, "/mockups") for item in data]

    def get_mockup(self, uuid: str) -> MockupTemplate:
        """One template (``GET /mockups/{uuid}``); :class:`MockupNotFound` when the account has none such."""
        if not uuid or not uuid.strip():
            raise e.InvalidRequest("mockup_uuid: empty", endpoint="/mockups/{uuid}")
        try:
            payload = self._call("GET", f"mockups/{quote(uuid, safe='')}")
        except e.InvalidRequest as exc:
            if exc.status == 404:
                raise e.MockupNotFound(f"no mockup {uuid!r}", status=404, endpoint="/mockups/{uuid}") from None
            raise
        data = payload.get("data") if isinstance(payload, dict) else None
        return _template(data, "/mockups/{uuid}")

    # -- downloads -----------------------------------------------------------------------------

    def download(
        self,
        url: str,
        *,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        allowed_hosts: Sequence[str] | None = None,
        expect_image: bool = False,
        resolver: Callable[[str], Sequence[str]] | None = None,
    ) -> bytes:
        """Fetch an export safely under the client's download policy; the API key is never sent.

        Every URL and every redirect hop must pass the policy: https (unless it allows http), a
        host that is and resolves to a public address (unless it allows private ones), and a host
        in ``allowed_hosts`` when given. An export URL is chosen by the API's answer, so without
        these checks a forged or compromised answer could make us fetch ``169.254.169.254`` or an
        internal service.

        Args:
            url: the export URL (``RenderResult.export_path``).
            max_bytes: refuse anything larger (checked on Content-Length and while streaming).
            allowed_hosts: narrows the policy's hosts for this call: the only hosts (exact names)
                the URL and redirects may use.
            expect_image: also require the bytes to decode as an image (Pillow), refusing bombs.
            resolver: host name to IP addresses for this call (default: the policy's, else
                :func:`resolve_host`; tests inject one).

        Raises:
            DownloadError: wrong scheme or host, too large, a bad status, too many redirects, no answer,
                or (``expect_image``) not an image.
        """
        policy = self.download_policy
        if allowed_hosts is not None:
            hosts: set[str] | None = {h.lower() for h in allowed_hosts}
            if policy.allowed_hosts is not None:
                hosts &= policy.allowed_hosts
        else:
            hosts = set(policy.allowed_hosts) if policy.allowed_hosts is not None else None
        resolve = resolver or policy.resolver or resolve_host
        current = _parse_url(url, "export URL")
        for _ in range(MAX_REDIRECTS + 1):
            _check_download_url(current, hosts, policy.allow_http)
            if not policy.allow_private_addresses:
                _check_public_host(current, resolve)
            outcome = self._download_with_retries(current, max_bytes)
            if isinstance(outcome, httpx.URL):
                current = outcome
                continue
            self._count("downloads")
            if expect_image:
                _check_image(outcome, current)
            return outcome
        raise e.DownloadError(f"more than {MAX_REDIRECTS} redirects from {_display(_parse_url(url, 'export URL'))}")

    def _download_with_retries(self, url: httpx.URL, max_bytes: int) -> bytes | httpx.URL:
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._download_once(url, max_bytes)
            except _RetryableDownload as exc:
                if attempt >= self.retry.max_attempts:
                    raise e.DownloadError(f"{exc.reason} fetching {_display(url)} after {attempt} attempt(s)") from None
                self._sleep(self.retry.backoff(attempt, exc.retry_after))

    def _download_once(self, url: httpx.URL, max_bytes: int) -> bytes | httpx.URL:
        try:
            with self._download_http.stream("GET", url) as response:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise e.DownloadError(f"redirect without a Location from {_display(url)}", status=response.status_code)
                    return _join(url, location)
                if response.status_code == 429 or response.status_code >= 500:
                    raise _RetryableDownload(f"status {response.status_code}", retry_after_seconds(response))
                if response.status_code != 200:
                    raise e.DownloadError(f"status {response.status_code} fetching {_display(url)}", status=response.status_code)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise e.DownloadError(f"{_display(url)} is {int(declared)} bytes; the limit is {max_bytes}")
                buf = bytearray()
                for chunk in response.iter_bytes():
                    buf += chunk
                    if len(buf) > max_bytes:
                        raise e.DownloadError(f"{_display(url)} is larger than the limit of {max_bytes} bytes")
                return bytes(buf)
        except httpx.TransportError as exc:
            raise _RetryableDownload(type(exc).__name__, None) from None

    # -- plumbing ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> Any:
        endpoint = "/" + path
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = timeout

        def send() -> httpx.Response:
            self.limiter.acquire()
            response = self._http.request(method, path, json=json, params=params, **extra)
            self._count("requests")
            if response.status_code == 429:
                self._count("responses_429")
            return response

        def on_retry(event: RetryEvent) -> None:
            self._count("retries")
            if event.status_code == 429:
                # Everyone waits, not just this thread: the account is over its rate.
                self.limiter.pause(event.delay)

        try:
            response = send_with_retries(send, self.retry, on_retry=on_retry, sleep=self._sleep)
        except httpx.TimeoutException as exc:
            raise e.ApiUnreachable(
                f"no answer within the timeout after {self.retry.max_attempts} attempt(s) ({type(exc).__name__})",
                endpoint=endpoint,
            ) from None
        except httpx.TransportError as exc:
            raise e.ApiUnreachable(
                f"could not reach the API after {self.retry.max_attempts} attempt(s) ({type(exc).__name__})",
                endpoint=endpoint,
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError:
                raise e.MalformedResponse("answer is not JSON", status=status, endpoint=endpoint) from None
        message = self._server_message(response)
        if status == 401:
            raise e.AuthenticationError(f"API key refused: {message}", status=status, endpoint=endpoint)
        if status == 403:
            raise e.InsufficientCredits(f"not enough credits: {message}", status=status, endpoint=endpoint)
        if status == 429:
            raise e.RateLimited(f"still rate limited after {self.retry.max_attempts} attempt(s): {message}", status=status, endpoint=endpoint)
        if status >= 500:
            raise e.ServerError(f"server error after {self.retry.max_attempts} attempt(s): {message}", status=status, endpoint=endpoint)
        raise e.InvalidRequest(message, status=status, endpoint=endpoint)

    def _server_message(self, response: httpx.Response) -> str:
        """The server's own explanation (``message`` and any field ``errors``), scrubbed and cut short."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            parts = [str(body.get("message") or "")]
            errors = body.get("errors")
            if isinstance(errors, dict):
                parts += [f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()]
            text = " ".join(p for p in parts if p) or "no message"
        else:
            text = response.text.strip()[:200] or "no message"
        return self._clean(text)

    def _clean(self, text: str) -> str:
        return scrub(text, self._api_key)[:500]

    def _result(self, data: Mapping[str, Any], request: RenderRequest, endpoint: str) -> RenderResult:
        export_path = data.get("export_path")
        if not isinstance(export_path, str) or not export_path:
            raise e.MalformedResponse("render answer has no export_path", endpoint=endpoint)
        try:
            _parse_url(export_path, "export_path")
        except e.DownloadError as exc:
            raise e.MalformedResponse(str(exc), endpoint=endpoint) from None
        render_id = data.get("render_uuid") or data.get("uuid") or data.get("id")
        if render_id is None:
            render_id = httpx.URL(export_path).path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or None
        return RenderResult(
            export_path=export_path,
            export_label=request.export_label,
            mockup_uuid=data.get("mockup_uuid") or request.mockup_uuid,
            render_id=str(render_id) if render_id is not None else None,
            metadata=_safe_metadata(data, self._api_key),
        )


class _RetryableDownload(Exception):
    def __init__(self, reason: str, retry_after: float | None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _batch_label(index: int, request: RenderRequest) -> str:
    return request.export_label if request.export_label is not None else f"haven-{index}"


def _check_request(request: RenderRequest, index: int | None = None) -> None:
    where = f"renders[{index}]." if index is not None else ""
    for name in ("mockup_uuid", "smart_object_uuid", "asset_url"):
        value = getattr(request, name)
        if not isinstance(value, str) or not value.strip():
            raise e.InvalidRequest(f"{where}{name}: empty")
    if request.fit not in FITS:
        raise e.InvalidRequest(f"{where}fit: {request.fit!r} is not one of {', '.join(FITS)}")
    if httpx.URL(request.asset_url).scheme not in ("http", "https"):
        raise e.InvalidRequest(f"{where}asset_url: must be an http(s) URL the API can fetch")


def export_options(image_format: str, image_size: int | None) -> dict[str, Any]:
    """The ``export_options`` object; :class:`InvalidRequest` naming the field when one is wrong."""
    if image_format not in IMAGE_FORMATS:
        raise e.InvalidRequest(f"image_format: {image_format!r} is not one of {', '.join(IMAGE_FORMATS)}")
    options: dict[str, Any] = {"image_format": image_format}
    if image_size is not None:
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size <= 0:
            raise e.InvalidRequest(f"image_size: {image_size!r} is not a positive number of pixels")
        options["image_size"] = image_size
    return options


def _template(item: Any, endpoint: str) -> MockupTemplate:
    if not isinstance(item, dict) or not isinstance(item.get("uuid"), str):
        raise e.MalformedResponse("mockup without a uuid", endpoint=endpoint)
    objects = item.get("smart_objects") or []
    if not isinstance(objects, list):
        raise e.MalformedResponse(f"mockup {item['uuid']}: smart_objects is not a list", endpoint=endpoint)
    parsed = []
    for so in objects:
        if not isinstance(so, dict) or not isinstance(so.get("uuid"), str):
            raise e.MalformedResponse(f"mockup {item['uuid']}: smart object without a uuid", endpoint=endpoint)
        size = so.get("size") if isinstance(so.get("size"), dict) else {}
        position = so.get("position") if isinstance(so.get("position"), dict) else {}
        parsed.append(
            SmartObject(
                uuid=so["uuid"],
                name=str(so.get("name") or ""),
                width=_int_or_none(size.get("width")),
                height=_int_or_none(size.get("height")),
                top=_int_or_none(position.get("top")),
                left=_int_or_none(position.get("left")),
            )
        )
    thumbnail = item.get("thumbnail")
    return MockupTemplate(
        uuid=item["uuid"],
        name=str(item.get("name") or ""),
        thumbnail=thumbnail if isinstance(thumbnail, str) else None,
        smart_objects=tuple(parsed),
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _safe_metadata(value: Any, api_key: str) -> Any:
    """A copy of an API answer without secret-looking fields and without the key anywhere."""
    if isinstance(value, dict):
        return {
            k: _safe_metadata(v, api_key)
            for k, v in value.items()
            if not any(hint in str(k).lower() for hint in _SECRET_HINTS)
        }
    if isinstance(value, list):
        return [_safe_metadata(v, api_key) for v in value]
    if isinstance(value, str):
        return scrub(value, api_key)
    return value


def _parse_url(url: str, what: str) -> httpx.URL:
    """``url`` parsed, or a DownloadError naming ``what`` (httpx's InvalidURL is not one of our errors)."""
    if len(url) > MAX_URL_LENGTH:
        raise e.DownloadError(f"{what} is {len(url)} characters; the limit is {MAX_URL_LENGTH}")
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise e.DownloadError(f"{what} is not a valid URL ({exc})") from None


def _join(base: httpx.URL, location: str) -> httpx.URL:
    """A redirect's target, or a DownloadError when its Location is not a usable URL."""
    if len(location) > MAX_URL_LENGTH:
        raise e.DownloadError(f"redirect Location from {_display(base)} is {len(location)} characters; the limit is {MAX_URL_LENGTH}")
    try:
        return base.join(location)
    except httpx.InvalidURL as exc:
        raise e.DownloadError(f"redirect Location from {_display(base)} is not a valid URL ({exc})") from None


def _display(url: httpx.URL) -> str:
    """A URL fit for messages: no credentials, no query string (presigned URLs carry signatures there)."""
    return f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path}"


def _check_download_url(url: httpx.URL, hosts: set[str] | None, allow_http: bool) -> None:
    if url.scheme not in ("https", "http") or (url.scheme == "http" and not allow_http):
        raise e.DownloadError(f"refusing {url.scheme or 'relative'}:// URL {_display(url)}; exports must be https")
    if not url.host:
        raise e.DownloadError("export URL has no host")
    if url.userinfo:
        raise e.DownloadError(f"refusing export URL with embedded credentials ({_display(url)})")
    if hosts is not None and url.host.lower() not in hosts:
        raise e.DownloadError(f"host {url.host!r} is not an allowed export host")


def resolve_host(host: str) -> list[str]:
    """The IP addresses ``host`` resolves to (empty when it does not resolve: the fetch then fails anyway)."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (OSError, UnicodeError):
        return []


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _check_public_host(url: httpx.URL, resolver: Callable[[str], Sequence[str]]) -> None:
    """Refuse a host that is, or resolves to, a loopback, private, link-local or reserved address.

    The check resolves the name itself; a resolver that answers differently a moment later (DNS
    rebinding) is outside what a pre-check can stop, which is why exports should also be limited to
    known hosts with ``allowed_hosts`` where the deployment knows them.
    """
    host = url.host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        raise e.DownloadError(f"refusing export URL on a loopback host ({_display(url)})")
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    addresses = [host] if literal else list(resolver(host))
    bad = [a for a in addresses if not _is_public(a)]
    if bad:
        raise e.DownloadError(f"refusing export URL {_display(url)}: {bad[0]} is not a public address")


def _check_image(data: bytes, url: httpx.URL) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # A picture that decodes to hundreds of megapixels is an attack, not a mockup.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, SyntaxError, ValueError) as exc:
        raise e.DownloadError(f"{_display(url)} is not a usable image ({type(exc).__name__})") from None
