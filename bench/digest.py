"""Digests end to end: compose + render + store (the outbox) + send N digests to a local SMTP
server (aiosmtpd, in its own process, counting what it accepts); messages/s and peak memory.

A synthetic site: --papers papers listed over the 7 days before the send date, with votes spread
so trending has an order; --subscribers confirmed daily subscriptions, each with the top 10
trending papers and one of 20 topics (topic searches are shared between subscribers with the same
topic within a run, as they are in production). Two phases, timed apart:

  1. compose + render + store: `send_digests` with the SMTP server down (it stops at the first
     connection attempt, so every message stays pending in the outbox);
  2. deliver: the server is started and `deliver_digests` sends the outbox over one connection.

    python bench/digest.py --subscribers 10000
    python bench/digest.py --subscribers 1000 --personal   # members: For you top 5 + follow alerts

``--personal``: every subscriber is a member who saved three papers of their topic and follows
one search and one author, subscribed to the top 5 For you (their model is trained per digest)
and follow alerts instead of trending.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import socket
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

SEND_DAY = date(2026, 11, 28)
TOPICS = [
    "diffusion", "graph neural", "protein", "reinforcement learning", "language model", "robot", "speech",
    "quantum", "vision transformer", "federated", "causal", "retrieval", "segmentation", "optimization",
    "theorem", "medical imaging", "molecule", "tabular", "compression", "agents",
]  # fmt: skip
WORDS = ["model", "data", "learning", "method", "network", "training", "results", "neural", "approach", "task", "performance", "framework", "benchmark", "analysis", "efficient", "robust", "scalable", "novel"]  # fmt: skip


def _smtp_server(port: int, count: mp.Value, ready: mp.Event) -> None:  # type: ignore[type-arg]
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def _items(n_papers: int, rng: random.Random):
    from broadsheet.types import ListingData, PaperData

    for i in range(n_papers):
        topic = TOPICS[i % len(TOPICS)]
        day = SEND_DAY - timedelta(days=1 + i % 7)
        aid = f"2611.{i:05d}"
        words = " ".join(rng.choice(WORDS) for _ in range(120))
        yield PaperData(aid, f"A {topic} paper number {i}: {' '.join(rng.sample(WORDS, 5))}", f"We study {topic}. {words}",
                        ("Ada Lovelace", "Alan Turing", f"Author {i}"), 1, ("cs.LG",), "cs.LG", day - timedelta(days=1),
                        external_upvotes=rng.randint(0, 200), source="bench", source_ref=f"bench:{i}")  # fmt: skip
        yield ListingData(aid, day, source="bench", source_ref=f"bench:{i}")


def _members(conn, n: int, n_papers: int, now: datetime) -> None:  # noqa: ANN001 - a Connection
    """Member i (row id i + 1): three saved papers of topic i % 20, follows that topic as a search
    and the author of one paper of it."""
    from sqlalchemy import insert, select

    from broadsheet.storage.schema import collection_papers, collections, follows, papers, users

    ids = dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())
    conn.execute(insert(users), [{"id": i + 1, "name": f"reader{i:05d}", "email": f"reader{i:05d}@example.org", "created_at": now} for i in range(n)])
    conn.execute(insert(collections), [{"id": i + 1, "user_id": i + 1, "name": "Saved", "slug": "saved", "created_at": now} for i in range(n)])
    saved = [{"collection_id": i + 1, "paper_id": ids[f"2611.{(i % 20) + 20 * k:05d}"], "added_at": now} for i in range(n) for k in range(3)]
    conn.execute(insert(collection_papers), saved)
    conn.execute(insert(follows), [
        row for i in range(n) for row in (
            {"user_id": i + 1, "kind": "search", "value": TOPICS[i % len(TOPICS)], "created_at": now},
            {"user_id": i + 1, "kind": "author", "value": f"Author {(i * 7) % n_papers}", "created_at": now},
        )
    ])  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--papers", type=int, default=3_000)
    ap.add_argument("--work", type=Path, help="Folder for the database (default: a temporary one).")
    ap.add_argument("--personal", action="store_true", help="Members with For you and follow alerts (see above).")
    args = ap.parse_args()

    from sqlalchemy import insert

    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub
    from broadsheet.storage.schema import subscriptions

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-digest-"))
    db = work / "digest.sqlite3"
    db.unlink(missing_ok=True)
    settings = load_settings(env={}, database_url=f"sqlite:///{db}", embedder="none", smtp_host="127.0.0.1", smtp_port=port,
                             secret_key="bench-digest-secret-key-0123456789-abcdef", base_url="https://papers.example.org")  # fmt: skip
    now = datetime(2026, 11, 28, 7, 0)
    hub = make_hub(settings, now=lambda: now)
    rng = random.Random(7)
    t = time.perf_counter()
    hub.add_papers(_items(args.papers, rng))
    with hub._storage.engine.begin() as conn:  # bulk: hub.subscribe would send confirmations
        if args.personal:
            _members(conn, args.subscribers, args.papers, now)
        conn.execute(insert(subscriptions), [
            {"email": f"reader{i:05d}@example.org", "frequency": "daily", "trending_top": 0 if args.personal else 10,
             "topics": json.dumps([] if args.personal else [TOPICS[i % len(TOPICS)]]), "confirmed_at": now, "created_at": now,
             "user_id": i + 1 if args.personal else None, "for_you_top": 5 if args.personal else 0, "follow_alerts": args.personal}
            for i in range(args.subscribers)
        ])  # fmt: skip
    setup = time.perf_counter() - t

    t = time.perf_counter()
    composed = hub.send_digests("daily", SEND_DAY)  # server not started yet: compose + store only
    compose_s = time.perf_counter() - t
    assert composed.queued == args.subscribers and composed.sent == 0, composed
    rss_compose = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    count = mp.Value("i", 0)
    ready = mp.Event()
    server = mp.get_context("fork").Process(target=_smtp_server, args=(port, count, ready), daemon=True)
    server.start()
    ready.wait(30)
    t = time.perf_counter()
    delivered = hub.deliver_digests()
    deliver_s = time.perf_counter() - t
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    time.sleep(0.2)
    server.terminate()
    assert delivered.sent == args.subscribers == count.value, (delivered, count.value)
    size = sum(len(m.message) for m in hub._storage.digests.messages(limit=100)) / 100
    hub.close()
    n = args.subscribers
    print(json.dumps({
        "subscribers": n, "papers": args.papers, "personal": args.personal, "setup_s": round(setup, 1),
        "compose_render_store_s": round(compose_s, 1), "compose_render_store_per_s": round(n / compose_s),
        "deliver_s": round(deliver_s, 1), "deliver_per_s": round(n / deliver_s),
        "end_to_end_per_s": round(n / (compose_s + deliver_s)), "accepted_by_server": count.value,
        "mean_message_kb": round(size / 1024, 1), "peak_rss_mb_after_compose": round(rss_compose),
        "peak_rss_mb": round(rss_end), "python": sys.version.split()[0],
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
