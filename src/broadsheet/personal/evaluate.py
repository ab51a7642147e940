"""``broadsheet eval-recs``: how well the recommendation model predicts what people picked next.

INTERACTIONS is JSON Lines ``{"user": ..., "arxiv_id": ..., "time": ISO-8601}`` over papers in
the database (``bench/recs_hf_submitters.py`` and ``bench/recs_arxiv_authors.py`` build two from
real data). The protocol (a temporal split, as a member's model only ever sees the past):

1. the candidates are every visible paper first listed (or, never listed, published) in the
   ``WINDOW_DAYS`` days from the cutoff on;
2. a user counts when they have at least ``MIN_BEFORE`` interactions before the cutoff (with
   papers in the database) and at least one after it with a candidate;
3. each ranker learns from the user's papers before the cutoff and orders all the candidates;
   recall@k and nDCG@k (binary gains) of the user's candidates are averaged over users.

Every ranker sees content only (title and abstract, their TF-IDF and stored embeddings), never
author names or submitters, except ``authors`` with ``allow_authors``, which shows what following
the authors of one's papers would add. The baselines are measured in the same run: popularity
(most upvoted), recency, and each content ranker of ``model.RANKERS``.

Features are built as ``Hub.recommend`` builds them: TF-IDF fitted on the candidates plus a
background sample of papers from before the cutoff, which is also what the SVMs learn the
positives apart from.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidInputError
from . import model as M

if TYPE_CHECKING:
    import numpy as np

    from ..storage import Storage

WINDOW_DAYS = 30
MIN_BEFORE = 5
BACKGROUND = 2000
# The baselines the shipped model must beat (the other rankers are candidates for shipping).
BASELINES = ("popularity", "recency", "centroid-emb", "centroid-tfidf")
# Baselines that read the words: they read ``model.baseline_text``, not the model's text.
LEXICAL_BASELINES = ("centroid-tfidf",)
AUTHOR_WEIGHT = 1.0  # "shipped+authors": z-score units per shared author, at most two


@dataclass(frozen=True, slots=True)
class Interaction:
    user: str
    arxiv_id: str
    day: date


@dataclass(frozen=True, slots=True)
class RecsEvaluation:
    """What ``eval-recs`` measured: per ranker recall@k and nDCG@k (means over users)."""

    cutoff: date
    window_last: date
    k: int
    users: int
    candidates: int
    interactions: int
    shipped: str
    scores: dict[str, dict[str, float]]  # ranker -> {"recall": ..., "ndcg": ...}
    skipped: dict[str, int] = field(default_factory=dict)  # why lines or users were left out, counted
    problems: tuple[str, ...] = ()  # the first bad lines, each with its line number
    embeddings: int = 0  # candidates and positives that have a stored vector
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        best = max((v["recall"], n) for n, v in self.scores.items() if n in BASELINES)
        return {
            "cutoff": self.cutoff.isoformat(),
            "window": [self.cutoff.isoformat(), self.window_last.isoformat()],
            "k": self.k,
            "users": self.users,
            "candidates": self.candidates,
            "interactions": self.interactions,
            "shipped": self.shipped,
            "scores": self.scores,
            "best_baseline": {"name": best[1], "recall": best[0]},
            "shipped_vs_best_baseline": _ratio(self.scores["shipped"]["recall"], best[0]),
            "shipped_vs_popularity": _ratio(self.scores["shipped"]["recall"], self.scores["popularity"]["recall"]),
            "embedded": self.embeddings,
            "skipped": self.skipped,
            "problems": list(self.problems),
            "seconds": round(self.seconds, 1),
        }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b > 0 else None


def read_interactions(path: Path) -> tuple[list[Interaction], list[str]]:
    """The interactions of a JSON Lines file, and one message per bad line (with its number)."""
    good: list[Interaction] = []
    bad: list[str] = []
    try:
        f = path.open("r", encoding="utf-8")
    except OSError as e:
        raise InvalidInputError(f"{path}: cannot open: {e.strerror or e}") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                user, aid, when = rec["user"], rec["arxiv_id"], rec["time"]
                if not isinstance(user, str) or not isinstance(aid, str) or not isinstance(when, str):
                    raise TypeError("user, arxiv_id and time must be strings")
                good.append(Interaction(user, aid.strip(), date.fromisoformat(when[:10])))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                what = f"missing {e}" if isinstance(e, KeyError) else str(e)
                bad.append(f"{path.name}:{n}: {what}")
    return good, bad


@dataclass(frozen=True, slots=True)
class Split:
    """The interactions split at the cutoff: who counts, what they had before, what came after."""

    cutoff: date
    last: date
    candidates: list[Any]  # storage.recs.CandidateRow, by paper id
    cand_index: dict[int, int]
    users: list[str]
    before: dict[str, dict[int, date]]  # paper id -> the day of the user's first interaction with it
    after: dict[str, set[int]]  # candidate paper ids
    interactions: int
    skipped: dict[str, int]
    problems: tuple[str, ...]


def split(storage: Storage, path: Path, cutoff: date) -> Split:
    """Read the interactions and split them at ``cutoff`` (see the module docstring)."""
    rows, problems = read_interactions(path)
    recs = storage.recs
    ids = recs.ids_of(sorted({r.arxiv_id for r in rows}))
    skipped: dict[str, int] = defaultdict(int)
    if problems:
        skipped["bad lines"] = len(problems)
    last = cutoff + timedelta(days=WINDOW_DAYS - 1)
    cands = recs.candidates(cutoff, last)
    if not cands:
        raise InvalidInputError(f"no papers were first listed or published from {cutoff} to {last}")
    cand_index = {c.paper_id: i for i, c in enumerate(cands)}
    before: dict[str, dict[int, date]] = defaultdict(dict)
    after: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        pid = ids.get(r.arxiv_id)
        if pid is None:
            skipped["interactions with papers not in the database"] += 1
        elif r.day < cutoff:
            mine = before[r.user]
            mine[pid] = min(r.day, mine.get(pid, r.day))
        elif pid in cand_index:
            after[r.user].add(pid)
    users = sorted(u for u in after if len(before[u]) >= MIN_BEFORE)
    skipped["users with too little history or nothing after the cutoff"] = len(set(before) | set(after)) - len(users)
    if not users:
        raise InvalidInputError(
            f"no user has {MIN_BEFORE} interactions before {cutoff} and one with a paper new from {cutoff} to {last}"
        )
    return Split(cutoff, last, cands, cand_index, users, dict(before), dict(after), len(rows), dict(skipped), tuple(problems[:20]))


@dataclass(frozen=True, slots=True)
class Featurized:
    cand: M.Examples
    back: M.Examples
    every: M.Examples  # candidates, background, positives
    row: dict[int, int]  # paper id -> its row in ``every``
    embedded: int


def featurize(
    storage: Storage,
    s: Split,
    embedder: str | None,
    *,
    background: int = BACKGROUND,
    tfidf: dict[str, Any] | None = None,
    text_of: Callable[[str, str], str] = M.paper_text,
) -> Featurized:
    """Features as ``Hub.recommend`` builds them: TF-IDF fitted on the candidates plus a background
    sample (from before the cutoff), stored embeddings. ``text_of``: what the TF-IDF reads of a
    paper (``model.baseline_text`` for the lexical baselines)."""
    recs = storage.recs
    positives = sorted({p for u in s.users for p in s.before[u]})
    cand_ids = [c.paper_id for c in s.candidates]
    back_ids = [p for p in recs.background(s.cutoff, background) if p not in s.cand_index] if background else []
    texts = recs.texts(cand_ids + back_ids + positives)
    text = lambda p: text_of(*texts.get(p, ("", "")))  # noqa: E731
    vec = M.fit_tfidf([text(p) for p in cand_ids + back_ids], **(tfidf or {}))
    ids = cand_ids + back_ids + positives
    row: dict[int, int] = {}
    for i, p in enumerate(ids):
        row.setdefault(p, i)
    emb, embedded = _embeddings(storage, embedder, ids)
    _, cats = recs.facets(ids)
    codes = [cats.get(p, []) for p in ids]
    vocabulary = M.category_vocabulary(codes[: len(cand_ids) + len(back_ids)])
    every = M.Examples(M.transform(vec, [text(p) for p in ids]), emb, None, M.category_matrix(codes, vocabulary))
    return Featurized(
        cand=every.take(range(len(cand_ids))),
        back=every.take(range(len(cand_ids), len(cand_ids) + len(back_ids))),
        every=every,
        row=row,
        embedded=embedded,
    )


def measure(
    storage: Storage,
    s: Split,
    f: Featurized,
    rankers: dict[str, M.Ranker],
    *,
    k: int = 20,
    allow_authors: bool = False,
    on_user: Callable[[int, int], None] | None = None,
    half_life: float | None = M.HALF_LIFE_DAYS,
    baseline: Featurized | None = None,
) -> dict[str, dict[str, float]]:
    """Mean recall@k and nDCG@k per ranker, plus popularity and recency (and, with
    ``allow_authors``, the shipped model plus shared authors). ``half_life``: positives weigh
    by age (``model.decay``; None: all the same); the default is the shipped model's.
    ``baseline``: the features the ``LEXICAL_BASELINES`` read (None: ``f``'s)."""
    import numpy as np

    chosen = dict(rankers)
    if f.every.emb is None:
        for name in M.NEEDS_EMBEDDINGS:
            chosen.pop(name, None)
    upvotes = np.array([c.upvotes for c in s.candidates], float)
    days = np.array([c.day.toordinal() for c in s.candidates], float)
    cand_ids = [c.paper_id for c in s.candidates]
    authors = None
    if allow_authors:
        found, _ = storage.recs.facets(cand_ids + sorted({p for u in s.users for p in s.before[u]}))
        authors = {p: set(names) for p, names in found.items()}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for n, user in enumerate(s.users, 1):
        mine = sorted(s.before[user])
        ages = np.array([(s.cutoff - s.before[user][p]).days for p in mine], float)
        pos = f.every.take([f.row[p] for p in mine], M.decay(ages, half_life))
        fb = baseline or f
        pos_b = fb.every.take([fb.row[p] for p in mine], M.decay(ages, half_life)) if baseline else pos
        relevant = {s.cand_index[p] for p in s.after[user]}
        scored: dict[str, np.ndarray] = {"popularity": upvotes, "recency": days}
        for name, ranker in chosen.items():
            scored[name] = ranker(pos_b, fb.back, fb.cand) if name in LEXICAL_BASELINES else ranker(pos, f.back, f.cand)
        scored["shipped"] = M.personal_model(pos, f.back, f.cand).scores
        if authors is not None:
            theirs = set().union(*(authors.get(p, set()) for p in s.before[user]))
            shared = np.array([min(len(authors.get(c, set()) & theirs), 2) for c in cand_ids], float)
            scored["shipped+authors"] = M.zscore(scored["shipped"]) + AUTHOR_WEIGHT * shared
        for name, scores in scored.items():
            top = _top(scores, k)
            totals[name][0] += _recall(top, relevant)
            totals[name][1] += _ndcg(top, relevant, k)
        if on_user:
            on_user(n, len(s.users))
    return {name: {"recall": round(r / len(s.users), 4), "ndcg": round(g / len(s.users), 4)} for name, (r, g) in totals.items()}


def evaluate(
    storage: Storage,
    path: Path,
    cutoff: date,
    *,
    k: int = 20,
    embedder: str | None = None,
    allow_authors: bool = False,
    on_user: Callable[[int, int], None] | None = None,
) -> RecsEvaluation:
    """Measure the shipped model, the other rankers of ``model.RANKERS`` and the baselines; see
    the module docstring. ``embedder``: the name the stored vectors were made by (None: no vectors)."""
    if k < 1:
        raise InvalidInputError(f"k must be at least 1, not {k}")
    started = time.perf_counter()
    s = split(storage, path, cutoff)
    f = featurize(storage, s, embedder)
    fb = featurize(storage, s, embedder, text_of=M.baseline_text) if M.baseline_text is not M.paper_text else None
    scores = measure(storage, s, f, M.RANKERS, k=k, allow_authors=allow_authors, on_user=on_user, baseline=fb)
    return RecsEvaluation(
        cutoff=cutoff,
        window_last=s.last,
        k=k,
        users=len(s.users),
        candidates=len(s.candidates),
        interactions=s.interactions,
        shipped=M.SHIPPED,
        scores=scores,
        skipped=s.skipped,
        problems=s.problems,
        embeddings=f.embedded,
        seconds=time.perf_counter() - started,
    )


def _top(scores: np.ndarray, k: int) -> list[int]:
    """The best ``k`` rows, best first; ties go to the lower row (a stable order)."""
    import numpy as np

    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores, float)))
    return [int(i) for i in order[:k]]


def _recall(top: list[int], relevant: set[int]) -> float:
    return len(relevant.intersection(top)) / len(relevant)


def _ndcg(top: list[int], relevant: set[int], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, row in enumerate(top) if row in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def _embeddings(storage: Storage, model: str | None, paper_ids: list[int]) -> tuple[np.ndarray | None, int]:
    """Unit vectors of these papers (zero rows where missing) and how many were found; None when
    no vector of ``model`` is stored for any of them."""
    import numpy as np

    if model is None:
        return None, 0
    blobs = storage.vectors.blobs([model], paper_ids)[model]
    if not blobs:
        return None, 0
    dim = len(next(iter(blobs.values()))) // 4
    out = np.zeros((len(paper_ids), dim), np.float32)
    for i, p in enumerate(paper_ids):
        if p in blobs:
            out[i] = np.frombuffer(blobs[p], "<f4")[:dim]
    return out, len(set(paper_ids) & set(blobs))
