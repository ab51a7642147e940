"""Choosing the recommendation model: recall@20 / nDCG@20 of model variants on an interaction set,
with the protocol of ``broadsheet eval-recs`` (``broadsheet.personal.evaluate``), pooled over
several cutoffs (each user at each cutoff is one sample: one cutoff's 30 users are too few to
tell variants apart). Tune on cutoffs other than the ones reported in docs/benchmarks.md.
The features read ``model.paper_text`` (since the third round the title three times; the first two
rounds' outputs were measured with the title twice).

    python bench/recs_tuning.py --db /work/bench-data/hf.sqlite3 \\
        --interactions /work/bench-data/hf-submitters.jsonl \\
        --cutoff 2025-07-01 --cutoff 2026-01-01 --cutoff 2026-03-01 --cutoff 2026-05-01

Variants: TF-IDF n-grams and max_df; the SVM's C; the SVM's negatives (all of background +
candidates, the candidates only, or an evenly spread subset: cheaper); blends with the embedding
rankers. ``--no-embeddings`` leaves the embedding rankers out (a database with few vectors).
``--blends``: the grid of the shipped blend's weights. ``--fusion``: the shipped blend plus a
nearest-neighbour (max-similarity) side, the SVM without balanced class weights, reciprocal-rank
fusion instead of z-score sums (components computed once a user). ``--bm25``: the features again
with BM25 term weights (saturation ``k1``, length normalisation ``b``) instead of TF-IDF. The
second round of docs/benchmarks.md ran:

    python bench/recs_tuning.py --db /work/bench-data/hf.sqlite3 --interactions /work/bench-data/hf-submitters.jsonl \
        --cutoff 2025-07-01 --cutoff 2026-01-01 --cutoff 2026-03-01 --cutoff 2026-05-01 --features 4 --half-life 0 --fusion --bm25
    python bench/recs_tuning.py --db /work/bench-data/arxiv.sqlite3 --interactions /work/bench-data/arxiv-authors.jsonl \
        --cutoff 2016-09-01 --features 4 --half-life 0 --fusion --bm25
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.personal import evaluate as E
from broadsheet.personal import model as M


def svm_tfidf(c: float, rows: int | None = None, cands_only: bool = False):
    def rank(pos, back, cand):
        negs = cand.tfidf if cands_only else M._stack(back, cand).tfidf
        w, _ = M.svm_weights(pos.tfidf, negs, c=c, max_background=rows)
        return M.linear_scores(w, cand.tfidf)
    return rank


def svm_emb(c: float):
    def rank(pos, back, cand):
        w, _ = M.svm_weights(M._emb(pos), M._emb(M._stack(back, cand)), c=c)
        return M.linear_scores(w, M._emb(cand))
    return rank


def rankers(embeddings: bool) -> dict:
    out = {
        "centroid-tfidf": M.rank_centroid_tfidf,
        **{f"svm-tfidf C={c}": svm_tfidf(c) for c in (0.03, 0.1, 0.3, 1.0)},
        "svm-tfidf C=0.3 candidates only": svm_tfidf(0.3, None, True),
        **{f"svm-tfidf C=0.3 negatives<={n}": svm_tfidf(0.3, n) for n in (500, 1500)},
        "svm-tfidf C=0.3 + 0.5 centroid-tfidf": M.blended((1.0, svm_tfidf(0.3)), (0.5, M.rank_centroid_tfidf)),
        "knn-tfidf": M.rank_knn_tfidf,
        "centroid-categories": M.rank_centroid_categories,
        **{f"svm-tfidf C=0.3 + 0.5 centroid-tfidf + {w} categories": M.blended(
            (1.0, svm_tfidf(0.3)), (0.5, M.rank_centroid_tfidf), (w, M.rank_centroid_categories)) for w in (0.25, 0.5, 1.0)},
        "svm-tfidf C=0.3 + 0.5 knn-tfidf": M.blended((1.0, svm_tfidf(0.3)), (0.5, M.rank_knn_tfidf)),
    }
    if embeddings:
        out.update({
            "centroid-emb": M.rank_centroid_emb,
            "svm-emb C=1": svm_emb(1.0),
            **{f"svm-tfidf C=0.3 + {b} svm-emb": M.blended((1.0, svm_tfidf(0.3)), (b, svm_emb(1.0))) for b in (0.25, 0.5)},
            **{f"svm-tfidf C=0.3 + {b} centroid-emb": M.blended((1.0, svm_tfidf(0.3)), (b, M.rank_centroid_emb)) for b in (0.5, 1.0)},
            "knn-emb": M.rank_knn_emb,
            "svm-tfidf C=0.3 + 0.5 knn-emb": M.blended((1.0, svm_tfidf(0.3)), (0.5, M.rank_knn_emb)),
            "svm-tfidf C=0.3 + 0.5 centroid-tfidf + 0.5 centroid-emb": M.blended(
                (1.0, svm_tfidf(0.3)), (0.5, M.rank_centroid_tfidf), (0.5, M.rank_centroid_emb)),
            "svm-tfidf C=0.3 + 0.5 svm-emb + 0.5 centroid-emb": M.blended(
                (1.0, svm_tfidf(0.3)), (0.5, svm_emb(1.0)), (0.5, M.rank_centroid_emb)),
            **{f"svm-tfidf C=0.3 + 0.5 centroid-tfidf + 0.5 centroid-emb + {w} categories": M.blended(
                (1.0, svm_tfidf(0.3)), (0.5, M.rank_centroid_tfidf), (0.5, M.rank_centroid_emb), (w, M.rank_centroid_categories))
               for w in (0.25, 0.5, 1.0)},
        })
    return out


def svm_joint(a: float, b: float, c: float = 0.3):
    """One SVM over [TF-IDF | a x embedding | b x categories]."""
    from scipy import sparse

    def feats(ex):
        parts = [ex.tfidf]
        if ex.emb is not None and a:
            parts.append(sparse.csr_matrix(a * ex.emb))
        if ex.cats is not None and b:
            parts.append(b * ex.cats)
        return sparse.hstack(parts, format="csr")

    def rank(pos, back, cand):
        w, _ = M.svm_weights(feats(pos), sparse.vstack([feats(back), feats(cand)], format="csr"), c=c)
        return M.linear_scores(w, feats(cand))
    return rank


def blend_grid() -> dict:
    """The shipped model's blend weights (SVM C; TF-IDF, embedding and category centroids), and
    one SVM over all the features at once instead of a blend."""
    out = {"centroid-tfidf": M.rank_centroid_tfidf, "centroid-emb": M.rank_centroid_emb}
    for c in (0.1, 0.3):
        for e in (0.5, 1.0):
            for g in (0.0, 0.5):
                parts = [(1.0, svm_tfidf(c)), (0.5, M.rank_centroid_tfidf), (e, M.rank_centroid_emb)]
                if g:
                    parts.append((g, M.rank_centroid_categories))
                out[f"svm C={c} + 0.5 centroid-tfidf + {e} centroid-emb + {g} categories"] = M.blended(*parts)
    for t in (0.0, 1.0):
        for g in (0.5, 1.0):
            parts = [(1.0, svm_tfidf(0.3)), (t, M.rank_centroid_tfidf), (1.0, M.rank_centroid_emb), (g, M.rank_centroid_categories)]
            out[f"svm C=0.3 + {t} centroid-tfidf + 1.0 centroid-emb + {g} categories"] = M.blended(*[x for x in parts if x[0]])
    for e in (1.5, 2.0):
        parts = [(1.0, svm_tfidf(0.3)), (0.5, M.rank_centroid_tfidf), (e, M.rank_centroid_emb), (0.5, M.rank_centroid_categories)]
        out[f"svm C=0.3 + 0.5 centroid-tfidf + {e} centroid-emb + 0.5 categories"] = M.blended(*parts)
    for a in (0.5, 1.0):
        out[f"svm-joint emb {a} cats 0.5"] = svm_joint(a, 0.5)
        out[f"svm-joint emb {a} cats 0.5 + 0.5 centroid-tfidf + 1.0 centroid-emb + 0.5 categories"] = M.blended(
            (1.0, svm_joint(a, 0.5)), (0.5, M.rank_centroid_tfidf), (1.0, M.rank_centroid_emb), (0.5, M.rank_centroid_categories))
    return out


class Memo:
    """Each component's scores computed once per user (``measure`` calls every ranker with the
    same ``pos`` object for one user): a grid of blends then costs one SVM a user, not one each."""

    def __init__(self) -> None:
        self.pos = None
        self.cache: dict[str, object] = {}

    def __call__(self, name: str, fn):
        def rank(pos, back, cand):
            if pos is not self.pos:
                self.pos, self.cache = pos, {}
            if name not in self.cache:
                self.cache[name] = fn(pos, back, cand)
            return self.cache[name]
        return rank


def svm_unbalanced(c: float = 0.3):
    """The SVM without ``class_weight='balanced'`` (positives count as much as any other row)."""
    from sklearn.svm import LinearSVC

    def rank(pos, back, cand):
        from scipy import sparse
        negs = M._stack(back, cand).tfidf
        x = sparse.vstack([pos.tfidf, negs], format="csr")
        y = [1] * pos.tfidf.shape[0] + [0] * negs.shape[0]
        clf = LinearSVC(C=c, max_iter=2000, tol=1e-4).fit(x, y)
        return M.linear_scores(clf.coef_.ravel(), cand.tfidf)
    return rank


def rank_fusion(*parts, k: int = 60):
    """Reciprocal-rank fusion: sum of weight / (k + rank) instead of a sum of z-scores."""
    import numpy as np

    def rank(pos, back, cand):
        total = np.zeros(len(cand))
        for w, r in parts:
            s = np.asarray(r(pos, back, cand), float)
            ranks = np.empty(len(s))
            ranks[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
            total += w / (k + ranks)
        return total
    return rank


def fusion_grid(embeddings: bool) -> dict:
    """Ways to add a nearest-neighbour (max-similarity) side to the shipped blend, the SVM's class
    weighting, and rank fusion instead of z-score sums; components memoised per user."""
    m = Memo()
    svm = m("svm", svm_tfidf(0.3))
    svm_u = m("svm-u", svm_unbalanced(0.3))
    ct = m("ct", M.rank_centroid_tfidf)
    cg = m("cg", M.rank_centroid_categories)
    kt = m("kt", M.rank_knn_tfidf)
    kt1 = m("kt1", lambda p, b, c: M.knn_scores(p.tfidf, c.tfidf, k=1))
    kt5 = m("kt5", lambda p, b, c: M.knn_scores(p.tfidf, c.tfidf, k=5))
    base = [(1.0, svm), (0.5, ct), (0.5, cg)]
    out = {"centroid-tfidf": ct}
    if embeddings:
        ce = m("ce", M.rank_centroid_emb)
        ke = m("ke", M.rank_knn_emb)
        out["centroid-emb"] = ce
        base = [(1.0, svm), (0.5, ct), (1.0, ce), (0.5, cg)]
    out["the blend (shipped)"] = M.blended(*base)
    for w in (0.25, 0.5, 1.0):
        out[f"blend + {w} knn-tfidf k=3"] = M.blended(*base, (w, kt))
    out["blend + 0.5 knn-tfidf k=1"] = M.blended(*base, (0.5, kt1))
    out["blend + 0.5 knn-tfidf k=5"] = M.blended(*base, (0.5, kt5))
    out["blend, SVM unbalanced"] = M.blended((1.0, svm_u), *base[1:])
    out["blend + 0.5 svm unbalanced"] = M.blended(*base, (0.5, svm_u))
    # Rocchio: the positives' centroid pushed away from the background's (a paper close to
    # everything is close to the positives' centroid too): minus the cosine to the background's
    generic = m("generic", lambda p, b, c: -M.centroid_scores(b.tfidf, c.tfidf))
    for w in (0.25, 0.5):
        out[f"blend + {w} Rocchio (minus cosine to the background centroid)"] = M.blended(*base, (w, generic))
    out["rank fusion of the blend's parts"] = rank_fusion(*base)
    out["rank fusion of the blend's parts + 0.5 knn-tfidf"] = rank_fusion(*base, (0.5, kt))
    if embeddings:
        out["blend + 0.5 knn-emb"] = M.blended(*base, (0.5, ke))
        out["blend + 0.5 knn-tfidf + 0.5 knn-emb"] = M.blended(*base, (0.5, kt), (0.5, ke))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--interactions", required=True, type=Path)
    p.add_argument("--cutoff", required=True, type=date.fromisoformat, action="append")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--no-embeddings", action="store_true")
    p.add_argument("--half-life", type=float, action="append", help="days (repeatable; 0: none); default: none, 90 and 365")
    p.add_argument("--features", type=int, default=4, help="how many of the TF-IDF settings to try (1: the default only)")
    p.add_argument("--blends", action="store_true", help="only the grid of the shipped blend's weights")
    p.add_argument("--bm25", action="store_true", help="the default TF-IDF features, then BM25 term weights instead (k1 1.2, b 0.75 and 0.3)")
    p.add_argument("--fusion", action="store_true", help="only the shipped blend plus kNN sides, class weights, rank fusion")
    args = p.parse_args()
    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{args.db}"))
    storage = hub._storage
    embedder = None if args.no_embeddings else hub._search.embedder_name()
    cut = " ".join(f"--cutoff {c}" for c in args.cutoff)
    print(f"# python bench/recs_tuning.py --db {args.db} --interactions {args.interactions} {cut}" + (" --no-embeddings" if args.no_embeddings else "")
          + "".join(f" --{o}" for o in ("fusion", "bm25", "blends") if getattr(args, o)))
    features = [("tfidf 1-2 grams, max_df 0.5", {}), ("tfidf words, max_df 0.5", {"ngrams": 1}),
                ("tfidf 1-2 grams, max_df 0.1", {"max_df": 0.1}), ("tfidf words, max_df 0.1", {"ngrams": 1, "max_df": 0.1})]
    if args.bm25:
        features = [features[0], ("bm25 1-2 grams, k1 1.2 b 0.75", {"bm25": (1.2, 0.75)}),
                    ("bm25 1-2 grams, k1 1.2 b 0.3", {"bm25": (1.2, 0.3)}), ("bm25 1-2 grams, k1 2.0 b 0.75", {"bm25": (2.0, 0.75)})]
    splits = [E.split(storage, args.interactions, c) for c in args.cutoff]
    users = sum(len(s.users) for s in splits)
    print("# users per cutoff: " + ", ".join(f"{s.cutoff} {len(s.users)} ({len(s.candidates)} candidates)" for s in splits) + f"; {users} in all")
    lives = [h or None for h in args.half_life] if args.half_life else [None, 90.0, 365.0]  # 0: no decay
    for label, tfidf in features[: args.features]:
        t = time.perf_counter()
        total: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for s in splits:
            f = E.featurize(storage, s, embedder, tfidf=tfidf)
            if args.fusion:
                chosen = fusion_grid(f.every.emb is not None)
            else:
                chosen = blend_grid() if args.blends else rankers(f.every.emb is not None and not tfidf)
            for life in lives if not tfidf else [None]:
                tag = "" if life is None else f" [half-life {life:g} d]"
                for name, v in E.measure(storage, s, f, chosen, k=args.k, half_life=life).items():
                    total[name + tag][0] += v["recall"] * len(s.users)
                    total[name + tag][1] += v["ndcg"] * len(s.users)
        for name, (r, g) in sorted(total.items(), key=lambda kv: -kv[1][0]):
            if name.startswith("shipped") or (name.startswith(("popularity", "recency")) and "half-life" in name):
                continue
            print(f"{label:<30} {name:<60} recall@{args.k} {r / users:.3f} nDCG@{args.k} {g / users:.3f}")
        print(f"# {time.perf_counter() - t:.0f} s", flush=True)
    hub.close()


if __name__ == "__main__":
    sys.exit(main())
