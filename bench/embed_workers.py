"""`broadsheet index` spread over processes: papers/s with 1 and 2 worker processes on one database,
beside the single-process loop without claims that `broadsheet index` ran before, in one run.

Each variant runs on the same N papers taken from a Broadsheet database (read-only), copied into
a fresh SQLite file and a fresh PostgreSQL database; every variant starts from no vectors.
Worker processes load the model first and then start together at an agreed moment, so the
figures are the embedding itself (model loading excluded); a variant's time is from that moment
to the last worker's end. Two embedders:

- ``minilm``: the default model (MiniLM int8, ONNX). On a 2-core machine one process already
  uses both cores, so 2 processes should not be faster there: they are for more machines.
- ``zero``: an embedder that costs nothing (a constant vector), so the time is what claiming,
  planning and writing cost: the claim overhead against the path without claims.

    python bench/embed_workers.py --source /work/bench-data/arxiv.sqlite3 --papers 300 --batch 32 \\
        --pg postgresql://broadsheet:broadsheet@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent


class ZeroEmbedder:
    """Costs nothing: every text gets the same unit vector (``python:embed_workers:ZeroEmbedder``)."""

    name = "bench-zero-384"
    dim = 384

    def embed(self, texts):  # noqa: ANN001, ANN201
        out = np.zeros((len(texts), self.dim), np.float32)
        out[:, 0] = 1.0
        return out

    def tail_passages(self, title: str, abstract: str) -> list[str]:
        return []


EMBEDDERS = {"minilm": "minilm-int8", "zero": "python:embed_workers:ZeroEmbedder"}


def _settings(url: str, embedder: str, batch: int):  # noqa: ANN202
    from broadsheet.config import load_settings

    return load_settings(env={}, database_url=url, embedder=embedder, index_batch_size=batch, background_embed=False)


def worker(args: argparse.Namespace) -> None:
    """One worker process: load, wait for the start, embed, print what it did."""
    from broadsheet.hub import make_hub

    hub = make_hub(_settings(args.db, EMBEDDERS[args.embedder], args.batch))
    hub._search.engine()  # noqa: SLF001 - load the model before the clock starts
    hub._search.embedder.embed(["warm up"])  # noqa: SLF001
    time.sleep(max(0.0, args.start_at - time.time()))
    started = time.time()
    done = without_claims(hub, args.batch) if args.mode == "direct" else hub.index_embeddings()
    print(json.dumps({"started": started, "ended": time.time(), "papers": done}), flush=True)
    hub.close()


def without_claims(hub, size: int) -> int:  # noqa: ANN001 - a Hub
    """The single-process loop `broadsheet index` ran before claims (main's ``index_embeddings``):
    the next ``size`` papers without a vector by id, embedded and written, until none is left."""
    from broadsheet.search.backfill import embed_items
    from broadsheet.search.embedders import passages_key

    embedder, store = hub._search.embedder, hub._storage.vectors  # noqa: SLF001
    done: set[int] = set()
    for kind in (embedder.name, passages_key(embedder.name)):
        after = 0
        while batch := store.stale(kind, size, after):
            vectors = embed_items(embedder, kind, batch, size)
            store.put(kind, [(b.paper_id, b.content_hash, v) for b, v in zip(batch, vectors, strict=True)])
            done.update(b.paper_id for b in batch)
            after = batch[-1].paper_id
    return len(done)


def fresh(url: str) -> None:
    """No vectors, no plan: every variant starts alike."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        for table in ("embeddings", "embed_batches", "embed_workers"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def variant(url: str, embedder: str, mode: str, processes: int, batch: int) -> dict[str, float]:
    fresh(url)
    start_at = time.time() + (25 if embedder == "minilm" else 8)  # every worker loaded by then
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), *sys.path])}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", "--db", url, "--embedder", embedder, "--mode", mode,
             "--batch", str(batch), "--start-at", str(start_at)],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        for _ in range(processes)
    ]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    late = max(r["started"] for r in results) - start_at
    if late > 1:
        print(f"  (a worker started {late:.1f} s late: the start was too soon)", file=sys.stderr)
    took = max(r["ended"] for r in results) - start_at
    return {"seconds": took, "vectors": written_by_each(url) if mode == "queue" else ["-"]}


def written_by_each(url: str) -> list[int]:
    """The vectors each worker wrote (counted with the rows, in the same transactions)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(text("SELECT written FROM embed_workers ORDER BY worker"))]
        rows = conn.execute(text("SELECT count(*) FROM embeddings")).scalar_one()
    engine.dispose()
    assert sum(found) == rows, (found, rows)  # every vector written once, by one worker
    return found


def copy_papers(source: str, n: int, urls: list[str]) -> None:
    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub
    from broadsheet.types import PaperData

    con = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    rows = con.execute("SELECT arxiv_id, title, abstract FROM papers ORDER BY id LIMIT ?", (n,)).fetchall()
    con.close()
    for url in urls:
        hub = make_hub(load_settings(env={}, database_url=url, embedder="none"))
        hub.add_papers(PaperData(arxiv_id=a, title=t, abstract=ab, source="bench") for a, t, ab in rows)
        hub.close()


def pg_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="/work/bench-data/arxiv.sqlite3", help="a Broadsheet SQLite database to take papers from")
    ap.add_argument("--papers", type=int, default=300)
    ap.add_argument("--zero-papers", type=int, default=5000, help="papers for the zero-cost embedder")
    ap.add_argument("--batch", type=int, default=32, help="index_batch_size (a claim: 32 splits a few hundred papers finely)")
    ap.add_argument("--pg", help="a PostgreSQL URL whose user may create databases (embed_workers_bench is made)")
    ap.add_argument("--embedders", default="zero,minilm")
    # a worker process (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--embedder", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    print(" ".join([Path(sys.executable).name, *sys.argv]))
    with tempfile.TemporaryDirectory(prefix="embed-workers-", dir="/tmp") as tmp:
        for embedder in args.embedders.split(","):
            n = args.papers if embedder == "minilm" else args.zero_papers
            urls = {"sqlite": f"sqlite:///{tmp}/{embedder}.sqlite3"}
            if args.pg:
                urls["postgresql"] = pg_database(args.pg, f"embed_workers_bench_{embedder}")
            copy_papers(args.source, n, list(urls.values()))
            for backend, url in urls.items():
                # interleaved: no claims, 1 worker, 2 workers, on the same papers
                figures = {
                    "no claims (before), 1 process": variant(url, embedder, "direct", 1, args.batch),
                    "claims, 1 process": variant(url, embedder, "queue", 1, args.batch),
                    "claims, 2 processes": variant(url, embedder, "queue", 2, args.batch),
                }
                load = os.getloadavg()[0]
                base = figures["no claims (before), 1 process"]["seconds"]
                for label, f in figures.items():
                    print(
                        f"{embedder:6} {backend:10} {label:38} {n / f['seconds']:8.1f} papers/s  {f['seconds']:6.1f} s"
                        f"  x{base / f['seconds']:.2f}  vectors written by each worker {f['vectors']}  (load {load:.1f})"
                    )
    if args.pg:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(make_url(args.pg).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for embedder in args.embedders.split(","):
                conn.execute(text(f"DROP DATABASE IF EXISTS embed_workers_bench_{embedder}"))
        admin.dispose()


if __name__ == "__main__":
    main()
