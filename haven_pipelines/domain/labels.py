"""How a design is named to people: by its quote, with a short piece of its id to tell twins apart.

Two names, both built here and nowhere else:

- :func:`design_label`, ``“Roots before branches.” · 6e714a3a``, for what a person reads (run tags,
  metadata, tables): the quote as written, so it follows the quote when the quote is edited.
- :func:`design_partition_key`, ``roots-before-branches-6e714a3a``, the design's Dagster partition key: what
  the partition list shows. It is computed once, when the design is created, and stored with it
  (``assets.partition_key``), so editing the quote never moves a design to another partition. See
  ``defs/partitions.py`` and docs/dagster.md for why a key looks like this.
"""

from __future__ import annotations

import re
import unicodedata

# Long enough to recognise a quote, short enough for a run tag and a table cell.
QUOTE_CHARS = 48
ID_CHARS = 8
_SPACE = re.compile(r"\s+")

#: Longest quote part of a key. The Dagster UI's partition list shows about 32 characters of a key
#: before it cuts the key in the middle; 24 + ``-`` + 8 hex digits is 33 at most, so a key shows whole.
SLUG_CHARS = 24
#: Hex digits of the id a key carries: 8, and more only when two designs would otherwise share a key.
KEY_ID_LENGTHS = (8, 12, 16, 20, 24, 28, 32)
#: The slug of a design whose quote has no letter or digit to spell (or that has no quote).
EMPTY_SLUG = "design"
# Apostrophes join a word ("don't" -> "dont"), every other run of non-alphanumerics separates words.
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Latin letters that Unicode does not decompose into an ASCII letter and a mark.
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ø": "o", "Ø": "O", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i"})
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{8,32}$")


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


def quote_slug(text: str | None, limit: int = SLUG_CHARS) -> str:
    """The quote as lower-case ASCII words joined by ``-``, cut at a word to at most ``limit`` characters.

    Accents are dropped (``Café`` -> ``cafe``), apostrophes join (``don’t`` -> ``dont``), anything else
    that is not a letter or digit separates words. A single word longer than ``limit`` is cut inside.
    A quote with nothing left (no quote, only punctuation, or a script without ASCII letters) gives
    :data:`EMPTY_SLUG`.
    """
    ascii_text = unicodedata.normalize("NFKD", (text or "").translate(_LETTERS)).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALNUM.sub("-", _APOSTROPHES.sub("", ascii_text).lower()).strip("-")
    if len(slug) > limit:
        # Cut at the last word end that fits (a word that ends exactly at the limit is kept whole).
        cut = slug[: limit + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:limit]
    return slug.strip("-") or EMPTY_SLUG


def id_hex(asset_id: str) -> str:
    """The design id's letters and digits, lower case (a UUID's 32 hex digits)."""
    return re.sub(r"[^0-9a-f]", "", asset_id.lower())


def design_partition_key(quote_text: str | None, asset_id: str, id_chars: int = KEY_ID_LENGTHS[0]) -> str:
    """``roots-before-branches-6e714a3a``: the quote's slug, then the first ``id_chars`` hex digits of the id.

    Always a valid Dagster partition key (lower-case letters, digits and ``-``; at most 57 characters).
    An id without hex digits (only in hand-made test data) contributes the hex of its text instead.
    """
    digits = id_hex(asset_id) or asset_id.encode().hex()
    return f"{quote_slug(quote_text)}-{digits[:id_chars]}"


def design_partition_key_candidates(quote_text: str | None, asset_id: str) -> list[str]:
    """The keys to try for a design, shortest first: the first that no other design holds is its key."""
    return list(dict.fromkeys(design_partition_key(quote_text, asset_id, n) for n in KEY_ID_LENGTHS))


def looks_like_partition_key(text: str) -> bool:
    """True when ``text`` has the shape of a design key (slug, ``-``, 8 to 32 hex digits)."""
    return bool(_KEY.match(text)) and len(text) <= SLUG_CHARS + 1 + KEY_ID_LENGTHS[-1]
