"""A member's "For you": the papers new in a window, ranked by a model of their interests.

Signals (``storage.personal.signals``): positives are papers saved in any collection or
upvoted, negatives are papers dismissed ("not interested"), and follows (author, category,
search) add a boost and a reason. Mutes hide papers and are counted.

What is computed when:

- per **window and data** (``RecsStore.fingerprint``: papers or listings added or changed, by any
  process): the candidate pool (papers first listed, or published, in the window), its TF-IDF
  matrix (vocabulary and idf fitted on the pool plus a background sample of the database), the
  background's TF-IDF, authors and categories. Kept for the last ``POOL_CACHE`` windows, and
  built in the background after new papers arrive when `serve` or `worker` runs the warmer
  (``start_warming``, ``warming.py``): a build takes seconds at 100k papers.
- per **request**: the member's signals (three small queries), the TF-IDF of their positives
  and negatives, the model (``model.py``; a per-member linear SVM trains in milliseconds) and the
  explanations of the page shown. Nothing is precomputed per member, so a save or a dismissal
  shows on the next request.

Cold start (nothing saved or upvoted): the window's papers by trending score, within the followed
categories, authors and searches when there are follows (else all of them).
"""

from __future__ import annotations

import dataclasses
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
from .mutes import MuteFilter, category_matches, contains_phrase, words_of

if TYPE_CHECKING:
    import numpy as np

    from ..storage import Storage
    from ..storage.recs import CandidateRow

WINDOWS = {"today": 1, "week": 7, "month": 30}  # days up to and including the window's last day
POOL_CACHE = 4  # windows whose features are kept
BACKGROUND = 2000  # papers sampled from the database as "everything else" for the SVM and the idf
FOLLOW_BOOST = 1.0  # added to the (z-scored) model score per matching follow, at most two
IDLE_SECONDS = 60.0  # the background warmer looks for new data (another process's ingest) this often


def window_span(window: str, last: date) -> tuple[date, date]:
    """The first and last day of ``window`` ending on ``last``; InvalidInputError for another name."""
    if window not in WINDOWS:
        raise InvalidInputError(f"there is no window {window[:40]!r}: use one of {', '.join(WINDOWS)}")
    return last - timedelta(days=WINDOWS[window] - 1), last


@dataclass(slots=True)
class Pool:
    """The features of one window's candidates (see the module docstring); not frozen: it also
    caches the features of members' positives and negatives, keyed by paper id."""

    key: tuple[Any, ...]
    rows: list[CandidateRow]
    vectorizer: Any
    vocabulary: np.ndarray
    cand: M.Examples  # one row per candidate
    background: M.Examples  # the background sample
    texts: list[str]  # lower-cased title + abstract, for follows of searches
    # title words, "", abstract words (``mutes.words_of``), joined by spaces: for word mutes (one
    # string a paper rather than a list of word objects: a sixth of the memory)
    words: list[str]
    by_author: dict[str, tuple[int, ...]]  # author name key -> candidate rows
    by_category: dict[str, tuple[int, ...]]  # category code -> candidate rows
    embedder: str | None  # the model of the vectors in ``cand`` and ``background`` (None: words only)
    categories: dict[str, int]  # columns of the category features
    extra: dict[int, tuple[Any, Any, Any]]  # paper id -> (TF-IDF row, vector or None, categories row) outside the pool

    def examples(self, storage: Storage, paper_ids: list[int]) -> tuple[M.Examples, list[int]]:
        """Features of these papers (those that exist): from the pool or computed once; and the
        paper id of each row (the pool's come first)."""
        import numpy as np
        from scipy import sparse

        index = {r.paper_id: i for i, r in enumerate(self.rows)}
        missing = [p for p in paper_ids if p not in index and p not in self.extra]
        if missing:
            texts = storage.recs.texts(missing)
            found = [p for p in missing if p in texts]
            vectors = _vectors(storage, self.embedder, found, self.cand.emb)
            if found:
                mat = M.transform(self.vectorizer, [M.paper_text(*texts[p]) for p in found])
                _, cats = storage.recs.facets(found)
                cat_rows = M.category_matrix([cats.get(p, []) for p in found], self.categories)
                for i, p in enumerate(found):
                    self.extra[p] = (mat[i], None if vectors is None else vectors[i], cat_rows[i])
        inside = [index[p] for p in paper_ids if p in index]
        outside = [self.extra[p] for p in paper_ids if p not in index and p in self.extra]
        tf = sparse.vstack([self.cand.tfidf[inside]] + [t for t, _, _ in outside], format="csr")
        cats = sparse.vstack([self.cand.cats[inside]] + [c for _, _, c in outside], format="csr")
        emb = None
        if self.cand.emb is not None:
            emb = np.vstack([self.cand.emb[inside]] + [v[None, :] for _, v, _ in outside])
        ids = [p for p in paper_ids if p in index] + [p for p in paper_ids if p not in index and p in self.extra]
        return M.Examples(tf, emb, None, cats), ids


