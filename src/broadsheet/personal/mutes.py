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
        return cls(authors, tuple(categories), tuple(phrases))

    def __bool__(self) -> bool:
        return bool(self.authors or self.categories or self.phrases)

    def reason(self, paper: Paper) -> str | None:
        """Why this paper is hidden (``word: GAN``), or None when no mute hides it."""
        if self.authors:
            for a in paper.authors:
                muted = self.authors.get(name_key(a))
                if muted is not None:
                    return f"author: {muted}"
        if self.categories:
            cats = set(paper.categories)
            if paper.primary_category:
                cats.add(paper.primary_category)
            for c in self.categories:
                if category_matches(c, cats):
                    return f"category: {c}"
        if self.phrases:
            words = words_of(paper.title) + [""] + words_of(paper.abstract)  # "" keeps phrases inside one field
            for phrase, muted in self.phrases:
                if _contains(words, phrase):
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


def _word_matches(text_word: str, muted: str) -> bool:
    return text_word == muted or (
        text_word.startswith(muted) and text_word[len(muted) :] in ("s", "es")
    )


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` occurs as consecutive words of ``words`` (the last word of the phrase may
    carry a plural ending; the others must be exact)."""
    n = len(phrase)
    first, last = phrase[0], phrase[-1]
    for i in range(len(words) - n + 1):
        if n == 1:
            if _word_matches(words[i], first):
                return True
            continue
        if words[i] == first and list(words[i + 1 : i + n - 1]) == list(phrase[1:-1]) and _word_matches(
            words[i + n - 1], last
        ):
            return True
    return False
