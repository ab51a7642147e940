"""A member's "For you": the papers new in a window, ranked by a model of their interests.

Signals (``storage.personal.signals``): positives are papers saved in any collection or
upvoted, negatives are papers dismissed ("not interested"), and follows (author, category,
search) add a boost and a reason. Mutes hide papers and are counted.

What is computed when:

- per **window and data** (``RecsStore.fingerprint``: papers or listings added or changed, by any
  process): the candidate pool (papers first listed, or published, in the window), its TF-IDF
  matrix (vocabulary and idf fitted on the pool plus a background sample of the database), the
  background's TF-IDF, authors and categories. Kept for the last ``POOL_CACHE`` windows.
- per **request**: the member's signals (three small queries), the TF-IDF of their positives
  and negatives, the model (``model.py``; a per-member linear SVM trains in milliseconds) and the
  explanations of the page shown. Nothing is precomputed per member, so a save or a dismissal
  shows on the next request.

Cold start (nothing saved or upvoted): the window's papers by trending score, within the followed
categories, authors and searches when there are follows (else all of them).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInputError
from ..text import name_key
from ..trending import trending_score
from ..types import Interest, Recommendation, RecommendationPage, User
from . import model as M

if TYPE_CHECKING:
    import numpy as np

    from ..storage import Storage
    from ..storage.recs import CandidateRow

WINDOWS = {"today": 1, "week": 7, "month": 30}  # days up to and including the window's last day
POOL_CACHE = 4  # windows whose features are kept
BACKGROUND = 2000  # papers sampled from the database as "everything else" for the SVM and the idf
FOLLOW_BOOST = 1.0  # added to the (z-scored) model score per matching follow, at most two
NEGATIVE_WEIGHT = 1.5  # z-score units taken off a candidate as close as can be (cosine 1) to a dismissed paper
SHIPPED = "svm-tfidf"


def window_span(window: str, last: date) -> tuple[date, date]:
    """The first and last day of ``window`` ending on ``last``; InvalidInputError for another name."""
    if window not in WINDOWS:
        raise InvalidInputError(f"there is no window {window[:40]!r}: use one of {', '.join(WINDOWS)}")
    return last - timedelta(days=WINDOWS[window] - 1), last


@dataclass(slots=True)
class Pool:
    """The features of one window's candidates (see the module docstring); not frozen: it also
    caches the TF-IDF rows of members' positives, keyed by paper id."""

    key: tuple[Any, ...]
    rows: list[CandidateRow]
    vectorizer: Any
    vocabulary: np.ndarray
    tfidf: Any  # csr, one row per candidate
    background: Any  # csr, the background sample
    texts: list[str]  # lower-cased title + abstract, for follows of searches and word mutes
    authors: dict[int, list[str]]
    categories: dict[int, list[str]]
    extra: dict[int, Any]  # paper id -> TF-IDF row of a positive or negative outside the pool

    def rows_of(self, storage: Storage, paper_ids: list[int]) -> Any:
        """TF-IDF rows (csr) for these papers, in order: from the pool or transformed once."""
        from scipy import sparse

        index = {r.paper_id: i for i, r in enumerate(self.rows)}
        missing = [p for p in paper_ids if p not in index and p not in self.extra]
        if missing:
            texts = storage.recs.texts(missing)
            found = [p for p in missing if p in texts]
            if found:
                mat = self.vectorizer.transform([M.paper_text(*texts[p]) for p in found])
                for i, p in enumerate(found):
                    self.extra[p] = mat.getrow(i)
        rows = [self.tfidf.getrow(index[p]) if p in index else self.extra[p] for p in paper_ids if p in index or p in self.extra]
        if not rows:
            return sparse.csr_matrix((0, self.tfidf.shape[1]), dtype=self.tfidf.dtype)
        return sparse.vstack(rows, format="csr")


