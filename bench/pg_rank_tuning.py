"""ts_rank's field weights and length normalisation for PostgreSQL's in-database lexical ranking
(``lexical_index = "database"``), on SciFact train: lexical nDCG@10 per setting.

    broadsheet eval-beir ../shared/data/scifact --split train --keep /tmp/scifact   # once: loads it
    broadsheet copy-db --from /tmp/scifact/scifact.sqlite3 --to postgresql://.../scifact_tune
    python bench/pg_rank_tuning.py ../shared/data/scifact postgresql://.../scifact_tune
"""

from __future__ import annotations

import sys
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import evaluate_beir
from broadsheet.storage import fulltext_pg

GRID = [
    # (D, C = abstract, B = authors, A = title), normalisation
    ((0.1, 0.2, 0.4, 1.0), 0),  # PostgreSQL's default weights, no normalisation
    ((0.1, 0.2, 0.4, 1.0), 1),
    ((0.0, 0.3, 0.4, 1.0), 1),
    ((0.0, 0.4, 0.5, 1.0), 0),
    ((0.0, 0.4, 0.5, 1.0), 1),
    ((0.0, 0.4, 0.5, 1.0), 2),
    ((0.0, 0.6, 0.7, 1.0), 1),
    ((0.0, 0.8, 0.9, 1.0), 0),
    ((0.0, 0.8, 0.9, 1.0), 1),
    ((0.0, 0.8, 0.9, 1.0), 16),
    ((0.0, 0.9, 0.95, 1.0), 1),
]

def main() -> None:
    folder, url = Path(sys.argv[1]), sys.argv[2]
    settings = load_settings(env={}, database_url=url, lexical_index="database", embedder="none")
    print("| weights {D, C, B, A} | normalisation | nDCG@10 | recall@100 |\n|---|---|---|---|")
    for weights, norm in GRID:
        fulltext_pg.RANK_WEIGHTS, fulltext_pg.RANK_NORMALISATION = weights, norm
        r = evaluate_beir(settings, folder, split="train", mode="lexical")
        print(f"| {weights} | {norm} | {r['ndcg@10']} | {r['recall@100']} |", flush=True)


if __name__ == "__main__":
    main()
