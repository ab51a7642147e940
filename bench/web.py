"""Web throughput over the 100k corpus: requests/s and p50/p99 per page beside a trivial route of
the same app, in one run. Target: pages >= 0.5x the trivial route's requests/s.

The source database is never written: it is copied (SQLite backup API, read-only source) into
--work, where the Hugging Face daily-papers archive is ingested for listings (the 100k JSONL has
none) and a bench user is made. The app runs in its own process (uvicorn, one worker, as
`broadsheet serve` runs it); this process sends requests over keep-alive HTTP connections from
--concurrency threads, route after route, --rounds times (interleaved, so drifts in machine load
hit all routes alike).

Each page is measured twice: as a visitor who is not logged in (what most traffic is: served from
the page cache for `page_cache_seconds`) and as a logged-in member (personal pages: never cached,
so this is the cost of building the page). Search queries are made from titles (as in
bench/search.py) and never repeat within a run, so every search is a cold one.

    python bench/web.py --db /work/bench-data/arxiv100k.sqlite3
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote_plus

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import make_queries, pct

SECRET = "bench-web-secret-key-not-for-production-use-0123456789"
PASSWORD = "bench password"
SERVER = """
import sys, uvicorn
from broadsheet.config import load_settings
from broadsheet.hub import make_hub
from broadsheet.web import create_app
settings = load_settings(database_url=sys.argv[1], secret_key=sys.argv[2])
hub = make_hub(settings)
hub.warm_up(wait=True)  # as `broadsheet serve` does, but measured once the search indexes are built
uvicorn.run(create_app(hub), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def prepare(source: Path, listings: Path, work: Path) -> Path:
    """The working copy: the source database plus the archive's listings and a bench user."""
    from broadsheet.config import load_settings
    from broadsheet.exceptions import ConflictError
    from broadsheet.hub import make_hub

    db = work / "web100k.sqlite3"
    if not db.exists():
        work.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(db)
        src.backup(dst)
        dst.close()
        src.close()
        print(f"copied {source} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    hub = make_hub(load_settings(database_url=f"sqlite:///{db}", secret_key=SECRET))
    try:
        if hub.stats().listings == 0:
            t = time.perf_counter()
            hub.ingest_paths([listings])
            print(
                f"ingested {listings.name} in {time.perf_counter() - t:.0f} s",
                file=sys.stderr,
            )
        try:
            hub.create_user("bench", PASSWORD)
        except ConflictError:
            pass
    finally:
        hub.close()
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, f"sqlite:///{db}", SECRET, str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    deadline = (
        time.monotonic() + 600
    )  # the in-memory BM25 index is built before it listens
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def run(
    base: str,
    urls: itertools.cycle,
    seconds: float,
    concurrency: int,
    cookies: dict[str, str],
) -> list[float]:
    """Latencies (s) of the requests completed by ``concurrency`` threads in ``seconds``."""
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []
    stop = time.perf_counter() + seconds

    def worker() -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
            while time.perf_counter() < stop:
                with lock:
                    url = next(urls)
                t = time.perf_counter()
                r = client.get(url)
                elapsed = time.perf_counter() - t
                if r.status_code != 200:
                    failures.append(f"{url}: {r.status_code}")
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, e.g. {failures[:3]}")
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--db",
        type=Path,
        default=Path("/work/bench-data/arxiv100k.sqlite3"),
        help="source database (read only)",
    )
    ap.add_argument(
        "--listings",
        type=Path,
        default=REPO.parent / "shared/data/hf-daily-papers-2024-05_2026-08.tar.gz",
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/broadsheet-bench-web"),
        help="folder for the working copy (kept and reused)",
    )
    ap.add_argument(
        "--seconds",
        type=float,
        default=4.0,
        help="per route, per round, per visitor kind",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument(
        "--hub-search",
        type=int,
        default=40,
        help="then time this many Hub.search calls in-process (0: skip)",
    )
    args = ap.parse_args()

    db = prepare(args.db, args.listings, args.work)
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    queries = make_queries(raw, 2000, seed=7)
    raw.close()
    search_urls = itertools.cycle(
        f"/search?q={quote_plus(q)}" for q in queries
    )  # shared: never repeats within a run
    routes = {
        "/healthz (trivial)": itertools.cycle(["/healthz"]),
        "/": itertools.cycle(["/"]),
        "/papers/trending": itertools.cycle(["/papers/trending"]),
        "/search?q=... (distinct)": search_urls,
    }

    proc, base = start_server(db)
    try:
        login = httpx.Client(base_url=base)
        token = (
            login.get("/login")
            .text.split('name="csrf_token" value="', 1)[1]
            .split('"', 1)[0]
        )
        login.post(
            "/login", data={"csrf_token": token, "login": "bench", "password": PASSWORD}
        )
        member = {"bs_session": login.cookies["bs_session"]}
        visitors = {"anonymous": {}, "member": member}
        for (
            kind,
            cookies,
        ) in (
            visitors.items()
        ):  # warm up: the embedding model, the vector matrix, caches
            for url in ("/healthz", "/", "/papers/trending", "/search?q=warm+up"):
                httpx.get(base + url, cookies=cookies, timeout=120)
        lat: dict[tuple[str, str], list[float]] = {}
        spent: dict[tuple[str, str], float] = {}
        for _ in range(args.rounds):
            for name, urls in routes.items():
                for kind, cookies in visitors.items():
                    t = time.perf_counter()
                    got = run(base, urls, args.seconds, args.concurrency, cookies)
                    spent[name, kind] = (
                        spent.get((name, kind), 0.0) + time.perf_counter() - t
                    )
                    lat.setdefault((name, kind), []).extend(got)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    print(
        f"command: python bench/web.py --db {args.db} --seconds {args.seconds:g} --rounds {args.rounds} --concurrency {args.concurrency}"
    )
    print(
        f"cpus: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}; searches: {len(lat.get(('/search?q=... (distinct)', 'anonymous'), []))} + {len(lat.get(('/search?q=... (distinct)', 'member'), []))} distinct queries"
    )
    print(
        "| route | visitor | requests/s | p50 ms | p99 ms | ratio to trivial |\n|---|---|---|---|---|---|"
    )
    for name in routes:
        for kind in visitors:
            ts = lat[name, kind]
            rps = len(ts) / spent[name, kind]
            base_rps = (
                len(lat["/healthz (trivial)", kind]) / spent["/healthz (trivial)", kind]
            )
            print(
                f"| `{name}` | {kind} | {rps:.0f} | {1000 * statistics.median(ts):.1f} | {1000 * pct(ts, 99):.1f} | {rps / base_rps:.2f} |"
            )
    if args.hub_search:
        hub_search_alone(db, queries[-args.hub_search :])


def hub_search_alone(db: Path, queries: list[str]) -> None:
    """What a search page costs before the web adds anything: Hub.search in this process, one
    query at a time, on queries the HTTP run did not send (same limit as the page)."""
    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub

    hub = make_hub(load_settings(database_url=f"sqlite:///{db}", secret_key=SECRET))
    hub.warm_up(wait=True)
    hub.search("warm up", limit=20)
    ts = []
    for q in queries:
        t = time.perf_counter()
        hub.search(q, limit=20)
        ts.append(time.perf_counter() - t)
    hub.close()
    print(
        f"Hub.search alone (limit 20, one at a time, {len(ts)} queries): "
        f"p50 {1000 * statistics.median(ts):.1f} ms, p99 {1000 * pct(ts, 99):.1f} ms"
    )


if __name__ == "__main__":
    main()
