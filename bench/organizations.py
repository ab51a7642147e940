"""Organizations at scale: what an organization's page and an ``org:`` search cost beside the same
search without the filter, over the 100k corpus plus the Hugging Face daily-papers archive.

Builds (once, in --work) a SQLite database of the 100k JSONL and the HF archive (whose records
name the organizations), lexical search only (no embedding: ``org:`` is a filter, the cost
measured is the filter's), then times in one process, --reps times each, interleaved:
- ``Hub.get_organization_feed(name, sort)`` for the organizations with the most papers, newest and
  trending (the data behind ``/organizations/NAME``);
- ``Hub.search("org:NAME")`` (the filter alone) and ``Hub.search("WORDS org:NAME")`` beside
  ``Hub.search("WORDS")``, lexical, limit 20, WORDS the first words of one of its titles.

    python bench/organizations.py --work /tmp/bench-orgs
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--orgs", type=int, default=5)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "orgs.sqlite3"
    fresh = not db.exists()
    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{db}", embedder="none"))
    if fresh:
        start = time.perf_counter()
        for path in (args.data / "arxiv-100k.jsonl.gz", args.data / "hf-daily-papers-2024-05_2026-08.tar.gz"):
            report = hub.ingest_paths([path])
            print(f"ingested {path.name}: {report.added} added, {report.updated} updated")
        print(f"built in {time.perf_counter() - start:.0f} s")
    stats = hub.stats()
    print(f"papers: {stats.papers}")

    import sqlite3

    with sqlite3.connect(db) as conn:
        top = conn.execute(
            "SELECT organization, count(*) FROM papers WHERE organization IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT ?",
            (args.orgs,),
        ).fetchall()
        n_orgs = conn.execute("SELECT count(*) FROM organizations").fetchone()[0]
        n_with = conn.execute("SELECT count(*) FROM papers WHERE organization IS NOT NULL").fetchone()[0]
    print(f"organizations: {n_orgs}, papers with one: {n_with}; measured: {', '.join(f'{o} ({n})' for o, n in top)}")
    words = {}
    for org, _ in top:
        _, feed = hub.get_organization_feed(org, sort="newest", limit=1)
        words[org] = " ".join(feed.entries[0].paper.title.split()[:3])

    timings: dict[str, list[float]] = {}

    def timed(label: str, fn) -> None:  # noqa: ANN001
        start = time.perf_counter()
        fn()
        timings.setdefault(label, []).append((time.perf_counter() - start) * 1000)

    for _ in range(args.reps):
        for org, _n in top:
            timed("org page data, newest (30)", lambda: hub.get_organization_feed(org, sort="newest"))
            timed("org page data, trending (30)", lambda: hub.get_organization_feed(org, sort="trending"))
            timed("search org:NAME", lambda: hub.search(f"org:{org}", mode="lexical", limit=20))
            timed("search WORDS org:NAME", lambda: hub.search(f"{words[org]} org:{org}", mode="lexical", limit=20))
            timed("search WORDS (no filter)", lambda: hub.search(words[org], mode="lexical", limit=20))
    print(f"\n{args.reps} reps x {len(top)} organizations, in-process, lexical (database ranking: no server index)")
    print("| what | p50 ms | p99 ms | mean ms |\n|---|---|---|---|")
    for label, values in timings.items():
        print(f"| {label} | {pct(values, 50):.1f} | {pct(values, 99):.1f} | {statistics.mean(values):.1f} |")
    hub.close()


if __name__ == "__main__":
    main()
