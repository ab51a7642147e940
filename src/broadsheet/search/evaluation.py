"""Search quality on a BEIR collection: nDCG@10 and recall@100, as BEIR (pytrec_eval) computes them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

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
