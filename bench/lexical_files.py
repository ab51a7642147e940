"""The BM25 index as files beside the in-memory index and raw FTS5, in one run.

Each figure comes from a fresh subprocess (so peak RSS is that of the step alone):
- build: ``BM25Index.build`` (what every server process did at start with ``lexical_index =
  memory``) beside ``broadsheet index --lexical``'s full build (``lexical_index = files``): time,
  peak RSS, size on disk;
- open: a server process mapping the files (time until it answers from them), its RSS and PSS
  (PSS shares the mapped pages among the processes that map them) after the queries;
- latency: per query, interleaved: the files, the in-memory index, raw FTS5 (the same OR of
  words, ``ORDER BY bm25 LIMIT 10`` through sqlite3), each top 10; p50/p99;
- update (same process): 500 new papers added to the database, then the time until each index
  holds them (the writer's round for the files: a small segment published as a new generation).

    python bench/lexical_files.py --db /tmp/arxiv.sqlite3      # a copy: the update step writes
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def now_mb() -> tuple[float, float]:
    """(RSS, PSS) of this process now, MB."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        k, v = line.split(":", 1)
        fields[k] = int(v.split()[0])
    return fields["Rss"] / 1024, fields["Pss"] / 1024


def hub_for(db: Path, index_dir: Path, **settings: object):  # noqa: ANN201
    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub

    return make_hub(load_settings(env={}, database_url=f"sqlite:///{db}", embedder="none", index_dir=str(index_dir), **settings))


def role_build_memory(db: Path, index_dir: Path) -> dict:
    from broadsheet.search.lexical import BM25Index

    hub = hub_for(db, index_dir)
    t = time.perf_counter()
    index = BM25Index()
    index.build(hub._storage.fulltext.documents())  # noqa: SLF001
    return {"seconds": time.perf_counter() - t, "peak_rss_mb": rss_mb(), "papers": len(index)}


def role_build_files(db: Path, index_dir: Path) -> dict:
    hub = hub_for(db, index_dir)
    t = time.perf_counter()
    report = hub.update_lexical_index()
    return {"seconds": time.perf_counter() - t, "peak_rss_mb": rss_mb(), "papers": report.papers, "disk_mb": report.disk_bytes / 1e6}


def _queries(db: Path, n: int) -> list[str]:
    from search import make_queries  # bench/search.py's queries

    return make_queries(sqlite3.connect(f"file:{db}?mode=ro", uri=True), n)