class ForYou:
    """The use case behind ``Hub.recommend``; one per Hub (it holds the pool cache)."""

    def __init__(self, storage: Storage, now: Callable[[], datetime], data_version: Callable[[], int]) -> None:
        self._storage = storage
        self._now = now
        self._data_version = data_version
        self._pools: OrderedDict[tuple[Any, ...], Pool] = OrderedDict()
        self._lock = threading.Lock()

    # -- the pool ------------------------------------------------------------------------------

    def pool(self, first: date, last: date) -> Pool:
        """The window's features, from the cache when neither the window nor the data changed."""
        key = (first, last, self._data_version(), self._storage.recs.fingerprint())
        with self._lock:
            if key in self._pools:
                self._pools.move_to_end(key)
                return self._pools[key]
        built = self._build_pool(key, first, last)
        with self._lock:
            self._pools[key] = built
            while len(self._pools) > POOL_CACHE:
                self._pools.popitem(last=False)
        return built

    def _build_pool(self, key: tuple[Any, ...], first: date, last: date) -> Pool:
        import numpy as np

        recs = self._storage.recs
        rows = recs.candidates(first, last)
        ids = [r.paper_id for r in rows]
        inside = set(ids)
        back_ids = [p for p in recs.background(None, BACKGROUND) if p not in inside]
        texts = recs.texts(ids + back_ids)
        cand_texts = [M.paper_text(*texts.get(p, ("", ""))) for p in ids]
        back_texts = [M.paper_text(*texts[p]) for p in back_ids if p in texts]
        vec = M.fit_tfidf(cand_texts + back_texts) if cand_texts or back_texts else None
        if vec is None or not getattr(vec, "vocabulary_", None):
            vec = M.fit_tfidf(["empty window"])
        authors, cats = recs.facets(ids)
        return Pool(
            key=key,
            rows=rows,
            vectorizer=vec,
            vocabulary=np.asarray(vec.get_feature_names_out()),
            tfidf=vec.transform(cand_texts),
            background=vec.transform(back_texts),
            texts=[t.lower() for t in cand_texts],
            authors=authors,
            categories=cats,
            extra={},
        )

    # -- recommending --------------------------------------------------------------------------

    def default_day(self) -> date:
        """Today, or the last day anything was listed or published if that is earlier (an archive)."""
        today = self._now().date()
        latest = self._storage.recs.latest_day()
        return min(today, latest) if latest else today

    def recommend(self, user: User, *, window: str = "week", day: date | None = None, limit: int = 50) -> RecommendationPage:
        import numpy as np

        if not 1 <= limit <= 500:
            raise InvalidInputError(f"limit must be between 1 and 500, not {limit}")
        first, last = window_span(window, day or self.default_day())
        pool = self.pool(first, last)
        personal = self._storage.personal
        signals = personal.signals(user.id)
        mutes = personal.interests("mute", user.id)
        positives = [p for p, _ in signals.positives]
        negatives = {p for p, _ in signals.negatives}
        seen = set(positives) | negatives
        keep: list[int] = []  # candidate rows still in play
        hidden = 0
        for i, r in enumerate(pool.rows):
            if r.paper_id in seen:
                continue
            if mutes and _matches_any(pool, i, mutes):
                hidden += 1
                continue
            keep.append(i)
        follows = [f for f in signals.follows if f.kind in ("author", "category", "search")]
        matched = [tuple(f for f in follows if _matches(pool, i, f)) for i in keep]
        cand = pool.tfidf[keep] if keep else pool.tfidf[:0]
        as_of = datetime.combine(last + timedelta(days=1), time())

        if not positives:
            trend = np.array([trending_score(pool.rows[i].upvotes, pool.rows[i].day, as_of, 1.5) for i in keep])
            chosen = [j for j in range(len(keep)) if matched[j]] if follows else list(range(len(keep)))
            order = sorted(chosen, key=lambda j: (-trend[j], pool.rows[keep[j]].paper_id))[:limit]
            items = self._items(pool, keep, order, trend, matched, evidence=None, pos_ids=[], trending=True)
            return RecommendationPage(tuple(items), window, first, last, True, hidden, len(keep), "trending")

        pos = pool.rows_of(self._storage, positives)
        neg = pool.rows_of(self._storage, sorted(negatives))
        from scipy import sparse

        background = sparse.vstack([pool.background, cand], format="csr")
        weights, _ = M.svm_weights(pos, background, neg)
        scores = M.zscore(M.linear_scores(weights, cand)) if keep else np.zeros(0)
        boost = np.array([FOLLOW_BOOST * min(len(m), 2) for m in matched]) if keep else np.zeros(0)
        final = scores + boost - M.negative_penalty(neg, cand, NEGATIVE_WEIGHT) if keep else scores
        order = sorted(range(len(keep)), key=lambda j: (-final[j], pool.rows[keep[j]].paper_id))[:limit]
        evidence = M.explain(cand[order], pos, weights, pool.vocabulary) if order else []
        items = self._items(pool, keep, order, final, matched, evidence=evidence, pos_ids=positives)
        return RecommendationPage(tuple(items), window, first, last, False, hidden, len(keep), SHIPPED)

    def _items(
        self,
        pool: Pool,
        keep: list[int],
        order: list[int],
        scores: Any,
        matched: list[tuple[Interest, ...]],
        *,
        evidence: list[M.Evidence] | None,
        pos_ids: list[int],
        trending: bool = False,
    ) -> list[Recommendation]:
        pids = [pool.rows[keep[j]].paper_id for j in order]
        near_ids = {pos_ids[k] for ev in evidence or () for k, _ in ev.closest}
        papers = self._storage.papers.by_ids(pids + sorted(near_ids))
        items = []
        for n, j in enumerate(order):
            paper = papers.get(pids[n])
            if paper is None:
                continue
            ev = evidence[n] if evidence else None
            closest = ()
            if ev:
                closest = tuple(
                    (papers[pos_ids[k]].arxiv_id, papers[pos_ids[k]].title) for k, _ in ev.closest if pos_ids[k] in papers
                )
            items.append(
                Recommendation(
                    paper=paper,
                    score=float(scores[j]),
                    closest=closest,
                    follows=matched[j],
                    words=ev.words if ev else (),
                    trending=trending,
                )
            )
        return items


