"""Interaction set "Hugging Face submitters": who put which paper on the HF daily list.

Users are the HF user names that submitted papers to the daily list; each (submitter, paper) is
one interaction, timed on the day the paper was listed (the archive's file name). The archive is
read with Broadsheet's own parser (`sources/hf_daily.py` through `sources/files.py`), so its
malformed days (Python ``repr()`` strings, the wrapped 2025-01-10) are read as ingest reads them;
items without a submitter (the first days) are skipped.

    python bench/recs_hf_submitters.py --out /work/bench-data/hf-submitters.jsonl
    # input: hf-daily-papers-2024-05_2026-08.tar.gz in $BROADSHEET_SHARED_DIR/data (default ../shared/data)

Output: JSON Lines ``{"user", "arxiv_id", "time"}`` (time = YYYY-MM-DD), sorted by time, user.
Feed it to ``broadsheet eval-recs`` over a database that ingested the same archive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from broadsheet.sources.files import read_path
from broadsheet.types import ListingData

SHARED = Path(os.environ.get("BROADSHEET_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
DEFAULT = SHARED / "data" / "hf-daily-papers-2024-05_2026-08.tar.gz"


def interactions(path: Path) -> list[dict[str, str]]:
    """One row per (submitter, paper): the first day that user listed it."""
    first: dict[tuple[str, str], str] = {}
    for item in read_path(path):
        if isinstance(item, ListingData) and item.submitter:
            key = (item.submitter, item.arxiv_id)
            day = item.listed_on.isoformat()
            if key not in first or day < first[key]:
                first[key] = day
    rows = [{"user": u, "arxiv_id": a, "time": t} for (u, a), t in first.items()]
    rows.sort(key=lambda r: (r["time"], r["user"], r["arxiv_id"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT, help="the HF daily-papers archive")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON Lines")
    args = parser.parse_args()
    rows = interactions(args.data)
    with args.out.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    users = {r["user"] for r in rows}
    print(f"{len(rows)} interactions, {len(users)} users -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
