"""A fake Dynamic Mockups v1 API: a real HTTP server on 127.0.0.1 (ephemeral port) in a thread.

It follows the documented contract closely enough to test the client, the render service and the
bench against it:

- ``POST /api/v1/renders`` and ``POST /api/v1/renders/batch`` (synchronous, ``data.export_path``;
  the batch answers per render with ``status`` success/failed),
- ``GET /api/v1/mockups`` and ``GET /api/v1/mockups/{uuid}`` (templates with smart objects),
- ``x-api-key`` checked (401), bodies validated (400 for non-JSON, 422 with ``errors`` per field),
- a rate limit (default 300 a minute, evenly spaced, no burst; a small jitter allowance) answered
  with 429 and ``Retry-After``,
- a credit balance (one credit per successful render) answered with 403 when it cannot pay,
- the exports themselves at ``GET /exports/<id>.<ext>``: small real images drawn with Pillow, or
  garbage, HTML, huge bodies or redirects when a test asks (the real exports live on S3: no key,
  no rate limit, and neither here).

Fault injection: ``render_latency`` (seconds per render; a batch takes that times its size, i.e.
the fake renders a batch one image after another), ``error_rate`` (random 503s, seeded), ``script``
(a queue of faults for the next API requests: an HTTP status such as 503 or 429, ``"hang"`` to sleep
past the client's timeout, ``"malformed"`` for a non-JSON 200, ``"wrong_shape"`` for JSON without
``data``, ``"drop"`` to close the connection unanswered), ``failing_assets`` (asset URLs whose renders
always fail), ``transient_batch_failures`` (the next N renders *inside batches* fail once) and
``export_mode``. ``GET /api/v1/renders/{id}`` exists only so the bench can emulate the source's
polling; the real API has no such endpoint.

Everything random comes from one ``random.Random(seed)``: same seed, same uuids and faults.
"""

from __future__ import annotations

import io
import json
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

API_PREFIX = "/api/v1"
FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}
EXPORT_MODES = ("image", "garbage", "html", "huge", "huge_unsized", "redirect", "error")


@dataclass
class FakeTemplate:
    """A template of the fake account: uuid, name and smart objects (uuid, name, size, position)."""

    uuid: str
    name: str
    smart_objects: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The template as ``GET /mockups`` shows it."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "thumbnail": f"https://example.invalid/thumbnails/{self.uuid}.jpg",
            "smart_objects": self.smart_objects,
            "text_layers": [],
            "collections": [],
        }


@dataclass
class FakeCounters:
    """What the fake saw and did; read them through :meth:`FakeDynamicMockups.snapshot`."""

    requests: int = 0
    by_endpoint: Counter = field(default_factory=Counter)
    sent_429: int = 0
    sent_401: int = 0
    sent_403: int = 0
    sent_5xx: int = 0
    renders_done: int = 0
    renders_failed: int = 0
    exports_served: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    api_keys_seen: set[str] = field(default_factory=set)


class _ServerLimiter:
    """GCRA on the server side: ``rate`` per ``per`` seconds, no burst, ``tolerance`` s of jitter allowed."""

    def __init__(self, rate: float, per: float, tolerance: float):
        self.interval = per / rate
        self.tolerance = tolerance
        self._tat = 0.0
        self._lock = threading.Lock()

    def admit(self) -> float:
        """0.0 when the request may pass (and is counted), else the seconds until it would."""
        with self._lock:
            now = time.monotonic()
            tat = max(self._tat, now)
            if tat - now > self.tolerance:
                return tat - now - self.tolerance
            self._tat = tat + self.interval
            return 0.0