# -- follows and mutes: what a paper matches (pure over the pool) --------------------------------


def _phrase(value: str) -> re.Pattern[str]:
    words = re.findall(r"\w+", value.lower())
    return re.compile(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b") if words else re.compile(r"(?!x)x")


def _in_category(codes: list[str], value: str) -> bool:
    v = value.strip()
    return any(c == v or c.startswith(v + ".") for c in codes)


def _matches(pool: Pool, i: int, f: Interest) -> bool:
    """Whether candidate ``i`` matches a follow: its author, its category (or archive), or every
    word of its search in the title or abstract."""
    pid = pool.rows[i].paper_id
    if f.kind == "author":
        return name_key(f.value) in pool.authors.get(pid, ())
    if f.kind == "category":
        return _in_category(pool.categories.get(pid, []), f.value)
    if f.kind == "search":
        words = [w for w in re.findall(r"\w+", f.value.lower()) if ":" not in w]
        return bool(words) and all(re.search(r"\b" + re.escape(w), pool.texts[i]) for w in words)
    return False


def _matches_any(pool: Pool, i: int, mutes: list[Interest]) -> bool:
    """Whether candidate ``i`` matches a mute: an author, a category, or a word or phrase."""
    pid = pool.rows[i].paper_id
    for m in mutes:
        if m.kind == "author" and name_key(m.value) in pool.authors.get(pid, ()):
            return True
        if m.kind == "category" and _in_category(pool.categories.get(pid, []), m.value):
            return True
        if m.kind == "word" and _phrase(m.value).search(pool.texts[i]):
            return True
    return False