def role_open(db: Path, index_dir: Path, n_queries: int) -> dict:
    from broadsheet.search.query import parse_query
    from broadsheet.storage.fulltext import query_terms

    t = time.perf_counter()
    hub = hub_for(db, index_dir)
    index = hub._search.lexical_files()  # noqa: SLF001 - what warm_up makes
    t_index = time.perf_counter()
    index.start()
    opened = time.perf_counter() - t
    mapped = time.perf_counter() - t_index
    queries = [query_terms(parse_query(q)) for q in _queries(db, n_queries)]
    assert index.search(queries[0], 10) is not None, "the files are not current"
    for q in queries:
        index.search(q, 10)
    rss, pss = now_mb()
    return {"open_seconds": opened, "map_seconds": mapped, "ready": index.ready, "rss_mb": rss, "pss_mb": pss, "peak_rss_mb": rss_mb()}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def role_latency(db: Path, index_dir: Path, n_queries: int, n_new: int) -> dict:
    """Per query, interleaved: each index as a search calls it (it first asks the database for
    its last change, to know the index is current), the index alone, and raw FTS5."""
    from broadsheet.search.lexical import LexicalIndex
    from broadsheet.search.query import parse_query
    from broadsheet.storage.fulltext import DEFAULT_WEIGHTS, match_expression, query_terms

    hub = hub_for(db, index_dir)
    fulltext = hub._storage.fulltext  # noqa: SLF001
    files = hub._search.lexical_files()  # noqa: SLF001
    files.start()
    memory = LexicalIndex(fulltext)
    memory.refresh()
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    w = ", ".join(map(str, DEFAULT_WEIGHTS))
    sql = f"SELECT rowid, bm25(papers_fts, {w}) AS s FROM papers_fts WHERE papers_fts MATCH ? ORDER BY s LIMIT 10"
    runs = {
        "files": lambda terms, _: files.search(terms, 10),
        "memory": lambda terms, _: memory.search(terms, 10),
        "files_index_only": lambda terms, _: files.generation.search(terms, 10, None),
        "memory_index_only": lambda terms, _: memory._index.search(terms, 10),  # noqa: SLF001
        "fts5": lambda _, parsed: raw.execute(sql, (match_expression(parsed),)).fetchall(),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    same = 0
    queries = _queries(db, n_queries)
    names = list(runs)
    for n, q in enumerate(queries):  # interleaved, in turn first: load drifts and caches hit all alike
        parsed = parse_query(q)
        terms = query_terms(parsed)
        got = {}
        for name in names[n % len(names) :] + names[: n % len(names)]:
            t = time.perf_counter()
            got[name] = runs[name](terms, parsed)
            times[name].append(time.perf_counter() - t)
        same += got["files"] is not None and [p for p, _ in got["files"]] == [p for p, _ in got["memory"]]
    latency = {k: {"p50_ms": 1000 * pct(v, 50), "p99_ms": 1000 * pct(v, 99)} for k, v in times.items()}
    latency |= {"same_top10": same, "queries": len(queries)}
    return {"latency": latency, "update": update(hub, files, memory, db, n_new)}


def update(hub, files, memory, db: Path, n_new: int) -> dict:  # noqa: ANN001
    """Both indexes current; ``n_new`` papers arrive (copies of the first papers' text under new
    ids, a day later); the time each index takes to hold them (its catch-up round)."""
    from broadsheet.hub import make_hub
    from broadsheet.types import PaperData

    assert files.wait_until_current(600) and memory.is_current()
    last = hub._storage.fulltext.last_change()  # noqa: SLF001
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT title, abstract FROM papers ORDER BY id LIMIT ?", (n_new,)).fetchall()
    taken = {a for (a,) in con.execute("SELECT arxiv_id FROM papers WHERE arxiv_id LIKE '2612.%'")}
    ids = [a for a in (f"2612.{i:05d}" for i in range(100000)) if a not in taken][: len(rows)]
    adder = make_hub(hub.settings, now=lambda: last + timedelta(days=1))
    adder.add_papers(
        PaperData(arxiv_id=a, title=f"{t} (new)", abstract=ab, authors=("New Author",), categories=("cs.LG",),
                  primary_category="cs.LG", source="bench", source_ref=f"bench:{a}")
        for a, (t, ab) in zip(ids, rows, strict=True)
    )  # fmt: skip
    t = time.perf_counter()
    added_memory = memory.refresh()
    memory_s = time.perf_counter() - t
    t = time.perf_counter()
    added_files = files.refresh()
    files_s = time.perf_counter() - t
    assert files.is_current()
    gen = files.generation
    return {
        "memory": {"seconds": memory_s, "added": added_memory},
        "files": {"seconds": files_s, "added": added_files, "segments": len(gen.segments), "generation": gen.generation},
    }


def run(role: str, db: Path, index_dir: Path, *extra: str) -> dict:
    cmd = [sys.executable, __file__, "--role", role, "--db", str(db), "--index-dir", str(index_dir), *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{role} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a SQLite database (a copy: the update step adds papers)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--new", type=int, default=500)
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--skip-memory-build", action="store_true", help="at 1M+: skip the in-memory build and latency (hours of RSS)")
    args = ap.parse_args()
    db = args.db.resolve()
    if args.role:
        fn = {
            "build-memory": lambda: role_build_memory(db, args.index_dir),
            "build-files": lambda: role_build_files(db, args.index_dir),
            "open": lambda: role_open(db, args.index_dir, args.queries),
            "latency": lambda: role_latency(db, args.index_dir, args.queries, args.new),
        }[args.role]
        print(json.dumps(fn()))
        return
    index_dir = Path(tempfile.mkdtemp(prefix="lexical-files-", dir=db.parent))
    results: dict = {"uptime_start": os.popen("uptime").read().strip()}
    try:
        papers = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute("SELECT count(*) FROM papers").fetchone()[0]
        results["papers"] = papers
        if not args.skip_memory_build:
            results["build_memory"] = run("build-memory", db, index_dir)
        results["build_files"] = run("build-files", db, index_dir)
        results["open"] = run("open", db, index_dir, "--queries", str(args.queries))
        if not args.skip_memory_build:
            results |= run("latency", db, index_dir, "--queries", str(args.queries), "--new", str(args.new))
        results["uptime_end"] = os.popen("uptime").read().strip()
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)
    print(f"command: python bench/lexical_files.py --db {args.db} --queries {args.queries} --new {args.new}"
          + (" --skip-memory-build" if args.skip_memory_build else ""))  # fmt: skip
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