class FakeDynamicMockups:
    """The fake API and its knobs. Use as a context manager, or :meth:`start` / :meth:`stop`.

    Args:
        api_key: the one key accepted.
        credits: the account's balance (None: unlimited).
        rate, per: allowed requests per ``per`` seconds (default 300 a minute); None disables the limit.
        rate_tolerance: how early (seconds) a request may arrive before its slot without a 429;
            absorbs scheduling jitter between an evenly spaced client and this server.
        render_latency: seconds each render takes.
        error_rate: probability of a random 503 on any API request.
        hang_seconds: how long a ``"hang"`` fault sleeps before answering.
        seed: seeds every random choice.
        template_count: how many templates the account has (deterministic from the seed).
        max_batch: the most renders one batch may hold.
    """

    def __init__(
        self,
        *,
        api_key: str = "fake-dm-key-0123456789",
        credits: int | None = None,
        rate: float | None = 300,
        per: float = 60.0,
        rate_tolerance: float = 0.02,
        render_latency: float = 0.0,
        error_rate: float = 0.0,
        hang_seconds: float = 2.0,
        seed: int = 0,
        template_count: int = 5,
        max_batch: int = 100,
    ):
        self.api_key = api_key
        self.credits = credits
        self.render_latency = render_latency
        self.error_rate = error_rate
        self.hang_seconds = hang_seconds
        self.max_batch = max_batch
        self.script: deque[int | str] = deque()
        self.failing_assets: set[str] = set()
        self.transient_batch_failures = 0
        self.export_mode = "image"
        self.huge_bytes = 25 * 1024 * 1024
        self.redirect_target: str | None = None
        self.counters = FakeCounters()
        self._rng = random.Random(seed)
        self._limiter = _ServerLimiter(rate, per, rate_tolerance) if rate else None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._renders: dict[str, dict[str, Any]] = {}
        self._images: dict[str, bytes] = {}
        self.templates = [self._make_template(i) for i in range(template_count)]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeDynamicMockups:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-dynamic-mockups", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any sleeping fault, close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeDynamicMockups:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The API root to give the client: ``http://127.0.0.1:<port>/api/v1``."""
        return self.root_url + API_PREFIX

    def snapshot(self) -> dict[str, Any]:
        """A copy of the counters (safe to read while requests are in flight)."""
        with self._lock:
            c = self.counters
            return {
                "requests": c.requests,
                "by_endpoint": dict(c.by_endpoint),
                "sent_429": c.sent_429,
                "sent_401": c.sent_401,
                "sent_403": c.sent_403,
                "sent_5xx": c.sent_5xx,
                "renders_done": c.renders_done,
                "renders_failed": c.renders_failed,
                "exports_served": c.exports_served,
                "max_in_flight": c.max_in_flight,
                "credits": self.credits,
            }

    def api_keys_seen(self) -> set[str]:
        """Every x-api-key value received (to prove the key never reaches the export host)."""
        with self._lock:
            return set(self.counters.api_keys_seen)

    # -- data --------------------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _make_template(self, i: int) -> FakeTemplate:
        names = ["Bedroom wall frame", "Therapy office frame", "Living room frame", "Reading nook frame", "Home office frame"]
        name = names[i] if i < len(names) else f"Frame {i + 1}"
        so = {"uuid": self._uuid(), "name": "Artwork", "size": {"width": 800, "height": 1000}, "position": {"top": 120, "left": 340}}
        return FakeTemplate(uuid=self._uuid(), name=name, smart_objects=[so])

    def template(self, uuid_: str) -> FakeTemplate | None:
        """The template with this uuid, if any."""
        return next((t for t in self.templates if t.uuid == uuid_), None)

    def image_bytes(self, ext: str) -> bytes:
        """A small real picture in the given format (drawn once, cached)."""
        with self._lock:
            if ext not in self._images:
                img = Image.new("RGB", (96, 120), (214, 205, 190))
                draw = ImageDraw.Draw(img)
                draw.rectangle((20, 18, 76, 92), fill=(40, 34, 30))
                draw.rectangle((26, 24, 70, 86), fill=(170, 120, 80))
                draw.ellipse((36, 40, 60, 64), fill=(240, 220, 160))
                buf = io.BytesIO()
                img.save(buf, FORMATS[ext][0])
                self._images[ext] = buf.getvalue()
            return self._images[ext]

    # -- the contract ------------------------------------------------------------------------------

    def _validate_render(self, render: Any, where: str) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if not isinstance(render, dict):
            return {where.rstrip("."): ["must be an object"]}
        mockup_uuid = render.get("mockup_uuid")
        template = None
        if not isinstance(mockup_uuid, str) or not mockup_uuid:
            errors[f"{where}mockup_uuid"] = ["The mockup uuid field is required."]
        else:
            template = self.template(mockup_uuid)
            if template is None:
                errors[f"{where}mockup_uuid"] = ["The selected mockup uuid is invalid."]
        objects = render.get("smart_objects")
        if not isinstance(objects, list) or not objects:
            errors[f"{where}smart_objects"] = ["The smart objects field is required and must be a list."]
            return errors
        known = {so["uuid"] for so in template.smart_objects} if template else None
        for j, so in enumerate(objects):
            key = f"{where}smart_objects.{j}"
            if not isinstance(so, dict) or not isinstance(so.get("uuid"), str):
                errors[f"{key}.uuid"] = ["The smart object uuid is required."]
                continue
            if known is not None and so["uuid"] not in known:
                errors[f"{key}.uuid"] = ["The smart object does not belong to this mockup."]
            asset = so.get("asset")
            if asset is not None:
                url = asset.get("url") if isinstance(asset, dict) else None
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    errors[f"{key}.asset.url"] = ["The asset url must be a valid URL."]
                fit = asset.get("fit") if isinstance(asset, dict) else None
                if fit is not None and fit not in ("contain", "cover", "stretch"):
                    errors[f"{key}.asset.fit"] = ["The fit must be contain, cover or stretch."]
        return errors

    def _validate_options(self, options: Any, where: str = "export_options") -> dict[str, list[str]]:
        if options is None:
            return {}
        if not isinstance(options, dict):
            return {where: ["must be an object"]}
        errors: dict[str, list[str]] = {}
        fmt = options.get("image_format", "png")
        if fmt not in FORMATS:
            errors[f"{where}.image_format"] = ["The image format must be jpg, png or webp."]
        size = options.get("image_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 5000):
            errors[f"{where}.image_size"] = ["The image size must be an integer between 1 and 5000."]
        return errors

    def _asset_urls(self, render: dict[str, Any]) -> list[str]:
        return [so.get("asset", {}).get("url", "") for so in render.get("smart_objects", []) if isinstance(so.get("asset"), dict)]

    def _finish_render(self, render: dict[str, Any], ext: str) -> dict[str, Any]:
        with self._lock:
            export_id = f"{self._uuid()}_{self._uuid()}"
            self.counters.renders_done += 1
            if self.credits is not None:
                self.credits -= 1
        out = {"export_label": render.get("export_label"), "export_path": f"{self.root_url}/exports/{export_id}.{ext}"}
        with self._lock:
            self._renders[export_id] = {"status": "completed", **out, "mockup_uuid": render.get("mockup_uuid")}
        return out

    def _can_pay(self, n: int) -> bool:
        with self._lock:
            return self.credits is None or self.credits >= n

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def handle_api(self, handler: _Handler, method: str, path: str, body: bytes) -> None:
        """Answer one API request (``path`` without the ``/api/v1`` prefix)."""
        endpoint = _endpoint(method, path)
        with self._lock:
            self.counters.by_endpoint[endpoint] += 1
            if key := handler.headers.get("x-api-key"):
                self.counters.api_keys_seen.add(key)
        if self._limiter is not None:
            wait = self._limiter.admit()
            if wait > 0:
                return handler.reply(429, {"message": "Too Many Attempts."}, {"Retry-After": str(max(1, math.ceil(wait)))})
        with self._lock:
            fault = self.script.popleft() if self.script else None
            random_error = self.error_rate > 0 and self._rng.random() < self.error_rate
        if fault == "drop":
            handler.close_connection = True
            handler.connection.shutdown(2)  # socket.SHUT_RDWR: the client sees the connection drop
            return None
        if fault == "hang":
            self._sleep(self.hang_seconds)
        elif isinstance(fault, int):
            headers = {"Retry-After": "1"} if fault == 429 else {}
            return handler.reply(fault, {"message": f"injected {fault}"}, headers)
        if random_error:
            return handler.reply(503, {"message": "Service Unavailable"})
        if handler.headers.get("x-api-key") != self.api_key:
            return handler.reply(401, {"message": "Unauthenticated."})
        accept = handler.headers.get("accept", "")
        if "application/json" not in accept and "*/*" not in accept:
            return handler.reply(400, {"message": "The request must accept application/json."})
        if fault == "malformed":
            return handler.reply_raw(200, b"<html>upstream proxy error</html>", "text/html")
        if fault == "wrong_shape":
            return handler.reply(200, {"success": True, "message": ""})

        if endpoint == "GET /mockups":
            query = parse_qs(urlsplit(handler.path).query)
            name = (query.get("name") or [None])[0]
            items = [t.as_json() for t in self.templates if name is None or t.name == name]
            return handler.reply(200, {"data": items, "success": True, "message": ""})
        if endpoint == "GET /mockups/{uuid}":
            template = self.template(path.rsplit("/", 1)[-1])
            if template is None:
                return handler.reply(404, {"message": "Mockup not found."})
            return handler.reply(200, {"data": template.as_json(), "success": True, "message": ""})
        if endpoint == "GET /renders/{id}":
            with self._lock:
                record = self._renders.get(path.rsplit("/", 1)[-1])
            if record is None:
                return handler.reply(404, {"message": "Render not found."})
            return handler.reply(200, {"data": record})
        if endpoint not in ("POST /renders", "POST /renders/batch"):
            return handler.reply(404, {"message": "Not found."})

        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return handler.reply(400, {"message": "The body is not valid JSON."})
        if not isinstance(payload, dict):
            return handler.reply(400, {"message": "The body must be a JSON object."})
        if endpoint == "POST /renders":
            return self._single(handler, payload)
        return self._batch(handler, payload)

    def _single(self, handler: _Handler, payload: dict[str, Any]) -> None:
        errors = self._validate_render(payload, "") | self._validate_options(payload.get("export_options"))
        if errors:
            return handler.reply(422, {"message": "The given data was invalid.", "errors": errors})
        if not self._can_pay(1):
            return handler.reply(403, {"message": "Insufficient credits."})
        self._sleep(self.render_latency)
        if any(url in self.failing_assets for url in self._asset_urls(payload)):
            with self._lock:
                self.counters.renders_failed += 1
            return handler.reply(422, {"message": "The design asset could not be loaded."})
        ext = (payload.get("export_options") or {}).get("image_format", "png")
        data = self._finish_render(payload, ext)
        return handler.reply(200, {"data": data, "success": True, "message": ""})

    def _batch(self, handler: _Handler, payload: dict[str, Any]) -> None:
        renders = payload.get("renders")
        if not isinstance(renders, list) or not renders:
            return handler.reply(422, {"message": "The given data was invalid.", "errors": {"renders": ["The renders field is required."]}})
        if len(renders) > self.max_batch:
            return handler.reply(422, {"message": "The given data was invalid.", "errors": {"renders": [f"At most {self.max_batch} renders."]}})
        errors = self._validate_options(payload.get("export_options"))
        for i, render in enumerate(renders):
            errors |= self._validate_render(render, f"renders.{i}.")
        if errors:
            return handler.reply(422, {"message": "The given data was invalid.", "errors": errors})
        if not self._can_pay(len(renders)):
            return handler.reply(403, {"message": "Insufficient credits."})
        self._sleep(self.render_latency * len(renders))
        ext = (payload.get("export_options") or {}).get("image_format", "png")
        items = []
        for render in renders:
            with self._lock:
                transient = self.transient_batch_failures > 0
                if transient:
                    self.transient_batch_failures -= 1
            if transient or any(url in self.failing_assets for url in self._asset_urls(render)):
                with self._lock:
                    self.counters.renders_failed += 1
                reason = "Render engine busy." if transient else "The design asset could not be loaded."
                items.append({"status": "failed", "error": reason, "export_label": render.get("export_label"), "mockup_uuid": render.get("mockup_uuid")})
                continue
            items.append({"status": "success", "mockup_uuid": render["mockup_uuid"], **self._finish_render(render, ext)})
        ok = sum(1 for x in items if x["status"] == "success")
        data = {"total_renders": len(items), "successful_renders": ok, "failed_renders": len(items) - ok, "renders": items}
        return handler.reply(200, {"data": data, "success": True, "message": ""})

    def handle_export(self, handler: _Handler, path: str) -> None:
        """Serve ``/exports/<id>.<ext>`` according to :attr:`export_mode`."""
        with self._lock:
            self.counters.exports_served += 1
            if key := handler.headers.get("x-api-key"):
                self.counters.api_keys_seen.add(key)
        ext = path.rsplit(".", 1)[-1]
        mode = self.export_mode
        if mode == "error":
            return handler.reply_raw(500, b"internal error", "text/plain")
        if mode == "redirect":
            handler.send_response(302)
            handler.send_header("Location", self.redirect_target or "/exports/elsewhere.jpg")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return None
        if mode == "garbage":
            return handler.reply_raw(200, bytes(self._rng.getrandbits(8) for _ in range(2048)), "image/jpeg")
        if mode == "html":
            return handler.reply_raw(200, b"<html><body>Access denied</body></html>", "text/html")
        if mode in ("huge", "huge_unsized"):
            handler.send_response(200)
            handler.send_header("Content-Type", "image/jpeg")
            if mode == "huge":
                handler.send_header("Content-Length", str(self.huge_bytes))
            else:
                handler.close_connection = True  # the body ends when the connection closes
            handler.end_headers()
            chunk = b"\xff" * 65536
            sent = 0
            try:
                while sent < self.huge_bytes and not self._stopping.is_set():
                    handler.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the client gave up, as it should
            return None
        if ext not in FORMATS:
            return handler.reply_raw(404, b"not found", "text/plain")
        return handler.reply_raw(200, self.image_bytes(ext), FORMATS[ext][1])


def _endpoint(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts == ["mockups"]:
        return f"{method} /mockups"
    if len(parts) == 2 and parts[0] == "mockups":
        return f"{method} /mockups/{{uuid}}"
    if parts == ["renders"]:
        return f"{method} /renders"
    if parts == ["renders", "batch"]:
        return f"{method} /renders/batch"
    if len(parts) == 2 and parts[0] == "renders":
        return f"{method} /renders/{{id}}"
    return f"{method} /{'/'.join(parts)}"


class _Handler(BaseHTTPRequestHandler):
    """Routes to the fake; HTTP/1.1 keep-alive so the client's connection reuse is exercised."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections close instead of pinning a thread forever
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request log lines."""

    def _dispatch(self, method: str) -> None:
        fake: FakeDynamicMockups = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        with fake._lock:
            fake.counters.requests += 1
            fake.counters.in_flight += 1
            fake.counters.max_in_flight = max(fake.counters.max_in_flight, fake.counters.in_flight)
        try:
            if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
                fake.handle_api(self, method, path[len(API_PREFIX):], body)
            elif path.startswith("/exports/") and method == "GET":
                fake.handle_export(self, path)
            else:
                self.reply_raw(404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client timed out and left; nothing to answer
        finally:
            with fake._lock:
                fake.counters.in_flight -= 1

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """GET requests."""
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """POST requests."""
        self._dispatch("POST")

    def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Send a JSON answer and count it."""
        self.reply_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def reply_raw(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Send any answer with a Content-Length and count its status."""
        fake: FakeDynamicMockups = self.server.fake  # type: ignore[attr-defined]
        with fake._lock:
            if status == 429:
                fake.counters.sent_429 += 1
            elif status == 401:
                fake.counters.sent_401 += 1
            elif status == 403:
                fake.counters.sent_403 += 1
            elif status >= 500:
                fake.counters.sent_5xx += 1
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
