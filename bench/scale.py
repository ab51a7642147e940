"""All of arXiv on one machine: real `broadsheet serve` processes over a big database, measured.

For each setup (settings given as environment variables, e.g. today's in-memory indexes
``memory=lexical_index=memory,vector_index=memory``, or this code's defaults ``default=``), in one
run, interleaved where it matters:

1. One server (`broadsheet serve`): the time from process start to the first hybrid answer over
   HTTP and to the first *full-speed* one (probe queries polled until the server's CPU is idle,
   then: the first probe from which on the rolling median of 5 stays within 1.5x of the same
   queries' times measured next, once warm; the probes' median per 5 s is printed too). A setup whose start wrote index files is started a second time (the start a
   restart gets). Memory of the process (``/proc/PID/smaps_rollup``: Rss, Pss, Private) after the
   warm-up, and its peak RSS (VmHWM).
2. Latency: the queries of ``bench/search.py`` (2-4 title words of papers drawn with a fixed seed),
   per query raw FTS5 (the same MATCH, ``ORDER BY bm25 LIMIT 10``, in this process through sqlite3)
   then ``/api/v1/search?mode=lexical|semantic|hybrid&limit=10`` over HTTP (keep-alive), p50/p99.
2b. A restart probed steadily (a hybrid probe every 0.2 s for ``--probe-seconds``): from when on
   answers are at full speed (the rolling median of 5, each over the same query's warm time, ≤ 1.5).
3. Incremental update: a new day of 500 papers (copies of drawn papers under new ids, each title
   with its own marker word) ingested by `broadsheet ingest` in another process while the server
   runs; the time until lexical searches for the markers of 51 of them (every 10th and the last)
   find each, until all 500 have a vector (the server's background embedder), and until a
   semantic search by title finds each of 5 of them among its 100 best.
4. `serve --workers 4`: memory of all processes together (sum of PSS is the honest figure; the
   sum of RSS counts shared pages once per process), time until every worker answered and the
   processes went idle, hybrid p50 with 4 concurrent clients. Skipped when 4x the single
   server's RSS would not fit in the available memory.
5. Index size on disk: the index folder (``index_dir``) and the database file.

The database is copied to ``--scratch`` first (the update writes to it). Figures print as
Markdown; docs/benchmarks.md ("All of arXiv on one machine") records them.

    python bench/scale.py --db /work/bench-data/arxiv.sqlite3 --scratch /tmp/scale \\
        --setup memory=lexical_index=memory,vector_index=memory --setup default=
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import make_queries as _make_queries  # noqa: E402
from search import pct  # noqa: E402
from web import free_port  # noqa: E402


def make_queries(con: sqlite3.Connection, n: int, seed: int = 42) -> list[str]:
    """bench/search.py's queries, from the first 100k titles (a replicated corpus repeats them)."""
    return _make_queries(con, n, seed, among=100_000)

from broadsheet.search.query import parse_query
from broadsheet.storage.fulltext import DEFAULT_WEIGHTS, match_expression

MODES = ("lexical", "semantic", "hybrid")
TICK = os.sysconf("SC_CLK_TCK")


