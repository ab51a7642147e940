"""The ``broadsheet`` command: thin commands over the Hub, with progress on long jobs.

Start-up is kept light: this module imports only Typer and the standard library, and each command
imports what it uses (the Hub, SQLAlchemy, numpy, Rich) when it runs, so `broadsheet --help` and a
command's first output are quick (bench/cli_startup.py; tests/test_cli_startup.py keeps it so).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .config import load_settings
from .exceptions import BroadsheetError

if TYPE_CHECKING:
    from rich.console import Console

    from .config import Settings
    from .hub import Hub, IndexProgress, IngestProgress
    from .types import CopyProgress, Rejected, SyncProgress, SyncReport


def _typer(help: str) -> typer.Typer:  # noqa: A002 - Typer's name
    """A command group. Plain help (no Rich): quick, and no type noise such as `<bool>` on flags."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)


app = _typer("Broadsheet: a self-hostable research-papers hub.")


class _LazyConsole:
    """A Rich console made on first use (importing Rich costs a tenth of a second). Not on a
    terminal, lines are never wrapped (a log or a pipe gets each line whole, not cut at 80)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
            self._console.soft_wrap = not self._console.is_terminal
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


err = _LazyConsole(stderr=True)
out = _LazyConsole(stderr=False)

REJECTS_SHOWN = 20  # rejected records printed on the terminal; --rejects FILE keeps them all
PROGRESS_EVERY = 10.0  # seconds between two progress lines when stderr is not a terminal


class _State:
    settings: Settings


state = _State()


@app.callback()
def _main(
    db: Annotated[Optional[str], typer.Option("--db", metavar="URL", help="Database URL or SQLite file path.", envvar=None)] = None,
    config: Annotated[Optional[Path], typer.Option("--config", metavar="FILE", help="TOML settings file.")] = None,
) -> None:
    try:
        state.settings = load_settings(config, database_url=_url(db) if db else None)
    except BroadsheetError as e:
        _fail(str(e))


def _url(db: str) -> str:
    """A database URL, or a SQLite file path made into one."""
    return db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"


def _fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    from .config import mask_secrets, secret_values

    settings = getattr(state, "settings", None)
    message = mask_secrets(message, secret_values(settings)) if settings else message
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _hub(settings: Settings | None = None) -> Hub:
    from .hub import make_hub

    try:
        return make_hub(settings or state.settings)
    except BroadsheetError as e:
        _fail(str(e))
        raise  # unreachable: _fail exits


# -- progress: a Rich bar on a terminal, plain lines in a log or a pipe --------------------------


def duration(seconds: float) -> str:
    """'45s', '1m40s', '2h05m'."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def progress_line(what: str, done: float, total: float | None, elapsed: float, *, unit: str = "", size: bool = False) -> str:
    """One progress line for logs: 'embedded 1,000 / 5,000 papers (20 %), 40/s, ETA 1m40s'.
    ``size``: amounts are bytes, shown in kB, MB or GB (by the total)."""
    scale = 1.0
    if size:
        scale, unit = next((s, u) for s, u in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")) if (total or done) >= s or u == "kB")

    def amount(n: float) -> str:
        return f"{n / scale:,.1f}" if size else f"{int(n):,}"

    line = f"{what} {amount(done)}" + (f" / {amount(total)}" if total else "") + (f" {unit}" if unit else "")
    if total:
        line += f" ({min(100, int(100 * done / total))} %)"
    rate = done / elapsed if elapsed > 0 else 0.0
    if rate > 0:
        line += f", {amount(rate) + ' ' + unit if size else f'{rate:,.0f}'}/s"
        if total and done < total:
            line += f", ETA {duration((total - done) / rate)}"
    return line


@dataclass
class _Task:
    description: str
    total: float | None
    fields: dict[str, Any]
    completed: float = 0
    started: float = field(default_factory=time.monotonic)
    shown: bool = False  # the current state has been printed


class _Lines:
    """Progress as plain lines, for a stderr that is not a terminal: the same calls as Rich's
    Progress (add_task, update); a line per task every PROGRESS_EVERY seconds, and the last state
    of each task at the end."""

    def __init__(self, line: Callable[[_Task, float], str], every: float = PROGRESS_EVERY) -> None:
        self._line, self._every = line, every
        self._tasks: list[_Task] = []
        self._last = time.monotonic()

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        for task in self._tasks:
            if not task.shown:
                self._show(task)

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        self._tasks.append(_Task(description, total, fields))
        return len(self._tasks) - 1

    def update(self, task_id: int, *, completed: float | None = None, total: float | None = None, **fields: Any) -> None:
        task = self._tasks[task_id]
        if completed is not None:
            task.completed = completed
        if total is not None:
            task.total = total
        task.fields.update(fields)
        task.shown = False
        if time.monotonic() - self._last >= self._every:
            self._show(task)

    def _show(self, task: _Task) -> None:
        now = time.monotonic()
        err.print(self._line(task, now - task.started), highlight=False, markup=False, soft_wrap=True)
        task.shown, self._last = True, now


def _progress(columns: Callable[[], tuple[Any, ...]], line: Callable[[_Task, float], str]) -> Any:
    """Rich's progress bar with these columns on a terminal; plain lines made by `line` otherwise."""
    if err.is_interactive:
        from rich.progress import Progress

        return Progress(*columns(), console=err.console)
    return _Lines(line)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Files: JSONL, HF daily JSON, arXiv Atom, OAI-PMH XML; plain, .gz or .tar.gz.", exists=True, dir_okay=False)],
    rejects: Annotated[Optional[Path], typer.Option("--rejects", help="Write every rejected record (JSON Lines) here.")] = None,
) -> None:
    """Load papers (and daily listings) from files. Re-running is safe: nothing is duplicated."""

    def columns() -> tuple[Any, ...]:
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn

        return (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TextColumn("{task.fields[papers]} papers, {task.fields[rejected]} rejected"), TimeRemainingColumn())  # fmt: skip

    def line(task: _Task, elapsed: float) -> str:
        return (progress_line(task.description, task.completed, task.total, elapsed, size=True)
                + f"; {task.fields['papers']:,} papers, {task.fields['rejected']:,} rejected")  # fmt: skip

    from .ingest import lower_priority

    lower_priority()  # a server on this machine answers first
    hub = _hub()
    kept = rejects.open("w", encoding="utf-8") if rejects else None  # every rejected record, as it comes
    try:
        with _progress(columns, line) as progress:
            tasks: dict[str, int] = {}

            def show(p: IngestProgress) -> None:
                if p.path not in tasks:
                    tasks[p.path] = progress.add_task(Path(p.path).name, total=p.bytes_total, papers=0, rejected=0)
                progress.update(tasks[p.path], completed=p.bytes_done, papers=p.papers_seen, rejected=p.rejected)

            def keep(r: Rejected) -> None:
                kept.write(json.dumps({"where": r.source_ref, "reason": r.reason}) + "\n")  # type: ignore[union-attr]

            report = hub.ingest_paths(paths, on_progress=show, on_rejected=keep if kept else None)
        waiting = hub.embedding_status().waiting if report.added + report.updated else 0
        lacking = hub.count_lacking_arxiv_metadata() if report.added + report.updated else 0
        enriched = hub.enrich_arxiv() if lacking and hub.settings.ingest_enrich else None
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
        if kept:
            kept.close()

    notes = len(report.notices) + report.notices_more
    for n in report.notices[:REJECTS_SHOWN]:
        err.print(f"note {n.source_ref}: {n.message}", highlight=False, markup=False)
    if notes > REJECTS_SHOWN:
        err.print(f"... and {notes - REJECTS_SHOWN} more notes")
    names = {p.name for p in paths}
    bad_files = [r for r in report.rejected if r.source_ref in names]  # unreadable, at all or part-way
    for r in bad_files:
        err.print(f"could not read {r.source_ref}: {r.reason}", highlight=False, markup=False)
    records = [r for r in report.rejected if r.source_ref not in names]
    bad_records = len(records) + report.rejected_more
    for r in records[:REJECTS_SHOWN]:
        err.print(f"rejected {r.source_ref}: {r.reason}", highlight=False, markup=False)
    if bad_records > REJECTS_SHOWN:
        err.print(f"... and {bad_records - REJECTS_SHOWN} more rejected records"
                  + ("" if rejects else " (use --rejects FILE to keep them all)"))
    out.print(
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.listings_added} listings added, {bad_records} rejected"
        + (f", {notes} malformed documents read anyway (see notes)" if notes else "")
        + (f", {len(bad_files)} of {len(paths)} files could not be read whole" if bad_files else ""),
        highlight=False,
    )
    if enriched is not None:
        for problem in enriched.problems:
            err.print(f"[red]stopped:[/red] {problem}", highlight=False)
        out.print(f"arXiv metadata fetched for {enriched.updated} of {lacking} papers that lacked it "
                  f"({len(enriched.notices)} unknown to arXiv)", highlight=False)  # fmt: skip
    elif lacking:
        out.print(
            f"{lacking} papers have no arXiv metadata (categories, comments, DOI: Hugging Face records carry none): "
            "`broadsheet enrich` fetches it from the arXiv export API (100 papers a request, 3 s apart), "
            "or set ingest_enrich = true to do it on ingest",
            highlight=False, markup=False, soft_wrap=True,
        )  # fmt: skip
    if waiting:
        out.print(
            f"{waiting} papers wait for embedding (search finds them by words meanwhile): a running "
            "`broadsheet serve` or `worker` embeds them in the background at low priority; "
            "`broadsheet index` embeds them now, at full speed (about 13 papers/s on 2 cores)",
            highlight=False, markup=False, soft_wrap=True,
        )  # fmt: skip
    if report.rejected or report.rejected_more:
        raise typer.Exit(1)


