"""Thumbnails: a paper's first PDF page, rendered here (``pictures.render``) from arXiv's PDF,
fetched through the arXiv edge (the API's pacer: one arXiv request every 3 s, whoever asks).

Made for listed papers in the background (``background.py``: the recent listings, submissions at
once) and by ``broadsheet thumbnails`` for a backlog. Where no PDF can be had (fetching off, a 404,
a PDF PDFium cannot render) the row says so, and the card shows the generated picture instead
(``pictures.card``): a card is never without an image.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..config import Settings
from ..exceptions import SourceError
from ..pictures.card import card_svg
from ..pictures.render import MEDIA_TYPE, UnreadablePdf, first_page_webp
from ..types import Paper

if TYPE_CHECKING:
    from ..storage import Storage
    from ..sync.http import HttpEdge

MODES = ("auto", "local", "source", "off")
CARD_TYPE = "image/svg+xml"


def thumbnail_mode(settings: Settings) -> str:
    """``local``, ``source`` or ``off``: the ``thumbnails`` setting, where ``auto`` is ``local``
    when the server fetches from arXiv (``submit_fetch``, the live-fetching switch of a server) and
    ``off`` (generated cards only: nothing hotlinked that could break) otherwise."""
    mode = settings.thumbnails.strip().lower()
    if mode not in MODES:
        from ..exceptions import InvalidInputError

        raise InvalidInputError(f"setting thumbnails: {settings.thumbnails!r}: use one of {', '.join(MODES)}")
    if mode == "auto":
        return "local" if settings.submit_fetch else "off"
    return mode


def source_thumbnail(paper: Paper) -> str | None:
    """The picture URL the paper's source gave (Hugging Face's ``thumbnail``), if http(s)."""
    url = paper.thumbnail_url
    return url if url and url.startswith(("https://", "http://")) else None


def thumbnail_src(paper: Paper, mode: str) -> str:
    """What a card's ``<img src>`` is: the rendered page, the source's picture, or the generated card."""
    path = "/thumbnails/" + quote(paper.arxiv_id, safe="/")
    if mode == "local" and paper.extras.thumbnail:
        return path + ".webp"
    if mode == "source" and (url := source_thumbnail(paper)):
        return url
    return path + ".svg"


@dataclass(frozen=True, slots=True)
class Picture:
    media_type: str
    body: bytes
    rendered: bool  # the first page (cache for long), not the stand-in card


def card_for(paper: Paper) -> Picture:
    first = paper.authors[0] if paper.authors else None
    category = paper.primary_category or (paper.categories[0] if paper.categories else None)
    return Picture(CARD_TYPE, card_svg(paper.title, first, category).encode(), rendered=False)


def picture_for(storage: Storage, paper_id: int, paper: Paper, *, card: bool = False) -> Picture:
    """The stored first page of a paper, or its generated card (``card``, or when there is none)."""
    if not card and (stored := storage.thumbnails.get(paper_id)) is not None:
        return Picture(stored[0], stored[1], rendered=True)
    return card_for(paper)


def pdf_url(settings: Settings, arxiv_id: str) -> str:
    return settings.arxiv_pdf_url.rstrip("/") + "/" + arxiv_id


@dataclass(slots=True)
class ThumbnailReport:
    made: int = 0
    missing: int = 0  # no PDF to be had (an HTTP error such as 404)
    broken: int = 0  # a PDF that does not render
    problems: list[str] = field(default_factory=list)  # why the run stopped early

    @property
    def complete(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        text = f"thumbnails: {self.made} made, {self.missing} without a PDF, {self.broken} unreadable"
        return text + ("; stopped: " + "; ".join(self.problems) if self.problems else "")


def make_thumbnails(
    storage: Storage,
    settings: Settings,
    edge: Callable[[], HttpEdge],
    now: Callable[[], datetime],
    *,
    since: date | None = None,
    arxiv_ids: Sequence[str] | None = None,
    limit: int = 100,
    keep_going: Callable[[ThumbnailReport], bool] = lambda _: True,
) -> ThumbnailReport:
    """Render the thumbnails that are missing: of papers listed since ``since`` (all listed papers
    when None), or of ``arxiv_ids``; at most ``limit``. A paper whose PDF arXiv does not serve or
    PDFium cannot render gets a row saying so (its card stays the generated one). A failure to
    reach arXiv stops the run and writes nothing for that paper: the next run asks again."""
    report = ThumbnailReport()
    todo = _lacking(storage, since, arxiv_ids, limit)
    first = next(todo, None)
    if first is None:
        return report
    with edge() as client:
        for pid, arxiv_id in itertools.chain([first], todo):
            try:
                image = client.get(pdf_url(settings, arxiv_id), {}, first_page_webp)
            except UnreadablePdf as e:
                storage.thumbnails.put(pid, now(), status="broken", detail=str(e)[:500])
                report.broken += 1
            except SourceError as e:
                if isinstance(e.__cause__, UnreadablePdf):  # an HTTP error status: no PDF there
                    storage.thumbnails.put(pid, now(), status="missing", detail=str(e)[:500])
                    report.missing += 1
                else:
                    report.problems.append(f"{arxiv_id}: {e}")
                    break
            else:
                storage.thumbnails.put(pid, now(), image=image, media_type=MEDIA_TYPE)
                report.made += 1
            if not keep_going(report):
                break
    return report


PAGE = 100  # papers read from the database at a time


def _lacking(storage: Storage, since: date | None, arxiv_ids: Sequence[str] | None, limit: int) -> Iterator[tuple[int, str]]:
    """The papers ``lacking`` names, up to ``limit``, read ``page`` at a time: each paper has its
    row (made, missing or broken) before the next page is read, so each page is the next one in
    order, and a backlog of a million listed papers is never one list in memory. (A paper of the
    last page that still has no row is not read twice: the run would go round in circles.)"""
    previous: set[int] = set()
    while limit > 0:
        rows = [r for r in storage.thumbnails.lacking(since=since, arxiv_ids=arxiv_ids, limit=min(PAGE, limit)) if r[0] not in previous]
        if not rows:
            return
        previous = {pid for pid, _ in rows}
        limit -= len(rows)
        yield from rows
