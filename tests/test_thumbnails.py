"""Thumbnails: real PDFs made here (fpdf2; a rotated page set with pypdfium2) rendered by PDFium,
fetched from a fake arXiv at the network edge, stored (files beside SQLite, rows on PostgreSQL),
served with cache headers; a 404, a broken PDF, fetching off: the generated card, never a 500.
The arXiv pacer holds across threads (thumbnails and the API share it)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import date
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from helpers import FakeEdge, hub_at, paper
from PIL import Image

from broadsheet.exceptions import SourceError
from broadsheet.pictures.card import card_svg, category_colour
from broadsheet.pictures.render import UnreadablePdf, first_page_webp
from broadsheet.types import ListingData
from broadsheet.web import create_app

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 160, 30)


def make_pdf(pages: list[tuple[int, int, int]], *, rotate_first: int = 0) -> bytes:
    """A letter-size PDF, one page per colour: a block of that colour fills the top-left quarter
    and the page's number is written below. ``rotate_first``: the first page's /Rotate."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("helvetica", size=24)
    for n, colour in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_fill_color(*colour)
        pdf.rect(0, 0, 306, 396, style="F")
        pdf.set_xy(72, 500)
        pdf.cell(200, 30, f"Page {n} of {len(pages)}")
    data = bytes(pdf.output())
    if not rotate_first:
        return data
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    doc[0].set_rotation(rotate_first)
    out = io.BytesIO()
    doc.save(out)
    doc.close()
    return out.getvalue()


def _colour_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    return image.convert("RGB").getpixel((int(image.width * x), int(image.height * y)))  # type: ignore[return-value]


def _near(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(p - q) < 40 for p, q in zip(a, b, strict=True))


# -- rendering (pure) ----------------------------------------------------------------------------


def test_the_first_of_several_pages_is_rendered_as_webp() -> None:
    webp = first_page_webp(make_pdf([RED, BLUE, GREEN]))
    image = Image.open(io.BytesIO(webp))
    assert image.format == "WEBP"
    assert image.width == 400 and abs(image.height - 400 * 11 / 8.5) <= 2  # letter, portrait
    assert _near(_colour_at(image, 0.2, 0.2), RED)  # page 1's block, not page 2's blue
    assert _near(_colour_at(image, 0.8, 0.2), (255, 255, 255))


def test_a_rotated_first_page_is_shown_as_it_reads() -> None:
    image = Image.open(io.BytesIO(first_page_webp(make_pdf([RED, BLUE], rotate_first=90))))
    assert image.width == 400 and image.height < 400  # landscape now
    # Turned a quarter clockwise, the top-left block is at the top right.
    assert _near(_colour_at(image, 0.8, 0.2), RED)
    assert _near(_colour_at(image, 0.2, 0.2), (255, 255, 255))


