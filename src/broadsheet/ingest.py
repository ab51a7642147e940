"""Ingest: decide what a batch of source records changes (pure), then write it (I/O).

    items ──batch──► plan_batch(stored, batch)  (pure: new / changed / unchanged / rejected)
                          │
                          ▼
                    storage.papers.apply(plan)  (one transaction per batch)

One transaction per batch makes a crash harmless: a batch lands whole or not at all, and a re-run
of the same input finds the landed batches unchanged and writes the rest.

Sharing the machine and the database with a server: after each batch the ingest pauses for a
share of the time the batch's write took (``PAUSE_SHARE``), so other writers waiting for the
write lock (a vote, a submission) and the server's threads get a turn; and bulk commands run at
a lower CPU priority (``lower_priority``), so a server on the same machine is served first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
import os
import queue
import threading
import time
from datetime import datetime
from typing import Protocol, TypeVar

T = TypeVar("T")

REJECTS_KEPT = 1000  # rejected records (and notices) an ingest of files keeps; the rest are counted
PAUSE_SHARE = 0.1  # after each batch, pause this share of the time its write took...
MAX_PAUSE = 0.2  # ...but no longer than this (seconds)
BULK_NICE = 10  # the niceness of bulk commands (ingest, the worker): below a server's requests

from .types import BatchPlan, IngestReport, ListingData, Notice, Organization, PaperData, Rejected, SourceItem

# Fields a later record may fill or overwrite; None/empty in the incoming record keeps the old value.
_MERGED_FIELDS = (
    "title", "abstract", "authors", "categories", "primary_category", "published", "updated",
    "doi", "journal_ref", "comments", "github_repo", "project_page",
    "thumbnail_url", "ai_summary", "ai_keywords", "github_stars", "organization",
)  # fmt: skip
# Fields a source may clear by stating an explicit null (``PaperData.cleared``).
CLEARABLE = frozenset({"thumbnail_url", "ai_summary", "ai_keywords", "github_stars", "organization"})


def _empty(value: object) -> bool:
    return value is None or value == "" or value == ()


def merge(old: PaperData | None, new: PaperData) -> PaperData | None:
    """What the stored paper becomes when ``new`` arrives; None when nothing changes.

    A record of an older arXiv version than the stored one only fills fields the store lacks;
    otherwise each field the new record states replaces the stored one. A field the record
    lacks keeps its stored value; one it states as an explicit null (``new.cleared``: Hugging
    Face's organization, summary, keywords, stars or thumbnail) is cleared. Counts the source
    keeps (upvotes, GitHub stars) take the newest figure, up or down. Provenance follows the
    record that made the change.
    """
    if old is None:
        return new
    stale = old.version is not None and new.version is not None and new.version < old.version
    changes: dict[str, object] = {}
    for name in _MERGED_FIELDS:
        incoming, current = getattr(new, name), getattr(old, name)
        if name == "organization" and incoming and current and incoming.name == current.name:
            continue  # the paper names the same one; its full name and logo are the organization's
        if _empty(incoming) or incoming == current or (stale and not _empty(current)):
            continue
        changes[name] = incoming
    for name in CLEARABLE.intersection(new.cleared):
        if not _empty(getattr(old, name)):
            changes[name] = () if name == "ai_keywords" else None
    if new.version is not None and (old.version is None or new.version > old.version):
        changes["version"] = new.version
    if new.external_upvotes is not None and new.external_upvotes != old.external_upvotes:
        changes["external_upvotes"] = new.external_upvotes
    if not changes:
        return None
    return dataclasses.replace(old, **changes, source=new.source, source_ref=new.source_ref)


def plan_batch(stored: Mapping[str, PaperData], items: Sequence[SourceItem]) -> BatchPlan:
    """Decide what ``items`` change, given the stored versions of their papers (pure).

    A paper that appears twice in one batch is merged in order, as if ingested one by one.
    A listing must name a paper that is stored or in this batch; otherwise it is rejected.
    """
    new: list[PaperData] = []
    changed: list[PaperData] = []
    listings: list[ListingData] = []
    rejected: list[Rejected] = []
    notices: list[Notice] = []
    unchanged = 0
    current: dict[str, PaperData] = {}  # the newest state of each paper touched by this batch
    is_new: set[str] = set()
    touched: set[str] = set()
    orgs: dict[str, Organization] = {}
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
        elif isinstance(item, Notice):
            notices.append(item)
        elif isinstance(item, PaperData):
            if item.organization:
                orgs[item.organization.name] = item.organization
            key = item.arxiv_id
            before = current.get(key, stored.get(key))
            after = merge(before, item)
            if after is None:
                if key not in touched:
                    unchanged += 1
                    touched.add(key)
                continue
            if before is None:
                is_new.add(key)
            current[key] = after
            touched.add(key)
        elif isinstance(item, ListingData):
            if item.arxiv_id in current or item.arxiv_id in stored:
                listings.append(item)
            else:
                rejected.append(
                    Rejected(item.source_ref, f"listing names unknown paper {item.arxiv_id}")
                )
        else:  # a programming error, not bad data: say so instead of dropping it
            raise TypeError(f"not a source item: {item!r:.200}")
    for key, paper in current.items():
        (new if key in is_new else changed).append(paper)
    return BatchPlan(
        tuple(new), tuple(changed), tuple(listings), unchanged, tuple(rejected), tuple(notices), tuple(orgs.values())
    )


def batches(items: Iterable[SourceItem], size: int) -> Iterator[list[SourceItem]]:
    """Cut a stream into batches of about ``size`` papers; a listing stays with its paper."""
    batch: list[SourceItem] = []
    papers = 0
    for item in items:
        if papers >= size and not isinstance(item, ListingData):
            yield batch
            batch, papers = [], 0
        batch.append(item)
        papers += isinstance(item, PaperData)
    if batch:
        yield batch


class PaperWriter(Protocol):
    """What ingest needs from storage (``broadsheet.storage.papers.PaperStore`` provides it)."""

    def load_for_merge(self, arxiv_ids: Iterable[str]) -> dict[str, PaperData]: ...

    def apply(self, plan: BatchPlan, clock: Callable[[], datetime]) -> int:
        """Write the plan in one transaction, its time read from ``clock`` inside it; return the
        number of listings added."""
        ...


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead.

    Parsing (Python) then overlaps with writing (SQLite, which releases the GIL): the 100k file
    ingests about a fifth faster (docs/benchmarks.md). Errors in the producer re-raise here.
    """
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as e:  # handed to the consumer, which re-raises it
            q.put(("error", e))

    thread = threading.Thread(target=produce, name="broadsheet-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=5)


def lower_priority(nice: int = BULK_NICE) -> None:
    """Run this process at niceness ``nice`` at least (not lower than it is already): for bulk
    work beside a server. On a machine with spare CPU it is as fast as before."""
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current < nice:
            os.nice(nice - current)
    except (AttributeError, OSError):  # no such call (Windows), or not allowed: run as is
        pass


def ingest(
    store: PaperWriter,
    items: Iterable[SourceItem],
    *,
    now: Callable[[], datetime],
    batch_size: int = 1000,
    on_batch: Callable[[BatchPlan], None] | None = None,
    pause_share: float = PAUSE_SHARE,
    keep_rejected: int | None = None,
) -> IngestReport:
    """Stream ``items`` into ``store`` batch by batch; return what happened.

    Between batches it pauses ``pause_share`` of the time the last write took (the write lock is
    free meanwhile: see the module's doc). ``keep_rejected``: keep at most this many rejected
    records and notices in the report, and count the rest (``on_batch`` sees every one)."""
    added = updated = unchanged = listings = rejected_more = notices_more = 0
    rejected: list[Rejected] = []
    notices: list[Notice] = []
    keep = keep_rejected if keep_rejected is not None else float("inf")
    pause = 0.0
    for batch in prefetch(batches(items, batch_size)):
        if pause:
            time.sleep(pause)
        ids = {i.arxiv_id for i in batch if isinstance(i, (PaperData, ListingData))}
        plan = plan_batch(store.load_for_merge(ids), batch)
        start = time.monotonic()
        listings += store.apply(plan, now)
        pause = min(MAX_PAUSE, pause_share * (time.monotonic() - start))
        added, updated, unchanged = added + len(plan.new), updated + len(plan.changed), unchanged + plan.unchanged
        room = max(0, int(min(keep - len(rejected), len(plan.rejected))))
        rejected.extend(plan.rejected[:room])
        rejected_more += len(plan.rejected) - room
        room = max(0, int(min(keep - len(notices), len(plan.notices))))
        notices.extend(plan.notices[:room])
        notices_more += len(plan.notices) - room
        if on_batch:
            on_batch(plan)
    return IngestReport(added, updated, unchanged, listings, tuple(rejected), tuple(notices), rejected_more, notices_more)


# -- files (Hub.ingest_paths) ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where a running ingest is: for progress bars."""

    path: str
    bytes_done: int
    bytes_total: int
    papers_seen: int
    rejected: int


def ingest_files(
    paths: Sequence[str | os.PathLike[str]],
    add_papers: Callable[..., IngestReport],
    *,
    max_bytes: int,
    on_progress: Callable[[IngestProgress], None] | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    keep_rejected: int = REJECTS_KEPT,
) -> IngestReport:
    """Ingest files of any supported format (see ``broadsheet.sources.files``) through
    ``add_papers(items, on_batch=..., keep_rejected=...)``. A file that cannot be read, at all or
    part-way, is one ``Rejected`` named after the file (what came before the damage lands), and the
    next file is read.

    Memory does not grow with the files: papers stream through in batches, and of the rejected
    records the report keeps the first ``keep_rejected`` per file (and every unreadable file),
    counting the rest; ``on_rejected`` is called with every one as it comes (``--rejects``)."""
    from pathlib import Path

    from .sources.files import read_file_reporting

    total = IngestReport()
    for path in paths:
        path = Path(path)
        try:  # a file that cannot be read is reported, and the next one read
            size = path.stat().st_size
            raw = path.open("rb")
        except OSError as e:
            total = add_reports(total, IngestReport(rejected=(Rejected(path.name, f"cannot open: {e}"),)))
            continue
        seen = rejected = 0
        unreadable: list[Rejected] = []  # the file's own: always kept
        with raw:

            def progress(plan: BatchPlan) -> None:
                nonlocal seen, rejected
                seen += len(plan.new) + len(plan.changed) + plan.unchanged
                rejected += len(plan.rejected)
                for r in plan.rejected:
                    if on_rejected:
                        on_rejected(r)
                    if r.source_ref == path.name:
                        unreadable.append(r)
                if on_progress:
                    on_progress(IngestProgress(str(path), min(raw.tell(), size), size, seen, rejected))

            reading = read_file_reporting(raw, path.name, max_bytes=max_bytes)
            report = add_papers(reading, on_batch=progress, keep_rejected=keep_rejected)
        missing = tuple(r for r in unreadable if r not in report.rejected)
        if missing:
            report = dataclasses.replace(report, rejected=report.rejected + missing, rejected_more=report.rejected_more - len(missing))
        total = add_reports(total, report)
    return total


def add_reports(a: IngestReport, b: IngestReport) -> IngestReport:
    return IngestReport(
        a.added + b.added,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
        a.listings_added + b.listings_added,
        a.rejected + b.rejected,
        a.notices + b.notices,
        a.rejected_more + b.rejected_more,
        a.notices_more + b.notices_more,
    )
