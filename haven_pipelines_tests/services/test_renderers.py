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


def test_dynamic_mockups_refuses_a_photo_scene_naming_the_local_renderer():
    job = RenderJob(key="k", artwork=png_bytes(), artwork_url="https://example.com/a.png", scene_key="my_wall",
                    scene_config={"photo": {"key": "scenes/u/my_wall.jpg"}}, dm_mockup_uuid="m", dm_smart_object_uuid="s")
    [result] = DynamicMockupsRenderer(client=None).render_many([job])  # no request is made: the client is not needed
    assert "photo scene" in str(result) and "HAVEN_RENDERER=local" in str(result)


def test_the_local_adapter_renders_a_photo_scene_from_its_photo_store():
    import io

    from PIL import Image

    from haven_pipelines.rendering.photo import decode_photo, parse_quad, photo_digest, photo_scene_document

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 196, 188)).save(buf, "PNG")
    photo = buf.getvalue()
    doc = photo_scene_document("my_wall", "My wall", decode_photo(photo), photo_key="scenes/u/w.png", sha256=photo_digest(photo),
                               quad=parse_quad("200,100,440,100,440,380,200,380", 640, 480))
    adapter = LocalRendererAdapter(width=2400, workers=1, photos={"scenes/u/w.png": photo}.__getitem__)
    [out] = adapter.render_many([RenderJob(key="k", artwork=png_bytes(), artwork_url=None, scene_key="my_wall", scene_config=doc)])
    assert (out.width, out.height) == (640, 480) and adapter.credits_per_render == 0
