"""Designs named by their quote: short, on one line, told apart by their id."""

from haven_pipelines.domain.labels import QUOTE_CHARS, design_label, short_quote

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
