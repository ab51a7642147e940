"""Build a large corpus for the scaling benchmark: the 100k papers replicated under new ids.

Copy 0 keeps the real arXiv ids; copy k >= 1 gets local ids ``repK-<arxiv id>`` (``rep3-2401-00001``).
Every copy goes through ``Hub.add_papers``, the normal ingest path (so FTS5, authors, categories
are built as in production). Embeddings are *copied* from an embedded 100k database for the
papers that have one there: a copy has the same text, so the model would compute the same vector;
embedding 900k abstracts again would take days on 2 cores. Say so wherever the figures appear.

    python bench/replicate.py ../shared/data/arxiv-100k.jsonl.gz --copies 10 \\
        --vectors-from /work/bench-data/arxiv100k.sqlite3 --to /work/bench-data/arxiv1m.sqlite3
    python bench/search.py --db /work/bench-data/arxiv1m.sqlite3 --embed-sample 0
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.sources.files import read_path
from broadsheet.types import PaperData, SourceItem


def local_id(copy: int, arxiv_id: str) -> str:
    return f"rep{copy}-" + arxiv_id.lower().replace(".", "-").replace("/", "-")


def copies(path: Path, n: int) -> Iterator[SourceItem]:
    for k in range(n):
        for item in read_path(path):
            if isinstance(item, PaperData) and k:
                item = dataclasses.replace(item, arxiv_id=local_id(k, item.arxiv_id), source_ref=f"copy {k}: {item.source_ref}")
            yield item


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", type=Path)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--to", type=Path, required=True)
    ap.add_argument("--vectors-from", type=Path, help="an embedded database of the same papers")
    args = ap.parse_args()

    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{args.to.resolve()}"))
    started = time.perf_counter()
    report = hub.add_papers(copies(args.jsonl, args.copies))
    print(f"ingested {report.added} papers ({report.unchanged} unchanged) in {time.perf_counter() - started:.0f} s")
    hub.close()
    if args.vectors_from:
        con = sqlite3.connect(args.to)
        con.execute("ATTACH DATABASE ? AS src", (f"file:{args.vectors_from}?mode=ro",))
        for k in range(args.copies):
            new_id = "sp.arxiv_id" if k == 0 else f"'rep{k}-' || lower(replace(replace(sp.arxiv_id, '.', '-'), '/', '-'))"
            con.execute(
                "INSERT OR IGNORE INTO embeddings (paper_id, model, content_hash, vector) "
                "SELECT p.id, e.model, e.content_hash, e.vector FROM src.embeddings e "
                f"JOIN src.papers sp ON sp.id = e.paper_id JOIN papers p ON p.arxiv_id = {new_id}"
            )
            con.commit()
        (n,) = con.execute("SELECT count(*) FROM embeddings").fetchone()
        print(f"embeddings copied: {n}")
        con.close()


if __name__ == "__main__":
    main()
