"""PostgreSQL beside SQLite, in one run: search latency on the 100k corpus (bench/search.py's
queries and measurement) and SciFact train quality (``broadsheet eval-beir``), on both backends.

    broadsheet --db /work/pg-bench/arxiv100k.sqlite3 ingest ../shared/data/arxiv-100k.jsonl.gz
    broadsheet --db /work/pg-bench/arxiv100k.sqlite3 index      # or some of it: see "with a vector"
    python bench/postgres.py --sqlite /work/pg-bench/arxiv100k.sqlite3 \\
        --pg postgresql://broadsheet:broadsheet@127.0.0.1:55432/postgres --scifact ../shared/data/scifact

What it does:
1. Copies the SQLite database into a new PostgreSQL database with ``copy-db`` (timed), so both
   backends hold the same papers and the same vectors.
2. Latency: the same 200 queries (bench/search.py's ``make_queries``) through ``Hub.search`` per
   mode, each backend warmed up as ``broadsheet serve`` does, and the raw full-text query beside
   it (FTS5 ``bm25()`` through sqlite3; ``ts_rank`` over the tsvector through psycopg). Set-ups
   (settings ``lexical_index`` / ``vector_index``): SQLite (memory / memory); PostgreSQL's
   default (memory BM25 / pgvector HNSW); PostgreSQL all in memory; PostgreSQL all in the
   database (ts_rank / HNSW).
3. Quality: ``broadsheet eval-beir SCIFACT --split train`` on SQLite (``--keep``: the loaded and
   embedded collection is kept, and reused by a re-run), then that database copied into
   PostgreSQL and ``eval-beir --database`` there, in the same set-ups.
``--pg`` names any database on the server: the script creates (and drops, unless ``--keep-pg``)
its own databases beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from search import make_queries, pct  # noqa: E402 - bench/search.py, beside this file

from broadsheet.config import load_settings  # noqa: E402
from broadsheet.hub import copy_database, make_hub  # noqa: E402
from broadsheet.search.query import parse_query  # noqa: E402
from broadsheet.storage.fulltext import DEFAULT_WEIGHTS, match_expression  # noqa: E402
from broadsheet.storage.fulltext_pg import RANK_NORMALISATION, RANK_WEIGHTS, _tsquery  # noqa: E402

BENCH_DB = "broadsheet_bench_100k"
EVAL_DB = "broadsheet_bench_scifact"


def _admin(url: str):  # noqa: ANN202 - an Engine
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")


def _fresh_db(admin, name: str, keep: bool) -> tuple[str, bool]:  # noqa: ANN001
    """URL of database ``name`` on the server, and whether it holds an earlier run's copy (kept
    with ``keep``); otherwise it is created empty."""
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and not keep:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        if not exists or not keep:
            conn.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    if not (exists and keep):
        return url, False
    with create_engine(make_url(url).set(drivername="postgresql+psycopg")).connect() as conn:
        return url, bool(conn.execute(text("SELECT to_regclass('papers') IS NOT NULL")).scalar()) and bool(
            conn.execute(text("SELECT EXISTS (SELECT 1 FROM papers)")).scalar()
        )


def _raw_sqlite(path: Path):  # noqa: ANN202 - a function timing one raw FTS5 query
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    w = ", ".join(map(str, DEFAULT_WEIGHTS))
    sql = f"SELECT rowid, bm25(papers_fts, {w}) AS s FROM papers_fts WHERE papers_fts MATCH ? ORDER BY s LIMIT 10"
    return lambda q: con.execute(sql, (match_expression(parse_query(q)),)).fetchall()


def _raw_postgres(url: str):  # noqa: ANN202 - a function timing one raw tsvector query
    import psycopg

    conn = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)
    sql = (
        f"SELECT paper_id, ts_rank(%s::real[], terms, q, {RANK_NORMALISATION}) AS s "
        "FROM papers_fts, CAST(%s AS tsquery) q WHERE terms @@ q ORDER BY s DESC LIMIT 10"
    )
    return lambda q: conn.execute(sql, (list(RANK_WEIGHTS), _tsquery(parse_query(q)))).fetchall()


SETUPS = {  # label: (lexical_index, vector_index)
    "PostgreSQL default (BM25 in memory, HNSW)": ("memory", "database"),
    "PostgreSQL, all in memory": ("memory", "memory"),
    "PostgreSQL, all in the database": ("database", "database"),
}


def latency(label: str, url: str, where: tuple[str, str], raw, queries: list[str]) -> dict[str, object]:  # noqa: ANN001
    hub = make_hub(load_settings(env={}, database_url=url, lexical_index=where[0], vector_index=where[1]))
    started = time.perf_counter()
    hub.warm_up(wait=True)  # what `broadsheet serve` does at start
    vectors = hub._search_engine()._vectors  # noqa: SLF001 - a measuring tool
    if hasattr(vectors, "wait_for_ann"):
        vectors.wait_for_ann()
    warm = time.perf_counter() - started
    times: dict[str, list[float]] = {"raw full-text": [], "lexical": [], "semantic": [], "hybrid": []}
    for q in queries:  # modes interleaved per query, so drifts in machine load hit all alike
        t = time.perf_counter()
        raw(q)
        times["raw full-text"].append(time.perf_counter() - t)
        for mode in ("lexical", "semantic", "hybrid"):
            t = time.perf_counter()
            hub.search(q, mode=mode, limit=10)
            times[mode].append(time.perf_counter() - t)
    hub.close()
    return {
        "label": label,
        "warm_up_s": round(warm, 1),
        **{f"{k} p50": round(1000 * statistics.median(v), 1) for k, v in times.items()},
        **{f"{k} p99": round(1000 * pct(v, 99), 1) for k, v in times.items()},
    }


def eval_beir(folder: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, object]:
    cmd = [sys.executable, "-m", "broadsheet", "eval-beir", str(folder), "--split", "train", *extra]
    print("$", " ".join(cmd), " ".join(f"{k}={v}" for k, v in (env or {}).items()), flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})})
    result = json.loads(proc.stdout)
    result["wall_s"] = round(time.perf_counter() - started)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sqlite", type=Path, required=True, help="the 100k SQLite database (ingested; indexed, wholly or in part)")
    ap.add_argument("--pg", required=True, help="a PostgreSQL URL on the server to use (its database is only used to connect)")
    ap.add_argument("--scifact", type=Path, help="BEIR SciFact folder: also measure quality (slow: embeds 5,183 abstracts once)")
    ap.add_argument("--keep", type=Path, default=Path("/tmp/broadsheet-bench-scifact"), help="where the SciFact SQLite database is kept between runs")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep-pg", action="store_true", help="keep the PostgreSQL copies, and reuse those of an earlier run")
    args = ap.parse_args()

    admin = _admin(args.pg)
    sqlite_url = f"sqlite:///{args.sqlite.resolve()}"
    with sqlite3.connect(f"file:{args.sqlite}?mode=ro", uri=True) as con:
        queries = make_queries(con, args.queries)
        papers = con.execute("SELECT count(*) FROM papers").fetchone()[0]
        vectors = con.execute("SELECT count(*) FROM embeddings WHERE model NOT LIKE '%#passages'").fetchone()[0]
    print(f"papers: {papers}, with a vector: {vectors} ({100 * vectors / max(papers, 1):.1f} %), queries: {len(queries)}")

    pg_url, reused = _fresh_db(admin, BENCH_DB, args.keep_pg)
    started = time.perf_counter()
    copied = {} if reused else copy_database(sqlite_url, pg_url, replace=True)
    if copied:
        print(f"copy-db SQLite -> PostgreSQL: {time.perf_counter() - started:.0f} s for " + ", ".join(f"{n} {t}" for t, n in copied.items() if n))

    rows = [latency("SQLite (all in memory)", sqlite_url, ("memory", "memory"), _raw_sqlite(args.sqlite), queries)]
    rows += [latency(label, pg_url, where, _raw_postgres(pg_url), queries) for label, where in SETUPS.items()]
    print(f"\nlatency, ms, {len(queries)} queries, limit 10 (raw full-text: FTS5 bm25() on SQLite, ts_rank on PostgreSQL)")
    print("| set-up | warm-up s | raw full-text p50 / p99 | lexical p50 / p99 | semantic p50 / p99 | hybrid p50 / p99 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = " | ".join(f"{r[f'{m} p50']} / {r[f'{m} p99']}" for m in ("raw full-text", "lexical", "semantic", "hybrid"))
        print(f"| {r['label']} | {r['warm_up_s']} | {cells} |")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)

    if args.scifact:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = [("SQLite", eval_beir(args.scifact, "--keep", str(args.keep)))]
        kept = f"sqlite:///{(args.keep / args.scifact.resolve().name).resolve()}.sqlite3"
        eval_url, reused = _fresh_db(admin, EVAL_DB, args.keep_pg)
        if not reused:
            copy_database(kept, eval_url, replace=True)
        for label, (lexical, vectors) in SETUPS.items():
            env = {"BROADSHEET_LEXICAL_INDEX": lexical, "BROADSHEET_VECTOR_INDEX": vectors}
            results.append((label, eval_beir(args.scifact, "--database", eval_url, env=env)))
        for mode in ("lexical", "semantic"):
            results.append((f"SQLite, {mode}", eval_beir(args.scifact, "--keep", str(args.keep), "--mode", mode)))
            env = {"BROADSHEET_LEXICAL_INDEX": "database", "BROADSHEET_VECTOR_INDEX": "database"}
            results.append((f"PostgreSQL in the database, {mode}", eval_beir(args.scifact, "--database", eval_url, "--mode", mode, env=env)))
        print("\nSciFact train (809 queries, 5,183 abstracts)")
        print("| set-up | mode | nDCG@10 | recall@100 | ms/query |\n|---|---|---|---|---|")
        for label, r in results:
            print(f"| {label} | {r['mode']} | {r['ndcg@10']} | {r['recall@100']} | {r['ms_per_query']} |")
    if not args.keep_pg:
        with admin.connect() as conn:
            for name in (BENCH_DB, EVAL_DB):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