def _vectors(storage: Storage, model: str | None, paper_ids: list[int], like: Any) -> Any:
    """Stored vectors of these papers (zero rows where missing), or None without a model."""
    import numpy as np

    if model is None or like is None:
        return None
    blobs = storage.vectors.blobs([model], paper_ids)[model]
    dim = like.shape[1]
    out = np.zeros((len(paper_ids), dim), np.float32)
    for i, p in enumerate(paper_ids):
        if p in blobs:
            out[i] = np.frombuffer(blobs[p], "<f4")[:dim]
    return out


class ForYou:
    """The use case behind ``Hub.recommend``; one per Hub (it holds the pool cache)."""

    def __init__(
        self,
        storage: Storage,
        now: Callable[[], datetime],
        data_version: Callable[[], int],
        embedder: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._storage = storage
        self._now = now
        self._data_version = data_version
        self._embedder = embedder
        self._pools: OrderedDict[tuple[Any, ...], Pool] = OrderedDict()
        self._lock = threading.Lock()  # guards ``_pools``
        self._build_lock = threading.Lock()  # one build at a time
        self._warmer: Any = None  # warming.Warmer, when started
        self.builds = 0  # windows built (not taken from the cache) since start

    # -- the pool ------------------------------------------------------------------------------

    def pool(self, first: date, last: date) -> Pool:
        """The window's features, from the cache when neither the window nor the data changed.

        One build at a time (a request that arrives while the background warmer builds the same
        window waits for it rather than building it twice). When only this Hub's write counter
        moved (a save, a vote, a comment: papers and listings unchanged) and the window still
        has the same candidates, the features are kept and only the candidate rows (their
        upvotes) are read again: a save must not cost a member a rebuild."""
        fingerprint = self._storage.recs.fingerprint()
        key = (first, last, self._data_version(), fingerprint)
        with self._lock:
            if key in self._pools:
                self._pools.move_to_end(key)
                return self._pools[key]
        with self._build_lock:
            with self._lock:
                if key in self._pools:
                    return self._pools[key]
                same_data = [p for k, p in self._pools.items() if k[:2] == key[:2] and k[3] == fingerprint]
            built = None
            if same_data:
                rows = self._storage.recs.candidates(first, last)
                old = same_data[-1]
                if [r.paper_id for r in rows] == [r.paper_id for r in old.rows]:
                    built = dataclasses.replace(old, key=key, rows=rows)
            if built is None:
                built = self._build_pool(key, first, last)
                self.builds += 1
            with self._lock:
                self._pools[key] = built
                while len(self._pools) > POOL_CACHE:
                    self._pools.popitem(last=False)
        return built

    def warm(self) -> int:
        """Build the features of the current windows (``today``, ``week``, ``month`` ending on
        the default day) that are not cached yet; return how many were built. What the
        background warmer runs after new papers arrive, so that no member waits for a build;
        nothing while no member has saved, followed or upvoted anything (a first request builds
        what it needs)."""
        if not self._storage.personal.anyone_has_signals():
            return 0  # no member saved, followed or upvoted anything: no For you to show yet
        before = self.builds
        day = self.default_day()
        for window in WINDOWS:
            self.pool(*window_span(window, day))
        return self.builds - before

    def start_warming(self, *, idle_seconds: float = IDLE_SECONDS) -> bool:
        """Keep the current windows' features built in a low-priority thread (see ``warming.py``)
        until ``stop_warming``: what `serve` and `worker` run."""
        from .warming import Warmer

        if self._warmer is None:
            self._warmer = Warmer(self.warm, idle_seconds=idle_seconds)
            self._warmer.start()
            return True
        return False

    def wake(self) -> None:
        """The data changed (an ingest or a sync here): build the current windows now."""
        if self._warmer is not None:
            self._warmer.wake()

    def stop_warming(self) -> None:
        if self._warmer is not None:
            self._warmer.stop()
            self._warmer = None

    def _build_pool(self, key: tuple[Any, ...], first: date, last: date) -> Pool:
        import numpy as np

        recs = self._storage.recs
        rows = recs.candidates(first, last)
        ids = [r.paper_id for r in rows]
        inside = set(ids)
        texts = recs.texts(ids)
        back_ids = [p for p in recs.background(None, BACKGROUND) if p not in inside]
        texts.update(recs.texts(back_ids))
        back_ids = [p for p in back_ids if p in texts]
        cand_texts = [M.paper_text(*texts.get(p, ("", ""))) for p in ids]
        back_texts = [M.paper_text(*texts[p]) for p in back_ids]
        vec = M.fit_tfidf(cand_texts + back_texts) if cand_texts or back_texts else None
        if vec is None or not getattr(vec, "vocabulary_", None):
            vec = M.fit_tfidf(["empty window"])
        embedder = self._embedder() if M.BLEND.get("centroid-emb") else None
        cand_emb = back_emb = None
        if embedder is not None and self._storage.vectors.has_any(embedder):
            dim_like = np.zeros((0, _dim(self._storage, embedder, ids + back_ids)), np.float32)
            cand_emb = _vectors(self._storage, embedder, ids, dim_like)
            back_emb = _vectors(self._storage, embedder, back_ids, dim_like)
        authors, cats = recs.facets(ids)
        _, back_cats = recs.facets(back_ids)
        cand_codes = [cats.get(p, []) for p in ids]
        back_codes = [back_cats.get(p, []) for p in back_ids]
        vocabulary = M.category_vocabulary(cand_codes + back_codes)
        row = {p: i for i, p in enumerate(ids)}
        by_author: dict[str, set[int]] = {}
        by_category: dict[str, set[int]] = {}
        for pid, names in authors.items():
            for name in names:
                by_author.setdefault(name, set()).add(row[pid])
        for pid, codes in cats.items():
            for code in codes:
                by_category.setdefault(code, set()).add(row[pid])
        return Pool(
            key=key,
            rows=rows,
            vectorizer=vec,
            vocabulary=M.feature_names(vec),
            # a small database may have everything in the window (no background), or an empty window
            cand=M.Examples(_transform(vec, cand_texts), cand_emb, None, M.category_matrix(cand_codes, vocabulary)),
            background=M.Examples(_transform(vec, back_texts), back_emb, None, M.category_matrix(back_codes, vocabulary)),
            texts=[t.lower() for t in cand_texts],
            words=[" ".join(words_of(texts.get(p, ("", ""))[0]) + [""] + words_of(texts.get(p, ("", ""))[1])) for p in ids],
            by_author={k: tuple(sorted(v)) for k, v in by_author.items()},
            by_category={k: tuple(sorted(v)) for k, v in by_category.items()},
            embedder=embedder if cand_emb is not None else None,
            categories=vocabulary,
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
        muted = _muted_rows(pool, MuteFilter.of(mutes))
        keep = [i for i, r in enumerate(pool.rows) if r.paper_id not in seen and i not in muted]
        hidden = sum(1 for i in muted if pool.rows[i].paper_id not in seen)
        follows = [(f, _rows_matching(pool, f.kind, f.value)) for f in signals.follows if f.kind in ("author", "category", "search")]
        matched = [tuple(f for f, rows in follows if i in rows) for i in keep]
        cand = pool.cand.take(keep)
        as_of = datetime.combine(last + timedelta(days=1), time())

        pos, pos_ids = pool.examples(self._storage, positives) if positives else (None, [])
        if not pos_ids:  # nothing saved or upvoted (that still exists): cold start
            trend = np.array([trending_score(pool.rows[i].upvotes, pool.rows[i].day, as_of, 1.5) for i in keep])
            chosen = [j for j in range(len(keep)) if matched[j]] if follows else list(range(len(keep)))
            order = [chosen[j] for j in _best(trend[chosen], limit)] if chosen else []
            items = self._items(pool, keep, order, trend, matched, evidence=None, pos_ids=[], trending=True)
            return RecommendationPage(tuple(items), window, first, last, True, hidden, len(keep), "trending")

        neg, _ = pool.examples(self._storage, sorted(negatives))
        if not keep:
            return RecommendationPage((), window, first, last, False, hidden, 0, M.SHIPPED)
        model = M.personal_model(pos, pool.background, cand, neg)
        boost = np.array([FOLLOW_BOOST * min(len(m), 2) for m in matched])
        final = model.scores + boost
        order = _best(final, limit)
        evidence = M.explain(cand.tfidf[order], pos.tfidf, model.weights, pool.vocabulary) if order else []
        items = self._items(pool, keep, order, final, matched, evidence=evidence, pos_ids=pos_ids)
        return RecommendationPage(tuple(items), window, first, last, False, hidden, len(keep), M.SHIPPED)

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


def _transform(vec: Any, texts: list[str]) -> Any:
    """TF-IDF rows of ``texts`` (scikit-learn refuses an empty list: an empty matrix then)."""
    from scipy import sparse

    if texts:
        return M.transform(vec, texts)
    return sparse.csr_matrix((0, len(vec.vocabulary_)), dtype="float32")


def _dim(storage: Storage, model: str, paper_ids: list[int]) -> int:
    """The dimension of ``model``'s vectors, read off one stored vector."""
    for part in (paper_ids[:50], paper_ids):
        blobs = storage.vectors.blobs([model], part)[model]
        if blobs:
            return len(next(iter(blobs.values()))) // 4
    return 0


def _best(scores: np.ndarray, limit: int) -> list[int]:
    """Positions of the ``limit`` best scores, best first; ties to the earlier position (the
    lower paper id: candidates are in id order)."""
    import numpy as np

    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores, float)))
    return [int(j) for j in order[:limit]]


