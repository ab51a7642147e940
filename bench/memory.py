"""Peak memory (RSS) of the bulk commands at several corpus sizes: does it grow with the corpus?

Each command runs as its own process under ``/usr/bin/time -f %M`` (the kernel's peak resident
set of the process), so a figure is what a user sees: interpreter, libraries, model and data.
A command whose figure grows with the corpus holds the corpus (or a table) in memory somewhere.

    # inputs: JSON Lines and tar files of N papers (the 100k file's records, replicated under
    # local ids), databases made from them, a member with saved papers and a listed week
    python bench/memory.py prepare --work /tmp/mem --sizes 10000 100000 1000000
    # (or bring a database of a size: --db 1000000=/work/bench-data/arxiv1m.sqlite3, copied first)
    python bench/memory.py run --work /tmp/mem --sizes 10000 100000 1000000 \\
        --src src --src /tmp/base:src        # this tree and a baseline, side by side

Commands measured (``--commands``): ``ingest`` (a JSON Lines file of N papers into a fresh
SQLite database), ``ingest-tar`` (a tar of N one-paper members), ``copy-db`` (SQLite to
SQLite), ``copy-db-pg`` (SQLite to a throwaway PostgreSQL database, ``--pg``), ``eval-beir``
(a BEIR-layout corpus of N papers whose queries are titles, lexical), ``thumbnails`` (listed
papers without a thumbnail; no network here, so each run stops at the first fetch and the cards
stay generated: what is measured is what it loads), ``recommend`` (``broadsheet recommend``
over a listed week of 3 % of the corpus), ``warm`` (the For-you windows the background warmer
builds: today, week, month) and ``index`` (the embedding backfill, stopped after a few batches).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

SOURCE = Path(os.environ.get("BROADSHEET_SHARED_DIR", "../shared")) / "data/arxiv-100k.jsonl.gz"
PY = sys.executable
USER = "reader"
WEEK_SHARE = 0.03  # a listed week holds 3 % of the corpus (a week of 30k papers at 1M)
SAVED = 30
INDEX_BATCHES = 4


def records(n: int, source: Path) -> Iterator[dict]:
    """``n`` paper records: the source's, then copies under local ids ``mK-<arxiv id>``."""
    made = copy = 0
    while True:
        with gzip.open(source, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if copy:
                    rec["arxiv_id"] = f"m{copy}-" + rec["arxiv_id"].lower().replace(".", "-").replace("/", "-")
                yield rec
                made += 1
                if made >= n:
                    return
        copy += 1


def prepare_files(work: Path, n: int, source: Path) -> None:
    jsonl, tar, beir = work / f"papers-{n}.jsonl", work / f"papers-{n}.tar", work / f"beir-{n}"
    if not jsonl.exists():
        with open(str(jsonl) + ".part", "w", encoding="utf-8") as f:
            for rec in records(n, source):
                f.write(json.dumps(rec) + "\n")
        os.replace(str(jsonl) + ".part", jsonl)
    if not tar.exists() and n <= 100_000:  # one member a paper: a tar of many small files
        import io
        import tarfile

        with tarfile.open(str(tar) + ".part", "w") as t, open(jsonl, "rb") as f:
            for i, line in enumerate(f):
                info = tarfile.TarInfo(f"papers/{i:07d}.jsonl")
                info.size = len(line)
                t.addfile(info, io.BytesIO(line))
        os.replace(str(tar) + ".part", tar)
    if not beir.exists():  # known-item search: each query is a paper's title, that paper relevant
        part = Path(str(beir) + ".part")
        (part / "qrels").mkdir(parents=True, exist_ok=True)
        with open(jsonl, encoding="utf-8") as f, open(part / "corpus.jsonl", "w") as c, open(part / "queries.jsonl", "w") as q, open(part / "qrels/test.tsv", "w") as r:
            r.write("query-id\tcorpus-id\tscore\n")
            for i, line in enumerate(f):
                rec = json.loads(line)
                c.write(json.dumps({"_id": rec["arxiv_id"], "title": rec["title"], "text": rec["abstract"] or ""}) + "\n")
                if i % max(1, n // 100) == 0:  # 100 queries whatever the size
                    q.write(json.dumps({"_id": f"q{i}", "text": rec["title"]}) + "\n")
                    r.write(f"q{i}\t{rec['arxiv_id']}\t1\n")
        os.replace(part, beir)


def prepare_db(work: Path, n: int, given: str | None) -> Path:
    """The database of size ``n`` (made by ingesting the JSON Lines file unless given), with a
    listed week and a member: what thumbnails, recommend, warm and index read."""
    db = work / f"db-{n}.sqlite3"
    if db.exists():
        return db
    part = Path(str(db) + ".part")
    if given:
        shutil.copyfile(given, part)
    else:
        subprocess.run([PY, "-m", "broadsheet", "--db", str(part), "ingest", str(work / f"papers-{n}.jsonl")], check=True, stdout=subprocess.DEVNULL)
    setup_member(part, n)
    os.replace(part, db)
    return db


def setup_member(db: Path, n: int) -> None:
    from datetime import datetime

    from broadsheet.config import load_settings
    from broadsheet.hub import make_hub

    hub = make_hub(load_settings(env={}, database_url=f"sqlite:///{db}"))
    st = hub._storage  # noqa: SLF001 - a measuring tool
    con = sqlite3.connect(db)
    last = date.fromisoformat(con.execute("SELECT max(published) FROM papers").fetchone()[0][:10])
    week = [last + timedelta(days=d) for d in range(1, 8)]
    admin = hub.create_user("bench", "correct horse battery")
    newest = [r[0] for r in con.execute("SELECT id FROM papers WHERE published IS NOT NULL ORDER BY published DESC, id LIMIT ?", (int(n * WEEK_SHARE),))]
    for k, pid in enumerate(newest):
        st.community.add_listing(pid, week[k % 7], admin.id, admin.name, datetime(2030, 1, 1))
    member = hub.create_user(USER, "correct horse battery")
    liked = [r[0] for r in con.execute("SELECT id FROM papers WHERE title LIKE '%graph neural%' ORDER BY id LIMIT ?", (SAVED,))]
    con.close()
    coll = st.personal.ensure_collection(member.id, "Saved", "saved", now=datetime(2030, 1, 1))
    st.personal.add_to_collection(coll.id, liked, now=datetime(2030, 1, 1))
    st.personal.add_interest("follow", member.id, "category", "cs.LG", now=datetime(2030, 1, 1))
    hub.close()
    (db.parent / f"{db.name.removesuffix('.part')}.day").write_text(week[-1].isoformat())


WARM = (
    "import sys; from broadsheet.config import load_settings; from broadsheet.hub import make_hub;"
    "h = make_hub(load_settings(env={}, database_url='sqlite:///' + sys.argv[1]));"
    "print(h._for_you.warm(), 'windows built'); h.close()"
)
INDEX = (
    "import sys; from broadsheet.config import load_settings; from broadsheet.hub import make_hub;"
    "h = make_hub(load_settings(env={}, database_url='sqlite:///' + sys.argv[1])); n = [0];"
    f"go = lambda k: (n.__setitem__(0, n[0] + 1), n[0] < {INDEX_BATCHES})[1];"
    "print(h.index_embeddings(keep_going=go), 'papers embedded'); h.close()"
)


def command(name: str, work: Path, n: int, tmp: Path, pg: str | None) -> tuple[list[str], Path | None]:
    """The command line of one measurement, and a scratch copy of the database it writes to."""
    db = work / f"db-{n}.sqlite3"
    bs = [PY, "-m", "broadsheet"]
    if name == "ingest":
        return [*bs, "--db", str(tmp / "out.sqlite3"), "ingest", str(work / f"papers-{n}.jsonl")], None
    if name == "ingest-tar":
        return [*bs, "--db", str(tmp / "out.sqlite3"), "ingest", str(work / f"papers-{n}.tar")], None
    if name == "copy-db":
        return [*bs, "copy-db", "--from", str(db), "--to", str(tmp / "copy.sqlite3")], None
    if name == "copy-db-pg":
        return [*bs, "copy-db", "--from", str(db), "--to", pg or "", "--replace"], None
    if name == "eval-beir":
        return [*bs, "eval-beir", str(work / f"beir-{n}"), "--mode", "lexical"], None
    day = (work / f"db-{n}.sqlite3.day").read_text().strip()
    copy = tmp / "db.sqlite3"
    if name == "thumbnails":
        return [*bs, "--db", str(copy), "thumbnails", "--limit", str(n)], copy
    if name == "recommend":
        return [*bs, "--db", str(copy), "recommend", USER, "--window", "week", "--day", day], copy
    if name == "warm":
        return [PY, "-c", WARM, str(copy)], copy
    if name == "index":
        return [PY, "-c", INDEX, str(copy)], copy
    raise SystemExit(f"unknown command {name}")


def measure(cmd: list[str], src: str, work: Path, n: int, copy: Path | None, seconds: float | None) -> tuple[int, float, int]:
    """(peak RSS in kB, seconds, exit status) of one run; stopped after ``seconds`` if given (the
    peak is then that of the part that ran: time's figure covers the killed child)."""
    if copy is not None:
        shutil.copyfile(work / f"db-{n}.sqlite3", copy)
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), BROADSHEET_THUMBNAILS="local", BROADSHEET_SUBMIT_FETCH="true", BROADSHEET_SYNC_RETRIES="0")
    env["BROADSHEET_ARXIV_PDF_URL"] = "http://127.0.0.1:9/pdf"  # no network here: refused at once
    if seconds:  # the peak so far (VmHWM) read from /proc just before the run is stopped
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0
        while proc.poll() is None and time.monotonic() - started < seconds:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak = max(peak, int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))))
            except (OSError, StopIteration):
                pass
            time.sleep(1)
        code = proc.poll()
        if code is None:
            proc.kill()
            proc.wait()
            code = 137
        return peak, time.monotonic() - started, code
    result = subprocess.run(["/usr/bin/time", "-f", "%M %e", *cmd], env=env, capture_output=True, text=True)
    kb, took = result.stderr.strip().splitlines()[-1].split()[-2:]
    if result.returncode not in (0, 1, 124, 137):
        print(f"  ! exit {result.returncode}: {result.stderr.strip()[-600:]}", file=sys.stderr)
    return int(kb), float(took), result.returncode


