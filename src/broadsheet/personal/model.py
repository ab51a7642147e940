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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

# Words (not numbers or single letters), as arxiv-sanity-lite tokenises.
TOKEN_PATTERN = r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b"
SVM_C = 0.1  # LinearSVC's C; see docs/benchmarks.md for the grid
MAX_FEATURES = 50_000


def fit_tfidf(texts: Sequence[str], *, min_df: int = 2, max_df: float = 0.5) -> TfidfVectorizer:
    """A TF-IDF vectoriser fitted on ``texts`` (the idf comes from them). With fewer than
    ``4 * min_df`` texts every word is kept (a day's few papers)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    small = len(texts) < 4 * min_df
    vec = TfidfVectorizer(
        strip_accents="unicode",
        lowercase=True,
        stop_words="english",
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, 2),
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        min_df=1 if small else min_df,
        max_df=1.0 if small else max_df,
        dtype=np.float32,
    )
    vec.fit(texts)
    return vec


def paper_text(title: str, abstract: str) -> str:
    """What the lexical side reads of a paper: the title counts twice (it is the summary)."""
    return f"{title}. {title}. {abstract}"


# -- rankers: (positives, negatives, candidates) -> one score per candidate ------------------------


def _rows(m) -> int:  # noqa: ANN001 - dense or sparse
    return m.shape[0]


def centroid_scores(pos, cand) -> np.ndarray:  # noqa: ANN001 - dense or sparse matrices
    """Cosine of each candidate to the mean of the positives (rows are unit length)."""
    centre = np.asarray(pos.mean(axis=0)).ravel()
    norm = np.linalg.norm(centre)
    if norm == 0:
        return np.zeros(_rows(cand), np.float32)
    return np.asarray(cand @ (centre / norm)).ravel()


def svm_weights(pos, background, neg=None, *, c: float = SVM_C) -> tuple[np.ndarray, float]:  # noqa: ANN001
    """A linear SVM separating the positives from the background (and the negatives, which count
    double): arxiv-sanity-lite's per-user recipe. Returns (weights, bias)."""
    from scipy import sparse
    from sklearn.svm import LinearSVC

    parts = [pos, background] + ([neg, neg] if neg is not None and _rows(neg) else [])
    stack = sparse.vstack(parts, format="csr") if sparse.issparse(pos) else np.vstack(parts)
    y = np.zeros(_rows(stack), np.int8)
    y[: _rows(pos)] = 1
    clf = LinearSVC(class_weight="balanced", C=c, max_iter=2000, tol=1e-4)
    clf.fit(stack, y)
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
