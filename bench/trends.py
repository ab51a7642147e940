"""Trend charts' cost on top of a search, over the 100k corpus: ``Hub.trend(q)`` beside
``Hub.search(q)`` for the same 200 queries bench/search.py uses (made from the corpus's titles),
and the author and category pages' charts. Budget: 30 ms p50 for the chart.

    broadsheet --db /work/bench-data/arxiv100k.sqlite3 ingest ../shared/data/arxiv-100k.jsonl.gz
    python bench/trends.py --db /work/bench-data/arxiv100k.sqlite3

The database is migrated on open (a copy is better when another job reads it:
``sqlite3 SRC ".backup DST"``). Search runs by words (``embedder = none``): the chart's cost does
not depend on how the search ranks. The server's warm-up (BM25 index, the chart's month table)
happens first, as `broadsheet serve` does it, and is timed apart.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub

sys.path.insert(0, str(Path(__file__).parent))
from search import make_queries, pct  # noqa: E402 - bench/search.py's queries, for comparable figures


def timed(call, *args):  # noqa: ANN001, ANN002, ANN201
    started = time.perf_counter()
    value = call(*args)
    return value, (time.perf_counter() - started) * 1000


def line(name: str, ms: list[float]) -> str:
    return f"{name:<34} p50 {statistics.median(ms):7.1f} ms   p90 {pct(ms, 90):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   (n={len(ms)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    con = sqlite3.connect(args.db)
    queries = make_queries(con, args.queries, args.seed)
    rng = random.Random(args.seed)
    authors = [a for (a,) in con.execute("SELECT name FROM paper_authors WHERE position = 0 ORDER BY paper_id LIMIT 20000")]
    authors = rng.sample(authors, 100)
    categories = [c for (c,) in con.execute("SELECT DISTINCT category FROM paper_categories ORDER BY category")]
    categories = rng.sample(categories, min(60, len(categories))) + ["cs", "math", "physics"]
    con.close()

    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{args.db.resolve()}", embedder="none"))
    papers = hub.stats().papers
    _, warm = timed(lambda: hub.warm_up(wait=True))  # BM25 index and the month table, as `serve` does
    months = hub._month_table()  # noqa: SLF001 - a second load, alone, for the figure
    months._loaded = False  # noqa: SLF001
    _, load = timed(months.refresh)

    search_ms, trend_ms, both_ms, sizes = [], [], [], []
    for q in queries:  # one pass to warm the page cache of SQLite, then the timed one
        hub.search(q, mode="lexical", limit=20)
        hub.trend(q)
    for q in queries:
        _, s = timed(lambda: hub.search(q, mode="lexical", limit=20))
        t, c = timed(hub.trend, q)
        search_ms.append(s)
        trend_ms.append(c)
        both_ms.append(s + c)
        sizes.append(t.total_papers)
    author_ms = [timed(hub.author_trend, a)[1] for a in authors]
    category_ms = [timed(hub.category_trend, c)[1] for c in categories]
    hub.close()

    print(f"python bench/trends.py --db {args.db}  ({papers:,} papers, {len(queries)} queries, seed {args.seed})")
    print(f"warm-up (BM25 index + month table): {warm / 1000:.1f} s; month table alone: {load:.0f} ms")
    print(f"papers a query's chart counts: median {statistics.median(sizes):,.0f}, max {max(sizes):,}")
    print(line("search (lexical, 20 results)", search_ms))
    print(line("trend chart of the search", trend_ms))
    print(line("search + chart", both_ms))
    print(line("author page chart", author_ms))
    print(line("category page chart", category_ms))
    verdict = "within" if statistics.median(trend_ms) <= 30 else "OVER"
    print(f"chart p50 {statistics.median(trend_ms):.1f} ms: {verdict} the 30 ms budget")


if __name__ == "__main__":
    main()
