"""Build a large corpus for the scaling benchmark: the 100k papers replicated under new ids.

Copy 0 keeps the real arXiv ids; copy k >= 1 gets local ids ``repK-<arxiv id>`` (``rep3-2401-00001``).
Every copy goes through ``Hub.add_papers``, the normal ingest path (so FTS5, authors, categories
are built as in production). Embeddings are *copied* from an embedded 100k database for the
papers that have one there: a copy has the same text, so the model would compute the same vector;
embedding 900k abstracts again would take days on 2 cores. Say so wherever the figures appear.

Every paper gets a vector of the default model. A paper the source database has no vector for
gets a **stand-in** (``--stand-ins``): the real vector of a randomly chosen embedded paper of the
same primary category (any embedded paper if its category has none), plus Gaussian noise
(``--noise`` per dimension, 0.04 gives a cosine of ~0.8 to the paper it was drawn from) and
re-normalised, drawn with a fixed seed; so the vector set keeps the cluster structure of real
vectors. Every copy of a paper gets the same vector, real or stand-in (same text, same vector).
Tail passages are copied where the source has them; every other paper gets an empty passage row
("no tail passages"), so nothing is left for background embedding to do.

The database is written under ``<to>.building`` and renamed to ``<to>`` when complete (others
wait for the final name). ``--base`` starts from a copy of an existing replicated database and
adds the copies it lacks (2.7M from 1M: copies 10..26 only); ``--sql-copies`` makes those in SQL
from copy 1's rows, which the normal ingest wrote (see ``sql_copies``).

    python bench/replicate.py ../shared/data/arxiv-100k.jsonl.gz --copies 10 \\
        --vectors-from /work/bench-data/arxiv.sqlite3 --stand-ins --to /work/bench-data/arxiv1m.sqlite3
    python bench/replicate.py ../shared/data/arxiv-100k.jsonl.gz --copies 27 --base /work/bench-data/arxiv1m.sqlite3 --sql-copies \\
        --vectors-from /work/bench-data/arxiv.sqlite3 --stand-ins --to /work/bench-data/arxiv2700k.sqlite3
    python bench/search.py --db /work/bench-data/arxiv1m.sqlite3 --embed-sample 0
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.sources.files import read_path
from broadsheet.types import PaperData, SourceItem

MODEL = "all-MiniLM-L6-v2-int8"
PASSAGES = MODEL + "#passages"


def local_id(copy: int, arxiv_id: str) -> str:
    return f"rep{copy}-" + arxiv_id.lower().replace(".", "-").replace("/", "-")


def copies(path: Path, first: int, n: int) -> Iterator[SourceItem]:
    for k in range(first, n):
        for item in read_path(path):
            if isinstance(item, PaperData) and k:
                item = dataclasses.replace(item, arxiv_id=local_id(k, item.arxiv_id), source_ref=f"copy {k}: {item.source_ref}")
            yield item


def copies_present(db: Path, n: int) -> int:
    """How many leading copies a replicated database already holds (a copy counts when its
    papers are there: probed by the ids of copy k)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        k = 1
        while k < n and con.execute("SELECT 1 FROM papers WHERE arxiv_id LIKE ? LIMIT 1", (f"rep{k}-%",)).fetchone():
            k += 1
        return k
    finally:
        con.close()


