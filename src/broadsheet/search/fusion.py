"""Fusion of ranked lists (pure). Every retriever returns ``[(paper_id, score), ...]`` best first,
so rankers compose; fusion returns each paper's fused score with what each side contributed, its
rank and raw score on each side: the material of an explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Ranked = Sequence[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class Fused:
    paper_id: int
    score: float
    lexical: float = 0.0  # this side's contribution to ``score``
    semantic: float = 0.0
    lexical_rank: int | None = None  # 1-based rank in that side's list
    semantic_rank: int | None = None
    bm25: float | None = None  # that side's raw score
    cosine: float | None = None


def only_lexical(ranked: Ranked) -> list[Fused]:
    return [Fused(pid, s, s, 0.0, i, None, s, None) for i, (pid, s) in enumerate(ranked, 1)]


def only_semantic(ranked: Ranked) -> list[Fused]:
    return [Fused(pid, s, 0.0, s, None, i, None, s) for i, (pid, s) in enumerate(ranked, 1)]


def _fuse(
    lexical: Ranked,
    semantic: Ranked,
    lex_part: Callable[[int, float], float],
    sem_part: Callable[[int, float], float],
) -> list[Fused]:
    info: dict[int, dict[str, float | int]] = {}
    for rank, (pid, s) in enumerate(lexical, 1):
        info.setdefault(pid, {}).update(lexical=lex_part(rank, s), lexical_rank=rank, bm25=s)
    for rank, (pid, s) in enumerate(semantic, 1):
        info.setdefault(pid, {}).update(semantic=sem_part(rank, s), semantic_rank=rank, cosine=s)
    fused = [
        Fused(
            pid,
            float(d.get("lexical", 0.0)) + float(d.get("semantic", 0.0)),
            **d,  # type: ignore[arg-type]
        )
        for pid, d in info.items()
    ]
    fused.sort(key=lambda f: (-f.score, f.paper_id))
    return fused


def rrf(lexical: Ranked, semantic: Ranked, *, k: float = 60.0, w_lex: float = 1.0, w_sem: float = 1.0) -> list[Fused]:
    """Reciprocal rank fusion: score = Σ w / (k + rank). The baseline the tuned fusion must beat."""
    return _fuse(lexical, semantic, lambda r, _: w_lex / (k + r), lambda r, _: w_sem / (k + r))


def _minmax(ranked: Ranked) -> Callable[[int, float], float]:
    scores = [s for _, s in ranked] or [0.0]
    lo, span = min(scores), max(scores) - min(scores)
    return lambda _r, s: (s - lo) / span if span > 0 else 1.0


def convex(lexical: Ranked, semantic: Ranked, *, alpha: float) -> list[Fused]:
    """Convex combination of min-max normalised scores: alpha·semantic + (1 - alpha)·lexical.

    Scores are normalised within each list (its top-k); a paper missing from one list gets 0
    from that side.
    """
    lex, sem = _minmax(lexical), _minmax(semantic)
    return _fuse(lexical, semantic, lambda r, s: (1 - alpha) * lex(r, s), lambda r, s: alpha * sem(r, s))