@app.command()
def info(as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False) -> None:
    """Database location, schema version and counts."""
    hub = _hub()
    try:
        stats = hub.stats()
        embedding = hub.embedding_status()
    finally:
        hub.close()
    data = asdict(stats)
    data.pop("extra")
    if as_json:
        print(json.dumps({**data, "embeddings": {**asdict(embedding), "waiting": embedding.waiting}}))
        return
    for key, value in data.items():
        print(f"{key:>15}: {value}")
    print(f"{'embeddings':>15}: {_embedding_line(embedding)}")


def _embedding_line(s) -> str:  # noqa: ANN001 - an EmbeddingStatus
    if s.model is None:
        return "off (embedder = none: search by words only)"
    line = f"{s.embedded} of {s.papers} papers ({s.model}), {s.waiting} waiting"
    if s.holder:
        line += f"; being embedded in the background by {s.holder}"
    elif s.waiting:
        line += "; a running `serve` or `worker` embeds them in the background, `broadsheet index` at once"
    return line


@app.command()
def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help='Query: words, "phrases", -exclusions, author:, cat:, since:, until:.')],
    mode: Annotated[str, typer.Option(help="hybrid, lexical or semantic.")] = "hybrid",
    limit: Annotated[int, typer.Option(help="How many results (1-100).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array of hits, best first ([] when nothing matches).")] = False,
) -> None:
    """Search papers, and say why each matched."""
    hub = _hub()
    try:
        page = hub.search(query, mode=mode, limit=limit)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    if as_json:
        print(json.dumps([_hit_json(hit) for hit in page.hits]))
        return
    from .search.explain import coverage_note

    if note := coverage_note(page):
        err.print(f"note: {note}", highlight=False, markup=False)
    if not page.hits:
        out.print("no papers match", highlight=False)
    for n, hit in enumerate(page.hits, 1):
        out.print(f"{n:>2}. [bold]{_marked(hit.title)}[/bold]  [dim]{hit.paper.arxiv_id}[/dim]", highlight=False)
        out.print(f"    {_why(hit)}", style="dim", highlight=False, markup=False)
        out.print(f"    {_marked(hit.snippet)}", highlight=False)


