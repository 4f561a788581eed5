"""Decode, check and normalise artwork; encode outputs and thumbnails.

Every image that enters the system (an uploaded design, a Dynamic Mockups export) passes through
:func:`load_artwork`, which refuses what should not be decoded and returns an 8-bit sRGB image:

    ValidationError (haven_pipelines.domain.errors)
     └── ImageError          ``kind`` is one of IMAGE_ERROR_KINDS; the message names the problem

The checks run cheapest first: the byte size before anything is parsed, the pixel count from the
header before any pixel is decoded (so a decompression bomb costs nothing), then the full decode,
which is where a truncated file shows itself.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from haven_pipelines.domain.errors import ValidationError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""20 MB, the Dynamic Mockups per-asset limit: an asset we could not send there is refused here too."""

DEFAULT_MAX_PIXELS = 80_000_000
"""Room for a 24x36 inch print at 300 dpi (77.8 MP); below Pillow's own bomb threshold (89.5 MP)."""

IMAGE_ERROR_KINDS = ("too_large", "not_an_image", "too_many_pixels", "truncated", "unsupported")

FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
_FORMAT_ALIASES = {"JPG": "JPEG"}
# Modes Pillow's ``reduce`` averages correctly (a palette or 16-bit image is normalised first).
_REDUCIBLE = ("L", "LA", "RGB", "RGBA", "CMYK")
# EXIF orientations that swap width and height.
_TRANSPOSED = (5, 6, 7, 8)

MinSize = tuple[int, int] | Callable[[tuple[int, int]], tuple[int, int]]
"""What a caller needs of an artwork: at least (width, height) upright pixels, or a function from the
artwork's upright size to that (a contain fit needs a size that depends on the artwork's shape)."""


class ImageError(ValidationError):
    """An image that cannot be used; ``kind`` says why in one word, the message in a sentence."""

    def __init__(self, kind: str, reason: str, field: str = "artwork"):
        self.kind = kind
        super().__init__(field, reason)


@dataclass(frozen=True)
class EncodedImage:
    """Encoded bytes with what a store or an HTTP response needs to know about them."""

    data: bytes
    content_type: str
    ext: str
    width: int
    height: int


def normalise_format(fmt: str) -> str:
    """``"jpg"``/``"jpeg"``/``"png"``/``"webp"`` (any case) to Pillow's name; ValidationError otherwise."""
    name = _FORMAT_ALIASES.get(fmt.upper(), fmt.upper()) if isinstance(fmt, str) else ""
    if name not in FORMATS:
        raise ValidationError("fmt", f"unsupported output format {fmt!r}; use one of JPEG, PNG, WEBP")
    return name


