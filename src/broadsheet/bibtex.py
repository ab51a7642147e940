"""A paper as a BibTeX entry (pure): ``@misc`` with arXiv's eprint fields, as arxiv.org exports it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .ids import is_arxiv_id
from .text import fold
from .types import Paper

_WORD_RE = re.compile(r"[a-z0-9]+")
_SKIP = frozenset(
    {"a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "towards", "via"}
)


def cite_key(paper: Paper) -> str:
    """``lastname`` + year + first significant title word: ``vaswani2017attention``."""
    surname = (
        _WORD_RE.findall(fold(paper.authors[0]).split()[-1]) if paper.authors else []
    )
    year = paper.published.year if paper.published else ""
    words = [w for w in _WORD_RE.findall(fold(paper.title)) if w not in _SKIP]
    key = "".join(surname[:1]) + str(year) + (words[0] if words else "")
    return key or paper.arxiv_id.replace("/", "-")


def _braced(value: str) -> str:
    """A field value inside braces; with unbalanced braces, none are kept (the entry must parse)."""
    value = " ".join(value.split())
    depth = 0
    for ch in value:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            break
    if depth != 0:
        value = value.replace("{", "").replace("}", "")
    return "{" + value + "}"


def to_bibtex(paper: Paper) -> str:
    fields: list[tuple[str, str]] = [("title", paper.title)]
    if paper.authors:
        fields.append(("author", " and ".join(paper.authors)))
    if paper.published:
        fields.append(("year", str(paper.published.year)))
    if is_arxiv_id(paper.arxiv_id):
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
        fields.append(("url", f"https://arxiv.org/abs/{paper.arxiv_id}"))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.journal_ref:
        fields.append(("journal", paper.journal_ref))
    body = ",\n".join(f"  {name} = {_braced(value)}" for name, value in fields)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}"


def to_bibtex_list(papers: Iterable[Paper]) -> str:
    """Several papers as one ``.bib`` file: entries in order, a blank line apart, cite keys made
    unique (``vaswani2017attention``, ``vaswani2017attentiona``, ...), each paper once."""
    entries, keys, seen = [], set(), set()
    for paper in papers:
        if paper.arxiv_id in seen:
            continue
        seen.add(paper.arxiv_id)
        entry = to_bibtex(paper)
        key = base = cite_key(paper)
        n = 0
        while key in keys:
            key = base + _suffix(n)
            n += 1
        keys.add(key)
        if key != base:
            entry = entry.replace("{" + base + ",", "{" + key + ",", 1)
        entries.append(entry)
    return "\n\n".join(entries) + ("\n" if entries else "")


def _suffix(n: int) -> str:
    """a, b, ..., z, aa, ab, ...: as BibTeX tools disambiguate keys."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out
