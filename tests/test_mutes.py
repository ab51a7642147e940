"""What a member's mutes hide (personal/mutes.py, pure): whole words through the index's
tokenizer, phrases in a row, plurals, accents and LaTeX, authors by their folded name, categories
and whole archives."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from broadsheet.personal.mutes import MuteFilter, category_matches, contains_phrase, words_of
from broadsheet.types import Interest, Paper

T0 = datetime(2026, 11, 28, 12, 0)


def _paper(title: str = "A title", abstract: str = "An abstract.", authors=("Ada Lovelace",), cats=("cs.LG",), primary=None) -> Paper:
    return Paper(
        arxiv_id="2401.00001", title=title, abstract=abstract, authors=tuple(authors), version=1,
        categories=tuple(cats), primary_category=primary or (cats[0] if cats else None),
        published=date(2024, 1, 1), updated=None, doi=None, journal_ref=None, comments=None,
        github_repo=None, project_page=None, external_upvotes=0, upvotes=0, num_comments=0,
        source="test", source_ref="t", first_seen=T0, last_changed=T0,
    )  # fmt: skip


def _mutes(*pairs: tuple[str, str]) -> MuteFilter:
    return MuteFilter.of(Interest(i, kind, value, T0) for i, (kind, value) in enumerate(pairs, 1))


def test_a_word_mute_matches_whole_words_only() -> None:
    f = _mutes(("word", "GAN"))
    assert f.reason(_paper("Training a GAN on faces")) == "word: GAN"
    assert f.hides(_paper(abstract="We compare GANs with diffusion."))  # a plural still matches
    assert f.hides(_paper("gan-based image synthesis"))  # hyphens split words, as the index does
    assert not f.hides(_paper("The organ of Corti"))  # inside another word: not hidden
    assert not f.hides(_paper("Organic chemistry", "Slogans and GANNETs."))


def test_phrases_match_their_words_in_a_row_within_one_field() -> None:
    f = _mutes(("word", "large language model"))
    assert f.hides(_paper("Large Language Models are few-shot learners"))
    assert f.hides(_paper(abstract="A large-language model, fine-tuned."))
    assert not f.hides(_paper("Large models of language"))
    assert not f.hides(_paper("On the large", "language model."))  # across title and abstract: no


def test_accents_and_latex_are_folded_on_both_sides() -> None:
    assert words_of(r"Poincar\'e–Birkhoff on {\em Schrödinger}") == ["poincare", "birkhoff", "on", "schrodinger"]
    assert _mutes(("word", "poincare")).hides(_paper(r"Poincar\'e duality"))
    assert _mutes(("word", "Poincaré")).hides(_paper("Poincare duality"))
    assert _mutes(("word", "schrodinger")).hides(_paper(abstract="The Schrödinger equation."))


def test_authors_match_by_folded_name() -> None:
    f = _mutes(("author", "jose  garcia"))
    assert f.reason(_paper(authors=("Ann Smith", "José García"))) == "author: jose  garcia"
    assert f.hides(_paper(authors=(r"Jos\'e Garc\'ia",)))
    assert not f.hides(_paper(authors=("José García-Lopez",)))
    assert not f.hides(_paper(authors=("Jose",)))


@pytest.mark.parametrize(
    ("muted", "cats", "hidden"),
    [
        ("cs.CV", ("cs.LG", "cs.CV"), True),  # a cross-list counts
        ("cs.CV", ("cs.CVX",), False),
        ("cs", ("math.OC", "cs.LG"), True),  # an archive covers its categories
        ("cs", ("csx.LG",), False),
        ("astro-ph", ("astro-ph.GA",), True),
        ("astro-ph", ("astro-ph",), True),  # old papers carry the bare archive
        ("astro-ph.GA", ("astro-ph",), False),
        ("hep-th", ("hep-ph",), False),
    ],
)
def test_categories_and_archives(muted: str, cats: tuple[str, ...], hidden: bool) -> None:
    assert category_matches(muted, cats) is hidden
    assert _mutes(("category", muted)).hides(_paper(cats=cats)) is hidden


def test_primary_category_counts_even_if_not_listed() -> None:
    assert _mutes(("category", "cs.CV")).hides(_paper(cats=("cs.LG",), primary="cs.CV"))


def test_split_keeps_order_and_says_why() -> None:
    papers = [_paper(f"Paper {i} on {topic}") for i, topic in enumerate(["GAN", "graphs", "GANs", "proteins"])]
    kept, hidden = _mutes(("word", "gan"), ("author", "Nobody")).split(papers)
    assert [p.title for p in kept] == ["Paper 1 on graphs", "Paper 3 on proteins"]
    assert [(m.item.title, m.reason) for m in hidden] == [("Paper 0 on GAN", "word: gan"), ("Paper 2 on GANs", "word: gan")]
    entries = [("x", p) for p in papers]
    kept2, hidden2 = _mutes(("word", "gan")).split(entries, paper=lambda e: e[1])
    assert len(kept2) == 2 and len(hidden2) == 2


def test_no_mutes_hide_nothing() -> None:
    none = MuteFilter.none()
    assert not none and not _mutes(("word", "!!!"))  # a word without letters is no mute
    papers = [_paper("GAN")]
    assert none.split(papers) == (papers, [])


def _reference_hides(phrase: tuple[str, ...], text: str) -> bool:
    """The rule over token lists (``contains_phrase`` on ``words_of``)."""
    return contains_phrase(words_of(text), phrase)


def test_contains_phrase() -> None:
    words = words_of("Large language models, a GAN and organs")
    assert contains_phrase(words, ("large", "language", "model"))
    assert contains_phrase(words, ("gan",)) and contains_phrase(words, ("organ",))
    assert not contains_phrase(words, ("language", "large")) and not contains_phrase(words, ("org",))
    assert not contains_phrase(words, ()) and not contains_phrase([], ("gan",))


def test_the_fast_word_match_agrees_with_the_token_rule() -> None:
    """The regex over raw text (``MuteFilter.pattern``) against the token-list rule, on random
    texts mixing words, plurals, punctuation, underscores, LaTeX accents and math, and Unicode."""
    import random

    rng = random.Random(7)
    pieces = ["gan", "GANs", "organ", "GAN-based", "large", "Language", "models", "model", "x_gan", "gan_x",
              r"Poincar\'e", "Poincaré", "poincare", "$\\alpha$-GAN", "{GAN}", "ganes", "gans.", "(GAN)",
              "LANGUAGE—MODEL", "naïve", "naive", "3D", "3d-GAN", "über", "uber", "  ", ",", "e.g.", "α"]  # fmt: skip
    mutes = [("gan",), ("large", "language", "model"), ("poincare",), ("naive",), ("3d", "gan"), ("uber",), ("alpha", "gan")]
    checked = 0
    for _ in range(3000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        for phrase in mutes:
            f = _mutes(("word", " ".join(phrase)))
            got = f.hides(_paper(title=text, abstract="-"))
            assert got == _reference_hides(phrase, text), (phrase, text)
            checked += got
    assert checked > 1000  # the texts did match often: the comparison is not all "no"


def test_reason_of_parts_is_reason_of_the_paper() -> None:
    f = _mutes(("word", "GAN"), ("category", "astro-ph"), ("author", "Ada Lovelace"))
    for p in (_paper("GANs"), _paper(cats=("astro-ph.GA",)), _paper(authors=("ADA LOVELACE",)), _paper("Organ")):
        assert f.reason_of(p.authors, p.categories, p.primary_category, p.title, p.abstract) == f.reason(p)
