"""Hybrid search: lexical (BM25) and semantic (embeddings) retrieval, fused.

    query ──► lexical:  FTS5 BM25, top `depth`           ─┐
          └─► semantic: embed query, cosine, top `depth` ─┴─► fuse ─► ranked (paper id, score, parts)

Each retriever returns ``(paper_id, score)`` best first. Papers without a vector yet are still
found by the lexical side. Phrases, authors, categories, dates and exclusions are filters that
both sides obey.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import InvalidInputError
from ..storage.fulltext import FullTextIndex
from ..types import Query
from .embedders import Embedder
from .fusion import Fused, convex, only_lexical, only_semantic, rrf
from .vectors import VectorIndex

MODES = ("hybrid", "lexical", "semantic")


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How the two lists are combined. Defaults tuned on SciFact train (docs/benchmarks.md)."""

    method: str = "convex"  # "convex" (min-max normalised scores) or "rrf"
    alpha: float = 0.6  # convex: weight of the semantic side
    depth: int = 100  # candidates taken from each side
    rrf_k: float = 60.0


class SearchEngine:
    def __init__(
        self,
        fulltext: FullTextIndex,
        vectors: VectorIndex | None,
        embedder: Embedder | None,
        params: FusionParams = FusionParams(),
    ) -> None:
        self._fulltext = fulltext
        self._vectors = vectors
        self._embedder = embedder
        self.params = params

    @property
    def semantic_available(self) -> bool:
        return self._embedder is not None and self._vectors is not None

    def rank(self, query: Query, mode: str, limit: int) -> list[Fused]:
        """The best ``limit`` papers for ``query`` in ``mode``, with each side's contribution."""
        if mode not in MODES:
            raise InvalidInputError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        if not query.has_text or mode == "lexical" or not self.semantic_available:
            return only_lexical(self._fulltext.search(query, limit))
        semantic = self._semantic(query, max(limit, self.params.depth))
        if mode == "semantic":
            return only_semantic(semantic[:limit])
        lexical = self._fulltext.search(query, max(limit, self.params.depth))
        p = self.params
        fused = rrf(lexical, semantic, k=p.rrf_k) if p.method == "rrf" else convex(lexical, semantic, alpha=p.alpha)
        return fused[:limit]

    def _semantic(self, query: Query, depth: int) -> list[tuple[int, float]]:
        assert self._embedder is not None and self._vectors is not None
        vector = self._embedder.embed([query.text])[0]
        return self._vectors.search(vector, depth, allowed=self._fulltext.allowed_ids(query))

    def similar(self, paper_id: int, limit: int) -> list[tuple[int, float]]:
        """Papers nearest to this one by meaning; by shared words when it has no vector yet."""
        if self._vectors is not None:
            vector = self._vectors.vector_of(paper_id)
            if vector is not None:
                return self._vectors.search(vector, limit, exclude=paper_id)
        return self._fulltext.more_like_this(paper_id, limit)
