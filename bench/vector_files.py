"""The vector index as files (vector_index = files) beside today's in-memory index, in one run.

Each index is served by its own process (a Hub, as a server holds it), so that memory is its own:
RSS and PSS (/proc/PID/smaps_rollup: shared file pages divided among the processes mapping them).
The parent sends both the same queries in alternating batches of 20, so drifts in machine load hit
both alike. Reported:
- build of the files from the database (`Hub.update_vector_index`, what `broadsheet index` does):
  time and peak RSS of the building process;
- open: from a fresh process to the first semantic answer (the model's load reported apart);
- `Hub.search` semantic and hybrid p50/p99 (lexical side: the database's FTS5 for both, so the
  difference is the vector index's);
- recall of the exact top-10 (exact = float32 scan of every vector, the in-memory index's
  ``exact_search``) for the files' search and the in-memory IVF's;
- RSS and PSS of one process, and PSS of ``--readers`` processes serving from the same files
  together (the in-memory index holds its own copy in each);
- index size on disk; time for ``--new`` re-embedded vectors to be found by a search in another
  process, and to be published as a delta generation.

``--stand-ins`` first gives every paper without a vector a stand-in (a real vector of the same
database, 0.75 · a + 0.35 · b + N(0, 0.03²) of two drawn at random, re-normalised; seeded): the
100k database has 10,551 real vectors, and embedding the rest takes hours here. Use a copy:

    cp /work/bench-data/arxiv.sqlite3 /tmp/b100k.sqlite3
    python bench/vector_files.py --db /tmp/b100k.sqlite3 --stand-ins
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = "child"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def memory_of(pid: int | str = "self") -> dict[str, int]:
    """RSS and PSS in MB (smaps_rollup), and the peak RSS."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key.lower()] = int(rest.split()[0]) // 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            out["peak_rss"] = int(line.split()[1]) // 1024
    return out


def add_stand_ins(db: Path) -> int:
    """Give papers without a vector a stand-in (see the module's docstring); returns how many."""
    import sqlite3

    import numpy as np

    con = sqlite3.connect(db)
    model = "all-MiniLM-L6-v2-int8"
    real = [r[0] for r in con.execute("SELECT vector FROM embeddings WHERE model = ?", (model,))]
    base = np.frombuffer(b"".join(real), "<f4").reshape(-1, 384)
    missing = con.execute(
        "SELECT p.id, p.content_hash FROM papers p LEFT JOIN embeddings e ON e.paper_id = p.id AND e.model = ? "
        "WHERE e.id IS NULL ORDER BY p.id", (model,)
    ).fetchall()
    rng = np.random.default_rng(7)
    for start in range(0, len(missing), 20_000):
        chunk = missing[start : start + 20_000]
        a, b = base[rng.integers(0, len(base), len(chunk))], base[rng.integers(0, len(base), len(chunk))]
        v = 0.75 * a + 0.35 * b + rng.normal(0, 0.03, a.shape).astype(np.float32)
        v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype("<f4")
        con.executemany(
            "INSERT INTO embeddings (paper_id, model, content_hash, vector) VALUES (?, ?, ?, ?)",
            [(pid, model, h, v[i].tobytes()) for i, (pid, h) in enumerate(chunk)],
        )
        con.commit()
    con.close()
    return len(missing)


# ---- the child: one Hub serving one kind of index ---------------------------------------------


