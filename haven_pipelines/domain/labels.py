"""How a design is named to people: by its quote, with a short piece of its id to tell twins apart.

Dagster keys the design partitions by the design asset's id (see ``defs/partitions.py`` for why the
key stays the id); everything a person reads beside that key (run tags, metadata, tables) names the
design with :func:`design_label`.
"""

from __future__ import annotations

import re

# Long enough to recognise a quote, short enough for a run tag and a table cell.
QUOTE_CHARS = 48
ID_CHARS = 8
_SPACE = re.compile(r"\s+")


def short_quote(text: str | None, limit: int = QUOTE_CHARS) -> str:
    """The quote on one line, cut at a word boundary to at most ``limit`` characters (with "…")."""
    flat = _SPACE.sub(" ", text or "").strip()
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def design_label(quote_text: str | None, asset_id: str) -> str:
    """``“Quote text” · 1a2b3c4d``: the quote and the first characters of the design's id.

    Two designs of the same quote (a second artwork of it) differ by the id part; a design without a
    quote is named ``design 1a2b3c4d``.
    """
    short_id = asset_id[:ID_CHARS]
    quote = short_quote(quote_text)
    return f"“{quote}” · {short_id}" if quote else f"design {short_id}"
