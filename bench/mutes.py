"""How long a member's mutes take to filter a list: ``MuteFilter.split`` over real arXiv papers
(the first --papers of ../shared/data/arxiv-100k.jsonl.gz, parsed by the ingest's own reader),
with --mutes mutes of each kind (authors, categories and words/phrases drawn from the papers
themselves, so they match). Prints ms per list and how many were hidden.

A week of listings is about 3,000 papers (the For you page ranks that many); a page is 50.

    python bench/mutes.py --papers 3000 --mutes 20
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BROADSHEET_SHARED_DIR", REPO.parent / "shared")) / "data" / "arxiv-100k.jsonl.gz"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--papers", type=int, default=3000)
    ap.add_argument("--mutes", type=int, default=20, help="mutes of each kind")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    from broadsheet.personal.mutes import MuteFilter
    from broadsheet.sources.files import read_path
    from broadsheet.types import Interest, Paper, PaperData

    t0 = datetime(2026, 1, 1)
    papers: list[Paper] = []
    for item in read_path(args.data):
        if isinstance(item, PaperData):
            papers.append(Paper(
                arxiv_id=item.arxiv_id, title=item.title or "", abstract=item.abstract or "", authors=tuple(item.authors or ()),
                version=None, categories=tuple(item.categories or ()), primary_category=item.primary_category,
                published=None, updated=None, doi=None, journal_ref=None, comments=None, github_repo=None,
                project_page=None, external_upvotes=0, upvotes=0, num_comments=0, source="bench", source_ref="",
                first_seen=t0, last_changed=t0,
            ))  # fmt: skip
            if len(papers) >= args.papers:
                break
    rng = random.Random(1)
    sample = rng.sample(papers, min(len(papers), 4 * args.mutes))
    mutes = []
    for i, p in enumerate(sample[: args.mutes]):
        mutes.append(Interest(len(mutes) + 1, "author", p.authors[0] if p.authors else "Nobody", t0))
        mutes.append(Interest(len(mutes) + 1, "category", (p.categories or ("cs.LG",))[-1], t0))
        words = [w for w in re.findall(r"[A-Za-z]+", p.title) if len(w) >= 6] or ["model"]
        phrase = " ".join(words[: 1 + i % 2])  # a word, or a two-word phrase, every other time
        mutes.append(Interest(len(mutes) + 1, "word", phrase, t0))
    times = []
    hidden = 0
    for _ in range(args.repeat + 1):
        started = time.perf_counter()
        f = MuteFilter.of(mutes)
        _, gone = f.split(papers)
        times.append(1000 * (time.perf_counter() - started))
        hidden = len(gone)
    print(json.dumps({
        "command": " ".join(["python", "bench/mutes.py", *sys.argv[1:]]),
        "papers": len(papers), "mutes": len(mutes), "hidden": hidden,
        # the first pass fills the caches of normalised text and name keys; the others find them
        "ms_first": round(times[0], 2),
        "ms_p50": round(statistics.median(times[1:]), 2), "ms_max": round(max(times[1:]), 2),
        "us_per_paper": round(1000 * statistics.median(times[1:]) / max(1, len(papers)), 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