# -- processes -------------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def memory(pids: list[int]) -> dict[str, float]:
    """Rss, Pss, Private (clean + dirty) summed over ``pids``, and the largest VmHWM, in MB."""
    out = {"rss": 0.0, "pss": 0.0, "private": 0.0, "hwm": 0.0}
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
        out["rss"] += kb.get("Rss", 0) / 1024
        out["pss"] += kb.get("Pss", 0) / 1024
        out["private"] += (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024
        hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        out["hwm"] = max(out["hwm"], int(hwm[1]) / 1024 if hwm else 0)
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def du(path: Path) -> float:
    """Bytes under ``path`` in MB (0 when it does not exist)."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


@dataclass
class Server:
    db: Path
    env: dict[str, str]
    log: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "broadsheet", "--db", str(self.db), "serve", "--port", str(self.port)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.started = time.perf_counter()
        with self.log.open("a") as out:
            out.write(f"\n$ {' '.join(cmd)}\n")
            out.flush()
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.db.parent)

    def pids(self) -> list[int]:
        assert self.proc is not None
        return tree(self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            for pid in self.pids():
                os.kill(pid, signal.SIGKILL)
            self.proc.wait()


def search(client: httpx.Client, base: str, q: str, mode: str, limit: int = 10) -> tuple[float, dict]:  # type: ignore[type-arg]
    t = time.perf_counter()
    r = client.get(f"{base}/api/v1/search", params={"q": q, "mode": mode, "limit": limit})
    ms = 1000 * (time.perf_counter() - t)
    r.raise_for_status()
    return ms, r.json()


# -- the measurements ------------------------------------------------------------------------


def wait_up(server: Server, client: httpx.Client, timeout: float) -> float:
    """Seconds from process start until /healthz answers."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if client.get(server.base + "/healthz", timeout=5).status_code == 200:
                return time.perf_counter() - server.started
        except httpx.HTTPError:
            pass
        if not server.alive():
            raise SystemExit(f"the server exited: see {server.log}")
        if time.perf_counter() > deadline:
            raise SystemExit(f"the server did not answer within {timeout:.0f} s: see {server.log}")
        time.sleep(0.1)


def probe_until_idle(
    server: Server, client: httpx.Client, probes: list[str], timeout: float, manifests: list[Path] | None = None
) -> tuple[list[tuple[float, float]], float]:
    """Hybrid probe queries (time since start, ms) until the server's processes use under 10 %
    of a core for 3 s without queries (warm-up and start-up background work done) and the index
    files' ``manifests`` exist (their builders run at low priority: on a loaded machine they get
    no CPU for long stretches, which would look idle)."""
    seen: list[tuple[float, float]] = []
    deadline = time.perf_counter() + timeout
    i = 0
    while True:
        for _ in range(4):  # few: a probe answered from FTS5 during warm-up costs CPU the warm-up needs
            ms, _ = search(client, server.base, probes[i % len(probes)], "hybrid")
            seen.append((time.perf_counter() - server.started, ms))
            i += 1
        pids = server.pids()
        before = cpu_seconds(pids)
        time.sleep(3)
        if cpu_seconds(pids) - before < 0.3 and all(m.exists() for m in manifests or []):
            return seen, time.perf_counter() - server.started
        if time.perf_counter() > deadline:
            print(f"  (still busy after {timeout:.0f} s: stopped probing)", flush=True)
            return seen, float("nan")


def full_speed_at(seen: list[tuple[float, float]], steady: list[float]) -> float:
    """The first probe time from which the rolling median of 5 probes, each over the same query's
    time once warm (``steady``: the latency phase's, in probe order), stays ≤ 1.5."""
    ratios = [ms / steady[i % len(steady)] for i, (_, ms) in enumerate(seen)]
    ok_from = None
    for i in range(len(seen) - 4):
        med = statistics.median(ratios[i : i + 5])
        if med <= 1.5:
            ok_from = seen[i][0] if ok_from is None else ok_from
        else:
            ok_from = None
    return ok_from if ok_from is not None else float("nan")


def buckets(seen: list[tuple[float, float]], width: float = 5.0) -> str:
    """The probes' median latency per ``width`` seconds since start, e.g. ``0-5 s: 812``."""
    groups: dict[int, list[float]] = {}
    for at, ms in seen:
        groups.setdefault(int(at // width), []).append(ms)
    return ", ".join(f"{k * width:.0f}-{(k + 1) * width:.0f} s: {statistics.median(v):.0f}" for k, v in sorted(groups.items()))


def latencies(server: Server, client: httpx.Client, raw: sqlite3.Connection, queries: list[str]) -> dict[str, list[float]]:
    w = ", ".join(map(str, DEFAULT_WEIGHTS))
    raw_sql = f"SELECT rowid, bm25(papers_fts, {w}) AS s FROM papers_fts WHERE papers_fts MATCH ? ORDER BY s LIMIT 10"
    times: dict[str, list[float]] = {"raw FTS5": [], **{m: [] for m in MODES}}
    for q in queries:  # interleaved per query: drifts in the machine's load hit all alike
        t = time.perf_counter()
        raw.execute(raw_sql, (match_expression(parse_query(q)),)).fetchall()
        times["raw FTS5"].append(1000 * (time.perf_counter() - t))
        for mode in MODES:
            times[mode].append(search(client, server.base, q, mode)[0])
    return times


def new_day(jsonl: Path, out: Path, n: int, tag: str, seed: int) -> list[dict]:  # type: ignore[type-arg]
    """``n`` papers of the corpus under new ids (``2612.NNNNN``: December 2026), published and
    listed on one new day, each title ending in its own marker word (``tag`` n ``i``)."""
    with gzip.open(jsonl, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    rng = random.Random(seed)
    first = 10_000 + 1000 * (seed % 80)
    papers = []
    for i, line in enumerate(rng.sample(lines, n)):
        d = json.loads(line)
        d.update(
            arxiv_id=f"2612.{first + i:05d}", title=f"{d['title']} {tag}n{i}", published="2026-12-08",
            listing_date="2026-12-08", updated=None, source="bench-new-day", sources=["bench-new-day"],
        )  # fmt: skip
        papers.append(d)
    out.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    return papers


def update(server: Server, client: httpx.Client, db: Path, jsonl: Path, scratch: Path, tag: str, seed: int, timeout: float) -> dict[str, float]:
    papers = new_day(jsonl, scratch / f"{tag}.jsonl", 500, tag, seed)
    ids = [p["arxiv_id"] for p in papers]
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", "--db", str(db), "ingest", str(scratch / f"{tag}.jsonl")],
        env=server.env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"ingest failed: {done.stderr[-2000:]}")
    result = {"ingest": time.perf_counter() - t0}
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    marks = ",".join("?" * len(ids))
    sample = papers[:5]
    unseen = {f"{tag}n{i}": p["arxiv_id"] for i, p in enumerate(papers) if i % 10 == 0 or i == len(papers) - 1}
    pending = {"lexical": True, "embedded": True, "semantic": True}
    while any(pending.values()) and time.perf_counter() - t0 < timeout:
        now = time.perf_counter() - t0
        if pending["lexical"]:  # 51 of the 500 (every 10th and the last), each by its own marker
            for marker, arxiv_id in list(unseen.items()):
                if [h["paper"]["id"] for h in search(client, server.base, marker, "lexical", limit=1)[1]["hits"]] == [arxiv_id]:
                    del unseen[marker]
            if not unseen:
                result["lexical"], pending["lexical"] = now, False
        if pending["embedded"]:
            (n,) = ro.execute(
                f"SELECT count(*) FROM embeddings e JOIN papers p ON p.id = e.paper_id WHERE p.arxiv_id IN ({marks}) "
                "AND e.model NOT LIKE '%#%'", ids,
            ).fetchone()  # fmt: skip
            if n >= len(ids):
                result["embedded"], pending["embedded"] = now, False
        if pending["semantic"] and not pending["embedded"]:
            found = all(
                any(h["paper"]["id"] == p["arxiv_id"] for h in search(client, server.base, p["title"].rsplit(" ", 1)[0], "semantic", limit=100)[1]["hits"])
                for p in sample
            )
            if found:
                result["semantic"], pending["semantic"] = time.perf_counter() - t0, False
        time.sleep(0.5)
    ro.close()
    return result


def touch_workers(server: Server, queries: list[str], workers: int, timeout: float) -> set[str]:
    """Fresh connections, 8 at a time, until every worker answered (X-Broadsheet-Worker)."""
    seen: set[str] = set()
    deadline = time.perf_counter() + timeout

    def one(q: str) -> str:
        with httpx.Client(timeout=120) as c:
            r = c.get(f"{server.base}/api/v1/search", params={"q": q, "mode": "hybrid", "limit": 10})
            return r.headers.get("x-broadsheet-worker", "?")

    with ThreadPoolExecutor(8) as pool:
        i = 0
        while len(seen) < workers and time.perf_counter() < deadline:
            seen.update(pool.map(one, [queries[(i + k) % len(queries)] for k in range(8)]))
            i += 8
    return seen


def concurrent_hybrid(server: Server, queries: list[str], clients: int) -> tuple[list[float], float]:
    """Hybrid latencies with ``clients`` threads each on its own connection, and queries per second."""
    times: list[float] = []
    lock = threading.Lock()
    chunks = [queries[k::clients] for k in range(clients)]

    def run(qs: list[str]) -> None:
        with httpx.Client(timeout=120) as c:
            for q in qs:
                ms, _ = search(c, server.base, q, "hybrid")
                with lock:
                    times.append(ms)

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, chunks))
    return times, len(queries) / (time.perf_counter() - t)


def mem_available_mb() -> float:
    m = re.search(r"^MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    return int(m[1]) / 1024 if m else 0.0


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_setup(name: str, overrides: dict[str, str], args: argparse.Namespace, db: Path, queries: list[str], seed: int) -> None:
    index_dir = db.with_name(db.name + ".index")
    env = {
        **os.environ,
        "BROADSHEET_DATABASE_URL": "", "BROADSHEET_THUMBNAILS": "off", "BROADSHEET_EXTRACT_KEYWORDS": "false",
        "BROADSHEET_SUBMIT_FETCH": "false", "BROADSHEET_SCHEDULE": "", "BROADSHEET_INDEX_DIR": str(index_dir),
        "BROADSHEET_RATE_API_ANONYMOUS": "1000000/minute", "BROADSHEET_RATE_SEARCH_ANONYMOUS": "1000000/minute",
        "BROADSHEET_SERVE_PID_HEADER": "1",
        **{f"BROADSHEET_{k.upper()}": v for k, v in overrides.items()},
    }  # fmt: skip
    log = args.scratch / f"serve-{name}.log"
    print(f"\n## setup {name}: {overrides or 'this code defaults'} (load {load()})", flush=True)
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    probes = queries[-30:]
    client = httpx.Client(timeout=600)

    manifests = [index_dir / f"{name}.json" for name, key in (("lexical", "lexical_index"), ("vectors", "vector_index")) if overrides.get(key) == "files"]
    # 1. start (twice when the first start wrote index files)
    before = du(index_dir)
    starts = []
    for attempt in range(2):
        server = Server(db, env, log)
        server.start()
        up = wait_up(server, client, args.timeout)
        seen, idle = probe_until_idle(server, client, probes, args.timeout, manifests)
        starts.append((up, seen, idle))
        wrote = du(index_dir) != before
        print(f"  start {attempt + 1}: answers after {up:.1f} s, first hybrid answer at {seen[0][0]:.1f} s ({seen[0][1]:.0f} ms), "
              f"idle at {idle:.1f} s; index folder {du(index_dir):.0f} MB{' (written by this start)' if wrote else ''} (load {load()})", flush=True)  # fmt: skip
        if attempt == 0 and wrote:
            server.stop()
            before = du(index_dir)
            continue
        break
    mem1 = memory(server.pids())

    # 2. latency
    times = latencies(server, client, raw, queries)
    for i, (up, seen, idle) in enumerate(starts):
        warm = times["hybrid"][-len(probes):]  # the probes are the last queries
        print(f"  start {i + 1}: full-speed hybrid (rolling median of 5 probes ≤ 1.5x the same queries once warm) "
              f"from {full_speed_at(seen, warm):.1f} s; probes by 5 s (median ms): {buckets(seen)}", flush=True)  # fmt: skip
    base = statistics.median(times["raw FTS5"])
    print(f"  latency over HTTP, {len(queries)} queries (load {load()}):")
    print("  | what | p50 ms | p99 ms | p50 ratio to raw FTS5 |\n  |---|---|---|---|")
    for what, ts in times.items():
        print(f"  | {what} | {statistics.median(ts):.1f} | {pct(ts, 99):.1f} | {statistics.median(ts) / base:.2f} |")
    mem2 = memory(server.pids())
    print(f"  one server: after warm-up RSS {mem1['rss']:.0f} MB, PSS {mem1['pss']:.0f} MB, private {mem1['private']:.0f} MB; "
          f"after the queries RSS {mem2['rss']:.0f} MB, PSS {mem2['pss']:.0f} MB; peak RSS (VmHWM) {mem2['hwm']:.0f} MB", flush=True)  # fmt: skip

    # 2b. a restart probed steadily: one hybrid probe every 0.2 s from the first answer on
    server.stop()
    server = Server(db, env, log)
    server.start()
    wait_up(server, client, args.timeout)
    steady: list[tuple[float, float]] = []
    while time.perf_counter() - server.started < args.probe_seconds:
        ms, _ = search(client, server.base, probes[len(steady) % len(probes)], "hybrid")
        steady.append((time.perf_counter() - server.started, ms))
        time.sleep(0.2)
    warm = times["hybrid"][-len(probes):]
    print(f"  restart, a hybrid probe every 0.2 s for {args.probe_seconds:.0f} s: full speed (rolling median of 5 ≤ 1.5x the same "
          f"queries once warm) from {full_speed_at(steady, warm):.1f} s; by 5 s (median ms): {buckets(steady)} (load {load()})", flush=True)  # fmt: skip

    # 3. incremental update
    if args.update:
        tag = f"zqxday{seed}"
        upd = update(server, client, db, args.jsonl, args.scratch, tag, seed, args.timeout)
        print(f"  new day of 500 papers: `broadsheet ingest` {upd['ingest']:.1f} s; all 500 found by lexical search after "
              f"{upd.get('lexical', float('nan')):.1f} s, all embedded after {upd.get('embedded', float('nan')):.1f} s, "
              f"5 of them found by meaning after {upd.get('semantic', float('nan')):.1f} s (from the ingest's start; load {load()})", flush=True)  # fmt: skip
    server.stop()

    # 4. four workers
    n = args.workers
    need = n * mem2["rss"]
    if need > 0.85 * mem_available_mb():
        print(f"  --workers {n}: not run: {n} x {mem2['rss']:.0f} MB RSS would not fit in {mem_available_mb():.0f} MB available", flush=True)
    else:
        server = Server(db, env, log, workers=n)
        server.start()
        up = wait_up(server, client, args.timeout)
        answered = touch_workers(server, probes, n, args.timeout)
        seen, idle = probe_until_idle(server, client, probes, args.timeout, manifests)
        touch_workers(server, probes, n, 60)
        mem4 = memory(server.pids())
        times4, qps = concurrent_hybrid(server, queries, n)
        mem4b = memory(server.pids())
        print(f"  --workers {n}: answers after {up:.1f} s, {len(answered)} workers answered, idle at {idle:.1f} s; "
              f"all {len(server.pids())} processes together: PSS {mem4['pss']:.0f} MB (RSS summed {mem4['rss']:.0f} MB, private {mem4['private']:.0f} MB); "
              f"after {len(queries)} hybrid queries from {n} clients PSS {mem4b['pss']:.0f} MB, RSS {mem4b['rss']:.0f} MB, largest peak {mem4b['hwm']:.0f} MB; "
              f"hybrid p50 {statistics.median(times4):.1f} ms, p99 {pct(times4, 99):.1f} ms, {qps:.1f} queries/s (load {load()})", flush=True)  # fmt: skip
        server.stop()
    print(f"  on disk: index folder {du(index_dir):.0f} MB, database {du(db) + du(Path(f'{db}-wal')):.0f} MB", flush=True)
    client.close()
    raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--scratch", type=Path, required=True, help="a folder for the copy of the database, its index folder and logs")
    ap.add_argument("--setup", action="append", default=[], help="NAME=key=value,key=value (settings); repeatable")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--no-update", dest="update", action="store_false")
    ap.add_argument("--jsonl", type=Path, default=Path("/work/shared/data/arxiv-100k.jsonl.gz"), help="where the new day's papers are drawn from")
    ap.add_argument("--reuse-copy", action="store_true", help="use the copy already in --scratch")
    ap.add_argument("--probe-seconds", type=float, default=25.0, help="how long a restart is probed every 0.2 s")
    args = ap.parse_args()
    setups = []
    for spec in args.setup or ["memory=lexical_index=memory,vector_index=memory", "default="]:
        name, _, rest = spec.partition("=")
        setups.append((name, dict(kv.split("=", 1) for kv in rest.split(",") if kv)))

    args.scratch.mkdir(parents=True, exist_ok=True)
    db = args.scratch / args.db.name
    if not args.reuse_copy:
        for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            stale.unlink(missing_ok=True)
        shutil.rmtree(db.with_name(db.name + ".index"), ignore_errors=True)
        t = time.perf_counter()
        shutil.copyfile(args.db, db)
        print(f"copied {args.db} ({du(db):.0f} MB) in {time.perf_counter() - t:.0f} s")
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (papers,) = ro.execute("SELECT count(*) FROM papers").fetchone()
    (vectors,) = ro.execute("SELECT count(*) FROM embeddings WHERE model NOT LIKE '%#%'").fetchone()
    queries = make_queries(ro, args.queries)
    ro.close()
    commit = subprocess.run(["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True, cwd=Path(__file__).parent, check=False).stdout.strip()
    print(f"command: python bench/scale.py {' '.join(sys.argv[1:])}")
    print(f"code: {commit}; papers: {papers:,}, vectors: {vectors:,}; queries: {len(queries)}, e.g. {queries[:3]}; "
          f"{os.cpu_count()} cores, {mem_available_mb():.0f} MB available; load {load()}", flush=True)  # fmt: skip
    for i, (name, overrides) in enumerate(setups):
        run_setup(name, overrides, args, db, queries, seed=i + 1)


if __name__ == "__main__":
    main()