def _marked(snippet) -> str:  # noqa: ANN001 - a Snippet
    from rich.markup import escape

    return "".join(f"[yellow]{escape(t)}[/yellow]" if hit else escape(t) for t, hit in snippet)


def _why(hit) -> str:  # noqa: ANN001 - a SearchHit
    from .search.explain import why

    return why(hit)


def _hit_json(hit) -> dict:  # noqa: ANN001 - a SearchHit
    return {
        "id": hit.paper.arxiv_id,
        "title": hit.paper.title,
        "organization": hit.paper.organization.name if hit.paper.organization else None,
        "score": hit.score,
        "lexical_rank": hit.lexical_rank,
        "lexical_score": hit.lexical_score,
        "semantic_rank": hit.semantic_rank,
        "semantic_score": hit.semantic_score,
        "lexical_share": hit.lexical_share,
        "semantic_imputed": hit.semantic_imputed,
        "matched_terms": list(hit.matched_terms),
        "snippet": "".join(t for t, _ in hit.snippet),
    }


@app.command()
def recommend(
    user: Annotated[str, typer.Argument(metavar="USER", help="The member's user name.")],
    window: Annotated[str, typer.Option(help="today, week or month.")] = "week",
    day: Annotated[str | None, typer.Option(help="The window's last day (YYYY-MM-DD); default today or the last day with papers.")] = None,
    limit: Annotated[int, typer.Option(help="How many papers (1-500).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: the window and the papers with their reasons.")] = False,
) -> None:
    """A member's "For you": new papers ranked by what they saved, upvoted, dismissed and follow."""
    from datetime import date as _date

    hub = _hub()
    try:
        last = _date.fromisoformat(day) if day else None
        page = hub.recommend(hub.get_user(user), window=window, day=last, limit=limit)
    except ValueError as e:  # a malformed --day (InvalidInputError is a ValueError too)
        _fail(f"--day: {e}" if not isinstance(e, BroadsheetError) else str(e))
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    if as_json:
        print(json.dumps(_recommendations_json(page)))
        return
    span = page.first.isoformat() if page.first == page.last else f"{page.first} .. {page.last}"
    note = " (cold start: nothing saved or upvoted yet, so trending)" if page.cold_start else ""
    out.print(f"For you, {page.window} ({span}): {page.candidates} new papers ranked by {page.model}{note}", highlight=False, markup=False)
    if page.hidden_by_mutes:
        out.print(f"{page.hidden_by_mutes} papers hidden by your mutes", style="dim", highlight=False, markup=False)
    for n, item in enumerate(page.items, 1):
        out.print(f"{n:>2}. {item.paper.title}  ({item.paper.arxiv_id})", highlight=False, markup=False)
        for reason in item.reasons:
            out.print(f"    {reason}", style="dim", highlight=False, markup=False)


def _recommendations_json(page) -> dict:  # noqa: ANN001 - a RecommendationPage
    return {
        "window": page.window,
        "first": page.first.isoformat(),
        "last": page.last.isoformat(),
        "cold_start": page.cold_start,
        "hidden_by_mutes": page.hidden_by_mutes,
        "candidates": page.candidates,
        "model": page.model,
        "items": [
            {
                "id": r.paper.arxiv_id,
                "title": r.paper.title,
                "score": r.score,
                "closest": [{"id": a, "title": t} for a, t in r.closest],
                "follows": [{"kind": f.kind, "value": f.value} for f in r.follows],
                "words": list(r.words),
                "trending": r.trending,
                "reasons": list(r.reasons),
            }
            for r in page.items
        ],
    }


@app.command()
def index(
    status: Annotated[bool, typer.Option("--status", help="Say how far embedding is across every worker (papers, batches, rates, ETA) and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --status: one JSON object.")] = False,
) -> None:
    """Embed papers for semantic search. Only new or changed papers; resumable.

    Run it on as many machines (or processes) as you like against one PostgreSQL database: each
    claims batches of papers, so together they embed every paper once; a killed one's batch goes
    to another when its lease (index_lease_seconds) expires."""
    if status:
        return _index_status(as_json)
    if as_json:
        _fail("--json goes with --status")

    def columns() -> tuple[Any, ...]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

        return TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()

    hub = _hub()
    try:
        # steps: each paper is one step for its whole text and one for its long tail (passages),
        # counted across every worker on the database
        with _progress(columns, lambda task, elapsed: progress_line("embedding", task.completed, task.total, elapsed)) as progress:
            task = progress.add_task("embed", total=None)

            def show(p: IndexProgress) -> None:
                progress.update(task, completed=p.done, total=p.total)

            done = hub.index_embeddings(on_progress=show)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(f"{done} papers embedded", highlight=False)


def _index_status(as_json: bool) -> None:
    hub = _hub()
    try:
        s = hub.backfill_status()
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    if s is None:
        _fail("embedder = none: there is nothing to embed")
    if as_json:
        data = asdict(s)
        data["live_workers"] = s.live_workers
        print(json.dumps(data, default=str))
        return
    share = f" ({100 * s.embedded // s.papers} %)" if s.papers else ""
    print(f"{s.embedded:,} of {s.papers:,} papers have a current vector{share} ({s.model}); passages: {s.passages:,}")
    batches = s.batches_done + s.batches_claimed + s.batches_waiting
    print(f"batches: {s.batches_done:,} of {batches:,} done, {s.batches_claimed:,} claimed, {s.batches_waiting:,} waiting")
    print(f"workers: {s.live_workers} live of {len(s.workers)}")
    for w in s.workers:
        rate = f"{w.rate:,.1f}/s" if w.rate else "-"
        print(f"  {w.worker}  {w.state:<8}  {w.written:,} vectors  {rate}  last seen {w.last_seen:%Y-%m-%d %H:%M:%S}")
    if s.remaining == 0:
        print("done: every paper has a current vector")
    elif s.eta_seconds is not None:
        print(f"{s.remaining:,} vectors to go at {s.rate:,.1f}/s: ETA {duration(s.eta_seconds)}")
    else:
        print(f"{s.remaining:,} vectors to go; no worker is running (start `broadsheet index`)")


