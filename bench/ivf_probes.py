"""How many IVF lists a query of the vector index files should scan: recall and time per ``nprobe``.

For each ``nprobe``, on the same queries: recall of the exact top-10 (the float32 scan of every
vector, ``MappedVectorIndex.exact_search``) by what ``search(v, 100)`` returns (the depth hybrid
search asks for), and the time of that search. The index files must exist (``broadsheet index``
builds them). The 1M and 2.7M bench databases are the 100k replicated: every copy of a paper has
its vector, so an exact top-10 is one paper's copies; with ``--copies-of N`` a paper id counts as
its original (``(id - 1) % N``) and the top-10 is of distinct originals.

    python bench/ivf_probes.py --db /tmp/scale/s1m/arxiv1m.sqlite3 --probes 600,300,200,120,60 --copies-of 100000
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import make_queries, pct  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a SQLite database with its index files beside it")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--probes", default="600,300,200,120,60")
    ap.add_argument("--copies-of", type=int, default=0, help="papers are copies of the first N (replicated corpora)")
    args = ap.parse_args()

    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub

    print("command: python bench/ivf_probes.py " + " ".join(sys.argv[1:]))
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    queries = make_queries(con, args.queries)
    hub = make_hub(load_settings(database_url=f"sqlite:///{args.db}", vector_index="files", lexical_index="database"))
    engine = hub._search_engine()  # noqa: SLF001 - a measuring tool
    embedder = hub._embedder  # noqa: SLF001
    index = engine._vectors._get()  # noqa: SLF001
    while True:  # the files open (or are built) in the background
        index.refresh()
        state = index._state  # noqa: SLF001
        if state.gen is not None and state.gen.ivf is not None:
            break
        time.sleep(1)
    nlist = state.manifest.meta["nlist"]
    print(f"vectors: {state.manifest.meta['vectors']:,}; IVF lists: {nlist}; queries: {len(queries)}")

    def top(hits: list[tuple[int, float]], n: int) -> list[int]:
        out: list[int] = []
        for pid, _ in hits:
            key = (pid - 1) % args.copies_of if args.copies_of else pid
            if key not in out:
                out.append(key)
        return out[:n]

    vectors = [embedder.embed([q])[0] for q in queries]
    exact = [top(index.exact_search(v, 100 if args.copies_of else 10), 10) for v in vectors]
    print("| nprobe | share of lists | recall of the exact top-10 (min) | search(100) p50 / p99 ms |")
    print("|---|---|---|---|")
    for nprobe in (int(x) for x in args.probes.split(",")):
        index._nprobe = nprobe  # noqa: SLF001 - the override the search reads
        for v in vectors[:5]:
            index.search(v, 100)
        recall, times = [], []
        for v, want in zip(vectors, exact, strict=True):
            t = time.perf_counter()
            found = index.search(v, 100)
            times.append((time.perf_counter() - t) * 1000)
            recall.append(len(set(want) & set(top(found, 100))) / len(want))
        print(
            f"| {nprobe} | {nprobe / nlist:.2f} | {statistics.mean(recall):.3f} ({min(recall):.1f}) "
            f"| {pct(times, 50):.1f} / {pct(times, 99):.1f} |"
        )
    hub.close()


if __name__ == "__main__":
    main()
