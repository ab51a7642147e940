"""Interaction set "arXiv authors": each author's own papers, for authors with >= 6 papers.

Users are author names in the 100k-paper sample (folded with ``text.name_key``, so "José" and
"Jose" are one user); each of their papers is one interaction, timed on its ``published`` date.
Papers without a published date are skipped, and so are papers with more than 30 authors
(``--max-authors``): the 100k sample holds a few hundred papers of the large physics
collaborations (ATLAS, CMS, ~750 names each) whose hundreds of members would otherwise be
hundreds of users with the very same papers, outweighing everyone else in the mean. An author with many papers in the sample is a
researcher with a lasting interest, so their later papers should look like their earlier ones.
``broadsheet eval-recs`` is content only by default, so the model cannot cheat by author names.

    python bench/recs_arxiv_authors.py --out /work/bench-data/arxiv-authors.jsonl
    # input: arxiv-100k.jsonl.gz in $BROADSHEET_SHARED_DIR/data (default ../shared/data);
    # --min-papers 6 --max-authors 30

Output: JSON Lines ``{"user", "arxiv_id", "time"}`` sorted by time, user.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

from broadsheet.text import name_key

SHARED = Path(os.environ.get("BROADSHEET_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
DEFAULT = SHARED / "data" / "arxiv-100k.jsonl.gz"


def interactions(path: Path, min_papers: int, max_authors: int = 0) -> list[dict[str, str]]:
    papers: dict[str, dict[str, str]] = defaultdict(dict)  # user -> arxiv id -> date
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            day = rec.get("published")
            if not day or not rec.get("arxiv_id"):
                continue
            if max_authors and len(rec.get("authors") or ()) > max_authors:
                continue  # a collaboration's paper (ATLAS, CMS: hundreds of names), not a person's interest
            for name in rec.get("authors") or ():
                key = name_key(name)
                if key:
                    papers[key][rec["arxiv_id"]] = day[:10]
    rows = [
        {"user": user, "arxiv_id": a, "time": t}
        for user, mine in papers.items()
        if len(mine) >= min_papers
        for a, t in mine.items()
    ]
    rows.sort(key=lambda r: (r["time"], r["user"], r["arxiv_id"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT, help="the arXiv JSON Lines file (.gz)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON Lines")
    parser.add_argument("--min-papers", type=int, default=6, help="authors with at least this many papers")
    parser.add_argument(
        "--max-authors", type=int, default=30,
        help="leave out papers with more authors than this (0: keep all); see the docstring",
    )
    args = parser.parse_args()
    rows = interactions(args.data, args.min_papers, args.max_authors)
    with args.out.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"{len(rows)} interactions, {len({r['user'] for r in rows})} users -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
