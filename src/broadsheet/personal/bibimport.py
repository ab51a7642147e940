"""Reading a member's library from what reference managers export (pure: text in, ids out).

Three formats, told apart by their content (not the file name):

- **BibTeX** (Zotero, Mendeley, Google Scholar, JabRef): parsed with ``bibtexparser``. An entry's
  arXiv id comes from ``eprint`` (arXiv's own export and Zotero's), ``arxiv`` / ``arxivid`` /
  ``arxiv_id``, an arXiv DOI (``10.48550/arXiv.2405.21060``, in ``doi`` or ``url``), an
  arxiv.org ``url``, or an ``arXiv:ID`` written in ``journal`` / ``pages`` / ``note`` /
  ``howpublished`` (Mendeley's ``journal = {arXiv e-prints}, pages = {arXiv:1705.05823}``).
- **A list** of arXiv ids or addresses, one a line (``#`` starts a comment).
- **JSON**: a Hugging Face collection (``{"items": [{"type": "paper", "id": ...}, ...]}``), a list
  of such items, a list of ``{"id": ...}`` or of plain id strings.

Nothing here raises for one bad entry: each becomes an ``ImportProblem`` with its line, so the
member learns what did not come across and the rest lands.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..exceptions import InvalidArxivIdError, InvalidInputError
from ..ids import parse_arxiv_id

# Anything that may carry an arXiv id: an arxiv.org address, an arXiv DOI (or its doi.org
# address), a Hugging Face paper page, or the id after "arXiv:".
_NEW = r"\d{4}\.\d{4,5}(?:v\d+)?"
_OLD = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]{2})?/\d{7}(?:v\d+)?"
_ID = rf"(?P<id>{_NEW}|{_OLD})"
_EMBEDDED = [
    re.compile(rf"arxiv\.org/(?:abs|pdf|html)/{_ID}", re.IGNORECASE),
    re.compile(rf"10\.48550/arxiv\.{_ID}", re.IGNORECASE),
    re.compile(rf"huggingface\.co/papers/{_ID}", re.IGNORECASE),
    re.compile(rf"\barxiv\s*:\s*{_ID}", re.IGNORECASE),
]
_BARE = re.compile(rf"^\s*{_ID}\s*$", re.IGNORECASE)
_ENTRY_START = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
# fields that hold an id alone, in the order they are trusted
_ID_FIELDS = ("eprint", "arxiv", "arxivid", "arxiv_id", "arxiv-id")
# fields that may carry an id inside other text
_TEXT_FIELDS = ("doi", "url", "journal", "pages", "note", "howpublished", "volume", "number", "publisher")


@dataclass(frozen=True, slots=True)
class ImportEntry:
    """One entry of the file that names an arXiv paper."""

    line: int  # 1-based line where the entry starts
    label: str  # how the member will recognise it: ``@article{smith2019}``, the line's text, ...
    arxiv_id: str  # without version


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """An entry that could not be matched, and why."""

    line: int
    label: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        return f"{where}: {self.label}: {self.reason}" if self.label else f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ParsedLibrary:
    """What a file held: its format (``bibtex`` | ``list`` | ``json``), entries, problems."""

    format: str
    entries: tuple[ImportEntry, ...]
    problems: tuple[ImportProblem, ...]


def decode(data: bytes | str) -> str:
    """Text from an uploaded file: UTF-8 (with or without BOM), else Latin-1 (old BibTeX files)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def find_arxiv_id(text: str) -> str | None:
    """The arXiv id (without version) that ``text`` names, alone or inside an address, a DOI or
    ``arXiv:ID``; None when it names none."""
    text = text.strip()
    if not text:
        return None
    m = _BARE.match(text)
    if m is None:
        for pattern in _EMBEDDED:
            if m := pattern.search(text):
                break
    return _canonical(m.group("id")) if m else None


def _canonical(raw: str) -> str | None:
    """arXiv's own form of an id: no version; an old-style id without its subject class
    (``cs.DB/0003005`` is ``cs/0003005`` on arXiv)."""
    raw = re.sub(r"\.pdf$", "", raw)
    if "/" in raw:
        archive, number = raw.split("/", 1)
        raw = f"{archive.split('.')[0].lower()}/{number}"
    try:
        key, _ = parse_arxiv_id(raw)
    except InvalidArxivIdError:
        return None
    return key


def parse_library(data: bytes | str) -> ParsedLibrary:
    """Read a library in any of the three formats. InvalidInputError only when the whole file
    is unusable (empty, or JSON that does not parse)."""
    text = decode(data)
    if not text.strip():
        raise InvalidInputError("the file is empty")
    head = text.lstrip()[:1]
    if head in "[{":
        return parse_json(text)
    if _ENTRY_START.search(text):
        return parse_bibtex(text)
    return parse_list(text)


# -- BibTeX ------------------------------------------------------------------------------------


def entry_arxiv_id(fields: dict[str, str]) -> tuple[str | None, str]:
    """The arXiv id of one BibTeX entry (fields by lower-case name), or None and the reason."""
    for name in _ID_FIELDS:
        value = fields.get(name, "").strip()
        if not value:
            continue
        if found := find_arxiv_id(value):
            return found, ""
        prefix = fields.get("archiveprefix", fields.get("eprinttype", "arxiv")).strip().lower()
        if name == "eprint" and prefix not in ("arxiv", ""):
            continue  # an eprint on another server (e.g. archivePrefix = {HAL})
        return None, f"{name} {value!r} is not an arXiv id"
    for name in _TEXT_FIELDS:
        if (value := fields.get(name, "")) and (found := find_arxiv_id(value)):
            return found, ""
    return None, "no arXiv id (no eprint, url or arXiv DOI)"


