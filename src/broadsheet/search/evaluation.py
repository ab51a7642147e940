"""Search quality on a BEIR collection: nDCG@10 and recall@100, as BEIR (pytrec_eval) computes them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fusion import FusionParams

_WORD = re.compile(r"\w+")


def ndcg_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains (rel) and log2 discounts; the ideal uses every judged relevant doc."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranking[:k])) / len(wanted) if wanted else 0.0


def as_plain_query(text: str) -> str:
    """Free text as a query of plain words: no phrases, exclusions or fields by accident."""
    return " ".join(_WORD.findall(text))


def evaluate_beir(
    open_hub: Callable[[], Any], folder: Path, *, split: str = "test", mode: str = "hybrid", fusion: FusionParams | None = None
) -> dict[str, object]:
    """Load a BEIR collection into the (throwaway) database of the Hub that ``open_hub()``
    returns, through the normal ingest path, run every judged query through ``Hub.search``, and
    return nDCG@10 and recall@100 (``hub.evaluate_beir`` opens the Hub from the settings).

    ``fusion``: another way to combine the two sides than the default (to measure a baseline)."""
    import time

    from ..exceptions import InvalidInputError
    from ..sources.beir import document_ids, line_of, read_corpus, read_qrels, read_queries

    qrels = read_qrels(folder, split)
    queries = {q: t for q, t in read_queries(folder).items() if q in qrels}
    if not queries:
        raise InvalidInputError(f"{folder}: no queries with judgements in qrels/{split}.tsv")
    hub = open_hub()
    try:
        report = hub.add_papers(read_corpus(folder))
        if mode != "lexical":
            hub.index_embeddings()
        if fusion is not None:
            hub._search_engine().params = fusion  # noqa: SLF001 - a measuring tool
        hub.warm_up(wait=True)  # rank as a server does (same scores as FTS5, faster)
        # Rankings as corpus lines, mapped back to BEIR ids afterwards in one pass over the
        # corpus: memory grows with the queries (100 hits each), not with the collection.
        rankings: dict[str, list[int]] = {}
        started = time.perf_counter()
        for qid, text in queries.items():
            plain = as_plain_query(text)
            page = hub.search(plain, mode=mode, limit=100) if plain else None
            lines = (line_of(h.paper.arxiv_id) for h in page.hits) if page else ()
            rankings[qid] = [n for n in lines if n is not None]
        elapsed = time.perf_counter() - started
    finally:
        hub.close()
    ids = document_ids(folder, (n for ranking in rankings.values() for n in ranking))
    ndcg = recall = 0.0
    for qid, lines in rankings.items():
        ranking = [ids[n] for n in lines]
        ndcg += ndcg_at(ranking, qrels[qid])
        recall += recall_at(ranking, qrels[qid])
    n = len(queries)
    return {
        "ndcg@10": round(ndcg / n, 4),
        "recall@100": round(recall / n, 4),
        "queries": n,
        "mode": mode,
        "split": split,
        "documents": report.added + report.updated + report.unchanged,
        "ms_per_query": round(1000 * elapsed / n, 1),
    }
