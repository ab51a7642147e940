"""Bulk work keeps memory flat whatever the corpus size: what used to hold a whole table or file
now streams. Each test checks the streaming itself (what is read, kept or asked for at a time),
never a timing or an RSS figure (those are in bench/memory.py and docs/benchmarks.md)."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import datetime
from pathlib import Path

import pytest
from helpers import hub_at, paper
from test_thumbnails import GOOD_PDF, FakeArxiv, _hub

from broadsheet.config import load_settings
from broadsheet.hub import evaluate_beir
from broadsheet.sources.files import read_file
from broadsheet.storage import open_storage
from broadsheet.storage.copy import copy_database

# -- ingest: a tar of many small files --------------------------------------------------------------


def _tar(n: int) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for i in range(n):
            line = json.dumps({"arxiv_id": f"2401.{i:05d}", "title": f"Paper {i}"}).encode() + b"\n"
            info = tarfile.TarInfo(f"papers/{i:05d}.jsonl")
            info.size = len(line)
            t.addfile(info, io.BytesIO(line))
    buf.seek(0)
    return buf


def test_reading_a_tar_keeps_no_list_of_its_members(monkeypatch: pytest.MonkeyPatch) -> None:
    """``TarFile`` appends every member it reads to ``tar.members``: a million-file archive held
    them all. The reader drops them as it goes (at most the current one is kept)."""
    kept: list[int] = []
    real_next = tarfile.TarFile.next

    def next_member(self: tarfile.TarFile) -> tarfile.TarInfo | None:
        kept.append(len(self.members))
        return real_next(self)

    monkeypatch.setattr(tarfile.TarFile, "next", next_member)
    items = list(read_file(_tar(40), "papers.tar.gz"))
    assert [i.arxiv_id for i in items] == [f"2401.{i:05d}" for i in range(40)]  # type: ignore[union-attr]
    assert len(kept) > 40 and max(kept) <= 1


# -- recommendations: the background sample ----------------------------------------------------------


def test_evenly_spaced_picks_as_the_items_stream_by() -> None:
    from broadsheet.storage.recs import evenly_spaced

    consumed: list[int] = []

    def stream(n: int):  # noqa: ANN202 - a generator that records how far it was read
        for i in range(n):
            consumed.append(i)
            yield i

    picks = evenly_spaced(stream(1000), 1000, 10)
    assert next(picks) == 0 and len(consumed) == 1  # lazy: nothing read ahead of the pick
    assert next(picks) == 100 and len(consumed) == 101
    assert list(picks) == [200, 300, 400, 500, 600, 700, 800, 900] and len(consumed) == 901  # stops at the last pick
    ids = list(range(7, 7 + 3 * 2345, 3))
    assert list(evenly_spaced(iter(ids), len(ids), 100)) == [ids[int(i * len(ids) / 100)] for i in range(100)]
    assert list(evenly_spaced(iter(range(5)), 5, 10)) == [0, 1, 2, 3, 4]


def test_the_background_sample_is_spread_over_the_visible_papers(db_url: str) -> None:
    hub = hub_at(db_url, embedder="none")
    hub.add_papers([paper(f"2401.{i:05d}", title=f"Paper {i}") for i in range(1, 251)])
    st = hub._storage  # noqa: SLF001 - the store under test
    hidden = st.papers.ids_of(["2401.00002"])["2401.00002"]
    with st.engine.begin() as conn:
        from sqlalchemy import update

        from broadsheet.storage.schema import papers

        conn.execute(update(papers).where(papers.c.id == hidden).values(hidden=True))
        visible = [r[0] for r in conn.execute(papers.select().with_only_columns(papers.c.id).where(papers.c.hidden.is_(False)).order_by(papers.c.id))]
    assert st.recs.background(None, 20) == [visible[int(i * len(visible) / 20)] for i in range(20)]
    assert st.recs.background(None, 1000) == visible
    assert hidden not in st.recs.background(None, 249)


# -- eval-beir: no map of every document -------------------------------------------------------------


def _beir(folder: Path, n: int) -> Path:
    (folder / "qrels").mkdir(parents=True)
    titles = [f"{w} {v} study" for w in ("quantum", "graph", "protein", "galaxy", "market") for v in ("lasers", "networks", "folding")]
    with open(folder / "corpus.jsonl", "w") as c, open(folder / "queries.jsonl", "w") as q, open(folder / "qrels/test.tsv", "w") as r:
        for i in range(n):
            c.write(json.dumps({"_id": f"doc{i}", "title": titles[i % len(titles)] + f" number{i}", "text": f"abstract {i}"}) + "\n")
        for i in (3, 17, 29):
            q.write(json.dumps({"_id": f"q{i}", "text": titles[i % len(titles)] + f" number{i}"}) + "\n")
            r.write(f"q{i}\tdoc{i}\t1\n")
    return folder


def test_document_ids_decodes_only_the_lines_asked_for(tmp_path: Path) -> None:
    from broadsheet.sources.beir import document_ids

    folder = _beir(tmp_path / "c", 50)
    assert document_ids(folder, [4, 30, 4]) == {4: "doc3", 30: "doc29"}


def test_eval_beir_maps_rankings_back_without_keeping_every_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranking's local ids go back to BEIR ids in one pass at the end, for the hits only."""
    import broadsheet.sources.beir as beir

    asked: list[set[int]] = []
    real = beir.document_ids

    def document_ids(folder: Path, lines):  # noqa: ANN001, ANN202 - records what is asked for
        asked.append(set(lines))
        return real(folder, asked[-1])

    monkeypatch.setattr(beir, "document_ids", document_ids)
    folder = _beir(tmp_path / "c", 300)
    settings = load_settings(env={}, database_url=f"sqlite:///{tmp_path / 'eval.sqlite3'}", embedder="none")
    result = evaluate_beir(settings, folder, mode="lexical")
    assert result["ndcg@10"] == 1.0 and result["documents"] == 300 and result["queries"] == 3
    assert len(asked) == 1 and 0 < len(asked[0]) < 300  # the hits' lines, not the whole corpus


