"""A third round of model variants, on the tuning cutoffs only (protocol of ``broadsheet eval-recs``,
pooled over cutoffs like ``bench/recs_tuning.py``): the *model's* lexical features changed while
the TF-IDF centroid baseline keeps the shipped features, and other ways to add the blend's parts.

    python bench/recs_tuning_text.py --db /work/bench-data/hf.sqlite3 --interactions /work/bench-data/hf-submitters.jsonl \\
        --cutoff 2025-07-01 --cutoff 2026-01-01 --cutoff 2026-03-01 --cutoff 2026-05-01
    python bench/recs_tuning_text.py --db /work/bench-data/arxiv.sqlite3 --interactions /work/bench-data/arxiv-authors.jsonl \\
        --cutoff 2016-06-01 --cutoff 2016-09-01

Variants (the shipped model already uses sublinear term frequency, the title twice and z-scored
parts, so each is measured against its alternative):

- the model's TF-IDF with raw term frequency (``sublinear=False``);
- the model's text with the title once, or three times (the shipped: twice);
- the blend's parts added raw, or each L2-normalised (uncentred), or min-max scaled, instead of
  z-scored (z-score = centred and L2-normalised up to one factor for all parts: the same ranking);
- the SVM with the hinge loss instead of the squared hinge.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.personal import evaluate as E
from broadsheet.personal import model as M


def featurize_with_text(storage, s, embedder, text_fn, tfidf=None):  # noqa: ANN001
    """``E.featurize`` with another paper text."""
    return E.featurize(storage, s, embedder, tfidf=tfidf, text_of=text_fn)


def svm(pos, back, cand, loss: str = "squared_hinge") -> np.ndarray:  # noqa: ANN001
    if loss == "squared_hinge":
        w, _ = M.svm_weights(pos.tfidf, M._stack(back, cand).tfidf, c=M.SVM_C)
        return M.linear_scores(w, cand.tfidf)
    from scipy import sparse
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    negs = M._stack(back, cand).tfidf
    x = sparse.vstack([pos.tfidf, negs], format="csr")
    y = np.r_[np.ones(pos.tfidf.shape[0]), np.zeros(negs.shape[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LinearSVC(class_weight="balanced", C=M.SVM_C, loss="hinge", dual=True, max_iter=2000, tol=1e-4).fit(x, y)
    return M.linear_scores(clf.coef_.ravel(), cand.tfidf)


def parts(pos, back, cand, pos0, cand0, svm_scores=None) -> list[tuple[float, np.ndarray]]:  # noqa: ANN001
    """The shipped blend's parts: lexical ones from ``pos``/``cand``, vectors and categories from
    the shipped features ``pos0``/``cand0``."""
    out = [(1.0, svm(pos, back, cand) if svm_scores is None else svm_scores),
           (M.BLEND["centroid-tfidf"], M.centroid_scores(pos.tfidf, cand.tfidf))]
    if pos0.emb is not None:
        out.append((M.BLEND["centroid-emb"], M.centroid_scores(pos0.emb, cand0.emb)))
    if pos0.cats is not None:
        out.append((M.BLEND["centroid-categories"], M.centroid_scores(pos0.cats, cand0.cats)))
    return out


def combine(ps, how: str) -> np.ndarray:  # noqa: ANN001
    def scale(s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, float)
        if how == "z":
            return M.zscore(s)
        if how == "raw":
            return s
        if how == "l2":
            n = np.linalg.norm(s)
            return s / n if n else s
        span = s.max() - s.min()  # min-max
        return (s - s.min()) / span if span else np.zeros_like(s)
    return sum(w * scale(s) for w, s in ps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--interactions", required=True, type=Path)
    p.add_argument("--cutoff", required=True, type=date.fromisoformat, action="append")
    p.add_argument("--k", type=int, default=20)
    args = p.parse_args()
    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{args.db}"))
    storage = hub._storage
    embedder = hub._search.embedder_name()
    print("# python bench/recs_tuning_text.py --db", args.db, "--interactions", args.interactions,
          " ".join(f"--cutoff {c}" for c in args.cutoff))
    texts = {
        "title once": lambda t, a: f"{t}. {a}",
        "title three times": lambda t, a: f"{t}. {t}. {t}. {a}",
    }
    t0 = time.perf_counter()
    total: dict[str, float] = defaultdict(float)
    users = 0
    for cutoff in args.cutoff:
        s = E.split(storage, args.interactions, cutoff)
        f = E.featurize(storage, s, embedder)
        alt = {"raw tf": E.featurize(storage, s, embedder, tfidf={"sublinear": False})}
        alt.update({name: featurize_with_text(storage, s, embedder, fn) for name, fn in texts.items()})
        print(f"# {cutoff}: {len(s.users)} users, {len(s.candidates)} candidates, {f.embedded} with vectors", flush=True)
        users += len(s.users)
        for user in s.users:
            rows = [f.row[p] for p in sorted(s.before[user])]
            relevant = {s.cand_index[p] for p in s.after[user]}
            pos0 = f.every.take(rows)
            scored = {"centroid-tfidf (baseline)": M.rank_centroid_tfidf(pos0, f.back, f.cand),
                      "shipped (personal_model)": M.personal_model(pos0, f.back, f.cand).scores}
            base = parts(pos0, f.back, f.cand, pos0, f.cand)
            for how in ("z", "raw", "l2", "minmax"):
                scored[f"blend, parts {how}"] = combine(base, how)
            scored["blend, SVM hinge loss"] = combine(parts(pos0, f.back, f.cand, pos0, f.cand, svm(pos0, f.back, f.cand, "hinge")), "z")
            for name, fa in alt.items():
                posa = fa.every.take([fa.row[p] for p in sorted(s.before[user])])
                scored[f"blend, model features: {name}"] = combine(parts(posa, fa.back, fa.cand, pos0, f.cand), "z")
            for name, sc in scored.items():
                top = E._top(np.asarray(sc, float), args.k)
                total[name] += E._recall(top, relevant)
    for name, r in sorted(total.items(), key=lambda kv: -kv[1]):
        print(f"{name:<50} recall@{args.k} {r / users:.3f}")
    print(f"# {users} users, {time.perf_counter() - t0:.0f} s")
    hub.close()


if __name__ == "__main__":
    sys.exit(main())