@app.command("eval-beir")
def eval_beir(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="A BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv.", exists=True, file_okay=False)],
    split: Annotated[str, typer.Option(help="Which qrels file to use.")] = "test",
    mode: Annotated[str, typer.Option(help="hybrid, lexical or semantic.")] = "hybrid",
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Keep the evaluation database in this folder and reuse it (re-runs skip loading and embedding).", file_okay=False)] = None,
    database: Annotated[Optional[str], typer.Option("--database", help="Evaluate in this database instead (e.g. an empty PostgreSQL one made for it; a re-run reuses what it loaded).")] = None,
) -> None:
    """Measure search quality on a BEIR collection. Prints one JSON object (ndcg@10, recall@100).

    The collection is loaded into a throwaway SQLite database (never the configured one), or the
    database given by --database."""
    import tempfile

    from .hub import evaluate_beir

    with tempfile.TemporaryDirectory(prefix="broadsheet-eval-") as tmp:
        where = keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        url = database or f"sqlite:///{where.resolve()}/{folder.resolve().name}.sqlite3"
        settings = state.settings.replace(database_url=url)
        try:
            result = evaluate_beir(settings, folder, split=split, mode=mode)
        except BroadsheetError as e:
            _fail(str(e))
    print(json.dumps(result))


@app.command("eval-recs")
def eval_recs(
    interactions: Annotated[Path, typer.Argument(metavar="INTERACTIONS", help='JSON Lines {"user", "arxiv_id", "time"} over papers in the database.')],
    cutoff: Annotated[str, typer.Option(help="Learn from what came before this day (YYYY-MM-DD); rank the papers new in the 30 days from it.")],
    k: Annotated[int, typer.Option("--k", help="Cut-off of recall@k and nDCG@k.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    allow_authors: Annotated[bool, typer.Option("--allow-authors", help="Also measure the shipped model plus shared authors (it reads author names).")] = False,
) -> None:
    """Measure the recommendations: the shipped model against popularity, recency and content baselines."""
    from datetime import date as _date

    try:
        day = _date.fromisoformat(cutoff)
    except ValueError:
        _fail(f"--cutoff: not a date (YYYY-MM-DD): {cutoff!r}")
    def columns() -> tuple[Any, ...]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

        return TextColumn("users"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()

    hub = _hub()
    try:
        with _progress(columns, lambda task, elapsed: progress_line("users", task.completed, task.total, elapsed)) as bar:
            task = bar.add_task("users", total=None)
            result = hub.evaluate_recommendations(
                interactions, day, k=k, allow_authors=allow_authors, on_user=lambda n, total: bar.update(task, completed=n, total=total)
            )
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    report = result.as_dict()
    if as_json:
        print(json.dumps(report))
        return
    out.print(
        f"{report['users']} users, {report['candidates']} candidates ({report['window'][0]} .. {report['window'][1]}), k = {k}",
        highlight=False,
    )
    for name, v in sorted(report["scores"].items(), key=lambda kv: -kv[1]["recall"]):
        mark = "  <- shipped" if name == "shipped" else ""
        out.print(f"  {name:<28} recall@{k} {v['recall']:.3f}  nDCG@{k} {v['ndcg']:.3f}{mark}", highlight=False, markup=False)
    out.print(
        f"shipped ({report['shipped']}) / best baseline ({report['best_baseline']['name']}): {report['shipped_vs_best_baseline']}; "
        f"/ popularity: {report['shipped_vs_popularity']}",
        highlight=False, markup=False,
    )
    for problem in report["problems"]:
        err.print(f"skipped {problem}", highlight=False, markup=False)


@app.command("copy-db")
def copy_db(
    source: Annotated[str, typer.Option("--from", help="Database URL (or SQLite file path) to copy from.")],
    target: Annotated[str, typer.Option("--to", help="Database URL (or SQLite file path) to copy into; must be empty.")],
    replace: Annotated[bool, typer.Option("--replace", help="Delete what the target holds first.")] = False,
) -> None:
    """Copy a whole database (SQLite and PostgreSQL, either way).

    Everything: papers, listings, users, votes, comments, subscriptions, the digest outbox, jobs,
    sync state, embeddings; verified by counting the rows of every table on both sides."""
    from .hub import copy_database

    def columns() -> tuple[Any, ...]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

        return TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()

    with _progress(columns, lambda task, elapsed: progress_line(f"copied {task.description}", task.completed, task.total, elapsed, unit="rows")) as progress:
        tasks: dict[str, int] = {}

        def show(p: CopyProgress) -> None:
            if p.table not in tasks:
                tasks[p.table] = progress.add_task(p.table, total=max(p.total, 1) if p.total else 0)
            progress.update(tasks[p.table], completed=p.done)

        try:
            copied = copy_database(_url(source), _url(target), replace=replace, on_progress=show)
        except BroadsheetError as e:
            _fail(str(e))
    summary = ", ".join(f"{n} {table}" for table, n in copied.items() if n)
    out.print(f"copied and verified: {summary}" if summary else "nothing to copy: the source is empty", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web site and API."""
    _check_port(host, port)
    _serve(_hub(), host, port)


def _check_port(host: str, port: int) -> None:
    """Exit 2 with a clear message, before any banner, when the server could not listen there."""
    import errno
    import socket

    def bind(p: int) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(host, p, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind(address)

    try:
        bind(port)
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            _fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
        for other in range(port + 1, min(port + 21, 65536)):
            try:
                bind(other)
            except OSError:
                continue
            _fail(f"port {port} is in use: try --port {other}")
        _fail(f"port {port} is in use: try another --port")


def _serve(hub: Hub, host: str, port: int) -> None:
    import uvicorn

    from .logs import configure_logging
    from .web import create_app

    s = hub.settings
    configure_logging(s)  # access log, failed requests, errors: stderr, secrets masked
    out.print(f"Broadsheet on http://{host}:{port}/  (Ctrl+C to stop)", highlight=False)
    for warning in _serve_warnings(s):
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    hub.warm_up()  # in-memory search indexes build in the background; FTS5 serves meanwhile
    hub.start_background_embedding()  # what has no vector yet, at low priority
    hub.start_background_extras()  # thumbnails, keywords, summaries of new papers, at low priority
    hub.start_background_recommendations()  # For you's windows built before a member asks, at low priority
    if s.submit_fetch and hub.fetch_paper is None:
        hub.fetch_paper = hub.fetch_arxiv_paper  # submissions of papers not in the database
    proxies = [p.strip() for p in s.trusted_proxies.split(",") if p.strip()]
    try:
        uvicorn.run(
            create_app(hub), host=host, port=port, log_config=None, log_level="info", access_log=False,
            proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
        )  # fmt: skip
    finally:
        hub.close()


def _serve_warnings(s: Settings) -> list[str]:
    """What `serve` should tell the operator at start about its settings. The site's digest form
    and password reset send email whatever the schedule says, so these hold for every site."""
    warnings = []
    if not s.base_url:
        warnings.append(
            "base_url is not set: pages and feeds link to the address each request came to, but emails "
            "(digest confirmations, password resets, digests) cannot link back and are refused; set base_url "
            "(BROADSHEET_BASE_URL) to the site's public address, e.g. https://papers.example.org"
        )
    if not s.smtp_host:
        warnings.append("smtp_host is not set: no mail server; emails wait in the outbox (`broadsheet digest status`)")
    return warnings


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the demo database and exit.")] = False,
) -> None:
    """Serve a demo: the built-in papers, no network needed.

    The papers go into the configured database (by default the one every command opens), when it
    is empty or already the demo's; a database holding other papers is left alone."""
    from .demo import load_demo_papers
    from .exceptions import PaperNotFoundError

    if not no_serve:
        _check_port(host, port)
    demo_papers = load_demo_papers()
    hub = _hub()
    try:
        held = hub.stats().papers
        if held:
            hub.get_paper(demo_papers[0][0].arxiv_id)  # already the demo's database: load again (a no-op)
    except PaperNotFoundError:
        where = hub.stats().database
        hub.close()
        _fail(f"the database {where} holds {held:,} papers: the demo goes into an empty database "
              f"(broadsheet --db demo.sqlite3 demo), and `broadsheet serve` serves this one")  # fmt: skip
    report = hub.add_papers(item for pair in demo_papers for item in pair)
    err.print("embedding the demo papers for search by meaning (once; a few seconds)", highlight=False)
    try:
        embedded = hub.index_embeddings()  # search by meaning works from the start
    except BroadsheetError as e:
        hub.close()
        _fail(str(e))
    stats = hub.stats()
    out.print(f"demo database {stats.database}: {stats.papers} papers, {stats.listings} listings "
              f"({report.added} added now, {embedded} embedded)", highlight=False)
    if no_serve:
        hub.close()
        return
    _serve(hub, host, port)


# -- live sources: broadsheet sync arxiv | oai | hf-daily (broadsheet.sync) ---------------------

sync_app = _typer("Fetch papers from the live sources. arXiv's API and OAI-PMH, Hugging Face daily papers.")
app.add_typer(sync_app, name="sync")

_DAYS = {"formats": ["%Y-%m-%d"], "metavar": "YYYY-MM-DD"}
Since = Annotated[Optional[datetime], typer.Option("--since", **_DAYS, help="From this day on (inclusive, UTC).")]
Until = Annotated[Optional[datetime], typer.Option("--until", **_DAYS, help="Up to this day (inclusive; default: today).")]
BaseUrl = Annotated[Optional[str], typer.Option("--base-url", help="Endpoint to use instead of the setting (a mirror, a test server).")]
Delay = Annotated[Optional[float], typer.Option("--delay", help="Seconds between requests, instead of the setting.", min=0)]
Embed = Annotated[Optional[bool], typer.Option("--embed/--no-embed", help="Embed what the sync added or changed (default: the sync_embed setting).")]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _run_sync(label: str, call: Callable[..., SyncReport]) -> None:
    """Run one sync with a progress bar, print its report; exit 1 when it stopped early."""

    def columns() -> tuple[Any, ...]:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn())  # fmt: skip

    def line(task: _Task, elapsed: float) -> str:
        detail = task.fields["detail"]
        return progress_line(task.description, task.completed, task.total, elapsed, unit="records") + (f"; {detail}" if detail else "")

    if not state.settings.contact_email:
        err.print("note: set contact_email (BROADSHEET_CONTACT_EMAIL): arXiv asks harvesters for a contact address", highlight=False)
    hub = _hub()
    try:
        with _progress(columns, line) as progress:
            tasks: dict[str, int] = {}

            def show(p: SyncProgress) -> None:
                if p.phase not in tasks:
                    tasks[p.phase] = progress.add_task(f"{label} {p.phase}", total=p.expected, detail="")
                detail = f"{p.pages} pages, {p.added} added, {p.updated} updated" if p.phase == "fetching" else ""
                if p.note:
                    detail = p.note[-100:]
                progress.update(tasks[p.phase], completed=p.records, total=p.expected, detail=detail)

            report = call(hub, show)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    for line in report.retried:
        err.print(f"survived: {line}", style="dim", highlight=False, markup=False)
    for n in report.notices[:REJECTS_SHOWN]:
        err.print(f"note {n.source_ref}: {n.message}", highlight=False, markup=False)
    for r in report.rejected[:REJECTS_SHOWN]:
        err.print(f"rejected {r.source_ref}: {r.reason}", highlight=False, markup=False)
    if len(report.rejected) > REJECTS_SHOWN:
        err.print(f"... and {len(report.rejected) - REJECTS_SHOWN} more rejected records")
    for problem in report.problems:
        err.print(f"[red]stopped:[/red] {problem}", highlight=False)
    out.print(
        f"{label}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.listings_added} listings added, {len(report.rejected)} rejected; "
        f"{report.pages} pages in {report.requests} requests, {report.embedded} embedded"
        + (f", {report.enriched} given arXiv metadata" if report.enriched else "")
        + (f"; resumed from token {report.resumed_from}" if report.resumed_from else "")
        + ("" if report.complete else "; INCOMPLETE (run it again to go on)"),
        highlight=False,
        soft_wrap=True,  # one line, for logs and scripts
    )
    if not report.complete:
        raise typer.Exit(1)


@sync_app.command("arxiv")
def sync_arxiv(
    category: Annotated[list[str], typer.Option("--category", "-c", metavar="CATEGORY", help="arXiv category (repeatable): cs.LG, hep-th, math.")] = [],  # noqa: B006 - Typer's way
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="arXiv API query, e.g. 'ti:diffusion AND au:ho'.")] = None,
    since: Since = None,
    until: Until = None,
    max_results: Annotated[Optional[int], typer.Option("--max-results", help="Stop after this many results (at most 30,000).")] = None,
    page_size: Annotated[Optional[int], typer.Option("--page-size", help="Results per request (at most 2,000).")] = None,
    base_url: BaseUrl = None,
    delay: Delay = None,
    embed: Embed = None,
) -> None:
    """Papers from the arXiv export API. By category, query and last-update dates (--since/--until)."""
    _run_sync("arxiv", lambda hub, show: hub.sync_arxiv(
        category, query, _day(since), _day(until), base_url=base_url, delay=delay,
        page_size=page_size, max_results=max_results, embed=embed, on_progress=show,
    ))  # fmt: skip


@sync_app.command("oai")
def sync_oai(
    set_spec: Annotated[Optional[str], typer.Option("--set", help="OAI-PMH set, e.g. cs, physics:hep-th (default: all).")] = None,
    from_: Annotated[Optional[datetime], typer.Option("--from", **_DAYS, help="Records changed on or after this day (default: the day the last finished harvest began).")] = None,
    until: Until = None,
    fmt: Annotated[str, typer.Option("--format", help="Metadata format: arXiv or oai_dc.")] = "arXiv",
    full: Annotated[bool, typer.Option("--full", help="Without --from, harvest everything, not only what changed since the last harvest.")] = False,
    base_url: BaseUrl = None,
    delay: Delay = None,
    embed: Embed = None,
) -> None:
    """Harvest arXiv OAI-PMH, resumably. An interrupted harvest goes on where it stopped when re-run with the same options."""
    _run_sync("oai", lambda hub, show: hub.sync_oai(
        set_spec, _day(from_), _day(until), fmt, full=full, base_url=base_url, delay=delay, embed=embed, on_progress=show,
    ))  # fmt: skip


@sync_app.command("hf-daily")
def sync_hf_daily(
    day: Annotated[Optional[datetime], typer.Option("--date", **_DAYS, help="One day.")] = None,
    since: Since = None,
    until: Until = None,
    base_url: BaseUrl = None,
    delay: Delay = None,
    embed: Embed = None,
    enrich: Annotated[Optional[bool], typer.Option("--enrich/--no-enrich", help="Fetch the new papers' arXiv metadata (categories, ...) right after (default: the arxiv_enrich setting).")] = None,
) -> None:
    """Hugging Face daily papers. Listings, upvotes, submitters, repos (default: the last hf_days days)."""
    _run_sync("hf-daily", lambda hub, show: hub.sync_hf_daily(
        _day(day), _day(since), _day(until), base_url=base_url, delay=delay, embed=embed, enrich=enrich, on_progress=show,
    ))  # fmt: skip


@app.command()
def enrich(
    base_url: BaseUrl = None,
    delay: Delay = None,
    embed: Embed = None,
) -> None:
    """Fetch arXiv metadata (categories, comments, DOI, journal reference, version) for papers that
    lack it, e.g. loaded from Hugging Face records: batched arXiv export API requests, 3 s apart."""
    _run_sync("enrich", lambda hub, show: hub.enrich_arxiv(base_url=base_url, delay=delay, embed=embed, on_progress=show))


@sync_app.command("github")
def sync_github(
    base_url: BaseUrl = None,
    everything: Annotated[bool, typer.Option("--all", help="Also the repositories checked in the last 20 hours.")] = False,
) -> None:
    """GitHub stars of the repositories papers name (GitHub's REST API; github_token optional).
    Stops, and says when to run again, when GitHub's rate limit is used up."""
    hub = _hub()
    try:
        report = hub.sync_github(base_url=base_url, everything=everything)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(report.summary(), highlight=False, markup=False)
    if not report.complete:
        raise typer.Exit(1)


@app.command()
def thumbnails(
    since: Annotated[Optional[datetime], typer.Option("--since", **_DAYS, help="Papers listed on this day or later (default: every listed paper).")] = None,
    paper: Annotated[list[str], typer.Option("--paper", metavar="ID", help="This paper (repeatable), listed or not.")] = [],  # noqa: B006 - Typer's way
    limit: Annotated[int, typer.Option("--limit", help="At most this many papers (one arXiv request each, 3 s apart).", min=1)] = 1000,
    retry: Annotated[bool, typer.Option("--retry", help="Try again the papers that had no PDF or a broken one.")] = False,
) -> None:
    """Render thumbnails (each paper's first PDF page, fetched from arXiv) that are missing.
    Papers without a PDF keep their generated card."""
    hub = _hub()
    try:
        report = hub.make_thumbnails(since=_day(since), arxiv_ids=paper or None, limit=limit, retry=retry)
        counts = hub.thumbnail_counts()
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(report.summary(), highlight=False, markup=False)
    out.print("stored: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"), highlight=False)
    if not report.complete:
        raise typer.Exit(1)


