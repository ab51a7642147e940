"""The recommendation model: pure functions from feature matrices and a member's examples to
scores, plus the evidence for each score (closest saved papers, weighing words).

Every ranker has the same shape — ``(positives, negatives, candidates) -> scores`` — so that the
shipped model and the baselines of ``eval-recs`` are measured by the same code (as
arxiv-sanity-lite's rankers all return ``(ids, scores)``). Features:

- **TF-IDF** of title + abstract (:func:`fit_tfidf`), L2-normalised rows, sublinear term
  frequency, English stopwords dropped, words and two-word phrases;
- **embeddings** (unit vectors of the search embedder, all-MiniLM-L6-v2 by default), when stored.

Which model ships, and why, is in docs/benchmarks.md ("Recommendations"); :data:`SHIPPED` names it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

# Words (not numbers or single letters), as arxiv-sanity-lite tokenises.
TOKEN_PATTERN = r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b"
SVM_C = 0.3  # LinearSVC's C; see docs/benchmarks.md for the grid
MAX_FEATURES = 50_000


def fit_tfidf(
    texts: Sequence[str],
    *,
    min_df: int = 2,
    max_df: float = 0.5,
    ngrams: int = 2,
    sublinear: bool = True,
    bm25: tuple[float, float] | None = None,
) -> TfidfVectorizer:
    """A TF-IDF vectoriser fitted on ``texts`` (the idf comes from them). With fewer than
    ``4 * min_df`` texts every word is kept (a day's few papers). ``bm25``: (k1, b) to weigh
    terms as BM25 does instead (:func:`transform`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    small = len(texts) < 4 * min_df
    vec = TfidfVectorizer(
        strip_accents="unicode",
        lowercase=True,
        stop_words="english",
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, ngrams),
        max_features=MAX_FEATURES,
        sublinear_tf=sublinear,
        min_df=1 if small else min_df,
        max_df=1.0 if small else max_df,
        dtype=np.float32,
    )
    vec.fit(texts)
    # Fitting counts every word and two-word phrase (hundreds of thousands) in one dict, then
    # deletes all but ``max_features`` of them; a dict does not shrink when entries are deleted, so
    # the fitted ``vocabulary_`` keeps a table sized for all of them (15 MiB at 5,000 abstracts)
    # and numpy integers as values. A fresh dict of plain ints holds the same vocabulary in a tenth.
    vec.vocabulary_ = {term: int(i) for term, i in vec.vocabulary_.items()}
    vec.bm25_ = None
    if bm25 is not None:
        counts = _counts(vec, texts)
        vec.bm25_ = (bm25[0], bm25[1], float(counts.sum(axis=1).mean()) or 1.0)
    return vec


def _counts(vec: TfidfVectorizer, texts: Sequence[str]) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer.transform(vec, texts)  # the raw term counts over the fitted vocabulary


def transform(vec: TfidfVectorizer, texts: Sequence[str]) -> Any:
    """The lexical rows of ``texts``: TF-IDF, or with ``fit_tfidf(bm25=(k1, b))`` BM25 term
    weights (term frequency saturating at ``k1``, normalised by the paper's length relative to
    the mean by ``b``, times the idf), L2-normalised either way."""
    params = getattr(vec, "bm25_", None)
    if params is None:
        return vec.transform(texts)
    from sklearn.preprocessing import normalize

    k1, b, mean_len = params
    counts = _counts(vec, texts).astype(np.float32).tocsr()
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    norm = k1 * (1 - b + b * lengths / mean_len)
    row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    tf = counts.data
    counts.data = (tf * (k1 + 1) / (tf + norm[row_of]) * vec.idf_[counts.indices]).astype(np.float32)
    return normalize(counts)


def feature_names(vec: TfidfVectorizer) -> np.ndarray:
    """The term of each TF-IDF column, as an object array that shares the vocabulary's strings
    (``get_feature_names_out`` copies them into a fixed-width unicode array: 4 MiB more)."""
    names = np.empty(len(vec.vocabulary_), dtype=object)
    for term, i in vec.vocabulary_.items():
        names[i] = term
    return names


def category_vocabulary(code_lists: Sequence[Sequence[str]]) -> dict[str, int]:
    """Columns of the category features: every code seen, and every archive (``cs`` of ``cs.LG``)."""
    keys = sorted({k for codes in code_lists for c in codes for k in (c, "archive:" + c.split(".")[0])})
    return {k: i for i, k in enumerate(keys)}


def category_matrix(code_lists: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> Any:
    """A row per paper over ``vocabulary``: 1 for each of its categories, 0.5 for each archive,
    L2-normalised (a paper without categories is a zero row). Categories are the paper's own
    metadata, not who wrote it, so ``eval-recs`` counts them as content."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    rows, cols, vals = [], [], []
    for i, codes in enumerate(code_lists):
        weights: dict[int, float] = {}
        for c in codes:
            if c in vocabulary:
                weights[vocabulary[c]] = 1.0
            a = vocabulary.get("archive:" + c.split(".")[0])
            if a is not None:
                weights.setdefault(a, 0.5)
        rows += [i] * len(weights)
        cols += list(weights)
        vals += list(weights.values())
    m = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(code_lists), max(len(vocabulary), 1)))
    return normalize(m) if len(code_lists) else m  # scikit-learn refuses to normalise no rows


def paper_text(title: str, abstract: str) -> str:
    """What the model's lexical side reads of a paper: the title counts three times (it is the
    summary; three times measured a little better than twice, docs/benchmarks.md)."""
    return f"{title}. {title}. {title}. {abstract}"


def baseline_text(title: str, abstract: str) -> str:
    """What the TF-IDF centroid *baseline* of ``eval-recs`` reads: the title twice, as it was
    measured before the model's text changed (a baseline does not move with the model)."""
    return f"{title}. {title}. {abstract}"


# -- rankers: (positives, negatives, candidates) -> one score per candidate ------------------------


def _rows(m) -> int:  # noqa: ANN001 - dense or sparse
    return m.shape[0]


def centroid_scores(pos, cand, weight: np.ndarray | None = None) -> np.ndarray:  # noqa: ANN001 - dense or sparse
    """Cosine of each candidate to the (weighted) mean of the positives (rows are unit length)."""
    if weight is None:
        centre = np.asarray(pos.mean(axis=0)).ravel()
    else:
        centre = np.asarray(pos.T @ weight).ravel()
    norm = np.linalg.norm(centre)
    if norm == 0:
        return np.zeros(_rows(cand), np.float32)
    return np.asarray(cand @ (centre / norm)).ravel()


def knn_scores(pos, cand, k: int = 3, weight: np.ndarray | None = None) -> np.ndarray:  # noqa: ANN001
    """Mean of each candidate's ``k`` largest cosines to the positives (times their weights): a
    member with several interests is near one of them, not near their average."""
    sims = cand @ pos.T
    sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
    if weight is not None:
        sims = sims * weight[None, :]
    k = min(k, sims.shape[1])
    if k == 0:
        return np.zeros(sims.shape[0])
    top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return top.mean(axis=1)


def spread(m, limit: int | None):  # noqa: ANN001 - dense or sparse
    """At most ``limit`` rows of ``m``, evenly spaced (deterministic: the same request ranks the
    same way twice)."""
    n = _rows(m)
    if limit is None or n <= limit:
        return m
    return m[np.linspace(0, n - 1, limit).astype(np.int64)]


def svm_weights(
    pos, background, neg=None, *, c: float = SVM_C, max_background: int | None = None, weight: np.ndarray | None = None  # noqa: ANN001
) -> tuple[np.ndarray, float]:
    """A linear SVM separating the positives from the background (and the negatives, which count
    double): arxiv-sanity-lite's per-user recipe. Returns (weights, bias). ``max_background``
    rows of the background at most (evenly spread): the SVM's cost grows with them."""
    from scipy import sparse
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    background = spread(background, max_background)
    parts = [pos, background] + ([neg, neg] if neg is not None and _rows(neg) else [])
    stack = sparse.vstack(parts, format="csr") if sparse.issparse(pos) else np.vstack(parts)
    y = np.zeros(_rows(stack), np.int8)
    y[: _rows(pos)] = 1
    clf = LinearSVC(class_weight="balanced", C=c, max_iter=2000, tol=1e-4)
    sample = None
    if weight is not None:  # the positives' weights (mean 1); every other row counts 1
        sample = np.ones(_rows(stack))
        sample[: _rows(pos)] = weight * len(weight) / weight.sum()
    with warnings.catch_warnings():  # an SVM stopped short of full convergence still ranks well
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(stack, y, sample_weight=sample)
    return clf.coef_.ravel().astype(np.float32), float(clf.intercept_[0])


def linear_scores(weights: np.ndarray, cand) -> np.ndarray:  # noqa: ANN001
    return np.asarray(cand @ weights).ravel()


def negative_penalty(neg, cand, weight: float) -> np.ndarray:  # noqa: ANN001 - sparse or dense
    """``weight`` × each candidate's largest cosine to a negative (a dismissed paper): the SVM
    alone barely moves for one dismissal among thousands of background papers, and a member who
    says "not interested" expects papers like it to sink at once."""
    if neg is None or _rows(neg) == 0 or _rows(cand) == 0:
        return np.zeros(_rows(cand))
    sims = cand @ neg.T
    best = sims.max(axis=1)
    best = best.toarray() if hasattr(best, "toarray") else np.asarray(best)
    return weight * np.asarray(best).ravel()


def zscore(scores: np.ndarray) -> np.ndarray:
    """Scores centred and scaled over the candidates, so that two rankers can be added."""
    sd = float(scores.std())
    return (scores - scores.mean()) / sd if sd > 0 else np.zeros_like(scores)


def blend(parts: Sequence[tuple[float, np.ndarray]]) -> np.ndarray:
    """The weighted sum of z-scored rankers."""
    return sum((w * zscore(s) for w, s in parts), np.zeros_like(parts[0][1], dtype=np.float64))


# -- the rankers, by name -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Examples:
    """Some papers' features: TF-IDF rows (csr) and embeddings (unit rows; zero rows where a
    paper has no vector; None when the database has none at all)."""

    tfidf: Any
    emb: np.ndarray | None = None
    weight: np.ndarray | None = None  # per row, summing to 1 (positives: recent ones weigh more); None: equal
    cats: Any = None  # csr: the arXiv categories (``category_matrix``); None when unknown

    def __len__(self) -> int:
        return self.tfidf.shape[0]

    def take(self, rows: Sequence[int], weight: np.ndarray | None = None) -> Examples:
        rows = list(rows)
        return Examples(
            self.tfidf[rows], None if self.emb is None else self.emb[rows], weight, None if self.cats is None else self.cats[rows]
        )


def decay(ages_days: np.ndarray, half_life: float | None) -> np.ndarray | None:
    """Weights of positives by age: a positive ``half_life`` days old counts half as much as one
    of today (None: all count the same)."""
    if half_life is None:
        return None
    w = np.power(0.5, np.maximum(ages_days, 0) / half_life)
    return w / w.sum()


def _stack(*parts: Examples) -> Examples:
    from scipy import sparse

    used = [p for p in parts if len(p)] or list(parts[:1])
    tf = sparse.vstack([p.tfidf for p in used], format="csr")
    emb = None if any(p.emb is None for p in used) else np.vstack([p.emb for p in used])
    cats = None if any(p.cats is None for p in used) else sparse.vstack([p.cats for p in used], format="csr")
    return Examples(tf, emb, None, cats)


def _emb(ex: Examples) -> np.ndarray:
    if ex.emb is None:
        raise ValueError("no embeddings in the database: run `broadsheet index` first")
    return ex.emb


Ranker = Callable[[Examples, Examples, Examples], np.ndarray]  # (positives, background, candidates) -> scores


def rank_centroid_tfidf(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    return centroid_scores(pos.tfidf, cand.tfidf, pos.weight)


def rank_centroid_emb(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    return centroid_scores(_emb(pos), _emb(cand), pos.weight)


def rank_centroid_categories(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    if pos.cats is None or cand.cats is None:
        return np.zeros(len(cand))
    return centroid_scores(pos.cats, cand.cats, pos.weight)


def rank_knn_tfidf(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    return knn_scores(pos.tfidf, cand.tfidf, weight=pos.weight)


def rank_knn_emb(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    return knn_scores(_emb(pos), _emb(cand), weight=pos.weight)


def rank_svm_tfidf(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    """arxiv-sanity-lite's recipe: positives against the background and the candidates."""
    w, _ = svm_weights(pos.tfidf, _stack(background, cand).tfidf, weight=pos.weight)
    return linear_scores(w, cand.tfidf)


def rank_svm_emb(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
    every = _stack(background, cand)
    w, _ = svm_weights(_emb(pos), _emb(every), c=1.0, weight=pos.weight)
    return linear_scores(w, _emb(cand))


def blended(*parts: tuple[float, Ranker]) -> Ranker:
    """A ranker that adds the z-scored scores of others, weighted."""

    def rank(pos: Examples, background: Examples, cand: Examples) -> np.ndarray:
        return blend([(w, r(pos, background, cand)) for w, r in parts])

    return rank


RANKERS: dict[str, Ranker] = {
    "centroid-emb": rank_centroid_emb,
    "centroid-tfidf": rank_centroid_tfidf,
    "svm-tfidf": rank_svm_tfidf,
    "svm-emb": rank_svm_emb,
    "svm-tfidf+centroid-emb": blended((1.0, rank_svm_tfidf), (0.5, rank_centroid_emb)),
    "svm-tfidf+svm-emb": blended((1.0, rank_svm_tfidf), (0.5, rank_svm_emb)),
    "centroid-tfidf+centroid-emb": blended((1.0, rank_centroid_tfidf), (0.5, rank_centroid_emb)),
    "knn-tfidf": rank_knn_tfidf,
    "knn-emb": rank_knn_emb,
    "centroid-categories": rank_centroid_categories,
}
NEEDS_EMBEDDINGS = {name for name in RANKERS if "emb" in name}


# -- the shipped model ------------------------------------------------------------------------

SHIPPED = "svm-tfidf+centroids"  # the name eval-recs and the For you page report
BLEND = {"centroid-tfidf": 0.5, "centroid-emb": 1.0, "centroid-categories": 0.5}  # beside the SVM (weight 1), z-scored
MAX_NEGATIVES = None  # background + candidate rows the SVM learns from at most (None: all)
HALF_LIFE_DAYS: float | None = None  # positives weigh by age (None: all the same); see ``decay``
NEGATIVE_WEIGHT = 1.5  # z-score units taken off a candidate as close as can be (cosine 1) to a dismissed paper


@dataclass(frozen=True, slots=True)
class Scored:
    """The shipped model's output: a score per candidate (z-scored) and the weight of each TF-IDF
    term (for the words an explanation names)."""

    scores: np.ndarray
    weights: np.ndarray


def personal_model(pos: Examples, background: Examples, cand: Examples, neg: Examples | None = None) -> Scored:
    """The shipped model: a per-member linear SVM over TF-IDF (positives against the background
    and the candidates, dismissed papers as extra negatives), plus the TF-IDF centroid and, when
    vectors are stored, the embedding centroid (z-scored, weights ``BLEND``), minus a penalty for
    closeness to a dismissed paper. Why this one: docs/benchmarks.md ("Recommendations")."""
    from scipy import sparse

    negs = sparse.vstack([background.tfidf, cand.tfidf], format="csr")  # the words alone: the SVM reads nothing else
    weights, _ = svm_weights(
        pos.tfidf, negs, None if neg is None or not len(neg) else neg.tfidf,
        c=SVM_C, max_background=MAX_NEGATIVES, weight=pos.weight,
    )
    parts = [(1.0, linear_scores(weights, cand.tfidf)), (BLEND["centroid-tfidf"], centroid_scores(pos.tfidf, cand.tfidf, pos.weight))]
    if BLEND["centroid-emb"] and pos.emb is not None and cand.emb is not None:
        parts.append((BLEND["centroid-emb"], centroid_scores(pos.emb, cand.emb, pos.weight)))
    if BLEND["centroid-categories"] and pos.cats is not None and cand.cats is not None:
        parts.append((BLEND["centroid-categories"], centroid_scores(pos.cats, cand.cats, pos.weight)))
    scores = blend(parts)
    if neg is not None and len(neg):
        scores = scores - negative_penalty(neg.tfidf, cand.tfidf, NEGATIVE_WEIGHT)
    return Scored(scores, weights)


# -- explanations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why one candidate scored as it did: the closest positives (their row numbers among the
    positives, with cosines) and the words that added most to its score."""

    closest: tuple[tuple[int, float], ...]
    words: tuple[str, ...]


def explain(
    cand_rows: csr_matrix,
    pos: csr_matrix,
    weights: np.ndarray,
    vocabulary: np.ndarray,
    *,
    closest: int = 2,
    words: int = 5,
) -> list[Evidence]:
    """Evidence for each row of ``cand_rows`` (a page of candidates, TF-IDF): the ``closest``
    positives by cosine, and the ``words`` whose weight × the candidate's TF-IDF is largest."""
    sims = np.asarray((cand_rows @ pos.T).todense()) if _rows(pos) else np.zeros((_rows(cand_rows), 0))
    out = []
    for i in range(_rows(cand_rows)):
        order = np.argsort(-sims[i])[:closest]
        near = tuple((int(j), float(sims[i, j])) for j in order if sims[i, j] > 0)
        row = cand_rows.getrow(i)
        contrib = row.data * weights[row.indices]
        best = np.argsort(-contrib)[:words]
        top = tuple(str(vocabulary[row.indices[j]]) for j in best if contrib[j] > 0)
        out.append(Evidence(near, top))
    return out
