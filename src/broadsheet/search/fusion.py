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


@dataclass(frozen=True, slots=True)
class Candidates:
    """What both retrievers found for one query, with each side's score completed for the union
    of their lists (a paper in one list is scored by the other side too, when it can be)."""

    lexical: Ranked  # top-k by BM25
    semantic: Ranked  # top-k by cosine
    bm25: dict[int, float]  # every candidate that matches a query word
    cosine: dict[int, float]  # every candidate that has a vector


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How the two lists are combined. Defaults tuned on SciFact train (docs/benchmarks.md)."""

    method: str = "cos+bm25"  # "cos+bm25" (cosine + weight × BM25/best BM25), "complete"
    # (min-max normalised over the completed union), "convex" (over each side's own list), "rrf"
    alpha: float = 0.4  # cos+bm25: weight of BM25; complete/convex: weight of the semantic side
    depth: int = 100  # candidates taken from each side
    rrf_k: float = 60.0


def fuse(c: Candidates, p: FusionParams) -> list[Fused]:
    if p.method == "rrf":
        return rrf(c.lexical, c.semantic, k=p.rrf_k)
    if p.method == "convex":
        return convex(c.lexical, c.semantic, alpha=p.alpha)
    if p.method == "complete":
        return complete(c, alpha=p.alpha)
    if p.method == "cos+bm25":
        return cos_plus_bm25(c, weight=p.alpha)
    raise ValueError(f"unknown fusion method {p.method!r}")


def _over_union(c: Candidates, part: Callable[[list[int]], Callable[[int], tuple[float, float]]]) -> list[Fused]:
    """Fuse over the union of both lists: ``part(union)`` gives each paper's (lexical, semantic) part."""
    union = list(dict.fromkeys([pid for pid, _ in c.lexical] + [pid for pid, _ in c.semantic]))
    if not union:
        return []
    parts = part(union)
    lex_rank = {pid: i for i, (pid, _) in enumerate(c.lexical, 1)}
    sem_rank = {pid: i for i, (pid, _) in enumerate(c.semantic, 1)}
    fused = []
    for pid in union:
        lx, sm = parts(pid)
        fused.append(Fused(pid, lx + sm, lx, sm, lex_rank.get(pid), sem_rank.get(pid), c.bm25.get(pid), c.cosine.get(pid)))
    fused.sort(key=lambda f: (-f.score, f.paper_id))
    return fused


def complete(c: Candidates, *, alpha: float) -> list[Fused]:
    """Convex combination over the union of both lists, each side min-max normalised over it.

    A paper that matches no query word has BM25 0. A paper with no vector yet (just ingested)
    has no cosine: its semantic part is imputed from its lexical part, so it is neither pushed
    down nor lifted by the missing evidence.
    """

    def part(union: list[int]) -> Callable[[int], tuple[float, float]]:
        lex = _normalise({pid: c.bm25.get(pid, 0.0) for pid in union})
        sem = _normalise({pid: c.cosine[pid] for pid in union if pid in c.cosine})
        return lambda pid: ((1 - alpha) * lex[pid], alpha * sem.get(pid, lex[pid]))

    return _over_union(c, part)


def _normalise(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    return {pid: (s - lo) / (hi - lo) if hi > lo else 1.0 for pid, s in scores.items()}


def cos_plus_bm25(c: Candidates, *, weight: float) -> list[Fused]:
    """Raw cosine plus ``weight`` × BM25 / the query's best BM25, over the completed union.

    Unlike min-max, the cosine keeps its absolute scale: a query whose best match is only weakly
    similar lets the words decide more. Papers without a vector get the cosine of the weakest
    candidate that has one.
    """

    def part(union: list[int]) -> Callable[[int], tuple[float, float]]:
        top_bm = max((c.bm25.get(pid, 0.0) for pid in union), default=0.0) or 1.0
        floor = min((c.cosine[pid] for pid in union if pid in c.cosine), default=0.0)
        return lambda pid: (weight * c.bm25.get(pid, 0.0) / top_bm, c.cosine.get(pid, floor))

    return _over_union(c, part)
