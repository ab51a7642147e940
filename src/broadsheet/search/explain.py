"""Why a result matched, as data: snippets as (text, matched) segments (pure).

Highlighting happens here, in Python, on the few papers of a results page: words are matched by
their Porter stem, as FTS5's ``porter`` tokenizer matches them. Asking FTS5 for ``highlight()``
instead re-runs the whole MATCH over the index (10-20 ms a query at 100k papers).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..text import STOPWORDS, delatex, fold, porter_stem
from ..types import Query, SearchHit, SearchPage, Snippet

LEAD_WORDS = 40
SNIPPET_WORDS = 40
_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=1 << 15)
def _stem(word: str) -> str:
    return porter_stem(fold(word))


def query_stems(query: Query) -> frozenset[str]:
    """The stems a highlight marks: query words (without stopwords) and every word of a phrase."""
    words = [w for w in query.words if fold(w) not in STOPWORDS] or list(query.words)
    words += [w for p in query.phrases for w in _TOKEN.findall(p)]
    return frozenset(_stem(w) for w in words)


class _Matcher:
    """Tells whether a word's Porter stem is one of the query's. Porter stems keep at least the
    first three letters of a word, so most words are ruled out by a set lookup, without the
    (slow, pure-Python) stemmer."""

    def __init__(self, stems: frozenset[str]) -> None:
        self.stems = stems
        self.heads = {s[:3] for s in stems}

    def __call__(self, word: str) -> bool:
        low = word.lower() if word.isascii() else fold(word)
        return low[:3] in self.heads and _stem(low) in self.stems


def mark(text: str, stems: frozenset[str]) -> Snippet:
    """``text`` (LaTeX removed) cut into segments, the words whose stem is in ``stems`` marked."""
    plain = delatex(text)
    return _segments(plain, 0, len(plain), [m for m in _TOKEN.finditer(plain)], _Matcher(stems))


def _segments(plain: str, start: int, end: int, tokens: list[re.Match[str]], matches: _Matcher) -> Snippet:
    out: list[tuple[str, bool]] = []
    pos = start
    for m in tokens:
        if m.start() < start or m.end() > end or not matches(m.group()):
            continue
        if m.start() > pos:
            out.append((plain[pos : m.start()], False))
        out.append((m.group(), True))
        pos = m.end()
    if pos < end:
        out.append((plain[pos:end], False))
    return tuple(out)


def best_window(text: str, stems: frozenset[str], words: int = SNIPPET_WORDS) -> Snippet:
    """The ``words``-word stretch of ``text`` with the most matched words, marked, with … where cut."""
    plain = delatex(text)
    tokens = list(_TOKEN.finditer(plain))
    if not tokens:
        return ((plain, False),) if plain.strip() else ()
    matches = _Matcher(stems)
    prefix = [0]
    for m in tokens:
        prefix.append(prefix[-1] + matches(m.group()))
    width = min(words, len(tokens))  # the first of the stretches with the most matches
    first = max(range(len(tokens) - width + 1), key=lambda s: (prefix[s + width] - prefix[s], -s))
    last = min(len(tokens), first + words) - 1
    cut_start = 0 if first == 0 else tokens[first].start()
    cut_end = len(plain) if last == len(tokens) - 1 else tokens[last].end()
    body = _segments(plain, cut_start, cut_end, tokens, matches)
    before = (("…", False),) if cut_start > 0 else ()
    after = (("…", False),) if cut_end < len(plain) else ()
    return before + body + after


def lead(text: str, words: int = LEAD_WORDS) -> Snippet:
    """The first words of a text, unmarked: the snippet of a paper shown without a query."""
    parts = delatex(text).split()
    return ((" ".join(parts[:words]) + (" …" if len(parts) > words else ""), False),) if parts else ()


def matched_terms(*snippets: Snippet) -> tuple[str, ...]:
    """The distinct matched words, lowercased, in order of appearance."""
    return tuple(dict.fromkeys(t.lower() for snip in snippets for t, hit in snip if hit))


NOT_EMBEDDED = "meaning: not embedded yet"


def why(hit: SearchHit) -> str:
    """One line on why a hit ranked where it did: its score, how much of it came from the words,
    each side's rank and raw score, the matched words. A hit whose paper has no vector yet says
    so: its semantic part was imputed by the fusion, so a share "from words" would be made up."""
    parts = []
    if hit.lexical_rank is not None:
        parts.append(f"words: #{hit.lexical_rank} (BM25 {hit.lexical_score:.2f})")
    if hit.semantic_rank is not None:
        parts.append(f"meaning: #{hit.semantic_rank} (cosine {hit.semantic_score:.2f})")
    elif hit.semantic_imputed:
        parts.append(f"{NOT_EMBEDDED} (ranked by its words, its meaning counted as the weakest match's)")
    if hit.matched_terms:
        parts.append("matched " + ", ".join(hit.matched_terms))
    share = "" if hit.semantic_imputed else f", {round(100 * hit.lexical_share)}% from words"
    return f"score {hit.score:.3f}{share} · " + " · ".join(parts)


def coverage_note(page: SearchPage) -> str | None:
    """What a results page should say about the semantic side, or None: meaning search is off on
    this server, or some papers have no vector yet (meaning search cannot find them)."""
    if page.mode == "lexical":
        return None
    if not page.semantic:
        return "Meaning search is off on this server (embedder = none): these results match words only."
    if page.not_embedded:
        n = page.not_embedded
        papers = "paper is" if n == 1 else "papers are"
        return (
            f"{n:,} {papers} not embedded yet, so search by meaning cannot find "
            f"{'it' if n == 1 else 'them'} (words still do). A running server embeds them in the "
            "background; `broadsheet index` does it at once."
        )
    return None
