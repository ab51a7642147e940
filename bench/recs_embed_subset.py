"""Embed only what ``eval-recs`` reads, in a large database: the candidates of a cutoff's window,
the positives of the users who count, and the background sample. Embedding all of the 100k
papers takes hours on 2 cores; this takes minutes. Resumable (``Hub.index_embeddings``).

    python bench/recs_embed_subset.py --db /work/bench-data/arxiv.sqlite3 \\
        --interactions /work/bench-data/arxiv-authors.jsonl --cutoff 2016-11-01
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.personal import evaluate as E


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--interactions", required=True, type=Path)
    p.add_argument("--cutoff", required=True, type=date.fromisoformat)
    args = p.parse_args()
    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{args.db}"))
    s = E.split(hub._storage, args.interactions, args.cutoff)
    ids = {c.paper_id for c in s.candidates} | {p for u in s.users for p in s.before[u]}
    ids |= set(hub._storage.recs.background(args.cutoff, E.BACKGROUND))
    arxiv_ids = [p.arxiv_id for p in hub._storage.papers.by_ids(sorted(ids)).values()]
    print(f"{len(s.users)} users; embedding up to {len(arxiv_ids)} papers", file=sys.stderr)
    t = time.perf_counter()
    done = hub.index_embeddings(arxiv_ids=arxiv_ids)
    print(f"{done} embedded in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    hub.close()


if __name__ == "__main__":
    main()
