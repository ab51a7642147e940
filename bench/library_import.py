"""Importing a member's library: how long parsing and a whole import take on the two real
reference-manager exports in ../shared/data/fixtures/bibtex (Mendeley, 2,392 entries; Zotero
Better BibTeX, 332), into a fresh SQLite database holding every arXiv paper they name (so each
import saves them all), and how long `Hub.saved` (the marks of a page of 50 cards) takes then.
Medians of --runs; prints the figures and the command.

    PYTHONPATH=src python bench/library_import.py --runs 5 [--shared ../shared]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.personal.bibimport import parse_library
from broadsheet.types import PaperData


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    args = ap.parse_args()
    folder = Path(args.shared) / "data" / "fixtures" / "bibtex"
    files = {"mendeley": folder / "mendeley-library.bib", "zotero": folder / "zotero-better-bibtex-library.bib"}
    print(f"command: PYTHONPATH=src python bench/library_import.py --runs {args.runs}")
    for name, path in files.items():
        data = path.read_bytes()
        parse_times, import_times, mark_times = [], [], []
        for run in range(args.runs):
            t = time.perf_counter()
            parsed = parse_library(data)
            parse_times.append(time.perf_counter() - t)
            db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
            hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{db}", embedder="none"))
            ids = sorted({e.arxiv_id for e in parsed.entries})
            hub.add_papers([PaperData(arxiv_id=a, title=f"Paper {a}", abstract="", authors=("A B",), source="bench", source_ref=a) for a in ids])
            user = hub.create_user(f"user{run}", "correct horse battery")
            t = time.perf_counter()
            report = hub.import_library(user, data, fetch=False)
            import_times.append(time.perf_counter() - t)
            page = (ids * 50)[:50]
            t = time.perf_counter()
            hub.saved(user, page)
            mark_times.append(time.perf_counter() - t)
            hub.close()
        print(
            f"{name}: {report.entries} entries, {len(ids)} arXiv papers, {report.added} saved, {len(report.problems)} reported; "
            f"parse {statistics.median(parse_times) * 1000:.0f} ms, whole import {statistics.median(import_times) * 1000:.0f} ms, "
            f"saved() of 50 cards {statistics.median(mark_times) * 1000:.1f} ms (medians of {args.runs})"
        )


if __name__ == "__main__":
    main()
