"""Search quality per fusion method on a BEIR collection: the table behind the defaults.

Builds (or reuses) an evaluation database like ``broadsheet eval-beir --keep DIR``, collects for
every query both retrievers' candidates once (``SearchEngine.candidates``), then scores each fusion
variant on them (pure functions, so the grid is cheap). Prints nDCG@10 / recall@100 per variant and,
for the tuned ones, a two-fold check (tune on one half of the queries, score the other half) so that
a setting that only fits this file shows up.

    python bench/fusion_tuning.py ../shared/data/scifact --split train --keep /tmp/evaldb
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from sqlalchemy import text

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.search.evaluation import as_plain_query, ndcg_at, recall_at
from broadsheet.search.fusion import FusionParams, fuse, only_lexical, only_semantic
from broadsheet.search.query import parse_query
from broadsheet.sources.beir import read_corpus, read_qrels, read_queries


def grid() -> dict[str, list[FusionParams]]:
    return {
        "rrf": [FusionParams(method="rrf", rrf_k=k) for k in (10, 30, 60, 100)],
        "convex": [FusionParams(method="convex", alpha=a / 20) for a in range(6, 17)],
        "complete": [FusionParams(method="complete", alpha=a / 20) for a in range(6, 17)],
        "cos+bm25": [FusionParams(method="cos+bm25", alpha=w / 10) for w in range(2, 9)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--keep", type=Path, default=Path("/tmp/broadsheet-evaldb"))
    ap.add_argument("--depth", type=int, default=100)
    args = ap.parse_args()

    args.keep.mkdir(parents=True, exist_ok=True)
    settings = load_settings(database_url=f"sqlite:///{args.keep.resolve()}/{args.folder.resolve().name}.sqlite3")
    hub = make_hub(settings)
    ids: dict[str, str] = {}
    hub.add_papers(read_corpus(args.folder, ids))
    hub.index_embeddings()
    qrels = read_qrels(args.folder, args.split)
    queries = {q: t for q, t in read_queries(args.folder).items() if q in qrels and as_plain_query(t)}
    engine = hub._search_engine()  # noqa: SLF001 - a measuring tool looks inside on purpose
    with hub._storage.engine.connect() as conn:  # noqa: SLF001
        doc_of = {pid: ids[aid] for pid, aid in conn.execute(text("SELECT id, arxiv_id FROM papers"))}

    started = time.perf_counter()
    cands = {qid: engine.candidates(parse_query(as_plain_query(t)), args.depth) for qid, t in queries.items()}
    print(f"candidates for {len(cands)} queries in {time.perf_counter() - started:.1f} s")

    def score(qids: list[str], rank) -> tuple[float, float]:  # noqa: ANN001
        n = r = 0.0
        for q in qids:
            ranking = [doc_of[f.paper_id] for f in rank(cands[q])][:100]
            n += ndcg_at(ranking, qrels[q])
            r += recall_at(ranking, qrels[q])
        return n / len(qids), r / len(qids)

    qids = sorted(cands)
    rows = [
        ("lexical (BM25, title 3x)", *score(qids, lambda c: only_lexical(c.lexical))),
        ("semantic (MiniLM int8)", *score(qids, lambda c: only_semantic(c.semantic))),
    ]
    folds = qids[:]
    random.Random(7).shuffle(folds)
    halves = (folds[: len(folds) // 2], folds[len(folds) // 2 :])
    for family, variants in grid().items():
        results = [(p, *score(qids, lambda c, p=p: fuse(c, p))) for p in variants]
        for p, nd, rc in results:
            rows.append((f"{family} " + (f"k={p.rrf_k:g}" if family == "rrf" else f"weight={p.alpha:g}" if family == "cos+bm25" else f"alpha={p.alpha:g}"), nd, rc))
        # two-fold: pick the best on one half, report it on the other
        held = []
        for tune, test in (halves, halves[::-1]):
            best = max(variants, key=lambda p: score(tune, lambda c, p=p: fuse(c, p))[0])
            held.append((best, score(test, lambda c, p=best: fuse(c, p))[0]))
        rows.append((f"{family}: tuned on one half, scored on the other (picked {[(b.alpha, b.rrf_k) for b, _ in held]})",
                     statistics.mean(h for _, h in held), float("nan")))
    print(f"\ncommand: python bench/fusion_tuning.py {args.folder} --split {args.split} --depth {args.depth}")
    print("| method | nDCG@10 | recall@100 |\n|---|---|---|")
    for name, nd, rc in rows:
        print(f"| {name} | {nd:.4f} | {rc:.4f} |")
    print(json.dumps({"queries": len(qids)}))
    hub.close()


if __name__ == "__main__":
    main()
