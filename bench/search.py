"""Search latency over the 100k corpus: Hub.search per mode beside raw FTS5, in one run.

Queries: 200 "realistic" queries made at run time from the corpus itself (the first 2-4 content
words of the titles of 200 papers drawn with a fixed seed, e.g. "graph neural networks"), the kind
of thing a person types into a search box.
For each, in one process:
- raw FTS5: the same OR-of-words MATCH, ``ORDER BY bm25 LIMIT 10``, straight through sqlite3;
- ``Hub.search(q, mode=..., limit=10)`` for lexical, semantic and hybrid (query embedding included).
Reports p50/p99 per mode and the ratio to raw FTS5, the query-embedding time alone, the share of
papers that have a vector, the process's peak RSS, the warm-up time of a server (BM25 index
build, IVF training) and the recall of the IVF index against exact vector search. Then the embedding build: the raw
embedder's throughput on N abstracts beside ``Hub.index_embeddings`` on the same abstracts in a
fresh database (target ≥ 0.9×).

    broadsheet --db /work/bench-data/arxiv100k.sqlite3 ingest ../shared/data/arxiv-100k.jsonl.gz
    broadsheet --db /work/bench-data/arxiv100k.sqlite3 index
    python bench/search.py --db /work/bench-data/arxiv100k.sqlite3
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.search.embedders import MiniLMOnnx, document_text
from broadsheet.search.query import parse_query
from broadsheet.storage.fulltext import DEFAULT_WEIGHTS, match_expression
from broadsheet.text import STOPWORDS
from broadsheet.types import PaperData


def make_queries(con: sqlite3.Connection, n: int, seed: int = 42, among: int = -1) -> list[str]:
    """2-4 title words of papers drawn with a fixed seed; from the first ``among`` titles when
    given (a replicated corpus repeats them: the same queries without reading millions)."""
    titles = [t for (t,) in con.execute("SELECT title FROM papers_fts ORDER BY rowid LIMIT ?", (among,))]
    rng = random.Random(seed)
    queries = []
    while len(queries) < n:
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", rng.choice(titles)) if w.lower() not in STOPWORDS]
        if len(words) >= 2:
            queries.append(" ".join(words[: rng.randint(2, 4)]).lower())
    return queries


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--embed-sample", type=int, default=256, help="abstracts for the embedding-build comparison (0: skip)")
    args = ap.parse_args()

    raw = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    queries = make_queries(raw, args.queries)
    hub = make_hub(load_settings(database_url=f"sqlite:///{args.db.resolve()}"))
    w = ", ".join(map(str, DEFAULT_WEIGHTS))
    raw_sql = f"SELECT rowid, bm25(papers_fts, {w}) AS s FROM papers_fts WHERE papers_fts MATCH ? ORDER BY s LIMIT 10"

    started = time.perf_counter()
    hub.warm_up(wait=True)  # what `broadsheet serve` does at start: model, vectors, BM25 index
    engine = hub._search_engine()  # noqa: SLF001 - a measuring tool
    ivf = engine._vectors.wait_for_ann()  # noqa: SLF001
    warm = time.perf_counter() - started
    papers = hub.stats().papers
    with hub._storage.engine.connect() as conn:  # noqa: SLF001 - a measuring tool
        from sqlalchemy import text

        model = hub._embedder.name  # type: ignore[union-attr]  # noqa: SLF001
        vectors = conn.execute(text("SELECT count(*) FROM embeddings WHERE model = :m"), {"m": model}).scalar_one()
        tails = conn.execute(
            text("SELECT count(*), coalesce(sum(length(vector)), 0) / (4 * 384) FROM embeddings WHERE model = :m"),
            {"m": f"{model}#passages"},
        ).one()
    times: dict[str, list[float]] = {"raw FTS5": [], "lexical": [], "semantic": [], "hybrid": [], "query embedding": []}
    embedder = hub._embedder  # noqa: SLF001
    for q in queries:  # modes interleaved per query, so drifts in machine load hit all alike
        expr = match_expression(parse_query(q))
        t = time.perf_counter()
        raw.execute(raw_sql, (expr,)).fetchall()
        times["raw FTS5"].append(time.perf_counter() - t)
        for mode in ("lexical", "semantic", "hybrid"):
            t = time.perf_counter()
            hub.search(q, mode=mode, limit=10)
            times[mode].append(time.perf_counter() - t)
        t = time.perf_counter()
        embedder.embed([q])  # type: ignore[union-attr]
        times["query embedding"].append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The IVF index against exact search, on the same queries: what the approximation loses.
    rec10, rec100 = [], []
    for q in queries:
        v = embedder.embed([q])[0]  # type: ignore[union-attr]
        exact = [p for p, _ in engine._vectors.exact_search(v, 100)]  # noqa: SLF001
        approx = {p for p, _ in engine._vectors.search(v, 100)}  # noqa: SLF001
        if exact:
            rec10.append(len(set(exact[:10]) & approx) / len(exact[:10]))
            rec100.append(len(set(exact) & approx) / len(exact))

    base = statistics.median(times["raw FTS5"])
    print(f"command: python bench/search.py --db {args.db} --queries {args.queries} --embed-sample {args.embed_sample}")
    print(
        f"papers: {papers}, with a vector: {vectors} ({100 * vectors / max(papers, 1):.0f} %), "
        f"tails looked at: {tails[0]} ({100 * tails[0] / max(papers, 1):.0f} %) giving {tails[1]} passage vectors, "
        f"queries: {len(queries)}, e.g. {queries[:3]}"
    )
    print("| what | p50 ms | p99 ms | p50 ratio to raw FTS5 |\n|---|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {1000 * statistics.median(ts):.1f} | {1000 * pct(ts, 99):.1f} | {statistics.median(ts) / base:.2f} |")
    print(f"peak RSS of this process (index loaded): {rss:.0f} MB")
    print(f"warm-up (model, vectors, BM25 build, IVF training): {warm:.1f} s; IVF serving: {ivf}")
    if rec10:
        print(f"semantic top-100 of the IVF vs exact search: recall of exact top-10 {statistics.mean(rec10):.3f}, of top-100 {statistics.mean(rec100):.3f}")
    hub.close()
    if not args.embed_sample:
        return

    # Embedding build: the raw embedder on N abstracts (and the tail passages of the long ones)
    # vs Hub.index_embeddings on the same papers, which embeds the same texts and stores them.
    rows = raw.execute("SELECT title, abstract FROM papers ORDER BY id LIMIT ?", (args.embed_sample,)).fetchall()
    model = MiniLMOnnx()
    texts = [document_text(t, a) for t, a in rows]
    passages = [p for t, a in rows for p in model.tail_passages(t, a)]
    model.embed(texts[:16])
    t = time.perf_counter()
    model.embed(texts)
    if passages:
        model.embed(passages)
    raw_rate = len(texts) / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        h = make_hub(load_settings(env={}, database_url=f"sqlite:///{tmp}/e.sqlite3"))
        h.add_papers(PaperData(arxiv_id=f"bench-{i}", title=t, abstract=a, source="bench", source_ref=str(i)) for i, (t, a) in enumerate(rows))
        h.index_embeddings(arxiv_ids=["bench-0"])  # loads the model outside the timing
        t = time.perf_counter()
        done = h.index_embeddings()
        hub_rate = done / (time.perf_counter() - t)
        h.close()
    print(
        f"embedding build ({len(texts)} papers, {len(passages)} tail passages): raw embedder {raw_rate:.1f} papers/s, "
        f"Hub.index_embeddings {hub_rate:.1f} papers/s, ratio {hub_rate / raw_rate:.2f}"
    )


if __name__ == "__main__":
    main()
