"""Search latency while another process ingests: a server's Hub answers lexical searches from
several threads, first on a quiet database, then while ``broadsheet ingest`` loads more papers
into the same database (as when an operator ingests a dump beside a running server).

Steps, in one run:
1. a fresh database (SQLite file, or ``--db`` a PostgreSQL URL of an empty database) gets the first
   ``--base`` papers of ``--file``; a Hub with the in-memory BM25 index warms up on it;
2. quiet: ``--threads`` clients search for ``--quiet`` seconds (queries: 2-4 title words of base
   papers, fixed seed; each client pauses ``--think`` s between searches);
3. load: ``broadsheet ingest`` (another process) loads the next ``--papers`` papers while the clients
   search on;
4. afterwards, once the index has caught up: for a sample of papers (ingested and base), a search
   for the words of its title must find it on the first page whenever the database's own ranking
   (FTS5 / ts_rank) does.
Prints search p50/p99 quiet and during the ingest, their ratio (target: p99 under 10x quiet), how
many searches the in-memory index answered (the rest: the database, while the index catches up),
and the command line.

    python bench/ingest_load.py [--base 20000] [--papers 80000] [--threads 4] [--quiet 15]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.search.query import parse_query

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = Path(os.environ.get("BROADSHEET_SHARED_DIR", REPO.parent / "shared")) / "data" / "arxiv-100k.jsonl.gz"
WORDS = re.compile(r"[A-Za-z]{4,}")


def write_slice(src: Path, dst: Path, start: int, stop: int) -> list[dict]:
    """Lines ``start:stop`` of a JSONL(.gz) file into ``dst`` (gzip); the records, parsed."""
    records = []
    with gzip.open(src, "rt") as f, gzip.open(dst, "wt") as out:
        for line in itertools.islice(f, start, stop):
            out.write(line)
            records.append(json.loads(line))
    return records


def title_of(record: dict) -> str:
    return " ".join(str(record.get("title", "")).split())


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--db", help="an empty PostgreSQL database's URL (default: a SQLite file in a temporary folder)")
    ap.add_argument("--base", type=int, default=20_000, help="papers in the database before the ingest")
    ap.add_argument("--papers", type=int, default=80_000, help="papers ingested while searching")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--think", type=float, default=0.05, help="seconds each client waits between searches")
    ap.add_argument("--quiet", type=float, default=15.0, help="seconds of searching before the ingest")
    ap.add_argument("--check", type=int, default=300, help="papers checked by their title afterwards")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base_file, load_file = Path(tmp) / "base.jsonl.gz", Path(tmp) / "load.jsonl.gz"
        base = write_slice(args.file, base_file, 0, args.base)
        loaded = write_slice(args.file, load_file, args.base, args.base + args.papers)
        url = args.db or f"sqlite:///{tmp}/load.sqlite3"
        hub = make_hub(load_settings(env={}, database_url=url, embedder="none", lexical_index="memory"))
        hub.ingest_paths([base_file])
        t = time.perf_counter()
        hub.warm_up(wait=True)
        print(f"{len(base)} papers in the database, in-memory index built in {time.perf_counter() - t:.1f} s")

        rng = random.Random(0)
        queries = []
        for r in rng.sample(base, min(500, len(base))):
            words = WORDS.findall(title_of(r))
            if words:
                queries.append(" ".join(words[: rng.randint(2, 4)]))
        phase = ["quiet"]
        latencies: dict[str, list[float]] = {"quiet": [], "ingest": []}
        stop = threading.Event()
        memory_answers = {"quiet": 0, "ingest": 0}

        def client(seed: int) -> None:
            r = random.Random(seed)
            while not stop.is_set():
                q = r.choice(queries)
                now = phase[0]
                start = time.perf_counter()
                hub.search(q, mode="lexical", limit=10)
                latencies[now].append(time.perf_counter() - start)
                status = hub.search_index_status() if hasattr(hub, "search_index_status") else None
                memory_answers[now] += bool(status and status.current)
                time.sleep(args.think)

        clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.threads)]
        for c in clients:
            c.start()
        time.sleep(args.quiet)
        phase[0] = "ingest"
        cmd = [sys.executable, "-m", "broadsheet", "--db", url, "ingest", str(load_file)]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
        ingest_s = time.perf_counter() - t
        stop.set()
        for c in clients:
            c.join()

        t = time.perf_counter()
        engine = hub._search_engine()  # noqa: SLF001 - a benchmark looks inside
        index = getattr(engine, "_lexical", None)
        if index is not None and hasattr(index, "wait_until_current"):
            index.wait_until_current(timeout=600)
        catch_up_s = time.perf_counter() - t
        missed, checked = [], 0
        fulltext = hub._storage.fulltext  # noqa: SLF001 - the database's own ranking, for comparison
        for r in rng.sample(loaded, min(args.check, len(loaded))) + rng.sample(base, min(args.check // 3, len(base))):
            words = " ".join(WORDS.findall(title_of(r)))
            if not words:
                continue
            checked += 1
            hits = {h.paper.arxiv_id for h in hub.search(words, mode="lexical", limit=10).hits}
            in_db = {p.arxiv_id for p in hub._storage.papers.by_ids([pid for pid, _ in fulltext.search(parse_query(words), 10)]).values()}  # noqa: SLF001
            if r["arxiv_id"] in in_db and r["arxiv_id"] not in hits:
                missed.append(r["arxiv_id"])
        hub.close()

    quiet, load = latencies["quiet"], latencies["ingest"]
    ms = lambda x: f"{1000 * x:.1f} ms"  # noqa: E731
    print(f"ingest of {len(loaded)} papers by another process: {ingest_s:.1f} s ({len(loaded) / ingest_s:.0f} papers/s)")
    print(f"quiet:  {len(quiet)} searches, p50 {ms(statistics.median(quiet))}, p99 {ms(percentile(quiet, 0.99))}, max {ms(max(quiet))}")
    print(f"ingest: {len(load)} searches, p50 {ms(statistics.median(load))}, p99 {ms(percentile(load, 0.99))}, max {ms(max(load))}")
    print(f"p99 during the ingest / quiet p99: {percentile(load, 0.99) / percentile(quiet, 0.99):.1f}x (target < 10x)")
    print(f"in-memory index current after a search: {memory_answers['quiet']}/{len(quiet)} quiet, "
          f"{memory_answers['ingest']}/{len(load)} during the ingest; caught up {catch_up_s:.1f} s after it")  # fmt: skip
    print(f"papers the database finds by their title words but Hub.search does not, afterwards: {len(missed)} of {checked}"
          + (f" (e.g. {missed[:5]})" if missed else ""))  # fmt: skip
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    main()