def parse_bibtex(text: str) -> ParsedLibrary:
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry

    library = bibtexparser.parse_string(text)
    entries: list[ImportEntry] = []
    problems: list[ImportProblem] = []
    blocks: list[Any] = list(library.entries)
    for failed in library.failed_blocks:
        if isinstance(failed, DuplicateBlockKeyBlock) and isinstance(failed.ignore_error_block, Entry):
            blocks.append(failed.ignore_error_block)  # a repeated key: still the member's entry
        else:
            first = failed.raw.strip().splitlines()[0][:80] if failed.raw.strip() else ""
            problems.append(
                ImportProblem(failed.start_line + 1, first, f"not readable as BibTeX ({_short(failed.error)})")
            )
    for entry in sorted(blocks, key=lambda b: b.start_line):
        label = f"@{entry.entry_type}{{{entry.key}}}"
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        arxiv_id, reason = entry_arxiv_id(fields)
        if arxiv_id:
            entries.append(ImportEntry(entry.start_line + 1, label, arxiv_id))
        else:
            problems.append(ImportProblem(entry.start_line + 1, label, reason))
    problems.sort(key=lambda p: p.line)
    return ParsedLibrary("bibtex", tuple(entries), tuple(problems))


def _short(error: object) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:120]


# -- a list of ids or addresses ------------------------------------------------------------------


def parse_list(text: str) -> ParsedLibrary:
    entries: list[ImportEntry] = []
    problems: list[ImportProblem] = []
    for number, line in enumerate(text.splitlines(), 1):
        content = line.split("#", 1)[0].strip() if not line.lstrip().startswith("http") else line.strip()
        if not content:
            continue
        label = content if len(content) <= 80 else content[:77] + "..."
        if found := find_arxiv_id(content):
            entries.append(ImportEntry(number, label, found))
        else:
            problems.append(ImportProblem(number, repr(label), "not an arXiv id or arxiv.org address"))
    return ParsedLibrary("list", tuple(entries), tuple(problems))


# -- JSON (Hugging Face collections) -----------------------------------------------------------


def parse_json(text: str) -> ParsedLibrary:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"line {e.lineno}: not valid JSON ({e.msg})") from None
    if isinstance(doc, dict):
        items = doc.get("items")
        if not isinstance(items, list):
            raise InvalidInputError('a JSON library is a list of papers or an object with "items" (a Hugging Face collection)')
        lines = item_lines(text, "items")
    elif isinstance(doc, list):
        items, lines = doc, item_lines(text, None)
    else:
        raise InvalidInputError("a JSON library is a list of papers or an object with \"items\"")
    entries: list[ImportEntry] = []
    problems: list[ImportProblem] = []
    for n, item in enumerate(items):
        line = lines[n] if n < len(lines) else 0
        label = f"item {n + 1}"
        if isinstance(item, str):
            raw: object = item
        elif isinstance(item, dict):
            kind = item.get("type", "paper")
            if kind != "paper":
                problems.append(ImportProblem(line, label, f"a {kind}, not a paper"))
                continue
            raw = item.get("id")
            if raw is None and isinstance(item.get("paper"), dict):
                raw = item["paper"].get("id")
        else:
            problems.append(ImportProblem(line, label, "not a paper (expected an object with \"id\")"))
            continue
        found = find_arxiv_id(raw) if isinstance(raw, str) else None
        if found:
            entries.append(ImportEntry(line, f"{label} ({raw})", found))
        elif raw is None:
            problems.append(ImportProblem(line, label, 'no "id"'))
        else:
            problems.append(ImportProblem(line, label, f"{raw!r} is not an arXiv id"))
    return ParsedLibrary("json", tuple(entries), tuple(problems))


def item_lines(text: str, key: str | None) -> list[int]:
    """The line on which each element of the list starts: the top-level list (``key`` None) or the
    list under ``key`` of the top-level object. ``json`` keeps no positions, so this scans the
    (already valid) text, minding strings and nesting."""
    lines: list[int] = []
    line = 1
    stack: list[str] = []  # "[" or "{" per open container
    target_depth: int | None = 0 if key is None else None
    last_string = ""
    in_string = escaped = False
    expect_value = True  # at the start of an element of the current list
    buf: list[str] = []
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                last_string = "".join(buf)
            else:
                buf.append(ch)
            continue
        if ch.isspace():
            continue
        in_target = target_depth is not None and len(stack) == target_depth + 1 and stack[-1] == "["
        if in_target and expect_value and ch not in ",]":
            lines.append(line)
            expect_value = False
        if ch == '"':
            in_string, buf = True, []
        elif ch in "[{":
            if ch == "[" and key is not None and target_depth is None and len(stack) == 1 and last_string == key:
                target_depth = 1
                expect_value = True
            if ch == "[" and key is None and not stack:
                expect_value = True
            stack.append(ch)
        elif ch in "]}":
            stack.pop()
            if target_depth is not None and len(stack) < target_depth + 1:
                expect_value = False
        elif ch == "," and in_target:
            expect_value = True
    return lines
