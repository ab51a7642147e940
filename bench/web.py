"""Web throughput, measured with wrk against a real `broadsheet serve`: requests/s and p50/p99 at 1, 4
and 16 connections per route, each as a ratio to `/healthz` of the same server in the same run.

Targets (this 2-core machine, ratios in one run): at 16 connections every uncached page and a
member's `/` >= 0.5x `/healthz`; search >= 0.25x; requests/s at 16 connections >= at 1 for every
route; p99 at 16 connections <= 10x p50 at 1.

The source database is never written: it is copied (SQLite backup API, read-only source) into
--work, where the Hugging Face daily-papers archive is ingested for listings and a bench member is
made (who has upvoted a few of the latest day's papers, so their `/` shows voted marks but is the
daily list, not For you). Each server is `python -m broadsheet serve` on 127.0.0.1 with
`page_cache_seconds = 0` (every page built: "uncached") — and one more with the page cache on
(10 s) for the cache's hit path. Background work that `serve` starts (embedding, keywords,
thumbnails, fetching submissions) is switched off so that it does not run during the measurement,
rate limits are lifted (all requests come from one address), and search's queue waits up to 30 s
instead of answering 503.

Routes run interleaved (round after round, connection count after connection count, route after
route), so drifts in machine load hit all alike. Distinct searches come from titles (as in
bench/search.py): every wrk run gets queries no earlier run sent, so they are cold; the repeated
query (`diffusion models`) is what a result cache can answer. Before each run on one address, one
request to it, untimed: the run measures that route, not a rebuild of what the previous route's
run pushed out of the caches (the distinct searches fill them with their own entries). Rebuilds
when the minute turns (rankings are "as of now") fall inside the runs and count.

    python bench/web.py --db /work/bench-data/arxiv.sqlite3 [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import make_queries  # noqa: E402

SECRET = "bench-web-secret-key-not-for-production-use-0123456789"
PASSWORD = "bench password"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
VOTES = 3  # of the latest day's papers, by the bench member


def prepare(source: Path, listings: Path, work: Path) -> Path:
    """The working copy: the source database plus the archive's listings and a bench member."""
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
            print(f"ingested {listings.name} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        try:
            user = hub.create_user("bench", PASSWORD)
        except ConflictError:
            user = hub.get_user("bench")
        day = hub.latest_listing_day()
        assert day is not None, "no listings: the archive was not ingested"
        feed = hub.get_feed(day, day, limit=VOTES)
        for e in feed.entries:
            hub.set_vote(user, e.paper.arxiv_id, True)
    finally:
        hub.close()
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    cache_seconds: float
    workers: int
    base: str = ""
    proc: subprocess.Popen[bytes] | None = None
    cookie: str = ""
    log: Path | None = None
    src: str = ""  # PYTHONPATH of the code to serve (a baseline's unpacked src/); empty: this one

    def command(self, port: int) -> list[str]:
        cmd = [sys.executable, "-m", "broadsheet", "serve", "--host", "127.0.0.1", "--port", str(port)]
        return cmd + (["--workers", str(self.workers)] if self.workers > 1 else [])

    def start(self, db: Path, work: Path) -> None:
        port = free_port()
        env = os.environ | ({"PYTHONPATH": self.src} if self.src else {}) | {
            "BROADSHEET_DATABASE_URL": f"sqlite:///{db}",
            "BROADSHEET_SECRET_KEY": SECRET,
            "BROADSHEET_PAGE_CACHE_SECONDS": str(self.cache_seconds),
            "BROADSHEET_BACKGROUND_EMBED": "false",
            "BROADSHEET_EXTRACT_KEYWORDS": "false",
            "BROADSHEET_THUMBNAILS": "off",
            "BROADSHEET_SUBMIT_FETCH": "false",
            "BROADSHEET_RATE_API_ANONYMOUS": "100000000/minute",
            "BROADSHEET_RATE_SEARCH_ANONYMOUS": "100000000/minute",
            "BROADSHEET_SEARCH_QUEUE_SECONDS": "30",
        }
        self.log = work / f"serve-{self.name}.log"
        self.proc = subprocess.Popen(self.command(port), env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise SystemExit(f"{self.name}: the server did not start")
        login = httpx.Client(base_url=self.base, timeout=300)
        token = login.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        login.post("/login", data={"csrf_token": token, "login": "bench", "password": PASSWORD})
        # as a browser sends them: the session and the CSRF cookie (a member's page is kept only
        # for a request that has both: without the CSRF cookie the page sets one)
        self.cookie = f"bs_session={login.cookies['bs_session']}; bs_csrf={login.cookies['bs_csrf']}"

    def warm(self, queries: list[str]) -> None:
        """Until searches stop getting faster: the model loaded, the in-memory BM25 index built
        (serve builds it in the background and searches with FTS5 meanwhile)."""
        it = iter(queries)
        best, calm, t0 = float("inf"), 0, time.monotonic()
        while calm < 3 and time.monotonic() - t0 < 600:
            batch = []
            for _ in range(5):
                t = time.perf_counter()
                httpx.get(self.base + "/search", params={"q": next(it)}, timeout=120)
                batch.append(time.perf_counter() - t)
            m = sorted(batch)[2]
            calm = calm + 1 if m > 0.85 * best else 0
            best = min(best, m)
            time.sleep(1)

    def settle(self, quiet: float = 0.05, seconds: float = 3.0, limit: float = 900) -> None:
        """Until the server's background work after start (the search index, For you's windows)
        is done: its processes use under ``quiet`` of a core for ``seconds``."""
        assert self.proc is not None
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            before = cpu_seconds(self.proc.pid)
            time.sleep(seconds)
            if cpu_seconds(self.proc.pid) - before < quiet * seconds:
                return
        if limit > 200:
            print(f"{self.name}: still busy after {limit:.0f} s", file=sys.stderr)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (`serve --workers N`), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, family = 0.0, {pid}
    stats = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats.append((int(entry.name), int(fields[1]), int(fields[11]) + int(fields[12])))
    grew = True
    while grew:
        grew = False
        for p, parent, _ in stats:
            if parent in family and p not in family:
                family.add(p)
                grew = True
    for p, _, ticks in stats:
        if p in family:
            total += ticks / tick
    return total


@dataclass
class Result:
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_ms: list[float] = field(default_factory=list)  # the server's CPU time per request


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * UNIT[m.group(2)]


def wrk(base: str, path: str | list[str], connections: int, seconds: float, cookie: str, tmp: Path) -> tuple[float, float, float, int, int]:
    """requests/s, p50 ms, p99 ms, non-2xx/3xx responses and socket errors, and requests of one wrk run."""
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "60s"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    if isinstance(path, list):  # a different path per request, in order, never repeated in this run
        script = tmp / "paths.lua"
        body = ",\n".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in path)
        script.write_text(
            f"local paths = {{{body}}}\nlocal i = 0\n"
            "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[((i - 1) % #paths) + 1])\nend\n"
        )
        cmd += ["-s", str(script), base]
    else:
        cmd.append(base + path)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if isinstance(path, list) and done > len(path):
        raise SystemExit(f"distinct searches repeated: {done} requests, {len(path)} queries")
    return rps, p50, p99, errors, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path("/work/bench-data/arxiv.sqlite3"), help="source database (read only)")
    ap.add_argument("--listings", type=Path, default=REPO.parent / "shared/data/hf-daily-papers-2024-05_2026-08.tar.gz")
    ap.add_argument("--work", type=Path, default=Path("/work/bench-data/web"), help="folder for the working copy (kept and reused)")
    ap.add_argument("--seconds", type=float, default=3.0, help="per wrk run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", default="1,4,16")
    ap.add_argument("--workers", default="1", help="comma-separated: one uncached server per count (--workers N of serve)")
    ap.add_argument("--no-cached", action="store_true", help="skip the page cache's hit path")
    ap.add_argument(
        "--baseline", default="", help="also serve this source folder (e.g. `git archive main src | tar -x -C /tmp/base`, then /tmp/base/src), uncached, 1 worker"
    )
    ap.add_argument("--only", default="", help="comma-separated route names to run (besides /healthz)")
    args = ap.parse_args()
    levels = [int(c) for c in args.connections.split(",")]

    db = prepare(args.db, args.listings, args.work)
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    queries = make_queries(raw, 60_000, seed=7)
    day, arxiv_id = raw.execute(
        "SELECT l.listed_on, p.arxiv_id FROM listings l JOIN papers p ON p.id = l.paper_id "
        "ORDER BY l.listed_on DESC, p.id LIMIT 1"
    ).fetchone()
    raw.close()
    from datetime import date

    from broadsheet.periods import period_containing

    week = period_containing("week", date.fromisoformat(str(day)[:10])).slug
    warmups, queries = queries[:200], queries[200:]
    routes: dict[str, str | None] = {
        "/healthz": "/healthz",
        "/": "/",
        f"/papers/week/{week}": f"/papers/week/{week}",
        "/papers/trending": "/papers/trending",
        f"/papers/{arxiv_id}": f"/papers/{arxiv_id}",
        "/search?q=diffusion+models (repeated)": "/search?q=diffusion+models",
        "/search?q=... (distinct)": None,
        "/api/daily_papers": "/api/daily_papers",
        "/feeds/daily.rss": "/feeds/daily.rss",
        "/ (member)": "/",
    }
    if args.only:
        keep = {"/healthz", *args.only.split(",")}
        routes = {k: v for k, v in routes.items() if k in keep}
    servers = [Server(f"uncached-{w}w" if w > 1 else "uncached", 0, w) for w in map(int, args.workers.split(","))]
    if args.baseline:
        servers.insert(0, Server("baseline, uncached", 0, 1, src=args.baseline))
    cached_routes = ["/healthz", "/", "/papers/trending", "/ (member)"]
    if not args.no_cached:
        servers.append(Server("page cache hit", 10, 1))
    results: dict[tuple[str, str, int], Result] = {}
    load: list[float] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        for s in servers:
            s.start(db, args.work)
            s.warm(warmups)
        for s in servers:
            s.settle()
            warmups = warmups[40:] + warmups[:40]
        used = 0
        for _ in range(args.rounds):
            for c in levels:
                for s in servers:
                    names = cached_routes if s.cache_seconds else list(routes)
                    for name in names:
                        path = routes[name]
                        if path is None:
                            path = [f"/search?q={quote_plus(q)}" for q in queries[used : used + 1500]]
                            used += 1500
                        cookie = s.cookie if name.endswith("(member)") else ""
                        if isinstance(path, str):  # see the module's docstring: one request first
                            httpx.get(s.base + path, headers={"Cookie": cookie} if cookie else {}, timeout=120)
                        cpu = cpu_seconds(s.proc.pid)  # type: ignore[union-attr]
                        rps, p50, p99, errors, done = wrk(s.base, path, c, args.seconds, cookie, tmp)
                        cpu = cpu_seconds(s.proc.pid) - cpu  # type: ignore[union-attr]
                        # requests wrk gave up on at the end (slow searches) still run: let them
                        # finish before the next route, which would otherwise pay for them
                        s.settle(quiet=0.1, seconds=0.5, limit=120)
                        r = results.setdefault((s.name, name, c), Result())
                        r.rps.append(rps)
                        r.p50.append(p50)
                        r.p99.append(p99)
                        r.errors += errors
                        r.cpu_ms.append(1000 * cpu / max(1, done))
                load.append(os.getloadavg()[0])
    finally:
        for s in servers:
            s.stop()

    report(args, levels, servers, routes, cached_routes, results, load, arxiv_id, week)


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def report(args: argparse.Namespace, levels: list[int], servers: list[Server], routes: dict[str, str | None],
           cached_routes: list[str], results: dict[tuple[str, str, int], Result], load: list[float],
           arxiv_id: str, week: str) -> None:  # fmt: skip
    print(
        f"command: python bench/web.py --db {args.db} --seconds {args.seconds:g} --rounds {args.rounds} "
        f"--connections {args.connections} --workers {args.workers}" + (f" --baseline {args.baseline}" if args.baseline else "")
    )
    print(
        f"cpus: {os.cpu_count()}; load average (1 min) during the run: {min(load):.1f}-{max(load):.1f}; "
        f"wrk -t1, {args.seconds:g} s a run, {args.rounds} interleaved rounds (req/s, p50, CPU: mean of rounds; p99: worst)"
    )
    print(f"paper page: /papers/{arxiv_id}; week: {week}")
    head = " | ".join(f"{c} conn: req/s (×healthz) p50/p99 ms" for c in levels)
    first, last = levels[0], levels[-1]
    print(f"\n| server | route | {head} | {last} ≥ {first} | p99 at {last} ≤ 10× p50 at {first} | errors |")
    print("|---|---|" + "---|" * (len(levels) + 3))
    for s in servers:
        for name in cached_routes if s.cache_seconds else list(routes):
            cells, rps = [], {}
            for c in levels:
                r, h = results[s.name, name, c], results[s.name, "/healthz", c]
                rps[c] = mean(r.rps)
                cells.append(f"{rps[c]:.0f} ({rps[c] / mean(h.rps):.2f}) {mean(r.p50):.1f}/{max(r.p99):.1f}")
            a, b = results[s.name, name, first], results[s.name, name, last]
            errors = sum(results[s.name, name, c].errors for c in levels)
            print(
                f"| {s.name} | `{name}` | " + " | ".join(cells)
                + f" | {'yes' if rps[last] >= rps[first] else 'no'}"
                + f" | {'yes' if max(b.p99) <= 10 * mean(a.p50) else 'no'} | {errors} |"
            )
    # On a shared machine req/s move with the other load; the server's own CPU time per request
    # does much less: healthz's over a route's is the route's req/s ratio on an otherwise idle core.
    head = " | ".join(f"{c} conn" for c in levels)
    print(f"\nServer CPU time per request (ms; all its processes), and healthz's over the route's at {last} connections:\n")
    print(f"| server | route | {head} | CPU ratio at {last} |")
    print("|---|---|" + "---|" * (len(levels) + 1))
    for s in servers:
        for name in cached_routes if s.cache_seconds else list(routes):
            cpu = {c: mean(results[s.name, name, c].cpu_ms) for c in levels}
            ratio = mean(results[s.name, "/healthz", last].cpu_ms) / cpu[last]
            print(f"| {s.name} | `{name}` | " + " | ".join(f"{cpu[c]:.2f}" for c in levels) + f" | {ratio:.2f} |")

if __name__ == "__main__":
    main()
