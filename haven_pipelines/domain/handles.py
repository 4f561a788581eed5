"""Shopify-safe product handles: a slug of the title plus a short, stable suffix.

A handle is what ``productSet`` upserts by before Shopify has given the product an id, so it must be
the same every time the same product is built: it depends only on the title and the product id,
never on the clock or on what already exists in the shop. The suffix keeps two products with the
same title (two designs of one quote) apart.
"""

from __future__ import annotations

import re
import unicodedata

MAX_HANDLE_LENGTH = 255
SUFFIX_LENGTH = 8
FALLBACK_SLUG = "print"

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str, max_length: int = MAX_HANDLE_LENGTH) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens, at most ``max_length`` long.

    Accents are folded (``Café`` -> ``cafe``); other characters (quotes, emoji, punctuation) become
    word breaks. When the slug must be cut it is cut at a hyphen where one is near, so that a word
    is not left half-written. A text with no letters or digits gives ``""``.

    Args:
        text: any text, typically a product title.
        max_length: the longest slug to return (at least 1).

    Returns:
        The slug, possibly empty.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", folded.lower()).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[:max_length]
    # Prefer a word boundary unless that would throw away most of the room.
    boundary = cut.rfind("-")
    if slug[max_length] != "-" and boundary >= max_length // 2:
        cut = cut[:boundary]
    return cut.strip("-")


def handle_suffix(ident: str, length: int = SUFFIX_LENGTH) -> str:
    """The first ``length`` letters and digits of an id, lower case (``3F2A9C1E-...`` -> ``3f2a9c1e``)."""
    cleaned = _NOT_SLUG.sub("", ident.lower())
    if not cleaned:
        raise ValueError(f"id has no letters or digits to make a handle suffix from: {ident!r}")
    return cleaned[:length]


def product_handle(title: str, ident: str, max_length: int = MAX_HANDLE_LENGTH) -> str:
    """``<slug of title>-<suffix of ident>``, within ``max_length``; ``print-<suffix>`` for a title with no letters.

    Args:
        title: the product title.
        ident: the product id (or the design id for an automatically built product).
        max_length: Shopify allows 255 characters.

    Returns:
        A handle that :func:`is_valid_handle` accepts and that is the same for the same arguments.
    """
    suffix = handle_suffix(ident)
    room = max_length - len(suffix) - 1
    if room < 1:
        raise ValueError(f"max_length {max_length} leaves no room for a slug before the suffix {suffix!r}")
    slug = slugify(title, room) or FALLBACK_SLUG[:room]
    return f"{slug}-{suffix}"


def is_valid_handle(handle: str, max_length: int = MAX_HANDLE_LENGTH) -> bool:
    """Whether ``handle`` is lower-case letters and digits in hyphen-separated runs, 1..max_length long."""
    return 0 < len(handle) <= max_length and _HANDLE.match(handle) is not None
