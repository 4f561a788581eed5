"""Artwork loading: every mode to sRGB RGB(A), orientation, and each bad input's named error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.rendering.images import ImageError, encode, load_artwork, make_thumbnail, srgb_icc_bytes

from .conftest import encode_bytes


def _mode_samples() -> dict[str, bytes]:
    rgb = Image.new("RGB", (64, 48), (200, 40, 30))
    rgba = Image.new("RGBA", (64, 48), (200, 40, 30, 128))
    grey = Image.new("L", (64, 48), 90)
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    cmyk = Image.new("CMYK", (64, 48), (0, 200, 220, 40))
    deep = Image.fromarray(np.full((48, 64), 40000, dtype=np.uint16))
    assert deep.mode.startswith("I;16")
    return {
        "RGB": encode_bytes(rgb, "PNG"),
        "RGBA": encode_bytes(rgba, "PNG"),
        "L": encode_bytes(grey, "PNG"),
        "P": encode_bytes(pal, "PNG"),
        "CMYK": encode_bytes(cmyk, "JPEG", quality=95),
        "I;16": encode_bytes(deep, "PNG"),
    }


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK", "I;16"])
def test_every_input_mode_becomes_8bit_rgb_or_rgba(mode):
    image = load_artwork(_mode_samples()[mode])
    assert image.size == (64, 48)
    assert image.mode == ("RGBA" if mode == "RGBA" else "RGB")
    r, g, b = image.getpixel((10, 10))[:3]
    if mode in ("L", "I;16"):
        assert r == g == b
        # 16-bit is scaled, not clipped: 40000/65535 of full scale.
        expected = 90 if mode == "L" else round(40000 / 65535 * 255)
        assert abs(r - expected) <= 1
    else:
        assert r > 150 and g < 90 and b < 90, (mode, (r, g, b))


def test_exif_orientation_is_applied():
    # Stored landscape, left red and right blue; orientation 6 means "rotate 90 degrees clockwise".
    stored = Image.new("RGB", (80, 40), (220, 0, 0))
    stored.paste((0, 0, 220), (40, 0, 80, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = load_artwork(encode_bytes(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert image.size == (40, 80)
    top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
    assert top[0] > 180 and top[2] < 60
    assert bottom[2] > 180 and bottom[0] < 60


def test_embedded_icc_profile_is_converted_to_srgb():
    # The conversion runs through LittleCMS; with an sRGB source the colours must come out unchanged.
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode_bytes(Image.new("RGB", (16, 16), (10, 120, 200)), "PNG", icc_profile=srgb)
    r, g, b = load_artwork(data).getpixel((4, 4))
    assert abs(r - 10) <= 2 and abs(g - 120) <= 2 and abs(b - 200) <= 2


def test_a_profile_that_does_not_fit_the_pixels_is_ignored():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = load_artwork(encode_bytes(Image.new("L", (8, 8), 77), "PNG", icc_profile=srgb))
    assert image.mode == "RGB" and image.getpixel((1, 1)) == (77, 77, 77)


def test_a_broken_icc_profile_falls_back_to_plain_conversion():
    data = encode_bytes(Image.new("RGB", (16, 16), (10, 120, 200)), "PNG", icc_profile=b"not a profile at all")
    assert load_artwork(data).getpixel((4, 4)) == (10, 120, 200)


def test_not_an_image():
    with pytest.raises(ImageError, match="not an image") as err:
        load_artwork(b"%PDF-1.7 this is a document, not a picture")
    assert err.value.kind == "not_an_image"
    assert isinstance(err.value, ValidationError) and err.value.field == "artwork"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(fmt):
    rng = np.random.default_rng(3)
    noisy = Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8))
    data = encode_bytes(noisy, fmt)
    with pytest.raises(ImageError, match="truncated") as err:
        load_artwork(data[: len(data) // 2])
    assert err.value.kind == "truncated"


def test_decompression_bomb_is_refused_from_the_header():
    # 9000 x 9000 one-bit pixels compress to a few kilobytes but would decode to 81 MP.
    data = encode_bytes(Image.new("1", (9000, 9000), 0), "PNG")
    assert len(data) < 100_000
    with pytest.raises(ImageError, match=r"too many pixels: 81000000 > limit 80000000") as err:
        load_artwork(data)
    assert err.value.kind == "too_many_pixels"


def test_pillows_own_bomb_error_becomes_ours():
    data = encode_bytes(Image.new("1", (20000, 20000), 0), "PNG")
    with pytest.raises(ImageError, match="too many pixels") as err:
        load_artwork(data, max_pixels=10**10)
    assert err.value.kind == "too_many_pixels"


def test_a_25_mb_file_is_refused_before_decoding():
    data = b"\x89PNG\r\n\x1a\n" + bytes(25 * 1024 * 1024)
    with pytest.raises(ImageError, match=r"too large: 26214408 bytes > limit 20971520") as err:
        load_artwork(data)
    assert err.value.kind == "too_large"


def test_error_names_the_field_it_was_given():
    with pytest.raises(ImageError) as err:
        load_artwork(b"", field="export")
    assert err.value.field == "export"
    assert str(err.value).startswith("export: not an image")


@pytest.mark.parametrize(("fmt", "magic"), [("JPEG", b"\xff\xd8"), ("PNG", b"\x89PNG"), ("WEBP", b"RIFF")])
def test_encode_formats_embed_srgb(fmt, magic):
    data = encode(Image.new("RGBA", (30, 20), (1, 2, 3, 128)), fmt, 80)
    assert data.startswith(magic)
    with Image.open(io.BytesIO(data)) as out:
        assert out.info.get("icc_profile") == srgb_icc_bytes()
        assert out.mode == ("RGB" if fmt == "JPEG" else "RGBA")


def test_encode_refuses_unknown_format_and_bad_quality():
    with pytest.raises(ValidationError, match="fmt"):
        encode(Image.new("RGB", (4, 4)), "GIF")
    with pytest.raises(ValidationError, match="quality"):
        encode(Image.new("RGB", (4, 4)), "JPEG", 0)


def test_thumbnail_keeps_aspect_and_never_enlarges():
    thumb = make_thumbnail(encode_bytes(Image.new("RGB", (1000, 500), (9, 9, 9))), max_side=200)
    assert (thumb.width, thumb.height) == (200, 100)
    assert thumb.content_type == "image/jpeg" and thumb.ext == "jpg"
    small = make_thumbnail(Image.new("RGB", (50, 40)), max_side=200, fmt="png")
    assert (small.width, small.height) == (50, 40) and small.data.startswith(b"\x89PNG")
