"""Which papers a member's mutes hide (pure: no database, no I/O).

A member mutes authors, categories and words or phrases (``types.Interest`` rows of kind
``author``, ``category`` or ``word``). Every list they see passes through ``MuteFilter.split``:
the papers it keeps, and the ones it hides (with the reason, so a page can mark them when the
member asks to see them anyway).

How each kind matches, and why:

- **author**: the author's ``text.name_key`` (folded, accent- and punctuation-insensitive) equals
  the muted name's, the same key the author pages look names up by: muting ``Jose Garcia`` hides
  papers by ``José García``, and the author page of either shows the same papers.
- **category**: a code (``cs.CV``) matches a paper filed under it, as its primary category or a
  cross-list; an archive (``cs``, ``astro-ph``) matches every category in it (``cs.CV``,
  ``astro-ph.GA``) and the bare archive code that old papers carry.
- **word / phrase**: whole words of the title and abstract, through the tokenizer the full-text
  index uses (``text.index_words``: runs of letters and digits, lowercased, after LaTeX accents
  are applied) with accents removed, so muting ``GAN`` does not hide ``organ`` and muting
  ``Poincare`` hides ``Poincar\\'e``. A phrase (``large language model``) matches its words in a row.
  Words are not stemmed (muting ``general`` must not hide ``generation``, which Porter stems
  alike); a plural ``s`` / ``es`` on the text's word still matches (``GAN`` hides ``GANs``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..text import delatex, index_words, name_key
from ..types import Interest, Paper

T = TypeVar("T")

MUTE_KINDS = ("author", "category", "word")


def words_of(text: str) -> list[str]:
    """The words of a text as mutes compare them: the full-text tokenizer's words (LaTeX accents
    applied first), without accents."""
    out = []
    for w in index_words(delatex(text)):
        if not w.isascii():
            w = "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
        out.append(w)
    return out


def category_matches(value: str, categories: Iterable[str]) -> bool:
    """Whether a muted (or followed) category or archive covers any of these category codes."""
    if "." in value:
        return value in categories
    prefix = value + "."
    return any(c == value or c.startswith(prefix) for c in categories)


@dataclass(frozen=True, slots=True)
class Muted(Generic[T]):
    """An item a member's mutes hide, and the first mute that hides it (``author: Ada Lovelace``)."""

    item: T
    reason: str