@pytest.mark.parametrize(
    "body",
    [b"<html>Not Found</html>", b"%PDF-1.7\n garbage that is no PDF", b"", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n"],
    ids=["html", "garbage", "empty", "no-pages"],
)
def test_what_is_not_a_renderable_pdf_is_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(UnreadablePdf):
        first_page_webp(body)


def test_a_pdf_cut_short_is_refused_or_rendered_never_crashes() -> None:
    whole = make_pdf([RED, BLUE])
    try:
        Image.open(io.BytesIO(first_page_webp(whole[: len(whole) // 3])))  # PDFium may recover a page
    except UnreadablePdf:
        pass


def test_the_generated_card_escapes_hostile_text_and_is_well_formed() -> None:
    svg = card_svg('</text><script>alert(1)</script> & "quotes"', "Ada <b>Lovelace</b>", "cs.LG")
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg") and "<script>" not in svg
    texts = "".join(root.itertext())
    assert "<script>alert(1)</script>" in texts and "Ada <b>Lovelace</b>" in texts
    assert category_colour("cs.LG") == category_colour("cs.CL") != category_colour("math.AG")


# -- the fake arXiv --------------------------------------------------------------------------------

GOOD_PDF = make_pdf([RED, BLUE, GREEN])


class FakeArxiv(FakeEdge):
    """Serves /pdf/<id>: a real PDF, a 404, or a broken body, per id; records when each request came."""

    def __init__(self, pdfs: dict[str, bytes | int]) -> None:
        self.pdfs = pdfs
        self.times: list[float] = []
        super().__init__()

    def handle(self, request) -> None:  # noqa: ANN001
        self.times.append(time.monotonic())
        answer = self.pdfs.get(request.path.rsplit("/", 1)[-1].split("?")[0], 404)
        if isinstance(answer, int):
            self.reply(request, answer, b"<html>no such paper</html>", "text/html")
        else:
            self.reply(request, 200, answer, "application/pdf")


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    server = FakeArxiv({"2611.00001": GOOD_PDF, "2611.00002": 404, "2611.00003": b"%PDF-1.5 broken beyond repair"})
    yield server
    server.close()


def _hub(db_url: str, arxiv: FakeArxiv, **settings: object):  # noqa: ANN202
    settings = {"embedder": "none", "arxiv_pdf_url": arxiv.url + "/pdf/", "arxiv_api_delay": 0.0, "sync_retries": 0, **settings}
    hub = hub_at(db_url, **settings)
    items: list[object] = []
    for n in (1, 2, 3):
        items += [paper(f"2611.0000{n}", title=f"Paper {n}"), ListingData(f"2611.0000{n}", date(2026, 11, 20 + n))]
    items.append(paper("2611.00009", title="Never listed"))
    hub.add_papers(items)  # type: ignore[arg-type]
    return hub


def test_thumbnails_are_made_stored_and_served(db_url: str, arxiv: FakeArxiv) -> None:
    hub = _hub(db_url, arxiv, thumbnails="local")
    report = hub.make_thumbnails()
    assert (report.made, report.missing, report.broken, report.problems) == (1, 1, 1, [])
    assert len(arxiv.times) == 3  # listed papers only, one request each
    assert hub.get_paper("2611.00001").extras.thumbnail and not hub.get_paper("2611.00002").extras.thumbnail
    assert hub.thumbnail_counts() == {"ok": 1, "missing": 1, "broken": 1}
    if db_url.startswith("sqlite"):  # a file beside the database; PostgreSQL keeps it in the row
        folder = hub.settings.data_dir() / "thumbnails"
        assert [p.suffix for p in folder.iterdir()] == [".webp"]

    assert hub.make_thumbnails().made == 0 and len(arxiv.times) == 3  # nothing asked twice

    client = TestClient(create_app(hub))
    got = client.get("/thumbnails/2611.00001.webp")
    assert got.status_code == 200 and got.headers["content-type"] == "image/webp"
    assert "max-age=2592000" in got.headers["cache-control"]
    assert _near(_colour_at(Image.open(io.BytesIO(got.content)), 0.2, 0.2), RED)
    for missing in ("2611.00002.webp", "2611.00003.webp", "2611.00009.svg", "2611.00001.svg"):
        card = client.get(f"/thumbnails/{missing}")
        assert card.status_code == 200 and card.headers["content-type"].startswith("image/svg+xml"), missing
        ElementTree.fromstring(card.content)
        assert "max-age=3600" in card.headers["cache-control"]
    assert client.get("/thumbnails/2611.77777.webp").status_code == 404
    assert client.get("/thumbnails/2611.00001.gif").status_code == 404

    day = client.get("/papers/date/2026-11-21").text + client.get("/papers/date/2026-11-22").text
    assert 'src="/thumbnails/2611.00001.webp"' in day and 'src="/thumbnails/2611.00002.svg"' in day

    # A retry forgets the failures and asks again; the broken one is now a good PDF.
    arxiv.pdfs["2611.00003"] = make_pdf([GREEN])
    again = hub.make_thumbnails(retry=True)
    assert (again.made, again.missing) == (1, 1)
    assert hub.get_paper("2611.00003").extras.thumbnail


def test_an_unreachable_arxiv_stops_the_run_and_writes_nothing(db_url: str, arxiv: FakeArxiv) -> None:
    arxiv.close()  # the port refuses connections now
    hub = _hub(db_url, arxiv, thumbnails="local")
    report = hub.make_thumbnails()
    assert report.made == 0 and len(report.problems) == 1 and "2611.0000" in report.problems[0]
    assert hub.thumbnail_counts() == {}  # asked again next time
    client = TestClient(create_app(hub))
    assert client.get("/thumbnails/2611.00001.webp").headers["content-type"].startswith("image/svg+xml")


def test_the_setting_decides_what_cards_show(db_url: str, arxiv: FakeArxiv) -> None:
    hub = _hub(db_url, arxiv, thumbnails="local")
    hub.make_thumbnails(arxiv_ids=["2611.00001"])
    assert hub.thumbnail_mode() == "local"
    assert hub_at(db_url, thumbnails="off").thumbnail_mode() == "off"
    assert hub_at(db_url, thumbnails="auto", submit_fetch=False).thumbnail_mode() == "off"
    assert hub_at(db_url, thumbnails="auto").thumbnail_mode() == "local"
    off = TestClient(create_app(hub_at(db_url, thumbnails="off", embedder="none")))
    page = off.get("/papers/date/2026-11-21").text
    assert 'src="/thumbnails/2611.00001.svg"' in page
    # Off: even the stored picture's URL answers with the card.
    assert off.get("/thumbnails/2611.00001.webp").headers["content-type"].startswith("image/svg+xml")
    source = TestClient(create_app(hub_at(db_url, thumbnails="source", embedder="none")))
    assert "img-src 'self' data: https:" in source.get("/").headers["content-security-policy"]


def test_one_arxiv_request_every_delay_across_threads(db_url: str, arxiv: FakeArxiv) -> None:
    """Thumbnails from two threads and an API fetch from a third share the one arXiv pacer."""
    delay = 1.0
    arxiv.pdfs.update({f"2611.0000{n}": GOOD_PDF for n in (1, 2, 3)})
    hub = _hub(db_url, arxiv, thumbnails="local", arxiv_api_delay=delay, arxiv_api_url=arxiv.url + "/api/query")
    errors: list[BaseException] = []

    def run(call) -> None:  # noqa: ANN001
        try:
            call()
        except SourceError:
            pass  # the fake API answers 404: the request still took its turn
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    calls = [
        lambda: hub.make_thumbnails(arxiv_ids=["2611.00001", "2611.00002"]),
        lambda: hub.make_thumbnails(arxiv_ids=["2611.00003"]),
        lambda: hub.fetch_arxiv_paper("2611.00009", refresh=True, interactive=False, embed=False),
    ]
    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    times = sorted(arxiv.times)
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= delay * 0.75, gaps  # arrival jitter on a busy machine; unpaced threads come milliseconds apart


def test_the_command_renders_a_backlog_and_reports(db_url: str, arxiv: FakeArxiv) -> None:
    from typer.testing import CliRunner

    from broadsheet.cli import app

    _hub(db_url, arxiv)
    env = {"BROADSHEET_DATABASE_URL": db_url, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_ARXIV_PDF_URL": arxiv.url + "/pdf/",
           "BROADSHEET_ARXIV_API_DELAY": "0", "BROADSHEET_SYNC_RETRIES": "0"}  # fmt: skip
    result = CliRunner().invoke(app, ["thumbnails", "--since", "2026-11-22"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 made, 1 without a PDF, 1 unreadable" in result.output  # listed on the 22nd (404) and 23rd (broken)
    result = CliRunner().invoke(app, ["thumbnails", "--paper", "2611.00009"], env=env)  # never listed: asked for by id
    assert result.exit_code == 0 and "0 made, 1 without a PDF" in result.output
    arxiv.close()
    result = CliRunner().invoke(app, ["thumbnails"], env=env)
    assert result.exit_code == 1 and "stopped: 2611.00001" in result.output


def test_the_background_pass_makes_the_recent_listings_thumbnails(db_url: str, arxiv: FakeArxiv) -> None:
    hub = _hub(db_url, arxiv, thumbnails="local", thumbnail_days=6)  # the clock says 2026-11-28: listings from the 22nd
    assert hub.start_background_extras()
    deadline = time.monotonic() + 30
    while hub.thumbnail_counts() != {"missing": 1, "broken": 1} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.thumbnail_counts() == {"missing": 1, "broken": 1}
    time.sleep(0.3)
    assert len(arxiv.times) == 2  # the 21st's paper is older than thumbnail_days: `broadsheet thumbnails` does it
    hub.close()


def test_source_mode_shows_the_records_picture(db_url: str) -> None:
    """thumbnails = source: a card hotlinks the picture its record names, and falls back to the
    generated card for a paper whose record names none (or a non-http address)."""
    from helpers import paper

    hub = hub_at(db_url, thumbnails="source", embedder="none")
    hub.add_papers([
        paper("2611.00007", title="With a picture", thumbnail_url="https://cdn.example.org/t/2611.00007.png"),
        paper("2611.00008", title="Without one"),
        paper("2611.00009", title="Odd address", thumbnail_url="javascript:alert(1)"),
    ])  # fmt: skip
    page = TestClient(create_app(hub)).get("/papers/2611.00007").text
    assert 'src="https://cdn.example.org/t/2611.00007.png"' in page
    for other in ("2611.00008", "2611.00009"):
        page = TestClient(create_app(hub)).get(f"/papers/{other}").text
        assert f'src="/thumbnails/{other}.svg"' in page and "javascript:" not in page
