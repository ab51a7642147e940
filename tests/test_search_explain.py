"""Snippets and highlights (pure)."""

from __future__ import annotations

from broadsheet.search.explain import best_window, mark, matched_terms, query_stems
from broadsheet.search.query import parse_query


def test_marks_words_by_stem_and_phrase_words() -> None:
    stems = query_stems(parse_query('modeling networks "state space" the'))
    snippet = mark("Networks model state-space systems; the network modelled nothing.", stems)
    assert [t for t, hit in snippet if hit] == ["Networks", "model", "state", "space", "network", "modelled"]
    assert "".join(t for t, _ in snippet) == "Networks model state-space systems; the network modelled nothing."


def test_latex_is_removed_before_marking() -> None:
    snippet = mark(r"Poincar\'e inequalities for $\alpha$-stable laws", query_stems(parse_query("poincare alpha")))
    assert matched_terms(snippet) == ("poincaré", "alpha")


def test_best_window_picks_the_densest_stretch() -> None:
    text = " ".join(["filler"] * 100 + ["quantum", "error", "correction"] + ["filler"] * 100)
    snippet = best_window(text, query_stems(parse_query("quantum correction")), words=10)
    assert snippet[0] == ("…", False) and snippet[-1] == ("…", False)
    assert matched_terms(snippet) == ("quantum", "correction")
    assert len("".join(t for t, _ in snippet).split()) <= 12


def test_short_text_is_whole_and_unmarked_without_matches() -> None:
    assert best_window("Short abstract.", query_stems(parse_query("graphs"))) == (("Short abstract.", False),)
