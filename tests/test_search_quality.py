"""Search quality as a test that can fail: hybrid fusion on a slice of SciFact train must beat
each side alone and their plain reciprocal rank fusion.

The slice keeps the run short enough for CI (about 1,000 abstracts to embed instead of 5,183):
the first 150 judged train queries, every document judged for them, and the first other
documents of the corpus as distractors. The full figures are in docs/benchmarks.md
(`broadsheet eval-beir ../shared/data/scifact --split train`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadsheet.config import load_settings
from broadsheet.hub import evaluate_beir
from broadsheet.search.fusion import FusionParams
from broadsheet.sources.beir import read_qrels, read_queries

QUERIES = 150
DOCUMENTS = 500


def make_slice(scifact: Path, to: Path) -> None:
    qrels = read_qrels(scifact, "train")
    queries = read_queries(scifact)
    kept = [q for q in queries if q in qrels][:QUERIES]
    judged = {d for q in kept for d in qrels[q]}
    rows = [json.loads(line) for line in (scifact / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    distractors = [r for r in rows if r["_id"] not in judged][: DOCUMENTS - len(judged)]
    (to / "qrels").mkdir(parents=True)
    (to / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows if r["_id"] in judged) + "\n" + "\n".join(json.dumps(r) for r in distractors))
    (to / "queries.jsonl").write_text("\n".join(json.dumps({"_id": q, "text": queries[q]}) for q in kept))
    (to / "qrels" / "train.tsv").write_text("".join(f"{q}\t{d}\t{g}\n" for q in kept for d, g in qrels[q].items()))


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~1.5 min on a quiet machine; several times that beside other work
def test_hybrid_beats_each_side_and_plain_rrf(shared_data: Path, tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "scifact-slice"
    make_slice(shared_data / "scifact", folder)
    settings = load_settings(env={}, database_url=db_url)  # on PostgreSQL: its default, HNSW for vectors
    ndcg = {mode: evaluate_beir(settings, folder, split="train", mode=mode)["ndcg@10"] for mode in ("hybrid", "lexical", "semantic")}

    # Plain RRF (k=60) of the same two lists, through the same engine and the same database.
    rrf = evaluate_beir(settings, folder, split="train", fusion=FusionParams(method="rrf", rrf_k=60))["ndcg@10"]
    print(f"nDCG@10 on the slice: {ndcg}, plain RRF {rrf}")
    assert ndcg["hybrid"] > max(ndcg["lexical"], ndcg["semantic"]) + 0.01
    assert ndcg["hybrid"] > rrf + 0.005
