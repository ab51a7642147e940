"""Read papers from files: sniff the format, unwrap ``.gz`` and ``.tar.gz``, dispatch to a parser.

Formats are recognised by content, not by file name:

=============================  ===========================================  ==================
what the file holds            what                                         parser
=============================  ===========================================  ==================
a JSON object on line 1        JSON Lines paper dump                        ``arxiv_jsonl``
``[`` or ``{"data": [``        Hugging Face ``/api/daily_papers`` response  ``hf_daily``
``<feed``                      arXiv export API (Atom)                      ``arxiv_atom``
``<OAI-PMH``                   OAI-PMH ListRecords / GetRecord              ``oai_pmh``
=============================  ===========================================  ==================

The first line decides JSON Lines, whatever its length: a whole JSON object there (other than the
``{"data": [...]}`` wrapper) makes the file JSON Lines, read line by line; anything else is one
document, read whole. Memory is bounded by ``max_bytes`` (the ``ingest_max_document_mb``
setting): a JSON line longer than that is rejected and skipped, a document or archive member
larger than that is refused without being read whole.
"""

from __future__ import annotations

import gzip
import json
import lzma
import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..exceptions import SourceError
from ..types import Rejected, SourceItem
from .arxiv_atom import parse_atom
from .arxiv_jsonl import parse_jsonl, parse_line
from .hf_daily import day_from_name, parse_hf_daily
from .oai_pmh import parse_oai_pmh

_GZIP_MAGIC = b"\x1f\x8b"
_XML_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(feed|OAI-PMH)[\s>/]")
_BLANK = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 byte-order mark and whitespace, skipped before the first byte
_NOT_BLANK = re.compile(rb"[^\s\xef\xbb\xbf]")
MAX_BYTES = 64 * 2**20  # the ingest_max_document_mb setting's default
_CHUNK = 2**20
_READ_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error, lzma.LZMAError)


