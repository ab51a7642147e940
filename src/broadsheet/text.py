"""Text normalisation for indexing and matching: LaTeX accents and markup, diacritics, case.

Titles and abstracts are stored as the source serves them (arXiv keeps LaTeX: ``Poincar\\'e``,
``$\\alpha$``); these functions make the text that search indexes and compares.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import unicodedata

# LaTeX accent commands → Unicode combining marks.
_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "r": "\u030a",
    "k": "\u0328",
}  # fmt: skip
_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
    "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}  # fmt: skip
# \'e  \'{e}  {\'e}  \c{c}  \v s   (symbol accents need no space; letter accents need braces/space)
_ACCENT_RE = re.compile(
    r"""\{?\\(?:(?P<sym>['`^"~=.])|(?P<let>[cvuHrk])(?=[\s{]))\s*"""
    r"""(?:\{\s*(?P<b1>\\?[A-Za-z])\s*\}|(?P<b2>\\?[A-Za-z]))\}?"""
)
_LETTER_RE = re.compile(r"\{?\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])\}?\s?")
_COMMAND_RE = re.compile(r"\\([A-Za-z]+)\*?")
_MARKUP_RE = re.compile(r"[{}$^_\\]")
_SPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+")
# Commands whose name is the word a reader would search for (Greek letters, some operators).
_WORDY = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
    "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi",
    "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma",
    "Upsilon", "Phi", "Psi", "Omega", "infty", "log", "exp", "sin", "cos", "tan", "max", "min",
}  # fmt: skip


def _accent(m: re.Match[str]) -> str:
    mark = _ACCENTS[m.group("sym") or m.group("let")]
    base = (m.group("b1") or m.group("b2")).lstrip("\\")
    return unicodedata.normalize("NFC", base + mark)


def delatex(text: str) -> str:
    """Plain text from arXiv's LaTeX-flavoured text: accents applied, markup dropped.

    >>> delatex(r"Poincar\\'e duality for $\\alpha$-stable {\\em processes}")
    'Poincaré duality for alpha-stable processes'
    """
    if "\\" not in text and "$" not in text and "{" not in text:
        return text
    text = _ACCENT_RE.sub(_accent, text)
    text = _LETTER_RE.sub(lambda m: _LETTERS[m.group(1)], text)
    text = _COMMAND_RE.sub(lambda m: m.group(1) if m.group(1) in _WORDY else " ", text)
    text = _MARKUP_RE.sub("", text)
    return _SPACE_RE.sub(" ", text).strip()


def fold(text: str) -> str:
    """Casefolded, accent-free text for comparisons: ``'Poincaré'`` → ``'poincare'``."""
    decomposed = unicodedata.normalize("NFKD", delatex(text))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE_RE.sub(" ", stripped.casefold()).strip()


def name_key(name: str) -> str:
    """The key an author's name is looked up by: folded, punctuation-insensitive."""
    if name.isascii() and "\\" not in name:  # most names: skip Unicode normalisation
        return " ".join(_WORD_RE.findall(name.lower()))
    return " ".join(_WORD_RE.findall(fold(name)))


def content_hash(title: str, abstract: str, authors: tuple[str, ...]) -> str:
    """Hash of a paper's searchable text: an embedding made from other text is stale."""
    text = "\x1f".join((title, abstract, "\x1e".join(authors)))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# English function words left out of full-text queries: they match nearly every abstract, add
# nothing to BM25 ranking, and double query time (measured on SciFact: docs/benchmarks.md).
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves""".split()
)


_LOCAL = threading.local()


def porter_stem(word: str) -> str:
    """The Porter stem of a word (snowballstemmer). Its stemmer objects keep state between calls,
    so each thread gets its own: a server stems in many request threads at once."""
    stemmer = getattr(_LOCAL, "porter", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _LOCAL.porter = snowballstemmer.stemmer("porter")
    return stemmer.stemWord(word)


# The terms SQLite FTS5's ``porter unicode61 remove_diacritics 2`` tokenizer makes, redone in
# Python: runs of letters and digits, lowercased, accents removed, Porter-stemmed from 3 to 64
# characters. PostgreSQL's tsvector is built from these terms (storage/fulltext_pg.py), so both
# backends index, stem and match the same words.
_INDEX_TOKEN = re.compile(r"[^\W_]+")


@functools.lru_cache(maxsize=262_144)
def index_term(word: str) -> str:
    """The indexed term of one lowercased word."""
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return porter_stem(word) if 3 <= len(word) <= 64 else word


def index_words(text: str) -> list[str]:
    """The lowercased words of a text that become terms, in order (before ``index_term``)."""
    return _INDEX_TOKEN.findall(text.lower())


def index_terms(text: str) -> list[str]:
    """The indexed terms of a text, in order."""
    return [index_term(w) for w in index_words(text)]