@app.command()
def keywords(
    limit: Annotated[int, typer.Option("--limit", help="At most this many papers.", min=1)] = 1000,
) -> None:
    """Extract keyphrases from the titles and abstracts of embedded papers that have none yet
    (ranked by the search embedder; papers without a vector wait for `broadsheet index`)."""
    hub = _hub()
    try:
        done = hub.extract_keywords(limit=limit)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(f"keywords extracted for {done} papers", highlight=False)


@app.command()
def summarize(
    limit: Annotated[int, typer.Option("--limit", help="At most this many papers.", min=1)] = 100,
) -> None:
    """One-line summaries of listed papers from the model at summarizer_url (off when unset)."""
    hub = _hub()
    if not hub.settings.summarizer_url or not hub.settings.summarizer_model:
        hub.close()
        _fail("set summarizer_url and summarizer_model (an OpenAI-compatible endpoint) first")
    try:
        report = hub.make_summaries(limit=limit)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(report.summary(), highlight=False, markup=False)
    if report.problems:
        raise typer.Exit(1)


user_app = _typer("Manage accounts.")
app.add_typer(user_app, name="user")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name: 2-32 letters, digits, '-' or '_'.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given.")
    ],
    email: Annotated[Optional[str], typer.Option("--email", help="Email address.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May hide papers and comments.")] = False,
) -> None:
    """Create an account (the way to make the first admin)."""
    hub = _hub()
    try:
        user = hub.create_user(name, password, email=email, is_admin=admin)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(f"created {'admin' if user.is_admin else 'user'} {user.name}", highlight=False)


