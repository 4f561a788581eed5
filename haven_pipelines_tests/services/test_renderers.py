"""The renderer seam: the protocol is what the render service uses, and settings go through constructors."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.services import render
from haven_pipelines.services.renderers import DynamicMockupsRenderer, LocalRendererAdapter, Renderer, RenderJob
from haven_pipelines_tests.services.conftest import png_bytes


def _protocol_members() -> set[str]:
    return set(Renderer.__annotations__) | {name for name, _ in inspect.getmembers(Renderer, inspect.isfunction)
                                            if not name.startswith("_")}


def test_the_service_reads_only_what_the_protocol_declares():
    """Every ``self.renderer.X`` and ``ctx.renderer.X`` in the render service is a protocol member."""
    tree = ast.parse(Path(render.__file__).read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "renderer"
    }
    assert "batch_size" in used  # read as a declared attribute, not with getattr and a default
    assert used - _protocol_members() == set()
    assert not any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "getattr" and
                   any(isinstance(a, ast.Attribute) and a.attr == "renderer" for a in n.args)
                   for n in ast.walk(tree))


@pytest.mark.parametrize("renderer", [LocalRendererAdapter(width=320, workers=1), DynamicMockupsRenderer(object())],
                         ids=["local", "dynamic_mockups"])
def test_both_renderers_have_every_protocol_member(renderer):
    assert {m for m in _protocol_members() if not hasattr(renderer, m)} == set()
    assert renderer.batch_size >= 1 and renderer.max_workers >= 1


def test_local_width_is_a_constructor_setting():
    renderer = LocalRendererAdapter(width=320, workers=1)
    job = RenderJob(key="a:bedroom", artwork=png_bytes(), artwork_url=None, scene_key="bedroom", scene_config={})
    [out] = renderer.render_many([job])
    assert renderer.width == 320 and out.width == 320


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: LocalRendererAdapter(width=50), "width"),
        (lambda: LocalRendererAdapter(workers=0), "workers"),
        (lambda: DynamicMockupsRenderer(object(), batch_size=0), "batch_size"),
        (lambda: DynamicMockupsRenderer(object(), workers=0), "workers"),
    ],
    ids=["local-width", "local-workers", "dm-batch-size", "dm-workers"],
)
def test_bad_renderer_settings_name_the_field(make, field):
    with pytest.raises(ValidationError) as err:
        make()
    assert err.value.field == field
