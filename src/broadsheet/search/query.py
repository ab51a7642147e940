"""The search query language, parsed into a ``Query`` (pure; no database).

    attention "state space" -transformer author:"Albert Gu" cat:cs.LG since:2023-01 until:2024

- words: any may match (ranked by BM25 and meaning); ``"quoted phrases"`` must match as phrases;
- ``-word`` / ``-"a phrase"``: papers containing it are excluded;
- ``author:NAME`` (quote names with spaces), ``cat:CODE``, ``org:NAME`` (an organization's
  handle, as in ``/organizations/NAME``, any case; repeatable: any of them);
- ``since:DATE`` / ``until:DATE`` with DATE ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (inclusive).

Malformed queries raise ``InvalidInputError`` with a message meant for the person who typed it.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from ..exceptions import InvalidInputError
from ..types import Query

MAX_QUERY_LENGTH = 1000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<neg>-)?(?P<field>[A-Za-z]+):(?:"(?P<fquoted>[^"]*)"|(?P<fvalue>[^\s"]+))  # field:value
      | (?P<qneg>-)?"(?P<phrase>[^"]*)"                                             # "phrase"
      | (?P<wneg>-)?(?P<word>[^\s"]+)                                               # word
    )""",
    re.VERBOSE,
)
_FIELDS = {"author", "cat", "org", "since", "until"}
_WORD_CHARS = re.compile(r"\w+")


def _parse_date(value: str, *, end: bool, key: str) -> date:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; a partial date means its first (or last) day."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value)
    if not m:
        raise InvalidInputError(f"{key}: expects a date like 2024, 2024-05 or 2024-05-17, not {value!r}")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if day:
            return date(year, int(month), int(day))
        if month:
            mm = int(month)
            return date(year, mm, calendar.monthrange(year, mm)[1] if end else 1)
        return date(year, 12, 31) if end else date(year, 1, 1)
    except ValueError:
        raise InvalidInputError(f"{key}: {value!r} is not a real date") from None


def parse_query(raw: str) -> Query:
    """Parse the query language; raise InvalidInputError on bad syntax."""
    if len(raw) > MAX_QUERY_LENGTH:
        raise InvalidInputError(f"query is too long ({len(raw)} characters; at most {MAX_QUERY_LENGTH})")
    if raw.count('"') % 2:
        raise InvalidInputError('unbalanced quote: every " needs a closing "')
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    authors: list[str] = []
    categories: list[str] = []
    orgs: list[str] = []
    since = until = None
    pos = 0
    while pos < len(raw):
        m = _TOKEN.match(raw, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("field"):
            key = m.group("field").lower()
            value = (m.group("fquoted") if m.group("fquoted") is not None else m.group("fvalue")).strip()
            if key not in _FIELDS:  # "e.g.:" or "ratio:" in running text: just words
                words += _WORD_CHARS.findall(m.group(0))
                continue
            if not value:
                raise InvalidInputError(f"{key}: needs a value, e.g. {key}:{_EXAMPLE[key]}")
            if m.group("neg"):
                raise InvalidInputError(f"-{key}: exclusion works on words and phrases, not on {key}:")
            if key == "author":
                authors.append(value)
            elif key == "cat":
                categories.append(value)
            elif key == "org":
                orgs.append(value)
            elif key == "since":
                since = _parse_date(value, end=False, key=key)
            else:
                until = _parse_date(value, end=True, key=key)
        elif m.group("phrase") is not None:
            phrase = " ".join(_WORD_CHARS.findall(m.group("phrase")))
            if phrase:
                (excluded if m.group("qneg") else phrases).append(phrase)
        else:
            word = m.group("word")
            if word.endswith(":") and word[:-1].lower() in _FIELDS:
                key = word[:-1].lower()
                raise InvalidInputError(f"{key}: needs a value, e.g. {key}:{_EXAMPLE[key]}")
            tokens = _WORD_CHARS.findall(word)
            if m.group("wneg") and tokens:
                excluded.append(" ".join(tokens))
            else:
                words += tokens
    if since and until and since > until:
        raise InvalidInputError(f"since:{since} is after until:{until}")
    query = Query(
        tuple(words), tuple(phrases), tuple(excluded), tuple(authors), tuple(categories), since, until, raw, tuple(orgs)
    )
    if excluded and query.is_empty:
        raise InvalidInputError("a query needs something to search for besides exclusions")
    return query


_EXAMPLE = {"author": '"Ada Lovelace"', "cat": "cs.LG", "org": "google", "since": "2024-01", "until": "2024-12-31"}


def check_query(raw: str, *, what: str = "query") -> Query:
    """``raw`` parsed, for a query that is kept to run later (a digest topic): InvalidInputError
    saying what is wrong, for the person who typed it, when ``parse_query`` refuses it or when
    nothing is left to search for (``"!!"``, ``-word`` alone)."""
    try:
        query = parse_query(raw)
    except InvalidInputError as e:
        raise InvalidInputError(f"{what} {raw!r}: {e}") from None
    if query.is_empty:
        raise InvalidInputError(
            f"{what} {raw!r}: nothing to search for (give words, a \"phrase\", author:, cat:, org:, since: or until:)"
        )
    return query
