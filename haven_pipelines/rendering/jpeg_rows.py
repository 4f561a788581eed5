"""JPEG output that re-encodes only the segments a render changed, and reuses the room's others.

A mockup differs from its room only inside the frame's opening, yet encoding the whole picture was
most of a render's time. A baseline JPEG written with a restart marker every ``k`` MCUs
(``restart_marker_blocks=k``), where ``k`` divides the number of MCUs across the picture, is a
header followed by runs of independent pieces of entropy-coded data: each MCU row is split into the
same ``width / k`` segments, each restart resets the DC predictors and starts on a byte boundary,
and with the standard Huffman tables (``optimize=False``) and the same quality, the bytes of a
segment depend on that segment's pixels only. That holds for a crop too when the crop's left edge
falls on a segment boundary (a multiple of ``k`` MCU widths, 16 px each with 4:2:0 subsampling):
the chroma of a crop is averaged over the same 2x2 blocks as in the whole picture, and a crop
that ends at the picture's right or bottom edge is padded to whole MCUs as the picture is.

So the room is encoded once (:meth:`JpegRows.from_image`), and each render encodes only the
rectangle of whole segments that holds what it touched (:meth:`JpegRows.encode`) and splices those
segments in place of the room's, renumbering their restart markers. The result is byte for byte the
JPEG that encoding the whole picture with the same settings gives (tests hold it to that), so
nothing of quality is traded; the markers cost about two and a half bytes a segment (the marker and
the bits that pad the segment to a byte). ``k`` is the divisor of the MCUs across nearest
:data:`SEGMENT_MCUS` (a measured balance of file size against the width a render re-encodes in
vain); a picture whose MCU count has no divisor near it gets one segment a row (``k`` = the whole
row). Where the layout is not the one expected (another encoder, a mismatch in segment counts)
:meth:`JpegRows.from_image` or :meth:`JpegRows.encode` returns None and the caller encodes the whole
picture as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import accumulate

from PIL import Image

from haven_pipelines.rendering.images import encode

_RST = re.compile(rb"\xff[\xd0-\xd7]")  # in entropy-coded data a real 0xFF byte is stuffed as FF 00
_MARKERS = tuple(bytes((0xFF, 0xD0 + i)) for i in range(8))
_EOI = b"\xff\xd9"
_SOF_BASELINE = 0xC0
_DRI = 0xDD
_SOS = 0xDA

SEGMENT_MCUS = 10
"""The segment width aimed at, in MCUs (160 px with 4:2:0). Measured at 2400 px on the bench's
mockups: the file is 2.6-3.8 % larger than with one segment a row (5 MCUs: 5.6-7.8 %, 25 MCUs:
0.9-1.3 %), and a 790 px wide rectangle re-encodes in about the same time as with 5 MCUs (each side
rounds out to a segment, 144 px on average) and 0.3-0.5 ms less than with 25 (see docs/rendering.md)."""


def segment_blocks(mcus_across: int, target: int = SEGMENT_MCUS) -> int:
    """The segment width in MCUs for a picture ``mcus_across`` MCUs wide: the divisor of it nearest
    ``target`` (in ratio), no narrower than half of ``target`` (narrower segments cost file size
    faster than they save encoding), so the whole row when no divisor fits."""
    floor = min(mcus_across, max(1, target // 2))
    divisors = [d for d in range(floor, mcus_across + 1) if mcus_across % d == 0]
    return min(divisors, key=lambda d: (abs(math.log(d / target)), d))


@dataclass(frozen=True)
class JpegRows:
    """One picture encoded as a header and MCU rows of ``per_row`` independent segments each.

    ``body`` is the entropy-coded data with its restart markers (no EOI); segment ``i`` (row
    ``i // per_row``, column ``i % per_row``) starts at ``starts[i]``.
    """

    header: bytes
    body: bytes
    starts: tuple[int, ...]
    mcu_width: int
    mcu_height: int
    blocks: int
    per_row: int
    width: int
    height: int
    quality: int

    @property
    def segment_width(self) -> int:
        """The width of one segment in pixels (the last of a row may reach past the picture)."""
        return self.blocks * self.mcu_width

    @classmethod
    def from_image(cls, image: Image.Image, quality: int, target: int = SEGMENT_MCUS) -> JpegRows | None:
        """Encode ``image`` (RGB) in segments of about ``target`` MCUs; None if its layout is not usable."""
        if image.mode != "RGB":
            return None
        # Pillow's JPEG is 4:2:0 at these qualities: 16 px MCUs. The parse below checks it.
        blocks = segment_blocks(math.ceil(image.width / 16), target)
        parsed = _parse(encode(image, "JPEG", quality, restart_marker_blocks=blocks))
        if parsed is None:
            return None
        header, body, (mcu_width, mcu_height), interval = parsed
        mcus_across = math.ceil(image.width / mcu_width)
        if interval != blocks or mcus_across % blocks:
            return None
        per_row = mcus_across // blocks
        segments = _RST.split(body)
        if len(segments) != per_row * math.ceil(image.height / mcu_height):
            return None
        starts = tuple(accumulate((len(s) + 2 for s in segments[:-1]), initial=0))
        return cls(header, body, starts, mcu_width, mcu_height, blocks, per_row, image.width, image.height, quality)

    def encode(self, canvas: Image.Image, box: tuple[int, int, int, int]) -> bytes | None:
        """The JPEG of ``canvas``, which equals the encoded picture outside ``box`` (x0, y0, x1, y1).

        Returns None when the rectangle does not encode to the expected segments (the caller then
        encodes the whole canvas).
        """
        if canvas.size != (self.width, self.height) or canvas.mode != "RGB":
            return None
        x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(self.width, box[2]), min(self.height, box[3])
        if x1 <= x0 or y1 <= y0:
            return None
        sw, mh = self.segment_width, self.mcu_height
        first_row, last_row = y0 // mh, math.ceil(y1 / mh)
        first_col, last_col = x0 // sw, min(self.per_row, math.ceil(x1 / sw))
        rect = canvas.crop((first_col * sw, first_row * mh, min(self.width, last_col * sw), min(self.height, last_row * mh)))
        parsed = _parse(encode(rect, "JPEG", self.quality, restart_marker_blocks=self.blocks))
        if parsed is None:
            return None
        _, body, mcu, interval = parsed
        across = last_col - first_col
        fresh = _RST.split(body)
        if mcu != (self.mcu_width, self.mcu_height) or interval != self.blocks or len(fresh) != across * (last_row - first_row):
            return None
        return self._splice(fresh, first_row, first_col, across)

    def _splice(self, fresh: list[bytes], first_row: int, first_col: int, across: int) -> bytes:
        """The room's file with ``fresh`` (row by row, ``across`` a row) in place of its segments
        from (``first_row``, ``first_col``). The number of segments does not change, so the room's
        own restart markers keep their numbers; the fresh segments get the numbers of the places
        they take."""
        body, starts, count = self.body, self.starts, len(self.starts)
        parts = [self.header]
        pos, k = 0, 0
        for row in range(first_row, first_row + len(fresh) // across):
            first = row * self.per_row + first_col
            parts.append(body[pos : starts[first]])
            for index in range(first, first + across):
                parts.append(fresh[k])
                k += 1
                if index < count - 1:
                    parts.append(_MARKERS[index % 8])
            end = first + across
            pos = starts[end] if end < count else len(body)
        parts.append(body[pos:])
        parts.append(_EOI)
        return b"".join(parts)


def _parse(data: bytes) -> tuple[bytes, bytes, tuple[int, int], int] | None:
    """(header up to the end of the scan header, the entropy-coded data without EOI,
    (MCU width, MCU height), restart interval in MCUs); None for a layout not to splice."""
    i, mcu, interval = 2, None, 0
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i + 4 : i + 2 + length]
        i += 2 + length
        if marker == _SOF_BASELINE:
            components = segment[5]
            hmax = max(segment[6 + 3 * c + 1] >> 4 for c in range(components))
            vmax = max(segment[6 + 3 * c + 1] & 0x0F for c in range(components))
            mcu = (8 * hmax, 8 * vmax)
        elif 0xC1 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return None  # progressive or another coding: not a layout to splice
        elif marker == _DRI:
            interval = int.from_bytes(segment[:2], "big")
        if marker == _SOS:
            body = data[i:]
            if mcu is None or not interval or not body.endswith(_EOI):
                return None
            return data[:i], body[:-2], mcu, interval
    return None