# -- thumbnails: the backlog read a page at a time -----------------------------------------------------


class RecordingArxiv(FakeArxiv):
    """The fake arXiv of test_thumbnails, recording which PDFs were asked for, in order."""

    def __init__(self, pdfs: dict[str, bytes | int]) -> None:
        self.paths: list[str] = []
        super().__init__(pdfs)

    def handle(self, request) -> None:  # noqa: ANN001
        self.paths.append(request.path)
        super().handle(request)


def test_a_thumbnail_backlog_is_read_a_page_at_a_time(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import broadsheet.extras.thumbnails as thumbs

    arxiv = RecordingArxiv({"2611.00001": GOOD_PDF, "2611.00002": 404, "2611.00003": b"%PDF-1.5 broken beyond repair"})
    hub = _hub(db_url, arxiv)
    store = hub._storage.thumbnails  # noqa: SLF001
    limits: list[int] = []
    real = store.lacking
    monkeypatch.setattr(store, "lacking", lambda **kw: (limits.append(kw["limit"]), real(**kw))[1])
    monkeypatch.setattr(thumbs, "PAGE", 1, raising=False)
    report = hub.make_thumbnails(limit=1000)
    assert (report.made, report.missing, report.broken) == (1, 1, 1)
    assert max(limits) == 1 and len(limits) == 4  # three pages of one, and the empty one that ends it
    # most recently listed first, as before
    assert [a.rsplit("/", 1)[-1] for a in arxiv.paths] == ["2611.00003", "2611.00002", "2611.00001"]
    arxiv.close()


# -- copy-db: pictures in small chunks ------------------------------------------------------------------


def test_copy_db_moves_thumbnails_a_few_at_a_time(db_url: str, tmp_path: Path) -> None:
    from broadsheet.pictures.render import first_page_webp

    hub = hub_at(db_url, embedder="none")
    hub.add_papers([paper(f"2401.{i:05d}") for i in range(1, 6)])
    picture = first_page_webp(GOOD_PDF)
    st = hub._storage  # noqa: SLF001
    for pid in st.papers.ids_of([f"2401.{i:05d}" for i in range(1, 6)]).values():
        st.thumbnails.put(pid, datetime(2026, 11, 28), image=picture, media_type="image/webp")
    target = open_storage(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    seen: list[int] = []
    try:
        copy_database(st, target, chunk=1000, picture_chunk=2, on_progress=lambda p: seen.append(p.done) if p.table == "thumbnails" else None)
        assert seen == [0, 2, 4, 5]
        assert target.thumbnails.get(st.papers.ids_of(["2401.00003"])["2401.00003"]) == ("image/webp", picture)
    finally:
        target.close()


# -- ingest: a file of many bad records ----------------------------------------------------------------


def _bad_file(path: Path, bad: int) -> Path:
    """Two good papers, ``bad`` broken lines, then the gzip stream cut short (unreadable)."""
    import gzip

    lines = [json.dumps({"arxiv_id": "2401.00001", "title": "First"}), json.dumps({"arxiv_id": "2401.00002", "title": "Second"})]
    lines += ["{broken"] * bad
    import random

    blank = bytes(b" \t"[i & 1] for i in range(256))
    padding = random.Random(1).randbytes(1_000_000).translate(blank)  # a blank line that does not compress
    data = gzip.compress(("\n".join(lines) + "\n").encode() + padding + b"\n")
    path.write_bytes(data[: len(data) - 20])  # the end of the stream is missing
    return path


def test_an_ingest_of_files_keeps_the_first_rejects_and_counts_the_rest(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import broadsheet.ingest as ingest

    monkeypatch.setattr(ingest, "REJECTS_KEPT", 5)
    monkeypatch.setattr(ingest.ingest_files, "__kwdefaults__", {**ingest.ingest_files.__kwdefaults__, "keep_rejected": 5})
    hub = hub_at(db_url, embedder="none", ingest_batch_size=10)
    path = _bad_file(tmp_path / "bad.jsonl.gz", 40)
    seen: list[str] = []
    report = hub.ingest_paths([path], on_rejected=lambda r: seen.append(r.source_ref))
    assert report.added == 2
    assert [r.source_ref for r in report.rejected] == [f"bad.jsonl.gz:{n}" for n in range(3, 8)] + ["bad.jsonl.gz"]
    assert report.rejected_more == 35  # 40 bad lines: 5 kept, 35 counted; the unreadable file kept
    assert seen == [f"bad.jsonl.gz:{n}" for n in range(3, 43)] + ["bad.jsonl.gz"]


def test_the_command_writes_every_reject_and_counts_them_all(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import broadsheet.ingest as ingest
    from broadsheet.cli import app

    monkeypatch.setattr(ingest.ingest_files, "__kwdefaults__", {**ingest.ingest_files.__kwdefaults__, "keep_rejected": 5})
    path = _bad_file(tmp_path / "bad.jsonl.gz", 40)
    result = CliRunner().invoke(app, ["--db", db_url, "ingest", str(path), "--rejects", str(tmp_path / "rej.jsonl")], env={"BROADSHEET_DATABASE_URL": ""})
    assert result.exit_code == 1
    assert "2 added" in result.stdout and "40 rejected" in result.stdout and "1 of 1 files could not be read whole" in result.stdout
    assert "... and 20 more rejected records" in result.stderr and "could not read bad.jsonl.gz" in result.stderr
    written = [json.loads(line)["where"] for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert written == [f"bad.jsonl.gz:{n}" for n in range(3, 43)] + ["bad.jsonl.gz"]
