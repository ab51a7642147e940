"""arXiv OAI-PMH responses (``/oai2``): ``ListRecords`` and ``GetRecord`` pages.

Two metadata formats are read, chosen per record by the element inside ``<metadata>``:

- ``metadataPrefix=arXiv`` (``<arXiv>``, namespace ``http://arxiv.org/OAI/arXiv/``): structured
  authors, category codes, dates of the first and the latest version. Some harvesters store the
  element without its ``xmlns``, which puts it in the OAI-PMH namespace; it is read the same way.
- ``metadataPrefix=oai_dc`` (``<oai_dc:dc>``, Dublin Core): "Last, First" creators, categories as
  names ("Computer Science - Machine Learning", mapped back to codes by ``broadsheet.taxonomy``),
  the comments as a second description starting "Comment:", the DOI as a "doi:..." identifier
  and the journal reference as a free-text identifier.

Neither format gives the version number. A ``ListRecords`` page ends with a resumption token that
asks for the next page: :func:`resumption_token` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lxml import etree

from ..exceptions import OaiPmhError, SourceError
from ..ids import parse_arxiv_id
from ..taxonomy import subject_to_category
from ..types import PaperData, Rejected, SourceItem
from ._common import XML_PARSER, collapse_ws, first_doi, int_or_none, or_none, parse_day

SOURCE = "oai-pmh"

_OAI = "http://www.openarchives.org/OAI/2.0/"
_ARXIV = "http://arxiv.org/OAI/arXiv/"
_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
_NS = {"oai": _OAI, "dc": "http://purl.org/dc/elements/1.1/"}
_ARXIV_TAGS = {f"{{{_ARXIV}}}arXiv", f"{{{_OAI}}}arXiv"}  # the second: xmlns dropped
_DC_TAG = f"{{{_OAI_DC}}}dc"

_COMMENT_PREFIX = "Comment:"
_ABS_URL = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/abs/", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^doi:\s*", re.IGNORECASE)
_HAS_WORD = re.compile(r"\w")


def parse_oai_pmh(data: bytes, name: str) -> Iterator[SourceItem]:
    """Yield a ``PaperData`` or a ``Rejected`` for each record of an OAI-PMH response.

    ``source_ref`` is ``f"{name}:{position}"``, the record's 1-based position in the page.
    Deleted records are skipped (they still count for positions). A ``noRecordsMatch`` response
    yields nothing; any other OAI-PMH error, or a document that is not an OAI-PMH response,
    raises ``SourceError``.
    """
    root = _read_response(data)
    for position, record in enumerate(root.iterfind("oai:*/oai:record", _NS), start=1):
        if _is_deleted(record):
            continue
        yield _read_record(record, f"{name}:{position}")


def resumption_token(data: bytes) -> tuple[str | None, int | None, int | None]:
    """``(token, completeListSize, cursor)`` of a page; token is None on the last page.

    The last page of a list carries an empty ``<resumptionToken/>`` (or none at all); the
    size and cursor are None when the server leaves them out.
    """
    element = _read_response(data).find("oai:*/oai:resumptionToken", _NS)
    if element is None:
        return None, None, None
    return (
        or_none(element.text),
        int_or_none(element.get("completeListSize")),
        int_or_none(element.get("cursor")),
    )


def _read_response(data: bytes) -> etree._Element:
    """The ``<OAI-PMH>`` root; raises SourceError for non-XML, non-OAI-PMH and OAI-PMH errors."""
    try:
        root = etree.fromstring(data, XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"OAI-PMH response is not XML: {exc}") from exc
    if root.tag != f"{{{_OAI}}}OAI-PMH":
        raise SourceError(f"not an OAI-PMH response: root element is {root.tag!r}")
    for error in root.iterfind("oai:error", _NS):
        code = error.get("code", "")
        if code != "noRecordsMatch":  # an empty result, not a failure
            raise OaiPmhError(code, collapse_ws(error.text))
    return root


def _is_deleted(record: etree._Element) -> bool:
    """Whether the header marks the record as withdrawn from the repository."""
    header = record.find("oai:header", _NS)
    return header is not None and header.get("status") == "deleted"


def _read_record(record: etree._Element, ref: str) -> SourceItem:
    """One record as a paper, in whichever metadata format it carries."""
    metadata = record.find("oai:metadata", _NS)
    payload = next(metadata.iterchildren(etree.Element), None) if metadata is not None else None
    if payload is None:
        return Rejected(ref, "record has no metadata")
    try:
        if payload.tag in _ARXIV_TAGS:
            return _read_arxiv(payload, ref)
        if payload.tag == _DC_TAG:
            return _read_oai_dc(payload, ref)
    except ValueError as exc:  # a bad date, or a bad id (InvalidArxivIdError is a ValueError)
        return Rejected(ref, f"unreadable record: {exc}")
    return Rejected(ref, f"unsupported metadata format {payload.tag!r}")


def _read_arxiv(meta: etree._Element, ref: str) -> PaperData | Rejected:
    """A record in arXiv's own format; raises ValueError for a bad id or date."""
    fields = _child_texts(meta)
    raw_id, title = collapse_ws(fields.get("id")), collapse_ws(fields.get("title"))
    if not raw_id:
        return Rejected(ref, "record has no <id>")
    if not title:
        return Rejected(ref, f"record {raw_id} has no <title>")
    arxiv_id, _ = parse_arxiv_id(raw_id)
    categories = tuple(dict.fromkeys((fields.get("categories") or "").split()))
    return PaperData(
        arxiv_id=arxiv_id,
        title=title,
        abstract=collapse_ws(fields.get("abstract")),
        authors=_names(_arxiv_author(a) for a in meta.iterfind("{*}authors/{*}author")),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=parse_day(fields.get("created")),
        updated=parse_day(fields.get("updated")),
        doi=first_doi(fields.get("doi")),
        journal_ref=or_none(fields.get("journal-ref")),
        comments=or_none(fields.get("comments")),
        source=SOURCE,
        source_ref=ref,
    )


