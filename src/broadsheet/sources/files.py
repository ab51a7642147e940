"""Read papers from files: sniff the format, unwrap ``.gz`` and ``.tar.gz``, dispatch to a parser.

Formats are recognised by content, not by file name:

=========================  ===========================================  ==================
first bytes                what                                         parser
=========================  ===========================================  ==================
``{"arxiv_id": ...`` line  JSON Lines paper dump                        ``arxiv_jsonl``
``[`` or ``{"data": [``    Hugging Face ``/api/daily_papers`` response  ``hf_daily``
``<feed``                  arXiv export API (Atom)                      ``arxiv_atom``
``<OAI-PMH``               OAI-PMH ListRecords / GetRecord              ``oai_pmh``
=========================  ===========================================  ==================
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..exceptions import SourceError
from ..types import Rejected, SourceItem
from .arxiv_atom import parse_atom
from .arxiv_jsonl import parse_jsonl
from .hf_daily import day_from_name, parse_hf_daily
from .oai_pmh import parse_oai_pmh

_GZIP_MAGIC = b"\x1f\x8b"
_XML_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(feed|OAI-PMH)[\s>/]")


def read_path(path: str | Path) -> Iterator[SourceItem]:
    """Every item in the file at ``path``; raises SourceError if the file cannot be read at all."""
    path = Path(path)
    try:
        raw = path.open("rb")
    except OSError as e:
        raise SourceError(f"{path}: cannot open: {e}") from None
    with raw:
        yield from read_file(raw, path.name)


def read_file(raw: BinaryIO, name: str) -> Iterator[SourceItem]:
    """Every item in an open, seekable binary file (plain, gzip or tar); ``raw.tell()`` shows progress."""
    try:
        if _is_tar(raw):
            yield from _read_tar(raw, name)
            return
        gz = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if gz else raw
        yield from read_stream(stream, name)  # type: ignore[arg-type]
    except (OSError, EOFError, tarfile.TarError) as e:
        raise SourceError(f"{name}: cannot read: {e}") from None


def _is_tar(raw: BinaryIO) -> bool:
    try:
        with tarfile.open(fileobj=raw, mode="r:*"):
            return True
    except (tarfile.TarError, OSError, EOFError):
        return False
    finally:
        raw.seek(0)


def _read_tar(raw: BinaryIO, archive: str) -> Iterator[SourceItem]:
    with tarfile.open(fileobj=raw, mode="r:*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = f"{archive}/{member.name}"
            f = tar.extractfile(member)
            if f is None:
                continue
            try:
                yield from read_document(f.read(), name)
            except SourceError as e:  # one unreadable member does not stop the archive
                yield Rejected(name, str(e))


def read_stream(stream: BinaryIO, name: str) -> Iterator[SourceItem]:
    """Items from an open binary stream: JSON Lines are streamed, other documents read whole."""
    head = stream.peek(4096) if isinstance(stream, (io.BufferedReader, gzip.GzipFile)) else b""
    if _looks_like_jsonl(head):
        yield from parse_jsonl(stream, name)
    else:
        yield from read_document(stream.read(), name)


def _looks_like_jsonl(head: bytes) -> bool:
    first = head.lstrip()[:1]
    if first != b"{":
        return False
    line = head.lstrip().split(b"\n", 1)[0]
    try:
        return isinstance(obj := json.loads(line), dict) and "arxiv_id" in obj
    except ValueError:
        return b'"arxiv_id"' in line  # a first line longer than the peek


def read_document(data: bytes, name: str) -> Iterator[SourceItem]:
    """Items from one whole document, whose format is sniffed from its first bytes."""
    start = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start[:1] == b"<":
        m = _XML_ROOT.search(start) or _XML_ROOT.search(data[:65536])
        if m and m.group(1) == b"feed":
            return parse_atom(data, name)
        if m and m.group(1) == b"OAI-PMH":
            return parse_oai_pmh(data, name)
        raise SourceError(f"{name}: XML that is neither an Atom feed nor an OAI-PMH response")
    if start[:1] == b"[" or (start[:1] == b"{" and not _looks_like_jsonl(start)):
        return parse_hf_daily(data, name, day_from_name(name))
    if start[:1] == b"{":
        return parse_jsonl(data.splitlines(), name)
    raise SourceError(f"{name}: unknown format (expected JSON, JSON Lines, Atom or OAI-PMH XML)")
