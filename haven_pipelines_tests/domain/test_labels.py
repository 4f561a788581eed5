"""Designs named by their quote: short, on one line, told apart by their id."""

from hypothesis import given
from hypothesis import strategies as st

from haven_pipelines.domain.labels import (
    EMPTY_SLUG,
    KEY_WIDTH_PX,
    QUOTE_CHARS,
    SLUG_CHARS,
    design_partition_key,
    design_partition_key_candidates,
    design_label,
    key_width,
    looks_like_partition_key,
    quote_slug,
    short_quote,
)

ID = "c550cbab-1219-5944-b46c-172e4a4b5392"


def test_a_design_is_named_by_its_quote_and_the_start_of_its_id():
    assert design_label("You were never broken, only becoming.", ID) == "“You were never broken, only becoming.” · c550cbab"


def test_two_designs_of_one_quote_differ_by_their_ids():
    other = "0f0e0d0c-1219-5944-b46c-172e4a4b5392"
    assert design_label("Roots before branches.", ID) != design_label("Roots before branches.", other)


def test_a_long_quote_is_cut_at_a_word_on_one_line():
    text = "Breathe in the morning,\n  let the day    arrive slowly, and keep what is kind from yesterday"
    short = short_quote(text)
    assert len(short) <= QUOTE_CHARS and short.endswith("…") and "\n" not in short and "  " not in short
    assert text.replace("\n", " ").split()[:4] == short.rstrip("…").split()[:4]
    assert not short.rstrip("…").endswith((" ", ","))


def test_a_design_without_a_quote_is_named_by_its_id():
    assert design_label(None, ID) == "design c550cbab"
    assert design_label("   ", ID) == "design c550cbab"


# -- partition keys --------------------------------------------------------------------------------

KEY_ID = "6e714a3a-9f0c-4b8e-a1d2-3c4b5a697887"


def test_a_key_is_the_quote_slug_then_eight_hex_digits_of_the_id():
    assert design_partition_key("Roots before branches.", KEY_ID) == "roots-before-branches-6e714a3a"


def test_the_slug_is_lower_case_ascii_words():
    assert quote_slug("Café, s’il vous plaît!") == "cafe-sil-vous-plait"
    assert quote_slug("Don't  stop — ever…") == "dont-stop-ever"
    assert quote_slug("  ÆON   Ωmega 42 ") == "aeon-mega-42"  # letters without an ASCII form drop out
    assert quote_slug("Straße, Łódź, Søren") == "strasse-lodz-soren"


def test_the_slug_is_cut_at_a_word_to_24_characters():
    quote = "You are allowed to be both a masterpiece and a work in progress"
    slug = quote_slug(quote)
    assert slug == "you-are-allowed-to-be"
    assert len(slug) <= SLUG_CHARS == 24
    # A word ending exactly at the limit is kept whole.
    assert quote_slug("a" * 19 + " bcde fgh") == "a" * 19 + "-bcde"
    # One word longer than the limit is cut inside.
    assert quote_slug("x" * 50) == "x" * SLUG_CHARS


def test_a_key_is_cut_at_a_word_by_its_width_in_the_partition_list():
    # Measured in Chromium: this key (228.5 px as a sum of its letters) was cut in the list's middle,
    # while the same count of narrower letters (222.5 px) showed whole.
    assert key_width("you-were-never-broken-8262dd8f") > KEY_WIDTH_PX >= key_width("roots-before-branches-8098c99f")
    assert design_partition_key("You were never broken, only bending.", "8262dd8f-1b2c-4d5e-8f90-a1b2c3d4e5f6") == \
        "you-were-never-8262dd8f"
    assert design_partition_key("Roots before branches.", "8098c99f-1b2c-4d5e-8f90-a1b2c3d4e5f6") == \
        "roots-before-branches-8098c99f"
    # Wide letters leave fewer characters: a word of m's is cut inside to fit.
    key = design_partition_key("m" * 24, KEY_ID)
    assert key_width(key) <= KEY_WIDTH_PX and key.endswith("-6e714a3a") and set(key[:-9]) == {"m"}
    assert len(key) < 24 + 9
    # Narrow letters may use all 24 characters of quote.
    assert design_partition_key("i" * 24, KEY_ID) == "i" * 24 + "-6e714a3a"


def test_a_quote_with_nothing_to_spell_gives_design():
    for quote in (None, "", "   ", "…!?—", "静かに", "Ωψ"):
        assert quote_slug(quote) == EMPTY_SLUG
    assert design_partition_key(None, KEY_ID) == "design-6e714a3a"
    assert design_partition_key("静かに", KEY_ID) == "design-6e714a3a"


def test_short_quotes_keep_their_words():
    assert design_partition_key("Be.", KEY_ID) == "be-6e714a3a"
    assert design_partition_key("1", KEY_ID) == "1-6e714a3a"


def test_collision_candidates_lengthen_the_id_part():
    candidates = design_partition_key_candidates("Roots before branches.", KEY_ID)
    assert candidates[:3] == ["roots-before-branches-6e714a3a", "roots-before-branches-6e714a3a9f0c",
                              "roots-before-branches-6e714a3a9f0c4b8e"]
    assert candidates[-1] == "roots-before-branches-" + KEY_ID.replace("-", "")
    assert len(candidates) == len(set(candidates)) == 7


def test_two_designs_of_one_quote_get_different_keys():
    other = "6e714a3b-0000-4000-8000-000000000000"
    assert design_partition_key("Roots before branches.", KEY_ID) != design_partition_key("Roots before branches.", other)


def test_the_key_shape_is_recognised():
    assert looks_like_partition_key("roots-before-branches-6e714a3a")
    assert looks_like_partition_key("design-6e714a3a9f0c")
    assert not looks_like_partition_key("roots-before-branches")
    assert not looks_like_partition_key("Roots-6e714a3a")
    assert not looks_like_partition_key("not-a-uuid")
    assert not looks_like_partition_key("6e714a3a")


@given(st.text(max_size=300), st.uuids())
def test_every_key_is_a_valid_partition_key_of_its_design(quote, design_id):
    asset_id = str(design_id)
    for key in design_partition_key_candidates(quote, asset_id):
        assert looks_like_partition_key(key), key
        assert len(key) <= 57
        assert key.endswith(key.rsplit("-", 1)[1]) and asset_id.replace("-", "").startswith(key.rsplit("-", 1)[1])
        assert not any(c in key for c in ",[]") and "..." not in key  # what Dagster refuses in a key
    assert key_width(design_partition_key(quote, asset_id)) <= KEY_WIDTH_PX  # shows whole in the list
