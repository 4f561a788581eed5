"""Typed values the Dynamic Mockups client takes and returns (frozen dataclasses, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from haven_pipelines.integrations.dynamic_mockups.errors import DynamicMockupsError

Fit = Literal["contain", "cover", "stretch"]
ImageFormat = Literal["jpg", "png", "webp"]
FITS: tuple[str, ...] = ("contain", "cover", "stretch")
IMAGE_FORMATS: tuple[str, ...] = ("jpg", "png", "webp")


@dataclass(frozen=True)
class RenderRequest:
    """One render: put the artwork at ``asset_url`` into one smart object of one mockup template.

    Args:
        mockup_uuid: the template (``GET /mockups`` lists them).
        smart_object_uuid: the smart object inside it that receives the artwork.
        asset_url: a URL Dynamic Mockups can fetch (public or presigned; at most 20 MB).
        fit: how the artwork fills the print area: contain, cover or stretch.
        export_label: our own label, echoed back by the API (we use it to match batch answers).
    """

    mockup_uuid: str
    smart_object_uuid: str
    asset_url: str
    fit: Fit = "contain"
    export_label: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON object of this render as the API expects it (without export options)."""
        out: dict[str, Any] = {
            "mockup_uuid": self.mockup_uuid,
            "smart_objects": [{"uuid": self.smart_object_uuid, "asset": {"url": self.asset_url, "fit": self.fit}}],
        }
        if self.export_label is not None:
            out["export_label"] = self.export_label
        return out


@dataclass(frozen=True)
class RenderResult:
    """A finished render.

    Attributes:
        export_path: URL of the rendered image (download it with :meth:`DynamicMockupsClient.download`).
        export_label: the label we sent, as echoed back.
        mockup_uuid: the template rendered.
        render_id: the API's id for the render when it gives one, else the export file's name
            (the v1 API names exports ``<uuid>_<uuid>.<ext>``), so it is stable for one render.
        metadata: the API's answer for this render, minus anything secret-looking.
    """

    export_path: str
    export_label: str | None
    mockup_uuid: str | None
    render_id: str | None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderOutcome:
    """One render of a batch: either ``result`` (ok) or ``error``; never both."""

    request: RenderRequest
    result: RenderResult | None = None
    error: DynamicMockupsError | None = None

    @property
    def ok(self) -> bool:
        """Whether the render succeeded."""
        return self.result is not None


@dataclass(frozen=True)
class SmartObject:
    """A replaceable layer of a template: where the artwork goes."""

    uuid: str
    name: str
    width: int | None
    height: int | None
    top: int | None
    left: int | None


@dataclass(frozen=True)
class MockupTemplate:
    """A mockup template of the account with its smart objects."""

    uuid: str
    name: str
    thumbnail: str | None
    smart_objects: tuple[SmartObject, ...]