@user_app.command("set-password")
def user_set_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    password: Annotated[
        str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True, help="Asked for when not given.")
    ],
) -> None:
    """Set an account's password (no current password needed); its sessions are logged out."""
    hub = _hub()
    try:
        user = hub.set_password(name, password)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    out.print(f"password of {user.name} set; its sessions are logged out", highlight=False)


# -- a member's library (README "Your library") ---------------------------------------------------

library_app = _typer("A member's library of saved papers.")
app.add_typer(library_app, name="library")


@library_app.command("import")
def library_import(
    user: Annotated[str, typer.Argument(metavar="USER", help="The member whose library it is.")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="BibTeX (Zotero, Mendeley, Google Scholar), a list of arXiv ids or addresses, or a Hugging Face collection JSON.")],
    collection: Annotated[Optional[str], typer.Option("--collection", metavar="NAME", help="Collection to put the papers in (made if missing; default: Saved).")] = None,
    fetch: Annotated[Optional[bool], typer.Option("--fetch/--no-fetch", help="Fetch papers not in the database from arXiv (default: the submit_fetch setting).")] = None,
) -> None:
    """Import a library file into a member's collection; print what landed and every entry that
    did not, with its line. Exit code 0 when something landed, 1 when nothing did."""
    try:
        data = file.read_bytes()
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror or e}")
    hub = _hub()
    try:
        member = hub.get_user(user)
        report = hub.import_library(
            member, data, collection=collection,
            fetch=hub.settings.submit_fetch if fetch is None else fetch, interactive=False,
        )  # fmt: skip
    except BroadsheetError as e:
        _fail(f"{file}: {e}")
    finally:
        hub.close()
    for problem in report.problems:
        err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    fetched = f", {report.fetched} of them fetched from arXiv" if report.fetched else ""
    out.print(
        f"{file.name}: {report.entries} entries read ({report.format}); {report.added} paper{'' if report.added == 1 else 's'} added to "
        f"{report.collection.name}, {report.already} already there{fetched}; {len(report.problems)} not matched",
        highlight=False, markup=False, soft_wrap=True,
    )  # fmt: skip
    raise typer.Exit(0 if report.matched else 1)