def _arxiv_author(author: etree._Element) -> str:
    """The name of an arXiv-format ``<author>``: "Forenames Keyname Suffix"."""
    parts = _child_texts(author)
    names = (parts.get(tag) for tag in ("forenames", "keyname", "suffix"))
    return collapse_ws(" ".join(n for n in names if n))


def _child_texts(element: etree._Element) -> dict[str, str | None]:
    """Local name → text of an element's children, in one pass (the first child of a name wins).

    Matching local names makes the arXiv format readable whatever namespace it landed in, and
    one pass over the children is several times faster than one lookup per field.
    """
    texts: dict[str, str | None] = {}
    for child in element.iterchildren(etree.Element):
        texts.setdefault(child.tag.rpartition("}")[2], child.text)
    return texts


def _read_oai_dc(dc: etree._Element, ref: str) -> PaperData | Rejected:
    """A record in Dublin Core; raises ValueError for a bad id or date."""

    def texts(tag: str) -> list[str]:
        return [t for t in (collapse_ws(e.text) for e in dc.iterfind(f"dc:{tag}", _NS)) if t]

    identifiers, titles = texts("identifier"), texts("title")
    abs_url = next((i for i in identifiers if _ABS_URL.match(i)), None)
    if abs_url is None:
        return Rejected(ref, "record has no http://arxiv.org/abs/ identifier")
    if not titles:
        return Rejected(ref, f"record {abs_url} has no <dc:title>")
    arxiv_id, _ = parse_arxiv_id(abs_url)
    descriptions = texts("description")
    comments = [d for d in descriptions if d.startswith(_COMMENT_PREFIX)]
    abstracts = [d for d in descriptions if not d.startswith(_COMMENT_PREFIX)]
    dates = texts("date")
    codes = (subject_to_category(s) for s in texts("subject"))  # None for MSC/ACM classes
    categories = tuple(dict.fromkeys(c for c in codes if c))
    dois = [i for i in identifiers if _DOI_PREFIX.match(i)]
    others = [i for i in identifiers if i != abs_url and i not in dois]
    return PaperData(
        arxiv_id=arxiv_id,
        title=titles[0],
        abstract=abstracts[0] if abstracts else "",
        authors=_names(_dc_creator(c) for c in texts("creator")),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=parse_day(dates[0]) if dates else None,
        updated=parse_day(dates[-1]) if len(dates) > 1 else None,
        doi=first_doi(_DOI_PREFIX.sub("", dois[0])) if dois else None,
        journal_ref=others[0] if others else None,
        comments=comments[0].removeprefix(_COMMENT_PREFIX).strip() if comments else None,
        source=SOURCE,
        source_ref=ref,
    )


def _dc_creator(creator: str) -> str:
    """oai_dc's "Last, First" as "First Last", and "Last, Suffix, First" as "First Last Suffix".

    A creator with no comma (a collaboration) or more than two is kept as it is.
    """
    parts: tuple[str, ...]
    match [part.strip() for part in creator.split(",")]:
        case [last, first]:
            parts = (first, last)
        case [last, suffix, first]:
            parts = (first, last, suffix)
        case _:
            return creator
    return " ".join(p for p in parts if p)


def _names(names: Iterable[str]) -> tuple[str, ...]:
    """Author names without the debris arXiv's author splitter leaves (":", ".", "")."""
    return tuple(n for n in names if _HAS_WORD.search(n))