# -- follows and mutes: which candidates match (over the pool's indexes) ----------------------------


def _muted_rows(pool: Pool, mutes: MuteFilter) -> set[int]:
    """Rows of the pool's candidates that a member's mutes hide, matched as every other list
    matches them (``personal/mutes.py``: name keys, categories and archives, whole words)."""
    rows: set[int] = set()
    for key in mutes.authors:
        rows.update(pool.by_author.get(key, ()))
    for value in mutes.categories:
        for code, found in pool.by_category.items():
            if category_matches(value, (code,)):
                rows.update(found)
    for phrase, _ in mutes.phrases:
        # the phrase's first word is in the joined words wherever the phrase is: split only those
        rows |= {i for i, words in enumerate(pool.words) if phrase[0] in words and contains_phrase(words.split(" "), phrase)}
    return rows


def _rows_matching(pool: Pool, kind: str, value: str) -> set[int]:
    """Rows of the pool's candidates that match a follow: an author (any case or accents), a
    category or a whole archive (``cs``), or every word of a search in the title or abstract."""
    if kind == "author":
        return set(pool.by_author.get(name_key(value), ()))
    if kind == "category":
        v = value.strip()
        return set().union(*(rows for code, rows in pool.by_category.items() if category_matches(v, (code,))))
    if kind == "search":
        words = [w for w in re.findall(r"[\w:]+", value.lower()) if ":" not in w]
        if not words:
            return set()
        patterns = [re.compile(r"\b" + re.escape(w)) for w in words]
        return {i for i, t in enumerate(pool.texts) if all(p.search(t) for p in patterns)}
    return set()
