"""Images the Dagster UI can show: small embedded JPEGs, or a bucket's permanent public URL."""

import base64
import io
from decimal import Decimal

from PIL import Image

from haven_pipelines.integrations.blobstore import LocalBlobStore
from haven_pipelines.services.previews import EMBED_SIDE, SceneImage, gallery_markdown, image_src, price_range


def _jpeg(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(buf, "JPEG")
    return buf.getvalue()


def test_a_local_image_is_embedded_as_a_small_jpeg(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put("mockups/u/a/bedroom.thumb.jpg", _jpeg(512, 640), "image/jpeg")
    src = image_src(store, "mockups/u/a/bedroom.thumb.jpg")
    assert src.startswith("data:image/jpeg;base64,")
    embedded = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert max(embedded.size) == EMBED_SIDE and embedded.size == (128, EMBED_SIDE)


def test_a_bucket_with_a_public_base_is_linked_not_embedded(tmp_path):
    class PublicStore(LocalBlobStore):
        def permanent_url(self, key):
            return f"https://images.example.com/{key}"

    store = PublicStore(tmp_path)
    assert image_src(store, "mockups/u/a/x.jpg") == "https://images.example.com/mockups/u/a/x.jpg"


def test_a_missing_or_broken_image_gives_no_source_and_no_error(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put("broken.jpg", b"not an image", "image/jpeg")
    assert image_src(store, "missing.jpg") is None
    assert image_src(store, "broken.jpg") is None
    assert image_src(store, None) is None


def test_the_gallery_puts_each_scene_under_its_picture():
    md = gallery_markdown("“Roots” · 6e714a3a", [SceneImage("bedroom", "approved", "data:image/jpeg;base64,AAA"),
                                                 SceneImage("reading_nook", "completed", None)])
    assert md.index("![bedroom](data:image/jpeg;base64,AAA)") < md.index("*bedroom* (approved)")
    assert "_image not readable_" in md and "*reading_nook* (completed)" in md
    assert md.startswith("**“Roots” · 6e714a3a**")


def test_price_range_from_lowest_to_highest():
    assert price_range([Decimal("49.99"), "9.99", Decimal("159.99")]) == "9.99 – 159.99"
    assert price_range(["24.99", "24.99"]) == "24.99"
    assert price_range([]) is None
