"""arXiv export API responses (``/api/query``): an Atom feed, one ``<entry>`` a paper.

Two layouts are in use and both are read: the one served until about 2024 (``arxiv:`` namespace
declared on each element, categories after the links) and the current one (namespaces declared
once, ``arxiv:primary_category`` after ``published``). The reader looks elements up by namespace
and name, so their order and the place of the namespace declarations do not matter.

An API error (a bad id, a bad query) comes back as a feed with one entry whose id is an
``https://arxiv.org/api/errors#...`` URL and whose summary is the message; it becomes a
``Rejected``, never a paper.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from ..exceptions import SourceError
from ..ids import parse_arxiv_id
from ..types import PaperData, Rejected, SourceItem
from ._common import XML_PARSER, collapse_ws, first_doi, int_or_none, or_none, parse_day

SOURCE = "arxiv-api"
ERROR_PREFIX = "arXiv API error: "  # the reason of a Rejected made from an error feed's entry

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
_FEED_TAG = "{http://www.w3.org/2005/Atom}feed"
_ERROR_ID = re.compile(r"^https?://(?:export\.)?arxiv\.org/api/errors", re.IGNORECASE)
# Category terms that are arXiv codes; the API may also list MSC/ACM classes ("68T05", "I.2.6").
_CATEGORY_CODE = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z-]+)?$")


def parse_atom(data: bytes, name: str) -> Iterator[SourceItem]:
    """Yield a ``PaperData`` or a ``Rejected`` for each entry of an arXiv API Atom feed.

    ``source_ref`` is ``f"{name}:{position}"``, the entry's 1-based position in the feed.
    Raises ``SourceError`` when ``data`` is not XML or not an Atom feed.
    """
    feed = _read_feed(data)
    for position, entry in enumerate(feed.iterfind("atom:entry", _NS), start=1):
        yield _read_entry(entry, f"{name}:{position}")


def feed_totals(data: bytes) -> tuple[int | None, int | None, int | None]:
    """``(totalResults, startIndex, itemsPerPage)`` of a feed, each None when absent.

    A client pages through a search with these: the next ``start`` is ``startIndex +
    itemsPerPage`` until it reaches ``totalResults``.
    """
    feed = _read_feed(data)
    total, start, per_page = (
        int_or_none(feed.findtext(f"opensearch:{tag}", namespaces=_NS))
        for tag in ("totalResults", "startIndex", "itemsPerPage")
    )
    return total, start, per_page


def _read_feed(data: bytes) -> etree._Element:
    """The ``<feed>`` root element; raises SourceError for anything else."""
    try:
        root = etree.fromstring(data, XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"arXiv API response is not XML: {exc}") from exc
    if root.tag != _FEED_TAG:
        raise SourceError(f"arXiv API response is not an Atom feed: root element is {root.tag!r}")
    return root


def _read_entry(entry: etree._Element, ref: str) -> SourceItem:
    """One entry as a paper, or a Rejected saying why it cannot be one."""
    raw_id = collapse_ws(entry.findtext("atom:id", namespaces=_NS))
    if _ERROR_ID.match(raw_id):
        message = or_none(entry.findtext("atom:summary", namespaces=_NS)) or raw_id
        return Rejected(ref, ERROR_PREFIX + message)
    if not raw_id:
        return Rejected(ref, "entry has no <id>")
    title = collapse_ws(entry.findtext("atom:title", namespaces=_NS))
    if not title:
        return Rejected(ref, f"entry {raw_id} has no <title>")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
        published = parse_day(entry.findtext("atom:published", namespaces=_NS))
        updated = parse_day(entry.findtext("atom:updated", namespaces=_NS))
    except ValueError as exc:  # a bad date, or a bad id (InvalidArxivIdError is a ValueError)
        return Rejected(ref, f"entry {raw_id}: {exc}")
    categories = _categories(entry)
    return PaperData(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=collapse_ws(entry.findtext("atom:summary", namespaces=_NS)),
        authors=_authors(entry),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=published,
        updated=updated,
        doi=first_doi(entry.findtext("arxiv:doi", namespaces=_NS)),
        journal_ref=or_none(entry.findtext("arxiv:journal_ref", namespaces=_NS)),
        comments=or_none(entry.findtext("arxiv:comment", namespaces=_NS)),
        source=SOURCE,
        source_ref=ref,
    )


def _authors(entry: etree._Element) -> tuple[str, ...]:
    """Author names in the feed's order, empty names skipped."""
    authors = entry.iterfind("atom:author", _NS)
    names = (collapse_ws(a.findtext("atom:name", namespaces=_NS)) for a in authors)
    return tuple(n for n in names if n)


def _categories(entry: etree._Element) -> tuple[str, ...]:
    """The primary category first, then the other arXiv category codes, each once."""
    primary = entry.find("arxiv:primary_category", _NS)
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [c.get("term", "") for c in entry.iterfind("atom:category", _NS)]
    codes = (t.strip() for t in terms)
    return tuple(dict.fromkeys(c for c in codes if _CATEGORY_CODE.match(c)))

