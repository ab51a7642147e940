"""Why a result matched, as data: snippets as (text, matched) segments (pure).

Highlighting happens here, in Python, on the few papers of a results page: words are matched by
their Porter stem, as FTS5's ``porter`` tokenizer matches them. Asking FTS5 for ``highlight()``
instead re-runs the whole MATCH over the index (10-20 ms a query at 100k papers).
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from ..text import STOPWORDS, delatex, fold
from ..types import Query, Snippet

LEAD_WORDS = 40
SNIPPET_WORDS = 40
_TOKEN = re.compile(r"\w+")
_STEMMER = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=1 << 15)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(fold(word))


def query_stems(query: Query) -> frozenset[str]:
    """The stems a highlight marks: query words (without stopwords) and every word of a phrase."""
    words = [w for w in query.words if fold(w) not in STOPWORDS] or list(query.words)
    words += [w for p in query.phrases for w in _TOKEN.findall(p)]
    return frozenset(_stem(w) for w in words)


def mark(text: str, stems: frozenset[str]) -> Snippet:
    """``text`` (LaTeX removed) cut into segments, the words whose stem is in ``stems`` marked."""
    plain = delatex(text)
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in _TOKEN.finditer(plain):
        if _stem(m.group()) in stems:
            if m.start() > pos:
                out.append((plain[pos : m.start()], False))
            out.append((m.group(), True))
            pos = m.end()
    if pos < len(plain):
        out.append((plain[pos:], False))
    return tuple(out)


def best_window(text: str, stems: frozenset[str], words: int = SNIPPET_WORDS) -> Snippet:
    """The ``words``-word stretch of ``text`` with the most matched words, marked, with … where cut."""
    plain = delatex(text)
    spans = [m.span() for m in re.finditer(r"\S+", plain)]
    if not spans:
        return ()
    hits = [any(_stem(t) in stems for t in _TOKEN.findall(plain[a:b])) for a, b in spans]
    best, best_start = -1, 0
    for start in range(0, max(1, len(spans) - words + 1)):
        count = sum(hits[start : start + words])
        if count > best:
            best, best_start = count, start
    end = min(len(spans), best_start + words)
    body = mark(plain[spans[best_start][0] : spans[end - 1][1]], stems)
    prefix = (("…", False),) if best_start > 0 else ()
    suffix = (("…", False),) if end < len(spans) else ()
    return prefix + body + suffix


def lead(text: str, words: int = LEAD_WORDS) -> Snippet:
    """The first words of a text, unmarked: the snippet of a paper shown without a query."""
    parts = delatex(text).split()
    return ((" ".join(parts[:words]) + (" …" if len(parts) > words else ""), False),) if parts else ()


def matched_terms(*snippets: Snippet) -> tuple[str, ...]:
    """The distinct matched words, lowercased, in order of appearance."""
    return tuple(dict.fromkeys(t.lower() for snip in snippets for t, hit in snip if hit))


def plain(snippet: Snippet) -> str:
    return "".join(t for t, _ in snippet)
