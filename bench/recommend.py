"""Latency of ``Hub.recommend`` ("For you") at 100k papers: a week of about 3,000 new papers.

The database is a copy of the 100k-paper file's (``broadsheet ingest arxiv-100k.jsonl.gz``). The
bench lists ``--papers`` of its most recently published papers (3,000 by default) over the 7
days after the last day of the data, as a busy week of the daily list, then makes a member who
saved ``--saved`` papers on one topic, upvoted 5, dismissed 3 and follows an author and a
category. It times:

- the first request (builds the window's features: candidates, TF-IDF, background sample);
- the memory one window's features hold (built again under tracemalloc);
- what the background warmer of `serve` and `worker` does after an ingest (builds the current
  windows), and the first request after it;
- ``--runs`` more requests with the features cached: the member's model is trained anew on every
  request (nothing per member is cached), which is what a request after a save or a dismissal costs;
- a request right after a new save (same cost, shown to prove it).

Papers without a stored vector get a random stand-in (``--real-vectors`` to skip that): the
ranking's cost does not depend on the values, and embedding 5,000 papers takes minutes.

It prints p50/p95 wall time and the memory the cached features hold (measured with tracemalloc
around the first request, and the sizes of the matrices).

    cp /work/bench-data/arxiv.sqlite3 /tmp/rec-latency.sqlite3   # listings are added to the copy
    python bench/recommend.py --db /tmp/rec-latency.sqlite3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta

from sqlalchemy import func, select

from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.storage.schema import listings, papers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="a COPY of the 100k database (listings are added to it)")
    p.add_argument("--papers", type=int, default=3000, help="papers listed in the week")
    p.add_argument("--saved", type=int, default=30, help="papers the member saved")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--topic", default="graph neural network", help="what the saved papers are about (a search)")
    p.add_argument(
        "--real-vectors", action="store_true",
        help="use only the vectors stored (default: store random unit vectors for the papers the request reads that have none)",
    )
    args = p.parse_args()
    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{args.db}"))
    st = hub._storage
    with st.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        last = conn.execute(select(func.max(papers.c.published))).scalar()
        listed = conn.execute(select(func.count()).select_from(listings).where(listings.c.listed_on > last)).scalar_one()
    week = [last + timedelta(days=d) for d in range(1, 8)]
    admin = hub.get_user("bench") if _exists(hub, "bench") else hub.create_user("bench", "correct horse battery")
    if listed < args.papers:
        with st.engine.connect() as conn:
            newest = list(
                conn.execute(
                    select(papers.c.id).where(papers.c.published.is_not(None)).order_by(papers.c.published.desc()).limit(args.papers)
                ).scalars()
            )
        for n, pid in enumerate(newest):
            st.community.add_listing(pid, week[n % 7], admin.id, admin.name, datetime(2030, 1, 1))
    member = hub.get_user("reader") if _exists(hub, "reader") else hub.create_user("reader", "correct horse battery")
    hits = hub.search(args.topic, mode="lexical", limit=args.saved + 8).hits
    saved = [h.paper.arxiv_id for h in hits[: args.saved]]
    ids = st.papers.ids_of(saved + [h.paper.arxiv_id for h in hits[args.saved :]])
    coll = st.personal.ensure_collection(member.id, "Saved", "saved", now=datetime(2030, 1, 1))
    st.personal.add_to_collection(coll.id, [ids[a] for a in saved], now=datetime(2030, 1, 1))
    for h in hits[args.saved : args.saved + 5]:
        hub.set_vote(member, h.paper.arxiv_id)
    for h in hits[args.saved + 5 : args.saved + 8]:
        st.personal.dismiss(member.id, ids[h.paper.arxiv_id], now=datetime(2030, 1, 1))
    if hits:
        st.personal.add_interest("follow", member.id, "author", hits[0].paper.authors[0], now=datetime(2030, 1, 1))
    st.personal.add_interest("follow", member.id, "category", "cs.LG", now=datetime(2030, 1, 1))

    if not args.real_vectors:
        _stand_in_vectors(hub, week)
    day = week[-1]
    t = time.perf_counter()
    page = hub.recommend(member, window="week", day=day)
    first = time.perf_counter() - t
    pool = hub._for_you.pool(page.first, page.last)
    sparse_parts = [m for ex in (pool.cand, pool.background) for m in (ex.tfidf, ex.cats) if m is not None]
    matrices = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in sparse_parts)
    vectors = sum(ex.emb.nbytes for ex in (pool.cand, pool.background) if ex.emb is not None)
    # The memory one window's features hold: built again by a fresh ForYou under tracemalloc
    # (slower there: the time above is the one that counts).
    from broadsheet.personal.foryou import ForYou

    fresh = ForYou(st, hub._now, lambda: hub.data_version, hub._search.embedder_name)
    tracemalloc.start()
    fresh.pool(page.first, page.last)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del fresh
    # What the background warmer does after an ingest: the current windows built before anyone asks.
    windows = None
    if hasattr(ForYou, "warm"):  # (a version without it measures the rest: before and after)
        warmed = ForYou(st, hub._now, lambda: hub.data_version, hub._search.embedder_name)
        t = time.perf_counter()
        windows = warmed.warm()
        warm_seconds = time.perf_counter() - t
        hub._foryou = warmed
        t = time.perf_counter()
        hub.recommend(member, window="week", day=day)
        after_warm = time.perf_counter() - t
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        hub.recommend(member, window="week", day=day)
        times.append(time.perf_counter() - t)
    extra = hits[-1].paper.arxiv_id if hits else None
    after_save = None
    if extra:
        hub.save_paper(member, extra)  # through the Hub (its write counter moves: the features are kept)
        t = time.perf_counter()
        hub.recommend(member, window="week", day=day)
        after_save = time.perf_counter() - t
    times.sort()
    print(f"# python bench/recommend.py --db {args.db} --papers {args.papers} --saved {args.saved} --runs {args.runs}")
    print(f"papers in the database: {total}; candidates in the week {page.first}..{page.last}: {page.candidates}; model {page.model}")
    print(f"signals: {len(saved)} saved, 5 upvoted, 3 dismissed, 2 follows; top: {page.items[0].paper.title[:70]!r}" if page.items else "no items")
    print(f"first request (builds the window's features): {first * 1000:.0f} ms")
    if windows is not None:
        print(f"background warming (today, week, month; what serve and worker do after an ingest): {windows} windows in "
              f"{warm_seconds:.1f} s; the first request after it: {after_warm * 1000:.1f} ms")
    print(f"cached features, model trained per request: p50 {statistics.median(times) * 1000:.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms ({args.runs} runs)")
    if after_save is not None:
        print(f"right after a new save: {after_save * 1000:.1f} ms")
    print(f"memory one window's features hold (tracemalloc): {held / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB while building); "
          f"TF-IDF and category matrices {matrices / 2**20:.1f} MiB, vectors {vectors / 2**20:.1f} MiB, "
          f"vocabulary {len(pool.vocabulary)} terms")
    hub.close()


def _stand_in_vectors(hub, week) -> None:  # noqa: ANN001
    """Random unit vectors, under the embedder's name, for the window's papers, the background
    sample and the member's papers that have none: the cost of ranking does not depend on the
    values, and embedding 5,000 papers for a latency bench takes minutes of two cores."""
    import numpy as np

    st = hub._storage
    model = hub._search.embedder_name()
    ids = [c.paper_id for c in st.recs.candidates(week[0], week[-1])] + st.recs.background(None, 2000)
    ids += [p for p, _ in st.personal.signals(hub.get_user("reader").id).positives]
    have = st.vectors.blobs([model], ids)[model]
    todo = [p for p in dict.fromkeys(ids) if p not in have]
    rng = np.random.default_rng(0)
    with st.engine.connect() as conn:
        hashes = dict(conn.execute(select(papers.c.id, papers.c.content_hash).where(papers.c.id.in_(todo))).all()) if todo else {}
    for i in range(0, len(todo), 500):
        part = todo[i : i + 500]
        v = rng.standard_normal((len(part), 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        st.vectors.put(model, [(p, hashes[p], v[j]) for j, p in enumerate(part)])
    print(f"stand-in vectors stored for {len(todo)} papers (of {len(set(ids))} read)")


def _exists(hub, name: str) -> bool:  # noqa: ANN001
    try:
        hub.get_user(name)
        return True
    except Exception:  # noqa: BLE001 - UserNotFoundError
        return False


if __name__ == "__main__":
    sys.exit(main())
