"""JPEG output that re-encodes only the rows a render changed, and reuses the room's encoded rows.

A mockup differs from its room only inside the frame's opening, yet encoding the whole picture was
most of a render's time. A baseline JPEG written with a restart marker after every row of MCUs
(``restart_marker_rows=1``) is a header followed by one independent piece of entropy-coded data per
MCU row: each restart resets the DC predictors, and with the standard Huffman tables
(``optimize=False``) and the same quality, the bytes of a row depend on that row's pixels only.

So the room is encoded once (:meth:`JpegRows.from_image`), and each render encodes only the strip of
whole MCU rows that holds the opening (:meth:`JpegRows.encode`) and splices those rows in place of
the room's, renumbering the restart markers. The result is byte for byte the JPEG that encoding the
whole picture with the same settings gives (a test holds it to that), so nothing of quality is
traded; the markers cost two bytes a row. Where the layout is not the one expected (another
encoder, a mismatch in row counts) :meth:`JpegRows.from_image` returns None and the caller encodes
the whole picture as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PIL import Image

from haven_pipelines.rendering.images import encode

_RST = re.compile(rb"\xff[\xd0-\xd7]")  # in entropy-coded data a real 0xFF byte is stuffed as FF 00
_SOF_BASELINE = 0xC0
_SOS = 0xDA


@dataclass(frozen=True)
class JpegRows:
    """One picture encoded as a header and one entropy-coded piece per MCU row."""

    header: bytes
    rows: tuple[bytes, ...]
    mcu_height: int
    width: int
    height: int
    quality: int

    @classmethod
    def from_image(cls, image: Image.Image, quality: int) -> JpegRows | None:
        """Encode ``image`` (RGB) with a restart marker per MCU row; None if its layout is not usable."""
        if image.mode != "RGB":
            return None
        parsed = _parse(encode(image, "JPEG", quality, restart_marker_rows=1))
        if parsed is None:
            return None
        header, rows, mcu_height = parsed
        if len(rows) != math.ceil(image.height / mcu_height):
            return None
        return cls(header, tuple(rows), mcu_height, image.width, image.height, quality)

    def encode(self, canvas: Image.Image, top: int, bottom: int) -> bytes | None:
        """The JPEG of ``canvas``, which equals the encoded picture outside pixel rows [top, bottom).

        Returns None when the strip does not encode to the expected rows (the caller then encodes
        the whole canvas).
        """
        if canvas.size != (self.width, self.height) or canvas.mode != "RGB":
            return None
        first = max(0, top) // self.mcu_height
        last = min(len(self.rows), math.ceil(min(bottom, self.height) / self.mcu_height))
        if last <= first:
            return None
        strip = canvas.crop((0, first * self.mcu_height, self.width, min(self.height, last * self.mcu_height)))
        parsed = _parse(encode(strip, "JPEG", self.quality, restart_marker_rows=1))
        if parsed is None or len(parsed[1]) != last - first or parsed[2] != self.mcu_height:
            return None
        rows = self.rows[:first] + tuple(parsed[1]) + self.rows[last:]
        out = bytearray(self.header)
        for i, row in enumerate(rows):
            out += row
            if i < len(rows) - 1:
                out += bytes((0xFF, 0xD0 + i % 8))
        out += b"\xff\xd9"
        return bytes(out)


def _parse(data: bytes) -> tuple[bytes, list[bytes], int] | None:
    """(header up to the end of the scan header, the rows between restart markers, MCU height)."""
    i, mcu_height = 2, 0
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i + 4 : i + 2 + length]
        i += 2 + length
        if marker == _SOF_BASELINE:
            components = segment[5]
            vmax = max(segment[6 + 3 * c + 1] & 0x0F for c in range(components))
            mcu_height = 8 * vmax
        elif 0xC1 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return None  # progressive or another coding: not a layout to splice
        if marker == _SOS:
            body = data[i:]
            if not mcu_height or not body.endswith(b"\xff\xd9"):
                return None
            return data[:i], _RST.split(body[:-2]), mcu_height
    return None
