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

#: Longest quote part of a key, in characters (a key also has to fit :data:`KEY_WIDTH_PX`).
SLUG_CHARS = 24
#: Each character's width in the Dagster UI's partition list (Geist, 14 px), in pixels, measured in
#: Chromium with the list item's own font (canvas ``measureText``). Letters differ a lot: ``w`` is
#: 11.5 px, ``i`` 3.4 px, so a character count cannot tell whether a key shows whole.
KEY_CHAR_WIDTHS = {
    "a": 7.98, "b": 8.37, "c": 7.73, "d": 8.37, "e": 7.94, "f": 5.57, "g": 8.36, "h": 8.13, "i": 3.42,
    "j": 3.64, "k": 8.26, "l": 3.98, "m": 12.28, "n": 8.13, "o": 8.11, "p": 8.37, "q": 8.37, "r": 5.35,
    "s": 7.42, "t": 5.53, "u": 8.05, "v": 7.50, "w": 11.47, "x": 8.19, "y": 7.52, "z": 7.69, "-": 5.95,
    "0": 9.39, "1": 5.38, "2": 8.67, "3": 8.58, "4": 8.89, "5": 8.76, "6": 8.74, "7": 8.18, "8": 8.46,
    "9": 8.74,
}
#: The widest key the partition list was seen to show whole, as the sum of its characters' widths
#: (kerning draws a key about 2 % narrower than the sum): ``roots-before-branches-8098c99f`` sums to
#: 222.53 px and showed whole; ``you-were-never-broken-8262dd8f`` sums to 228.51 px and was cut in the
#: middle (``you-were-never…roken-8262dd8f``).
KEY_WIDTH_PX = 222.6
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


def key_width(text: str) -> float:
    """``text``'s width in pixels in the Dagster UI's partition list (see :data:`KEY_CHAR_WIDTHS`)."""
    widest = max(KEY_CHAR_WIDTHS.values())
    return sum(KEY_CHAR_WIDTHS.get(ch, widest) for ch in text)


def quote_slug(text: str | None, limit: int = SLUG_CHARS, width: float | None = None) -> str:
    """The quote as lower-case ASCII words joined by ``-``, cut at a word to at most ``limit`` characters
    and, when ``width`` is given, to at most ``width`` pixels (:func:`key_width`).

    Accents are dropped (``Café`` -> ``cafe``), apostrophes join (``don’t`` -> ``dont``), anything else
    that is not a letter or digit separates words. A single word longer than the limits is cut inside.
    A quote with nothing left (no quote, only punctuation, or a script without ASCII letters) gives
    :data:`EMPTY_SLUG`.
    """
    ascii_text = unicodedata.normalize("NFKD", (text or "").translate(_LETTERS)).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALNUM.sub("-", _APOSTROPHES.sub("", ascii_text).lower()).strip("-")
    if len(slug) > limit:
        # Cut at the last word end that fits (a word that ends exactly at the limit is kept whole).
        cut = slug[: limit + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:limit]
    slug = slug.strip("-")
    if width is not None and key_width(slug) > width:
        words = slug.split("-")
        while len(words) > 1 and key_width("-".join(words)) > width:
            words.pop()
        slug = "-".join(words)
        while len(slug) > 1 and key_width(slug) > width:
            slug = slug[:-1]
    return slug or EMPTY_SLUG


def id_hex(asset_id: str) -> str:
    """The design id's letters and digits, lower case (a UUID's 32 hex digits)."""
    return re.sub(r"[^0-9a-f]", "", asset_id.lower())


def design_partition_key(quote_text: str | None, asset_id: str, id_chars: int = KEY_ID_LENGTHS[0]) -> str:
    """``roots-before-branches-6e714a3a``: the quote's slug, then the first ``id_chars`` hex digits of the id.

    With the usual 8 digits the key is at most :data:`KEY_WIDTH_PX` wide, so the partition list shows
    it whole: ``you-were-never-broken-8262dd8f`` (228.5 px) is ``you-were-never-8262dd8f``.

    Always a valid Dagster partition key (lower-case letters, digits and ``-``; at most 57 characters).
    An id without hex digits (only in hand-made test data) contributes the hex of its text instead.
    """
    digits = id_hex(asset_id) or asset_id.encode().hex()
    # The quote part leaves room for the 8-digit id, so the usual key shows whole in the list; the
    # rare longer id (a collision) keeps the same quote part and may be cut.
    room = KEY_WIDTH_PX - key_width("-" + digits[: KEY_ID_LENGTHS[0]])
    return f"{quote_slug(quote_text, width=room)}-{digits[:id_chars]}"


def design_partition_key_candidates(quote_text: str | None, asset_id: str) -> list[str]:
    """The keys to try for a design, shortest first: the first that no other design holds is its key."""
    return list(dict.fromkeys(design_partition_key(quote_text, asset_id, n) for n in KEY_ID_LENGTHS))


def looks_like_partition_key(text: str) -> bool:
    """True when ``text`` has the shape of a design key (slug, ``-``, 8 to 32 hex digits)."""
    return bool(_KEY.match(text)) and len(text) <= SLUG_CHARS + 1 + KEY_ID_LENGTHS[-1]
