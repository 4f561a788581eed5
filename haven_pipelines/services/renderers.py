"""The renderer seam of the render service: the local compositor or Dynamic Mockups, one protocol.

    RenderFailure            one render failed; the batch goes on
     └── RendererExhausted   the renderer cannot take more work (Dynamic Mockups out of credits):
                             the batch stops and what is left is refused, not failed
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from haven_pipelines.domain.errors import HavenError, ValidationError


# Width in pixels of every mockup either renderer makes; the height follows the scene's aspect.
OUTPUT_WIDTH = 2400

class RenderFailure(HavenError):
    """One render failed (bad artwork, a remote error, a bad export); the message says why."""


class RendererExhausted(RenderFailure):
    """The renderer refuses all further work (for example: the Dynamic Mockups account has no credits)."""


class SharedArtwork:
    """One design's file as a batch's renders share it: fetched once, and decoded at most once.

    The render service makes one per design in a batch and hands the same object to every job of
    that design; ``scenes`` are the (key, config) of every scene the batch renders it into, so a
    renderer that decodes can decode once at the largest size any of them needs. A decode error is
    kept and raised again for every job (the same bytes fail the same way). :meth:`release` drops
    the decoded image once the design's last render is done, so a batch holds only the designs in
    flight.
    """

    def __init__(self, data: bytes, scenes: Sequence[tuple[str, Mapping[str, Any]]] = ()):
        self.data = data
        self.scenes = tuple(scenes)
        self._lock = threading.Lock()
        self._decoded: Any = None
        self._error: BaseException | None = None

    def decoded(self, decode: Callable[[bytes], Any]) -> Any:
        """``decode(data)`` the first time (one thread decodes, the others wait), its result after."""
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._decoded is None:
                try:
                    self._decoded = decode(self.data)
                except HavenError as exc:
                    self._error = exc
                    raise
            return self._decoded

    def release(self) -> None:
        """Forget the decoded image (the bytes stay for a late retry of the same job)."""
        with self._lock:
            self._decoded = None


@dataclass(frozen=True)
class RenderJob:
    """One render to do: the artwork (bytes, or a batch's shared copy; and a URL a remote renderer can
    fetch) and the scene row."""

    key: str
    artwork: bytes | SharedArtwork
    artwork_url: str | None
    scene_key: str
    scene_config: Mapping[str, Any]
    dm_mockup_uuid: str | None = None
    dm_smart_object_uuid: str | None = None
    label: str = ""


@dataclass(frozen=True)
class RenderedOutput:
    """A finished render: encoded image bytes and what the renderer said about it."""

    data: bytes
    content_type: str
    ext: str
    width: int
    height: int
    render_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    thumbnail: bytes | None = None  # a JPEG thumbnail when the renderer made one from its picture in memory
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds by phase (decode, composite, ...)


class Renderer(Protocol):
    """What the render service needs of a renderer: every attribute it reads, and one method.

    Attributes:
        name: recorded on each mockup and ledger row (``local``, ``dynamic_mockups``).
        credits_per_render: what one render costs; reserved before it starts.
        needs_public_artwork_url: the renderer fetches the artwork itself, so the design must have
            a URL it can reach (S3 with a public base or presigned URLs).
        max_workers: how many chunks the service renders at once.
        batch_size: how many jobs one ``render_many`` call takes (the service cuts a batch into
            chunks of this size; 1 for a renderer without a batch endpoint).
    """

    name: str
    credits_per_render: int
    needs_public_artwork_url: bool
    max_workers: int
    batch_size: int

    def render_many(self, jobs: Sequence[RenderJob]) -> list[RenderedOutput | RenderFailure]:
        """Render every job; a failed job gives its RenderFailure in its place (never raises for one).

        Returns exactly one result per job, in order. A failure of the renderer as a whole may be
        raised as a RenderFailure (every job of the call fails alike); any other exception is taken
        for a bug and fails the run.
        """
        ...


THUMBNAIL_SIDE = 512
"""Longest side of a mockup's thumbnail (as :func:`~haven_pipelines.rendering.images.make_thumbnail`)."""