def drop_pg(pg: str) -> None:
    """Empty the throwaway PostgreSQL database between runs (copy-db --replace would too)."""
    import sqlalchemy

    eng = sqlalchemy.create_engine(pg)
    with eng.begin() as conn:
        conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public; CREATE EXTENSION IF NOT EXISTS vector"))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("prepare", "run"):
        p = sub.add_parser(name)
        p.add_argument("--work", type=Path, default=Path("/tmp/mem"))
        p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
        p.add_argument("--db", action="append", default=[], metavar="N=PATH", help="a database of N papers to use (copied)")
    run = sub.choices["run"]
    run.add_argument("--commands", default="ingest,ingest-tar,copy-db,copy-db-pg,eval-beir,thumbnails,recommend,warm,index")
    run.add_argument("--src", action="append", help="source trees to compare (PYTHONPATH); default: src")
    run.add_argument("--pg", default=None, help="a THROWAWAY PostgreSQL database URL for copy-db-pg (emptied)")
    run.add_argument("--seconds", type=float, default=None, help="stop each run after this long (its peak so far; ingest: papers reached)")
    run.add_argument("--in-place", action="store_true", help="run thumbnails, recommend, warm, index on db-N itself, not a copy (large sizes)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    given = dict(d.split("=", 1) for d in args.db)
    if args.what == "prepare":
        for n in args.sizes:
            prepare_files(args.work, n, SOURCE.resolve())
            prepare_db(args.work, n, given.get(str(n)))
        return
    srcs = args.src or ["src"]
    print(f"# python bench/memory.py run --work {args.work} --sizes {' '.join(map(str, args.sizes))} --commands {args.commands} "
          + " ".join(f"--src {s}" for s in srcs) + (f" --pg {args.pg}" if args.pg else "")
          + (f" --seconds {args.seconds:g}" if args.seconds else "") + (" --in-place" if args.in_place else ""))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC; load average at start: {os.getloadavg()[0]:.2f}")
    print("| command | papers | " + " | ".join(f"peak RSS MB ({s})" for s in srcs) + " | seconds | load | command line |")
    print("|---|---|" + "---|" * len(srcs) + "---|---|---|")
    for name in args.commands.split(","):
        for n in args.sizes:
            figures, secs = [], []
            line = ""
            for src in srcs:  # side by side: each tree right after the other
                tmp = args.work / f"scratch-{os.getpid()}"  # one per run: runs may go side by side
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir()
                if name == "copy-db-pg":
                    if not args.pg:
                        break
                    drop_pg(args.pg)
                cmd, copy = command(name, args.work, n, tmp, args.pg)
                if name.startswith("ingest") and not Path(cmd[-1]).exists():
                    break
                if copy is not None and args.in_place:
                    cmd, copy = [str(args.work / f"db-{n}.sqlite3") if c == str(copy) else c for c in cmd], None
                kb, seconds, code = measure(cmd, src, args.work, n, copy, args.seconds)
                reached = ""
                if name.startswith("ingest") and (tmp / "out.sqlite3").exists():
                    con = sqlite3.connect(tmp / "out.sqlite3")
                    reached = f" ({con.execute('SELECT count(*) FROM papers').fetchone()[0]:,} in)" if code in (124, 137) else ""
                    con.close()
                figures.append(f"{kb / 1024:,.0f}{reached}")
                secs.append(f"{seconds:.0f}")
                line = " ".join(Path(c).name if c == PY else c for c in cmd).replace(str(args.work), "$WORK")
                shutil.rmtree(tmp, ignore_errors=True)
            if figures:
                print(f"| {name} | {n:,} | " + " | ".join(figures) + f" | {' / '.join(secs)} | {os.getloadavg()[0]:.1f} | `{line}` |", flush=True)


if __name__ == "__main__":
    main()