@dataclass(frozen=True, slots=True)
class MuteFilter:
    """A member's mutes, made ready for matching. ``MuteFilter.none()`` hides nothing (a visitor
    who is not logged in, a member without mutes)."""

    authors: dict[str, str]  # name key -> the name as muted
    categories: tuple[str, ...]
    phrases: tuple[tuple[tuple[str, ...], str], ...]  # (words, the word or phrase as muted)
    patterns: tuple[re.Pattern[str] | None, ...] = ()  # per phrase of 2+ words (``_phrase_pattern``)
    first_words: tuple[str, ...] = ()  # a text with none of these in it cannot match a phrase

    @classmethod
    def none(cls) -> MuteFilter:
        return cls({}, (), ())

    @classmethod
    def of(cls, mutes: Iterable[Interest]) -> MuteFilter:
        authors: dict[str, str] = {}
        categories: list[str] = []
        phrases: list[tuple[tuple[str, ...], str]] = []
        for m in mutes:
            if m.kind == "author" and name_key(m.value):
                authors.setdefault(name_key(m.value), m.value)
            elif m.kind == "category" and m.value:
                categories.append(m.value)
            elif m.kind == "word":
                words = tuple(words_of(m.value))
                if words:
                    phrases.append((words, m.value))
        patterns = tuple(_phrase_pattern(w) if len(w) > 1 else None for w, _ in phrases)
        first = tuple(sorted({w[0] for w, _ in phrases}))
        return cls(authors, tuple(categories), tuple(phrases), patterns, first)

    def __bool__(self) -> bool:
        return bool(self.authors or self.categories or self.phrases)

    def reason(self, paper: Paper) -> str | None:
        """Why this paper is hidden (``word: GAN``), or None when no mute hides it."""
        return self.reason_of(paper.authors, paper.categories, paper.primary_category, paper.title, paper.abstract)

    def reason_of(
        self,
        authors: Iterable[str],
        categories: Iterable[str],
        primary_category: str | None,
        title: str,
        abstract: str,
    ) -> str | None:
        """``reason`` for a caller that holds a paper's parts rather than a ``Paper`` (a ranking
        pool): the same rules, so a list and For you hide the same papers."""
        if self.authors:
            for a in authors:
                muted = self.authors.get(_name_key(a))
                if muted is not None:
                    return f"author: {muted}"
        if self.categories:
            cats = set(categories)
            if primary_category:
                cats.add(primary_category)
            for c in self.categories:
                if category_matches(c, cats):
                    return f"category: {c}"
        if self.phrases:
            for text in (title, abstract):  # one at a time: a phrase stays inside one
                plain = _plain(text)
                low = plain.lower()
                if not any(w in low for w in self.first_words):  # a substring test rules most texts out
                    continue
                words = set(_WORD.findall(low))
                for (phrase, muted), pattern in zip(self.phrases, self.patterns, strict=True):
                    last = phrase[-1]
                    if (
                        (last in words or last + "s" in words or last + "es" in words)
                        and all(w in words for w in phrase[:-1])
                        and (pattern is None or pattern.search(plain))  # a phrase: its words in a row
                    ):
                        return f"word: {muted}"
        return None

    def hides(self, paper: Paper) -> bool:
        return self.reason(paper) is not None

    def split(
        self, items: Sequence[T], paper: Callable[[T], Paper] | None = None
    ) -> tuple[list[T], list[Muted[T]]]:
        """``items`` in two lists, each in the order given: the ones kept, and the ones hidden with
        why. ``paper`` gets the paper out of an item (a feed entry, a search hit); by default the
        items are papers."""
        if not self:
            return list(items), []
        get = paper or (lambda x: x)  # type: ignore[assignment,return-value]
        kept: list[T] = []
        hidden: list[Muted[T]] = []
        for item in items:
            why = self.reason(get(item))  # type: ignore[arg-type]
            if why is None:
                kept.append(item)
            else:
                hidden.append(Muted(item, why))
        return kept, hidden


def contains_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    """The word rule over token lists (``words_of``): ``phrase`` occurs as consecutive words of
    ``words``, the last one possibly with a plural ``s`` / ``es``. For callers that keep each
    paper's words already (For you's pool); ``MuteFilter`` gets the same answer from the text."""
    n = len(phrase)
    if not n:
        return False
    head, last = list(phrase[:-1]), phrase[-1]
    plural = (last, last + "s", last + "es")
    for i in range(len(words) - n + 1):
        if words[i + n - 1] in plural and list(words[i : i + n - 1]) == head:
            return True
    return False


_contains = contains_phrase  # the name For you's pool first imported


# Matching words without a token list per paper: tokenising 3,000 abstracts with ``words_of``
# cost ~0.3 s (bench/mutes.py). Plain ASCII text (no LaTeX, markup or accents: three in four
# arXiv abstracts) is used as it is: its words are the runs of ``[^\W_]`` (``_WORD``, the
# ``text.index_words`` rule) of its lowercased text, found in C; other text goes through
# ``words_of`` once (cached). A muted word is then a set lookup, and a phrase whose words are all
# there is confirmed by a regex that wants them in a row (``_phrase_pattern``).
_WORD = re.compile(r"[^\W_]+")
_NOT_PLAIN = re.compile(r"[\\${}^_]")


def _plain(text: str) -> str:
    if text.isascii() and _NOT_PLAIN.search(text) is None:
        return text
    return _words_joined(text)


@functools.lru_cache(maxsize=8192)
def _words_joined(text: str) -> str:
    """The words of a text that needs normalising, cached: the same papers come back on every
    page and every ranking of the week (a quarter of arXiv abstracts hold LaTeX or accents)."""
    return " ".join(words_of(text))


_name_key = functools.lru_cache(maxsize=65_536)(name_key)


def _phrase_pattern(words: Sequence[str]) -> re.Pattern[str]:
    r"""A phrase's words in a row, whole words (bounded by ``(?<![^\W_])`` / ``(?![^\W_])``,
    separated by ``[\W_]+``); the last may carry a plural ``s`` / ``es``."""
    body = r"[\W_]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W_]){body}(?:e?s)?(?![^\W_])", re.IGNORECASE)
