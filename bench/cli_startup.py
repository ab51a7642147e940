"""Start-up of the `broadsheet` command: how long a user waits for `broadsheet --help`, `broadsheet
info`, `broadsheet search x` and `broadsheet settings`, each in a new process as the console
script starts it, beside `python -c pass` (the interpreter alone) in the same run. Targets:
`--help` <= 0.3 s, any command's output <= 1 s.

Each source tree given with --src (default: the installed package) is timed with
PYTHONPATH=SRC; give the old tree first and the new one second for a before/after table (a tree
of an older commit: `git archive COMMIT src | tar -x -C /tmp/old`). Every tree gets its own
SQLite database with the demo's 64 papers (made by that tree's `broadsheet demo --no-serve`),
and a copy of it with vectors (`broadsheet index`) for `search x (embedded)`, which loads the model.
A --src may be a PYTHONPATH ending with the tree (e.g. an older Typer unpacked before it).
Runs are interleaved (round after round over every command and tree) so that drifts in machine
load hit all alike; medians of wall time and of CPU time (user + system of the child) are printed.

    python bench/cli_startup.py --runs 9
    python bench/cli_startup.py --runs 9 --src /tmp/old/src --src src
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [["--help"], ["info"], ["search", "x"], ["settings"]]
CONSOLE_SCRIPT = "import sys; sys.argv[0] = 'broadsheet'; from broadsheet.cli import main; main()"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, cpu s) of one run of ``argv`` to its exit; its output is thrown away."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each command (after one warm-up run)")
    parser.add_argument("--src", action="append", default=[], help="a source tree (the folder holding broadsheet/), or a PYTHONPATH ending with one; repeat")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="broadsheet-startup-"))
    # Without PYTHONDONTWRITEBYTECODE: the warm-up run writes .pyc files, as a user's first run does
    # (with it, every run would compile every module of the tree again).
    skip = ("BROADSHEET_", "PYTHONDONTWRITEBYTECODE")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(skip)} | {"XDG_DATA_HOME": str(work / "xdg")}
    trees = [os.pathsep.join(str(Path(p).resolve()) for p in s.split(os.pathsep)) for s in args.src] or [None]
    cases: list[tuple[str, str, list[str], dict[str, str]]] = [("python -c pass", "", [sys.executable, "-c", "pass"], base_env)]
    for n, tree in enumerate(trees):
        env = dict(base_env)
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        db = str(work / f"tree{n}.sqlite3")
        subprocess.run([sys.executable, "-c", CONSOLE_SCRIPT, "--db", db, "demo", "--no-serve"], env=env, check=True, capture_output=True)
        embedded = str(work / f"tree{n}-embedded.sqlite3")  # the same papers, with vectors
        shutil.copy(db, embedded)
        subprocess.run([sys.executable, "-c", CONSOLE_SCRIPT, "--db", embedded, "index"], env=env, check=True, capture_output=True)
        label = str(tree) if tree is not None else "installed"
        for command in COMMANDS:
            db_args = [] if command == ["--help"] else ["--db", db]
            cases.append((f"broadsheet {' '.join(command)}", label, [sys.executable, "-c", CONSOLE_SCRIPT, *db_args, *command], env))
        cases.append(("broadsheet search x (embedded)", label, [sys.executable, "-c", CONSOLE_SCRIPT, "--db", embedded, "search", "x"], env))

    for _, _, argv, env in cases:  # warm-up: file caches, .pyc files
        timed(argv, env)
    walls: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    cpus: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for _ in range(args.runs):
        for i, (_, _, argv, env) in enumerate(cases):
            wall, cpu = timed(argv, env)
            walls[i].append(wall)
            cpus[i].append(cpu)

    baseline = statistics.median(walls[0])
    print(f"# {' '.join([sys.executable, *sys.argv])}")
    print(f"# {args.runs} runs each, interleaved; load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| command | tree | median wall s | median cpu s | wall / `python -c pass` |")
    print("|---|---|---|---|---|")
    for i, (name, label, _, _) in enumerate(cases):
        wall = statistics.median(walls[i])
        print(f"| `{name}` | {label} | {wall:.3f} | {statistics.median(cpus[i]):.3f} | {wall / baseline:.1f} |")


if __name__ == "__main__":
    main()