# -- email digests and the worker (docs/dev.md "Digests"; README "Email digests") ---------------

subscription_app = _typer("Manage email digest subscriptions.")
app.add_typer(subscription_app, name="subscription")
digest_app = _typer("Compose and send email digests.")
app.add_typer(digest_app, name="digest")


@subscription_app.command("add")
def subscription_add(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="Email address.")],
    frequency: Annotated[str, typer.Option(help="daily or weekly.")] = "daily",
    topic: Annotated[Optional[list[str]], typer.Option("--topic", help="A search query (also cat:cs.LG, author:\"Name\"); repeat for more.")] = None,
    trending: Annotated[Optional[int], typer.Option("--trending", help="Trending papers per digest (0: none; default: digest_trending_top).")] = None,
    confirmed: Annotated[bool, typer.Option("--confirmed", help="Skip the confirmation email (only for addresses you know want it).")] = False,
) -> None:
    """Subscribe an address. It gets a confirmation email first unless --confirmed."""
    hub = _hub()
    try:
        sub = hub.subscribe(email, frequency=frequency, topics=topic or (), trending_top=trending, confirmed=confirmed)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    state_ = "confirmed" if sub.confirmed_at else "waiting for confirmation (email sent or queued)"
    out.print(f"subscription {sub.id}: {sub.email}, {sub.frequency}, {state_}", highlight=False)


@subscription_app.command("list")
def subscription_list(as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False) -> None:
    """Every subscription."""
    hub = _hub()
    try:
        subs = hub.get_subscriptions()
    finally:
        hub.close()
    for s in subs:
        if as_json:
            print(json.dumps({**asdict(s), "confirmed_at": str(s.confirmed_at or ""), "created_at": str(s.created_at)}))
        else:
            what = ([f"trending top {s.trending_top}"] if s.trending_top else []) + [f"topic {t!r}" for t in s.topics]
            out.print(f"{s.id:>5}  {s.email}  {s.frequency}  {'confirmed' if s.confirmed_at else 'UNCONFIRMED'}  "
                      + ", ".join(what), highlight=False, markup=False)  # fmt: skip
    if not subs and not as_json:
        out.print("no subscriptions", highlight=False)