def child(url: str, where: str, index_dir: Path) -> None:
    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub

    started = time.perf_counter()
    hub = make_hub(load_settings(database_url=url, vector_index=where, lexical_index="database", index_dir=str(index_dir)))
    engine = hub._search_engine()  # noqa: SLF001 - a measuring tool
    embedder = hub._embedder  # noqa: SLF001
    t = time.perf_counter()
    embedder.embed(["warm up"])
    model_s = time.perf_counter() - t
    v = embedder.embed(["graph neural networks"])[0]
    t = time.perf_counter()
    engine._vectors.refresh()  # noqa: SLF001
    ivf = getattr(engine._vectors, "wait_for_ann", lambda: None)()  # noqa: SLF001 - pgvector's has none
    engine._vectors.search(v, 10)  # noqa: SLF001
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    hub.search("graph neural networks", mode="hybrid", limit=10)
    first_s = time.perf_counter() - t
    say({"open_s": open_s, "first_s": first_s, "model_s": model_s, "total_s": time.perf_counter() - started, "ivf": ivf, **memory_of()})
    vectors = engine._vectors  # noqa: SLF001
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["do"] == "run":
            times = []
            for q in cmd["queries"]:
                t = time.perf_counter()
                hub.search(q, mode=cmd["mode"], limit=10)
                times.append(time.perf_counter() - t)
            say({"times": times})
        elif cmd["do"] == "top":
            out, alone = [], []
            for q in cmd["queries"]:
                v = embedder.embed([q])[0]
                exact = getattr(vectors, "exact_search", vectors.search)  # pgvector's HNSW: its own answer
                t = time.perf_counter()
                found = vectors.search(v, 100)  # what hybrid asks for (depth 100)
                alone.append(time.perf_counter() - t)
                out.append({"search": [p for p, _ in vectors.search(v, 10)], "exact": [p for p, _ in exact(v, 10)], "n": len(found)})
            say({"tops": out, "alone": alone})
        elif cmd["do"] == "mem":
            say(memory_of())
        elif cmd["do"] == "fresh":  # re-embed N papers (new rows), then time until a search finds them
            import numpy as np

            from sqlalchemy import text

            store = hub._storage.vectors  # noqa: SLF001
            with hub._storage.engine.connect() as conn:  # noqa: SLF001
                papers = conn.execute(text("SELECT paper_id FROM embeddings WHERE model = :m"), {"m": embedder.name}).scalars().all()
            rng = np.random.default_rng(cmd["seed"])
            pids = [int(p) for p in rng.choice(papers, cmd["n"], replace=False)]
            vecs = rng.standard_normal((len(pids), 384)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            t = time.perf_counter()
            store.put(embedder.name, [(p, "fresh", vecs[i]) for i, p in enumerate(pids)])
            say({"put_s": time.perf_counter() - t, "pids": pids, "vecs": vecs.tolist()})
        elif cmd["do"] == "find":  # the first search after vectors arrived: refresh + search
            import numpy as np

            vecs = np.asarray(cmd["vecs"], np.float32)
            t = time.perf_counter()
            first = vectors.search(vecs[0], 1)
            first_s = time.perf_counter() - t
            found = sum(vectors.search(v, 1)[0][0] == p for v, p in zip(vecs, cmd["pids"], strict=True))
            say({"first_s": first_s, "found": int(found)})
        elif cmd["do"] == "publish":
            t = time.perf_counter()
            status = vectors._get().update()  # noqa: SLF001 - as `broadsheet index` does after embedding
            say({"publish_s": time.perf_counter() - t, "status": status})
        elif cmd["do"] == "quit":
            break
    hub.close()


def say(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


class Child:
    def __init__(self, db: str, where: str, index_dir: Path) -> None:
        env = dict(os.environ)
        self.where = where
        self.proc = subprocess.Popen(
            [sys.executable, __file__, CHILD, str(db), where, str(index_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.opened = self.read()

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.where} child died")
        return json.loads(line)

    def ask(self, **cmd: object) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        try:
            self.ask(do="quit")
        except (BrokenPipeError, RuntimeError):
            pass
        self.proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--stand-ins", action="store_true", help="give papers without a vector a stand-in first (modifies --db: use a copy)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--recall-queries", type=int, default=100)
    ap.add_argument("--readers", type=int, default=4, help="processes serving from the same files, for their PSS together")
    ap.add_argument("--new", type=int, default=500)
    ap.add_argument("--kinds", default="files,memory", help="vector_index settings compared (files, memory, database)")
    ap.add_argument("--keep-index", action="store_true", help="reuse the files of an earlier run (no build)")
    ap.add_argument("--url", help="serve from this database instead (e.g. a PostgreSQL copy of --db made by copy-db)")
    args = ap.parse_args()
    db = args.db.resolve()
    url = args.url or f"sqlite:///{db}"
    index_dir = db.with_name(db.name + ".index") if not args.url else Path("/tmp/broadsheet-bench-pg.index")
    print(f"command: python bench/vector_files.py {' '.join(sys.argv[1:])}")
    print(f"load average at start: {os.getloadavg()}")
    if args.stand_ins:
        t = time.perf_counter()
        print(f"stand-in vectors added: {add_stand_ins(db):,} ({time.perf_counter() - t:.0f} s)")

    import sqlite3

    sys.path.insert(0, str(Path(__file__).parent))
    from search import make_queries  # the same queries as bench/search.py

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    queries = make_queries(con, args.queries)
    papers = con.execute("SELECT count(*) FROM embeddings WHERE model = 'all-MiniLM-L6-v2-int8'").fetchone()[0]
    print(f"serving from {url}; papers with a vector: {papers:,}; passage rows: {con.execute('SELECT count(*) FROM embeddings WHERE model LIKE ?', ('%#passages',)).fetchone()[0]:,}")

    # Build the files from scratch, as `broadsheet index` does, in its own process.
    if not (args.keep_index and (index_dir / "vectors.json").exists()):
        shutil.rmtree(index_dir, ignore_errors=True)
        build = subprocess.run(
            [sys.executable, "-c", (
                "import json, sys, time; sys.path.insert(0, %r); from vector_files import memory_of\n"
                "from broadsheet.config import load_settings; from broadsheet.hub import make_hub\n"
                "hub = make_hub(load_settings(database_url=%r, vector_index='files', index_dir=%r))\n"
                "t = time.perf_counter(); status = hub.update_vector_index(); s = time.perf_counter() - t\n"
                "print(json.dumps({'build_s': s, **status, **memory_of()})); hub.close()"
            ) % (str(Path(__file__).parent), url, str(index_dir))],
            capture_output=True, text=True, check=True,
        )
        built = json.loads(build.stdout.strip().splitlines()[-1])
        size = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file())
        print(f"files built in {built['build_s']:.1f} s (peak RSS of the building process {built['peak_rss']} MB): "
              f"{built['base']:,} vectors, IVF {built['ivf']}; on disk {size / 1e6:,.0f} MB: "
              + ", ".join(f"{f.name} {f.stat().st_size / 1e6:,.1f}" for f in sorted(next(index_dir.glob("vectors-*")).iterdir())))  # fmt: skip
    size = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file())
    print(f"index files on disk: {size / 1e6:,.0f} MB")

    kinds = args.kinds.split(",")
    children = {}
    for kind in kinds:  # opened one after the other: the open times are each alone
        children[kind] = Child(url, kind, index_dir)
        o = children[kind].opened
        print(f"{kind}: index open to its first answer {o['open_s']:.2f} s, then the first hybrid Hub.search {o['first_s']:.2f} s "
              f"(model {o['model_s']:.2f} s apart; process start to ready {o['total_s']:.1f} s), IVF {o['ivf']}, "
              f"RSS {o['rss']} MB, PSS {o['pss']} MB")  # fmt: skip

    times: dict[tuple[str, str], list[float]] = {}
    for start in range(0, len(queries), 20):
        batch = queries[start : start + 20]
        for mode in ("semantic", "hybrid"):
            for kind in kinds:
                times.setdefault((kind, mode), []).extend(children[kind].ask(do="run", mode=mode, queries=batch)["times"])
    print(f"load average after the queries: {os.getloadavg()}")
    print("| index | mode | p50 ms | p99 ms |\n|---|---|---|---|")
    for (kind, mode), ts in times.items():
        print(f"| {kind} | {mode} | {1000 * statistics.median(ts):.1f} | {1000 * pct(ts, 99):.1f} |")
    for other in kinds[1:]:
        for mode in ("semantic", "hybrid"):
            ratio = statistics.median(times[("files", mode)]) / statistics.median(times[(other, mode)])
            print(f"{mode} p50 files / {other}: {ratio:.2f}")

    answers = {kind: children[kind].ask(do="top", queries=queries[: args.recall_queries]) for kind in kinds}
    tops = {kind: a["tops"] for kind, a in answers.items()}
    for kind, a in answers.items():
        print(f"{kind}: the vector index's search alone (top 100, refresh included): p50 {1000 * statistics.median(a['alone']):.1f} ms, "
              f"p99 {1000 * pct(a['alone'], 99):.1f} ms")  # fmt: skip
    reference = "memory" if "memory" in kinds else "files"  # memory's exact scan is float32
    for kind in kinds:
        rec = [len(set(a["search"]) & set(e["exact"])) / max(1, len(e["exact"])) for a, e in zip(tops[kind], tops[reference], strict=True)]
        print(f"{kind} search: recall of the exact top-10 ({reference}'s float32 exact scan) {statistics.mean(rec):.3f}")
    if "memory" in kinds:
        same = [len(set(a["exact"]) & set(e["exact"])) / max(1, len(e["exact"])) for a, e in zip(tops["files"], tops["memory"], strict=True)]
        print(f"files exact scan (float16) vs float32 exact top-10: {statistics.mean(same):.3f}")

    for kind in kinds:
        m = children[kind].ask(do="mem")
        print(f"{kind} after the queries: RSS {m['rss']} MB, PSS {m['pss']} MB, peak RSS {m['peak_rss']} MB")
    readers = [children["files"]] + [Child(url, "files", index_dir) for _ in range(args.readers - 1)]
    for r in readers[1:]:
        r.ask(do="run", mode="semantic", queries=queries)
    pss = [r.ask(do="mem") for r in readers]
    print(f"{args.readers} processes on the same files after their queries: PSS together {sum(m['pss'] for m in pss)} MB "
          f"(RSS each {[m['rss'] for m in pss]} MB)")  # fmt: skip
    for r in readers[1:]:
        r.close()

    # New vectors: stored by another process (the writer of `broadsheet index`), found by the next search.
    fresh = children["files"].ask(do="fresh", n=args.new, seed=time.time_ns() % 2**32)  # new vectors each run: a copy may hold an earlier run's
    for kind in kinds:
        got = children[kind].ask(do="find", pids=fresh["pids"], vecs=fresh["vecs"])
        print(f"{kind}: {args.new} re-embedded vectors stored in {fresh['put_s'] * 1000:.0f} ms; the next search took "
              f"{got['first_s'] * 1000:.1f} ms (refresh included) and {got['found']}/{args.new} are found")  # fmt: skip
    pub = children["files"].ask(do="publish")
    print(f"files: publishing them as a delta generation took {pub['publish_s'] * 1000:.0f} ms: {pub['status']}")
    for c in children.values():
        c.close()
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    else:
        main()
