"""Hybrid search: lexical (BM25) and semantic (embeddings) retrieval, fused.

    query ──► lexical:  FTS5 BM25, top `depth`           ─┐
          └─► semantic: embed query, cosine, top `depth` ─┴─► fuse ─► ranked (paper id, score, parts)

Each retriever returns ``(paper_id, score)`` best first. Papers without a vector yet are still
found by the lexical side. Phrases, authors, categories, dates and exclusions are filters that
both sides obey.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..exceptions import InvalidInputError
from ..storage.fulltext import FullTextIndex, query_terms
from ..text import STOPWORDS, fold
from ..types import Query
from .embedders import Embedder
from .fusion import Candidates, Fused, FusionParams, fuse, only_lexical, only_semantic

if TYPE_CHECKING:  # both import numpy: made when first needed (see LazyVectors, warm_up)
    from ..storage.vectors import VectorStore
    from .lexical import LexicalIndex
    from .vectors import VectorIndex

MODES = ("hybrid", "lexical", "semantic")
LEXICAL_POOL = 1000  # lexical results scored to complete the semantic candidates' BM25
_WORDS = re.compile(r"\w+")
_LOOK_UP = object()


class LazyVectors:
    """The in-memory ``VectorIndex``, made when first used (it imports numpy and loads every
    vector); whether the database holds any vector is asked of the store, so a search of a
    database with none yet stays by words, without numpy or the model."""

    def __init__(self, store: VectorStore, model: str, dim: int) -> None:
        self._store, self._model, self._dim = store, model, dim
        self._index: VectorIndex | None = None
        self._lock = threading.Lock()

    def has_vectors(self) -> bool:
        return (self._index is not None and len(self._index) > 0) or self._store.has_any(self._model)

    def __getattr__(self, name: str):  # noqa: ANN204 - the index's methods
        with self._lock:
            if self._index is None:
                from .vectors import VectorIndex

                self._index = VectorIndex(self._store, self._model, self._dim)
        return getattr(self._index, name)


class SearchEngine:
    def __init__(
        self,
        fulltext: FullTextIndex,
        vectors: VectorIndex | None,
        embedder: Embedder | None,
        params: FusionParams = FusionParams(),
        lexical: LexicalIndex | None = None,
        bm25_in_memory: bool = False,
        make_lexical: Callable[[], LexicalIndex] | None = None,
    ) -> None:
        self._fulltext = fulltext
        self._lexical = lexical
        # A LexicalIndex is made by warm_up (until then, the database ranks): in memory, or files.
        if make_lexical is None and bm25_in_memory:
            from .lexical import LexicalIndex as _InMemory

            make_lexical = lambda: _InMemory(fulltext)  # noqa: E731
        self._make_lexical = make_lexical
        self._vectors = vectors
        self._embedder = embedder
        self.params = params
        self._has_vectors = False  # once True, stays so (vectors are not all deleted in use)

    @property
    def semantic_available(self) -> bool:
        return self._embedder is not None and self._vectors is not None

    def close(self) -> None:
        """Stop the in-memory index's background work (before the database closes)."""
        if self._lexical is not None:
            self._lexical.close()

    def semantic_ready(self) -> bool:
        """Semantic search is set up and the database holds vectors of the model. Until it does, a
        search is lexical and does not load the model (a second of a one-shot command's start)."""
        if not self._has_vectors and self.semantic_available:
            self._has_vectors = self._vectors.has_vectors()  # type: ignore[union-attr]
        return self._has_vectors

    def warm_up(self, *, wait: bool = False) -> None:
        """Load the model and the vectors; open or build the BM25 index (see ``Hub.warm_up``)."""
        if self.semantic_available:
            self._embedder.embed(["warm up"])  # type: ignore[union-attr]
            self._vectors.refresh()  # type: ignore[union-attr]
        if self._lexical is None and self._make_lexical is not None:
            self._lexical = self._make_lexical()
        if self._lexical is not None:
            self._lexical.start(wait=wait)

    def rank(self, query: Query, mode: str, limit: int) -> list[Fused]:
        """The best ``limit`` papers for ``query`` in ``mode``, with each side's contribution."""
        if mode not in MODES:
            raise InvalidInputError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        if query.has_text and mode == "semantic" and self.semantic_available and not self.semantic_ready():
            return []  # meaning alone, and no paper has a vector yet: nothing (the page says why)
        if not query.has_text or mode == "lexical" or not self.semantic_ready():
            return only_lexical(self.lexical(query, limit))
        if mode == "semantic":
            vector = self._embed(query)
            return only_semantic(self._vectors.search(vector, limit, allowed=self._fulltext.allowed_ids(query)))  # type: ignore[union-attr]
        return fuse(self.candidates(query, max(limit, self.params.depth)), self.params)[:limit]

    def lexical(self, query: Query, limit: int, allowed: set[int] | None | object = _LOOK_UP) -> list[tuple[int, float]]:
        """BM25 ranking: from the in-memory index when it holds every change the database has,
        else from the database (FTS5: the same scores).

        ``allowed``: the ids that pass the query's filters, if the caller has looked them up already.
        """
        index = self._lexical
        if index is None or not index.ready or not query.has_text:
            return self._fulltext.search(query, limit)
        if allowed is _LOOK_UP:
            allowed = self._fulltext.allowed_ids(query)
        phrase_words = [w for p in query.phrases for w in _WORDS.findall(fold(p)) if w not in STOPWORDS]
        found = index.search(query_terms(query) + phrase_words, limit, allowed)  # type: ignore[arg-type]
        return self._fulltext.search(query, limit) if found is None else found

    def matching_ids(self, query: Query):  # noqa: ANN201 - a numpy array, or None
        """Ids of the papers whose text matches any of a words-only query, from the in-memory
        index; None when it cannot say (not built or behind, or the query has phrases, authors
        or exclusions: the database answers those)."""
        index = self._lexical
        if index is None or not index.ready or not query.words or query.phrases or query.authors or query.excluded:
            return None
        return index.matching_ids(query_terms(query))

    def lexical_status(self) -> IndexStatus | None:
        """How the in-memory lexical index stands; None when the database ranks every query."""
        return None if self._lexical is None else self._lexical.status()

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
        allowed = self._fulltext.allowed_ids(query)
        pool = self.lexical(query, max(depth, LEXICAL_POOL), allowed)
        semantic = self._vectors.search(vector, depth, allowed=allowed)
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