def sql_copies(db: Path, first: int, n: int) -> int:
    """Copies ``first``..``n - 1`` made in SQL from copy 1's rows (``--sql-copies``): the rows the
    normal ingest wrote for copy 1 (papers, authors, categories, listings, the FTS5 row, vectors
    and passages), under new paper ids and local ids ``repK-``. The ingest would write the same
    rows (copy k differs from copy 1 only in its ids); this is ~10x faster than parsing the file
    again, which matters at 2.7M on 2 shared cores. Returns the papers added."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")
    lo, hi, count = con.execute("SELECT min(id), max(id), count(*) FROM papers WHERE substr(arxiv_id, 1, 5) = 'rep1-'").fetchone()
    if not count:
        raise SystemExit("--sql-copies needs copy 1 in the database (ingest at least 2 copies first)")
    cols = [r[1] for r in con.execute("PRAGMA table_info(papers)")]
    listing_cols = [r[1] for r in con.execute("PRAGMA table_info(listings)") if r[1] != "id"]
    added = 0
    for k in range(first, n):
        (top,) = con.execute("SELECT max(id) FROM papers").fetchone()
        off = top + 1 - lo
        picked = ", ".join(
            ":off + id" if c == "id" else f"'rep{k}-' || substr(arxiv_id, 6)" if c == "arxiv_id"
            else f"'copy {k}:' || substr(source_ref, 8)" if c == "source_ref" else c
            for c in cols
        )  # fmt: skip
        where = "BETWEEN :lo AND :hi"
        p = {"off": off, "lo": lo, "hi": hi}
        con.execute(f"INSERT INTO papers ({', '.join(cols)}) SELECT {picked} FROM papers WHERE id {where} AND substr(arxiv_id, 1, 5) = 'rep1-'", p)
        con.execute(f"INSERT INTO paper_authors SELECT :off + paper_id, position, name, name_key FROM paper_authors WHERE paper_id {where}", p)
        con.execute(f"INSERT INTO paper_categories SELECT :off + paper_id, position, category FROM paper_categories WHERE paper_id {where}", p)
        lc = ", ".join(listing_cols)
        con.execute(f"INSERT INTO listings ({lc}) SELECT {lc.replace('paper_id', ':off + paper_id')} FROM listings WHERE paper_id {where}", p)
        con.execute(f"INSERT INTO papers_fts (rowid, title, abstract, authors) SELECT :off + rowid, title, abstract, authors FROM papers_fts WHERE rowid {where}", p)
        con.execute(
            "INSERT INTO embeddings (paper_id, model, content_hash, vector) "
            f"SELECT :off + paper_id, model, content_hash, vector FROM embeddings WHERE paper_id {where}", p,
        )  # fmt: skip
        con.commit()
        added += count
        print(f"copy {k}: {count} papers in SQL", flush=True)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return added


def source_vectors(src: Path, *, stand_ins: bool, noise: float, seed: int) -> tuple[dict[str, bytes], dict[str, bytes], int]:
    """The source papers' whole-paper vectors (real, or stand-ins) and passage blobs, by arXiv
    id, and how many of the vectors are stand-ins."""
    import numpy as np

    con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    papers = con.execute("SELECT id, arxiv_id, coalesce(primary_category, '') FROM papers ORDER BY id").fetchall()
    real = dict(con.execute("SELECT paper_id, vector FROM embeddings WHERE model = ?", (MODEL,)))
    passages = dict(con.execute("SELECT paper_id, vector FROM embeddings WHERE model = ?", (PASSAGES,)))
    con.close()
    vectors = {aid: real[pid] for pid, aid, _ in papers if pid in real}
    made = 0
    if stand_ins and real:
        rng = np.random.default_rng(seed)
        embedded = [(pid, cat) for pid, _, cat in papers if pid in real]
        by_cat: dict[str, list[int]] = {}
        for pid, cat in embedded:
            by_cat.setdefault(cat, []).append(pid)
        every = [pid for pid, _ in embedded]
        for pid, aid, cat in papers:
            if pid in real:
                continue
            pool = by_cat.get(cat) or every
            base = np.frombuffer(real[pool[int(rng.integers(len(pool)))]], "<f4")
            v = base + rng.normal(0.0, noise, base.shape).astype(np.float32)
            vectors[aid] = (v / np.linalg.norm(v)).astype("<f4").tobytes()
            made += 1
    by_aid = {aid: passages[pid] for pid, aid, _ in papers if pid in passages}
    return vectors, by_aid, made


def base_id(arxiv_id: str, rep_to_src: dict[str, str]) -> str | None:
    """The source paper's arXiv id of a (possibly replicated) paper."""
    if not arxiv_id.startswith("rep"):
        return arxiv_id
    return rep_to_src.get(arxiv_id.split("-", 1)[1])


