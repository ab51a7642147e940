"""Hybrid search: lexical (BM25) and semantic (embeddings) retrieval, fused.

    query ──► lexical:  FTS5 BM25, top `depth`           ─┐
          └─► semantic: embed query, cosine, top `depth` ─┴─► fuse ─► ranked (paper id, score, parts)

Each retriever returns ``(paper_id, score)`` best first. Papers without a vector yet are still
found by the lexical side. Phrases, authors, categories, dates and exclusions are filters that
both sides obey.
"""

from __future__ import annotations

from ..exceptions import InvalidInputError
from ..storage.fulltext import FullTextIndex
from ..types import Query
from .embedders import Embedder
from .fusion import Candidates, Fused, FusionParams, fuse, only_lexical, only_semantic
from .vectors import VectorIndex

MODES = ("hybrid", "lexical", "semantic")
LEXICAL_POOL = 1000  # lexical results scored to complete the semantic candidates' BM25


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
        if mode == "semantic":
            vector = self._embed(query)
            return only_semantic(self._vectors.search(vector, limit, allowed=self._fulltext.allowed_ids(query)))  # type: ignore[union-attr]
        return fuse(self.candidates(query, max(limit, self.params.depth)), self.params)[:limit]

    def _embed(self, query: Query):  # noqa: ANN202 - a numpy vector
        assert self._embedder is not None
        return self._embedder.embed([query.text])[0]

    def candidates(self, query: Query, depth: int) -> Candidates:
        """Both sides' top ``depth``, each side's score completed for the union (for fusion).

        BM25 of a semantic candidate comes from the lexical top ``LEXICAL_POOL`` (one FTS5 query;
        a candidate below it scores 0, which at that depth is nearly so): asking FTS5 for the BM25
        of given rowids re-runs the whole MATCH and cost 40-190 ms a query at 100k papers.
        """
        assert self._vectors is not None
        vector = self._embed(query)
        pool = self._fulltext.search(query, max(depth, LEXICAL_POOL))
        semantic = self._vectors.search(vector, depth, allowed=self._fulltext.allowed_ids(query))
        lexical = pool[:depth]
        union = {pid for pid, _ in lexical} | {pid for pid, _ in semantic}
        bm25 = {pid: s for pid, s in pool if pid in union}
        cosine = dict(semantic)
        cosine.update(self._vectors.scores_for(vector, [p for p in union if p not in cosine]))
        return Candidates(lexical, semantic, bm25, cosine)

    def similar(self, paper_id: int, limit: int) -> list[tuple[int, float]]:
        """Papers nearest to this one by meaning; by shared words when it has no vector yet."""
        if self._vectors is not None:
            vector = self._vectors.vector_of(paper_id)
            if vector is not None:
                return self._vectors.search(vector, limit, exclude=paper_id)
        return self._fulltext.more_like_this(paper_id, limit)
