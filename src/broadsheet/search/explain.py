"""Why a result matched, as data: snippets as (text, matched) segments (pure)."""

from __future__ import annotations

import re

from ..storage.fulltext import MARK_END, MARK_START
from ..text import delatex
from ..types import Snippet

_MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}", re.S)
LEAD_WORDS = 40


def segments(marked: str) -> Snippet:
    """``"a \\ue000b\\ue001 c"`` → ``(("a ", False), ("b", True), (" c", False))``."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in _MARKED.finditer(marked):
        if m.start() > pos:
            out.append((marked[pos : m.start()], False))
        out.append((m.group(1), True))
        pos = m.end()
    if pos < len(marked):
        out.append((marked[pos:].replace(MARK_START, "").replace(MARK_END, ""), False))
    return tuple(out)


def lead(text: str, words: int = LEAD_WORDS) -> Snippet:
    """The first words of a text, unmarked: the snippet of a paper found by meaning alone."""
    parts = delatex(text).split()
    return ((" ".join(parts[:words]) + (" …" if len(parts) > words else ""), False),) if parts else ()


def matched_terms(*snippets: Snippet) -> tuple[str, ...]:
    """The distinct matched words, lowercased, in order of appearance."""
    return tuple(dict.fromkeys(t.lower() for snip in snippets for t, hit in snip if hit))


def plain(snippet: Snippet) -> str:
    return "".join(t for t, _ in snippet)