def read_path(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Iterator[SourceItem]:
    """Every item in the file at ``path``; raises SourceError if the file cannot be read at all."""
    path = Path(path)
    try:
        raw = path.open("rb")
    except OSError as e:
        raise SourceError(f"{path}: cannot open: {e}") from None
    with raw:
        yield from read_file(raw, path.name, max_bytes=max_bytes)


def read_file(raw: BinaryIO, name: str, *, max_bytes: int = MAX_BYTES) -> Iterator[SourceItem]:
    """Every item in an open, seekable binary file (plain, gzip or tar); ``raw.tell()`` shows progress.

    Raises SourceError when the file cannot be read, at the start or part-way (after yielding
    what came before the damage)."""
    try:
        if _is_tar(raw):
            yield from _read_tar(raw, name, max_bytes)
            return
        gz = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if gz else raw
        yield from read_stream(stream, name, max_bytes=max_bytes)  # type: ignore[arg-type]
    except _READ_ERRORS as e:
        raise SourceError(f"{name}: cannot read: {e}") from None


def read_file_reporting(raw: BinaryIO, name: str, *, max_bytes: int = MAX_BYTES) -> Iterator[SourceItem]:
    """``read_file`` that never raises SourceError: a file that cannot be read, at the start or
    part-way, ends with a ``Rejected(name, reason)`` after the items read before the damage, so a
    multi-file ingest reports it and goes on with the next file."""
    try:
        yield from read_file(raw, name, max_bytes=max_bytes)
    except SourceError as e:
        yield Rejected(name, str(e).removeprefix(f"{name}: "))


def _is_tar(raw: BinaryIO) -> bool:
    try:
        with tarfile.open(fileobj=raw, mode="r:*"):
            return True
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError):
        return False
    finally:
        raw.seek(0)


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The archive's members one at a time, none kept: ``TarFile`` keeps every member it has read
    in ``tar.members`` (about 0.5 kB each: a tar of 100,000 one-paper files held 50 MB more, a
    million ~0.5 GB; docs/benchmarks.md, "Memory"), for random access that reading in order never
    needs."""
    while (member := tar.next()) is not None:
        tar.members = []
        yield member


def _read_tar(raw: BinaryIO, archive: str, max_bytes: int) -> Iterator[SourceItem]:
    files = 0
    with tarfile.open(fileobj=raw, mode="r:*") as tar:
        for member in _members(tar):
            if not member.isfile():
                continue
            files += 1
            name = f"{archive}/{member.name}"
            if member.size > max_bytes:
                yield Rejected(name, too_large(max_bytes, member.size))
                continue
            f = tar.extractfile(member)
            if f is None:
                continue
            try:
                yield from read_document(f.read(), name)
            except SourceError as e:  # one unreadable member does not stop the archive
                yield Rejected(name, str(e).removeprefix(f"{name}: "))
    if not files:
        raise SourceError(f"{archive}: a tar archive with no files in it (or nothing but zero bytes)")


def too_large(max_bytes: int, size: int | None = None) -> str:
    """Why a document or line is refused, with the setting that allows more."""
    limit = (
        f"larger than the {max_bytes / 2**20:g} MB a document or JSON line may be "
        "(the ingest_max_document_mb setting)"
    )
    return f"{size:,} bytes: {limit}" if size is not None else limit


def read_stream(stream: BinaryIO, name: str, *, max_bytes: int = MAX_BYTES) -> Iterator[SourceItem]:
    """Items from an open binary stream: JSON Lines are streamed line by line, other documents read
    whole; nothing longer than ``max_bytes`` is held in memory."""
    lines = _bounded_lines(stream, max_bytes)
    skipped: list[bytes] = []  # blank lines before the first
    for line in lines:
        if line is None:  # a first line longer than any document may be
            raise SourceError(f"{name}: {too_large(max_bytes)}")
        first = _NOT_BLANK.search(line)
        if first is None:
            skipped.append(line)
            continue
        if line[first.start() : first.start() + 1] == b"{" and is_jsonl_line(line):
            yield from _jsonl(line, len(skipped) + 1, lines, name, max_bytes)
            return
        size = sum(map(len, skipped)) + len(line)
        rest = stream.read(max_bytes + 1 - size)
        if size + len(rest) > max_bytes:
            raise SourceError(f"{name}: {too_large(max_bytes)}")
        yield from read_document(b"".join([*skipped, line, rest]), name)
        return
    raise SourceError(f"{name}: empty (nothing but whitespace in it)")


def _jsonl(
    first: bytes, lineno: int, rest: Iterator[bytes | None], name: str, max_bytes: int
) -> Iterator[SourceItem]:
    yield parse_line(first, f"{name}:{lineno}")
    for lineno, line in enumerate(rest, lineno + 1):
        if line is None:
            yield Rejected(f"{name}:{lineno}", f"a line {too_large(max_bytes)}")
        elif line.strip():
            yield parse_line(line, f"{name}:{lineno}")


def _bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """The stream's lines; None for a line longer than ``max_bytes``, which is skipped unread."""
    while line := stream.readline(max_bytes + 1):
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while (part := stream.readline(_CHUNK)) and not part.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def is_jsonl_line(line: bytes) -> bool:
    """Whether a file whose first line is ``line`` is JSON Lines: the line holds a whole JSON object
    (of any length) other than the Hugging Face wrapper ``{"data": [...]}``, or it is a broken
    paper record. A pretty-printed document's first line (``{`` or ``[``) holds no whole value."""
    text = line.strip(_BLANK)
    if text[:1] != b"{":
        return False
    try:
        obj = json.loads(text)
    except ValueError:
        return b'"arxiv_id"' in text
    return isinstance(obj, dict) and ("arxiv_id" in obj or not isinstance(obj.get("data"), list))


def read_document(data: bytes, name: str) -> Iterator[SourceItem]:
    """Items from one whole document, whose format is sniffed from its first bytes."""
    first = _NOT_BLANK.search(data)
    if first is None:
        raise SourceError(f"{name}: empty (nothing but whitespace in it)")
    begin = first.start()
    start = data[begin : begin + 2048]
    if start[:1] == b"<":
        m = _XML_ROOT.search(start) or _XML_ROOT.search(data[:65536])
        if m and m.group(1) == b"feed":
            return parse_atom(data, name)
        if m and m.group(1) == b"OAI-PMH":
            return parse_oai_pmh(data, name)
        raise SourceError(f"{name}: XML that is neither an Atom feed nor an OAI-PMH response")
    if start[:1] == b"{":
        end = data.find(b"\n", begin)
        if is_jsonl_line(data[begin : end if end >= 0 else len(data)]):
            return parse_jsonl(data.splitlines(), name)
    if start[:1] in (b"[", b"{"):
        return parse_hf_daily(data, name, day_from_name(name))
    raise SourceError(f"{name}: unknown format (expected JSON, JSON Lines, Atom or OAI-PMH XML)")