@digest_app.command("send")
def digest_send(
    frequency: Annotated[str, typer.Option(help="daily or weekly.")] = "daily",
    date_: Annotated[Optional[str], typer.Option("--date", help="Send date YYYY-MM-DD (default today, UTC): a daily digest covers the day before, a weekly one the 7 days before.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compose and render; store and send nothing.")] = False,
) -> None:
    """Compose digests and send everything due. Safe to re-run."""
    from datetime import date

    try:
        day = date.fromisoformat(date_) if date_ else None
    except ValueError:
        _fail(f"--date: {date_!r} is not YYYY-MM-DD")
    hub = _hub()
    try:
        run = hub.send_digests(frequency, day, dry_run=dry_run)
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()
    if run.busy:
        _fail("another sender holds the outbox (a worker or another `digest send`); try again later", 3)
    if dry_run:
        for d in run.previews:
            out.print(f"{d.subscription.email}: " + "; ".join(f"{s.title} ({len(s.papers)})" for s in d.sections),
                      highlight=False, markup=False)  # fmt: skip
        out.print(f"{run.period}: would queue {run.queued}, {run.empty} with nothing new, {run.already} already queued", highlight=False)
        return
    out.print(f"{run.period}: {run.queued} queued, {run.empty} with nothing new, {run.already} already queued; "
              f"{run.sent} sent, {run.retry_later} to retry later, {run.failed} failed, {run.pending} pending", highlight=False)  # fmt: skip
    for e in run.errors:
        err.print(f"[yellow]stopped:[/yellow] {e}", highlight=False)
    if run.errors:
        raise typer.Exit(1)


@digest_app.command("status")
def digest_status(
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Put failed messages back in the outbox.")] = False,
) -> None:
    """The outbox and the jobs. Pending, sent and failed messages, recent failures, scheduled jobs."""
    hub = _hub()
    try:
        if retry_failed:
            out.print(f"{hub.retry_failed_digests()} failed messages queued again", highlight=False)
        status = hub.digest_status()
    finally:
        hub.close()
    c = status["outbox"]
    out.print(f"outbox: {c['pending']} pending ({c['due']} due now, {c['interrupted']} interrupted mid-send), "
              f"{c['sent']} sent, {c['failed']} failed", highlight=False)  # fmt: skip
    subs = status["subscriptions"]
    out.print(f"subscriptions: {subs['confirmed']} confirmed, {subs['unconfirmed']} unconfirmed", highlight=False)
    out.print(f"sender: {status['sender'] or 'none running'}", highlight=False)
    for m in status["waiting"]:
        out.print(f"  retry  {m.email} {m.period} attempt {m.attempts}, next {m.next_attempt_at}: {m.last_error}", highlight=False, markup=False)
    for m in status["failed"]:
        out.print(f"  FAILED {m.email} {m.period} after {m.attempts} attempts: {m.last_error}", highlight=False, markup=False)
    for j in status["jobs"]:
        if j.get("last_slot"):
            out.print(f"  job {j['name']}: slot {j['last_slot']}, finished {j['last_finished_at'] or '-'}"
                      + (f", error: {j['last_error']}" if j["last_error"] else ""), highlight=False, markup=False)  # fmt: skip


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run what is due now and exit (for cron).")] = False,
    job: Annotated[Optional[list[str]], typer.Option("--job", help="Only this job (repeat for more).")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between two looks at the schedule.")] = 30.0,
) -> None:
    """Run the scheduled jobs (digests, source syncs).

    The jobs and their times are the `schedule` setting. Several workers may run at once: each job
    runs once per scheduled time, and one sender holds the outbox."""
    import time

    from .logs import configure_logging

    from .ingest import lower_priority

    lower_priority()  # syncs ingest and embed in bulk: a server on this machine answers first
    hub = _hub()
    configure_logging(hub.settings, level=30)  # warnings (failed requests, SMTP failures), secrets masked
    try:
        from .schedule import parse_schedule

        plan = {k: v for k, v in parse_schedule(hub.settings.schedule).items() if v and (not job or k in job)}
        if not once and hub.start_background_embedding():
            out.print("worker: embedding papers without a vector in the background", highlight=False)
        if not once and hub.start_background_extras():
            out.print("worker: thumbnails, keywords and summaries in the background", highlight=False)
        if not once and hub.start_background_recommendations():
            out.print("worker: For you's windows (for personal digests) built in the background", highlight=False)
        out.print("worker: " + (", ".join(f"{k} at {'%02d:%02d' % (w.hour, w.minute)}" for k, w in plan.items()) or "nothing scheduled"), highlight=False)
        while True:
            hub.run_due_jobs(only=job, on_job=lambda name, summary: out.print(summary, highlight=False, markup=False))
            if not job or any(j.startswith("digest-") for j in job):  # retries and confirmations
                run = hub.deliver_digests()
                if run.sent or run.failed or run.retry_later:
                    out.print(f"outbox: {run.sent} sent, {run.retry_later} to retry, {run.failed} failed", highlight=False)
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    except BroadsheetError as e:
        _fail(str(e))
    finally:
        hub.close()


SETTINGS_DOC_HEADER = """# Settings

Every setting has a default. A TOML file (`--config FILE` or `BROADSHEET_CONFIG`) overrides the
defaults; `BROADSHEET_<NAME>` environment variables override the file; `BROADSHEET_<NAME>_FILE`
reads the value from a file (for secrets). `broadsheet settings` shows the values in force.
This file is the output of `broadsheet settings --markdown > docs/settings.md`; a test fails when
it is out of date.
"""


@app.command("settings")
def settings_(
    markdown: Annotated[bool, typer.Option("--markdown", help="As the table in docs/settings.md.")] = False,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Show secrets (secret_key, smtp_password, the database password) instead of ********.")] = False,
) -> None:
    """Every setting with its value (secrets masked). Also its environment variable, default and help."""
    from .config import describe_settings, shown_value

    if markdown:
        print(SETTINGS_DOC_HEADER)
        print("| setting | environment | default | meaning |\n|---|---|---|---|")
        for name, env, default, help_text in describe_settings():
            print(f"| `{name}` | `{env}` | `{default!r}` | {help_text} |")
        return
    for name, env, _default, help_text in describe_settings():
        value = getattr(state.settings, name) if show_secrets else shown_value(state.settings, name)
        out.print(f"[bold]{name}[/bold] = {value!r}  ({env})\n    {help_text}", highlight=False)


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `broadsheet info | head`
        sys.exit(1)