def load_artwork(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    field: str = "artwork",
    min_size: MinSize | None = None,
    timings: MutableMapping[str, float] | None = None,
) -> Image.Image:
    """Decode ``data`` into an upright 8-bit sRGB image (mode RGB, or RGBA when it has transparency).

    Args:
        data: the encoded file.
        max_bytes: files larger than this are refused before any parsing.
        max_pixels: images with more pixels are refused from their header, before decoding.
            Pillow's own bomb limit (``Image.MAX_IMAGE_PIXELS``) still applies above this.
        field: the name the error reports (``"artwork"``, ``"export"``...).
        min_size: the smallest upright size the caller needs (see :data:`MinSize`); None keeps
            every pixel. A larger image is reduced by a whole factor (a JPEG partly while it is
            decoded, by DCT scaling) to between one and two times this size *before* the colour
            conversion: a print file's ICC transform would otherwise convert ten times the pixels
            that are then thrown away.
        timings: when given, seconds spent are added under ``decode`` (parsing, decoding,
            reducing) and ``colour`` (orientation, bit depth, ICC conversion).

    Returns:
        A fully loaded image with EXIF orientation applied and any embedded ICC profile converted
        to sRGB.

    Raises:
        ImageError: ``too_large``, ``not_an_image``, ``too_many_pixels``, ``truncated`` or ``unsupported``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError("not_an_image", f"not an image: expected bytes, got {type(data).__name__}", field)
    size = len(data)
    if size > max_bytes:
        raise ImageError("too_large", f"too large: {size} bytes > limit {max_bytes}", field)
    if size == 0:
        raise ImageError("not_an_image", "not an image: empty file", field)
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not_an_image", "not an image: the format is not recognised", field) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow checks its own limit inside open(); where warnings are errors it raises the warning.
        raise ImageError("too_many_pixels", f"too many pixels: {exc}", field) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # A header Pillow recognised and then could not parse: the file stops or lies early on.
        raise ImageError("truncated", f"truncated or corrupt header: {exc}", field) from None
    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise ImageError("too_many_pixels", f"too many pixels: {pixels} > limit {max_pixels}", field)
    started = time.perf_counter()
    need = _stored_need(image, min_size) if min_size is not None else None
    if need is not None and image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK"):
        image.draft(None, need)  # decode at 1/2, 1/4 or 1/8 scale when that still covers the need
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        image.close()
        raise ImageError("truncated", f"truncated or corrupt image data: {exc}", field) from None
    if need is not None:
        image = reduce_to(image, need)
    colour_started = time.perf_counter()
    try:
        result = normalise_image(image)
    except (OSError, ValueError) as exc:
        raise ImageError("unsupported", f"unsupported image ({image.mode}): {exc}", field) from None
    if timings is not None:
        done = time.perf_counter()
        timings["decode"] = timings.get("decode", 0.0) + colour_started - started
        timings["colour"] = timings.get("colour", 0.0) + done - colour_started
    return result


def _stored_need(image: Image.Image, min_size: MinSize) -> tuple[int, int] | None:
    """``min_size`` in the file's stored orientation (before EXIF rotation), or None when it is all."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError):  # unreadable EXIF: normalise_image deals with it
        orientation = 1
    transposed = orientation in _TRANSPOSED
    upright = (image.height, image.width) if transposed else image.size
    need = min_size(upright) if callable(min_size) else min_size
    nw, nh = max(1, math.ceil(need[0])), max(1, math.ceil(need[1]))
    if nw >= upright[0] and nh >= upright[1]:
        return None
    return (nh, nw) if transposed else (nw, nh)


def reduce_to(image: Image.Image, need: tuple[int, int]) -> Image.Image:
    """``image`` box-reduced by the largest whole factor that keeps it at least ``need`` (unchanged
    below a factor of 2, or in a mode or with a transparency that ``reduce`` would not keep)."""
    factor = math.floor(min(image.width / need[0], image.height / need[1]))
    if factor < 2 or image.mode not in _REDUCIBLE or "transparency" in image.info:
        return image
    # reduce() keeps ``info`` (the ICC profile and EXIF orientation that normalise_image reads).
    return image.reduce(factor)


def normalise_image(image: Image.Image) -> Image.Image:
    """An already opened image made upright, 8 bits per channel, sRGB, RGB or RGBA."""
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    image = upright if upright is not None else image
    image = _to_8bit(image)
    if icc and not _is_our_srgb(icc):
        # sRGB to sRGB is the identity: the outputs this project encodes embed exactly that profile,
        # and converting one back (a thumbnail, an export check) cost more than decoding it.
        converted = _icc_to_srgb(image, icc)
        if converted is not None:
            return converted
    return _to_rgb_or_rgba(image)


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale 16- and 32-bit integer and float modes to 8-bit L (Pillow's convert would clip, not scale)."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(image).astype(np.float32)
        # 16-bit greyscale PNG/TIFF arrive as I;16 or I; both use the 0..65535 range.
        scale = 255.0 / 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 1.0
        return Image.fromarray(np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8), "L")
    if mode == "F":
        arr = np.asarray(image).astype(np.float32)
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        return Image.fromarray(np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8), "L")
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    return image.convert("RGBA" if _has_alpha(image) else "RGB")


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=1)
def srgb_icc_bytes() -> bytes:
    """The sRGB ICC profile embedded in every output, so viewers need not guess."""
    return _srgb_profile().tobytes()