def copy_vectors(db: Path, vectors: dict[str, bytes], passages: dict[str, bytes], *, fill_passages: bool) -> tuple[int, int]:
    """Give every paper of ``db`` that lacks one the vector (and passage row) of its source paper."""
    rep_to_src = {local_id(0, aid).removeprefix("rep0-"): aid for aid in vectors.keys() | passages.keys()}
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")
    added = [0, 0]
    for i, (model, table) in enumerate(((MODEL, vectors), (PASSAGES, passages))):
        have = {pid for (pid,) in con.execute("SELECT paper_id FROM embeddings WHERE model = ?", (model,))}
        rows = []
        for pid, aid, h in con.execute("SELECT id, arxiv_id, content_hash FROM papers ORDER BY id").fetchall():
            if pid in have:
                continue
            blob = table.get(base_id(aid, rep_to_src) or "")
            if blob is None and model == PASSAGES and fill_passages:
                blob = b""  # no tail passages
            if blob is not None:
                rows.append((pid, model, h, blob))
            if len(rows) >= 50_000:
                con.executemany("INSERT INTO embeddings (paper_id, model, content_hash, vector) VALUES (?, ?, ?, ?)", rows)
                con.commit()
                added[i] += len(rows)
                rows = []
        con.executemany("INSERT INTO embeddings (paper_id, model, content_hash, vector) VALUES (?, ?, ?, ?)", rows)
        con.commit()
        added[i] += len(rows)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return added[0], added[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", type=Path)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--to", type=Path, required=True)
    ap.add_argument("--base", type=Path, help="start from a copy of this replicated database (adds the copies it lacks)")
    ap.add_argument("--vectors-from", type=Path, help="an embedded database of the same papers")
    ap.add_argument("--stand-ins", action="store_true", help="a noisy stand-in vector for every paper without a real one")
    ap.add_argument("--noise", type=float, default=0.04, help="Gaussian noise per dimension of a stand-in, before re-normalising")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--resume", action="store_true", help="continue a stopped build (<to>.building) instead of starting again")
    ap.add_argument("--sql-copies", action="store_true", help="with --base: make the missing copies in SQL from copy 1's rows")
    args = ap.parse_args()

    final = args.to.resolve()
    building = final.with_name(final.name + ".building")
    first = 0
    if args.resume and building.exists():  # a stopped build: each copy was committed whole
        first = copies_present(building, args.copies)
        print(f"resuming {building}: copies 0..{first - 1} present")
    else:
        for p in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            p.unlink(missing_ok=True)
        if args.base:
            shutil.copyfile(args.base, building)
            first = copies_present(building, args.copies)
            print(f"started from {args.base}: copies 0..{first - 1} present")
    started = time.perf_counter()
    if args.sql_copies and first >= 2:
        added = sql_copies(building, first, args.copies)
        print(f"copied {added} papers in SQL from copy 1 in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{building}"))
        report = hub.add_papers(copies(args.jsonl, first, args.copies))
        print(f"ingested {report.added} papers ({report.unchanged} unchanged) in {time.perf_counter() - started:.0f} s", flush=True)
        hub.close()
    if args.vectors_from:
        started = time.perf_counter()
        vectors, passages, made = source_vectors(args.vectors_from, stand_ins=args.stand_ins, noise=args.noise, seed=args.seed)
        print(f"source: {len(vectors) - made} real vectors, {made} stand-ins, {len(passages)} passage rows", flush=True)
        n_vec, n_pas = copy_vectors(building, vectors, passages, fill_passages=args.stand_ins)
        print(f"vectors added: {n_vec}, passage rows added: {n_pas} in {time.perf_counter() - started:.0f} s")
    con = sqlite3.connect(building)
    (n,) = con.execute("SELECT count(*) FROM papers").fetchone()
    (v,) = con.execute("SELECT count(*) FROM embeddings WHERE model = ?", (MODEL,)).fetchone()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    os.replace(building, final)
    for suffix in ("-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    print(f"{final}: {n} papers, {v} vectors")


if __name__ == "__main__":
    main()
