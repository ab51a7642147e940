"""Ingest throughput: the 100k-paper JSONL into a fresh SQLite database, full-text index included.

In one run, interleaved: the time to merely parse the file (the baseline, same parser), and the time
to ingest it through ``Hub.ingest_paths`` into a new database. Reports medians of N runs, and
papers/s. Target (issue 2): >= 2,000 papers/s end to end.

    python bench/ingest.py [--runs 3] [--file ../shared/data/arxiv-100k.jsonl.gz] [--batch-size N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.sources.files import read_path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO.parent / "shared" / "data" / "arxiv-100k.jsonl.gz"


def parse_only(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    n = sum(1 for _ in read_path(path))
    return time.perf_counter() - start, n


def ingest(path: Path, batch_size: int | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, database_url=f"sqlite:///{tmp}/bench.sqlite3", ingest_batch_size=batch_size)
        hub = make_hub(settings)  # schema creation is not timed
        start = time.perf_counter()
        report = hub.ingest_paths([path])
        elapsed = time.perf_counter() - start
        hub.close()
    return elapsed, report.added


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the setting's default")
    args = ap.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} not found")

    parse_times, ingest_times = [], []
    for run in range(1, args.runs + 1):
        t_parse, n = parse_only(args.file)
        t_ingest, added = ingest(args.file, args.batch_size)
        assert added == n, (added, n)
        parse_times.append(t_parse)
        ingest_times.append(t_ingest)
        print(f"run {run}: parse {t_parse:6.1f} s   ingest {t_ingest:6.1f} s   ({n} papers)", flush=True)

    p, i = statistics.median(parse_times), statistics.median(ingest_times)
    batch = args.batch_size or load_settings(env={}).ingest_batch_size
    print()
    print(f"command: python bench/ingest.py --runs {args.runs} --file {args.file}" + (f" --batch-size {args.batch_size}" if args.batch_size else ""))
    print(f"papers: {n}, batch size {batch}, median of {args.runs} runs")
    print("| stage | median s | papers/s | ratio to parse |")
    print("|---|---|---|---|")
    print(f"| parse only (baseline) | {p:.1f} | {n / p:,.0f} | 1.00 |")
    print(f"| ingest into fresh SQLite, FTS included | {i:.1f} | {n / i:,.0f} | {i / p:.2f} |")


if __name__ == "__main__":
    main()