def _is_our_srgb(icc: bytes) -> bool:
    """True when ``icc`` is the sRGB profile :func:`encode` embeds, made in any process.

    LittleCMS stamps a made profile with the time it was made (header bytes 24-35), and the
    profile ID (bytes 84-99) is a digest over it; the rest is the same in every process.
    """
    ours = srgb_icc_bytes()
    if len(icc) != len(ours) or len(icc) < 128:
        return False
    strip = lambda b: bytes(b[:24]) + bytes(b[36:84]) + bytes(b[100:])  # noqa: E731
    return strip(icc) == strip(ours)


def _icc_to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert through the embedded profile; None when the profile is unusable (then plain convert)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return None
    alpha = image.getchannel("A") if _has_alpha(image) and image.mode in ("RGBA", "LA") else None
    base = image
    if image.mode in ("RGBA", "LA", "P", "PA", "1"):
        base = image.convert("L" if image.mode in ("LA", "1") else "RGB")
    in_mode = base.mode
    if in_mode not in ("RGB", "L", "CMYK"):
        return None
    try:
        converted = ImageCms.profileToProfile(base, source, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A profile that does not match the pixel layout (e.g. an RGB profile on a CMYK file).
        return None
    if converted is None:  # pragma: no cover - only with inPlace=True
        return None
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 88, *, restart_marker_rows: int = 0,
           restart_marker_blocks: int = 0) -> bytes:
    """Encode an RGB/RGBA image as JPEG, PNG or WebP with the sRGB profile embedded.

    JPEG has no alpha, so an RGBA image is flattened onto white first. PNG uses a middling
    compression level: level 9 costs several times the time for a few per cent of size.
    ``restart_marker_rows`` (JPEG only) puts a restart marker after every that many MCU rows
    and ``restart_marker_blocks`` one after every that many MCUs (see
    :mod:`haven_pipelines.rendering.jpeg_rows`); 0 puts none.
    """
    name = normalise_format(fmt)
    if not 1 <= int(quality) <= 100:
        raise ValidationError("quality", f"must be between 1 and 100, got {quality}")
    if name == "JPEG" and image.mode != "RGB":
        image = _flatten(image)
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    out = io.BytesIO()
    options: dict[str, object] = {"icc_profile": srgb_icc_bytes()}
    if name == "JPEG":
        options.update(quality=int(quality))
        if restart_marker_rows:
            options.update(restart_marker_rows=int(restart_marker_rows))
        if restart_marker_blocks:
            options.update(restart_marker_blocks=int(restart_marker_blocks))
    elif name == "PNG":
        options.update(compress_level=3)
    else:
        options.update(quality=int(quality), method=3)
    image.save(out, name, **options)
    return out.getvalue()


def _flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    base = Image.new("RGB", image.size, background)
    base.paste(image, mask=image.getchannel("A"))
    return base


def make_thumbnail(
    source: bytes | Image.Image,
    *,
    max_side: int = 512,
    fmt: str = "JPEG",
    quality: int = 82,
) -> EncodedImage:
    """A small encoded copy whose longer side is at most ``max_side`` (never enlarged).

    Args:
        source: encoded bytes (checked with :func:`load_artwork`) or an image already loaded.
        max_side: the longest side in pixels.
        fmt: JPEG, PNG or WEBP.
        quality: encoder quality for JPEG and WebP.
    """
    if max_side < 1:
        raise ValidationError("max_side", f"must be positive, got {max_side}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        # Decode only what the thumbnail needs (a JPEG at a fraction of its scale, then reduced).
        image = load_artwork(source, min_size=lambda size: thumbnail_size(size, max_side))
    else:
        image = source
    size = thumbnail_size(image.size, max_side)
    # resize() makes a new image: no copy of a full-size source first, and the source is untouched.
    thumb = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    name = normalise_format(fmt)
    content_type, ext = FORMATS[name]
    return EncodedImage(encode(thumb, name, quality), content_type, ext, thumb.width, thumb.height)


def thumbnail_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled to fit ``max_side`` on its longer side, keeping its aspect (never enlarged)."""
    w, h = size
    if max(w, h) <= max_side:
        return (w, h)
    ratio = max_side / max(w, h)
    return (max(1, round(w * ratio)), max(1, round(h * ratio)))