def _positive(field_name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(field_name, f"must be a whole number of at least 1, got {value!r}")
    return value


class LocalRendererAdapter:
    """The local Pillow compositor behind the renderer protocol: free (0 credits), offline."""

    name = "local"
    credits_per_render = 0
    needs_public_artwork_url = False
    batch_size = 1

    def __init__(self, *, width: int = OUTPUT_WIDTH, fmt: str = "JPEG", workers: int | None = None,
                 room_cache: str | os.PathLike[str] | None = None, photos=None):
        """Args:
            width: output width in pixels (200 to 6000; the height follows the scene; a photo scene
                renders at its photo's width when that is smaller).
            fmt: JPEG, PNG or WEBP.
            workers: chunks rendered at once; default the machine's cores.
            room_cache: a folder where prepared rooms are kept across processes (the data
                folder's ``rooms/``); None draws them once per process.
            photos: fetches a photo scene's photo by blob key (the blob store's ``get``).

        Raises:
            ValidationError: a bad width, format or worker count, named.
        """
        from haven_pipelines.rendering.local import LocalRenderer
        from haven_pipelines.rendering.room_store import RoomStore

        rooms = RoomStore(Path(room_cache)) if room_cache is not None else None
        self._renderer = LocalRenderer(width=width, fmt=fmt, rooms=rooms, photos=photos)
        # Pillow releases the GIL in its heavy loops, so threads use the cores.
        self.max_workers = max(1, os.cpu_count() or 1) if workers is None else _positive("workers", workers)

    @property
    def width(self) -> int:
        """Output width in pixels (set by the constructor)."""
        return self._renderer.width

    def render_many(self, jobs: Sequence[RenderJob]) -> list[RenderedOutput | RenderFailure]:
        """Render each job; bad artwork or a bad scene config fails that job only."""
        from haven_pipelines.rendering.scenes import get_scene

        out: list[RenderedOutput | RenderFailure] = []
        for job in jobs:
            timings: dict[str, float] = {}
            try:
                scene = get_scene(job.scene_key, job.scene_config or None)
                artwork = job.artwork
                if isinstance(artwork, SharedArtwork):
                    artwork = artwork.decoded(lambda data, shared=artwork: self._decode(data, shared, timings))
                image = self._renderer.render(artwork, scene, thumbnail=THUMBNAIL_SIDE)
            except HavenError as exc:
                out.append(RenderFailure(str(exc)))
                continue
            out.append(RenderedOutput(
                data=image.data, content_type=image.content_type, ext=image.ext, width=image.width,
                height=image.height, render_id=None,
                metadata={"elapsed_ms": round(image.elapsed_ms, 1), "scene": job.scene_key},
                thumbnail=image.thumbnail.data if image.thumbnail is not None else None,
                timings={**timings, **image.timings},
            ))
        return out

    def _decode(self, data: bytes, shared: SharedArtwork, timings: dict[str, float]):
        """Decode a shared artwork once, no larger than the largest window of the batch's scenes for it."""
        from haven_pipelines.rendering.scenes import get_scene

        scenes = []
        for key, config in shared.scenes:
            try:
                scenes.append(get_scene(key, config or None))
            except HavenError:
                continue  # that scene's own job reports its error; it sets no size here
        return self._renderer.load(data, scenes, timings=timings)


class DynamicMockupsRenderer:
    """Dynamic Mockups API v1 behind the renderer protocol: one credit a render, batched.

    The artwork must be reachable by the API (a public or presigned URL); the export is downloaded
    over https only, size-capped, and must decode as an image before it is stored.

    ``batch_size`` (renders per batch request) and ``workers`` (batch requests in flight) are at
    least 1, else a ValidationError names the one that is not.
    """

    name = "dynamic_mockups"
    credits_per_render = 1
    needs_public_artwork_url = True

    def __init__(self, client, *, batch_size: int = 10, workers: int = 4, image_size: int = OUTPUT_WIDTH):
        self.client = client
        self.batch_size = _positive("batch_size", batch_size)
        self.max_workers = _positive("workers", workers)
        self.image_size = image_size

    def render_many(self, jobs: Sequence[RenderJob]) -> list[RenderedOutput | RenderFailure]:
        """Render a chunk through the batch endpoint (one request), then download each export."""
        from haven_pipelines.integrations.dynamic_mockups.errors import DynamicMockupsError, InsufficientCredits
        from haven_pipelines.integrations.dynamic_mockups.models import RenderRequest

        out: list[RenderedOutput | RenderFailure | None] = [None] * len(jobs)
        requests, index = [], []
        for i, job in enumerate(jobs):
            if (job.scene_config or {}).get("photo") is not None:
                out[i] = RenderFailure(f"scene {job.scene_key!r} is a photo scene: only the local renderer renders it "
                                       "(HAVEN_RENDERER=local, free)")
                continue
            if not job.dm_mockup_uuid or not job.dm_smart_object_uuid:
                out[i] = RenderFailure(f"scene {job.scene_key!r} has no Dynamic Mockups template; run `haven scenes sync`")
                continue
            fit = str(job.scene_config.get("fit", "contain"))
            requests.append(RenderRequest(job.dm_mockup_uuid, job.dm_smart_object_uuid, job.artwork_url or "",
                                          fit if fit in ("contain", "cover", "stretch") else "contain", job.label))
            index.append(i)
        try:
            outcomes = self.client.render_batch(requests, image_format="jpg", image_size=self.image_size) if requests else []
        except InsufficientCredits as exc:
            return [o or RendererExhausted(str(exc)) for o in out]
        except DynamicMockupsError as exc:
            # The batch as a whole failed: try each render alone so that one bad job fails alone.
            outcomes = [self._single(r) for r in requests]
            if all(isinstance(o, RendererExhausted) for o in outcomes):
                return [o or RendererExhausted(str(exc)) for o in out]
        for i, outcome in zip(index, outcomes, strict=True):
            out[i] = self._finish(outcome)
        return [o if o is not None else RenderFailure("no result") for o in out]

    def _single(self, request):
        from haven_pipelines.integrations.dynamic_mockups.errors import DynamicMockupsError, InsufficientCredits
        from haven_pipelines.integrations.dynamic_mockups.models import RenderOutcome

        try:
            return RenderOutcome(request, result=self.client.render_request(request, image_format="jpg", image_size=self.image_size))
        except InsufficientCredits as exc:
            return RendererExhausted(str(exc))
        except DynamicMockupsError as exc:
            return RenderOutcome(request, error=exc)

    def _finish(self, outcome) -> RenderedOutput | RenderFailure:
        from haven_pipelines.integrations.dynamic_mockups.errors import DynamicMockupsError, InsufficientCredits
        from haven_pipelines.rendering.images import load_artwork

        if isinstance(outcome, RenderFailure):
            return outcome
        if not outcome.ok:
            if isinstance(outcome.error, InsufficientCredits):
                return RendererExhausted(str(outcome.error))
            return RenderFailure(str(outcome.error))
        result = outcome.result
        try:
            data = self.client.download(result.export_path)  # under the client's download policy
            image = load_artwork(data)  # must decode as an image (and not be a bomb) before we keep it
            fmt = Image.open(io.BytesIO(data)).format or "JPEG"  # the stored bytes' own format
        except (DynamicMockupsError, HavenError) as exc:
            return RenderFailure(f"export download failed: {exc}")
        ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(fmt, "jpg")
        return RenderedOutput(
            data=data, content_type=f"image/{'jpeg' if ext == 'jpg' else ext}", ext=ext, width=image.width,
            height=image.height, render_id=result.render_id, metadata=dict(result.metadata),
        )
