"""Scheduled jobs as a use case (`broadsheet worker`; the same jobs run from cron): run one job by
name, or every job whose scheduled time has passed. When jobs run is ``schedule.py`` (pure);
what they do is the Hub's (``send_digests``, ``sync_*``), passed in as callables. ``Hub``
delegates here, one line each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from .config import Settings
from .exceptions import InvalidInputError
from .storage import Storage
from .storage.locks import Lock
from .types import DigestRun, SyncReport


class Jobs:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        now: Callable[[], datetime],
        *,
        exclusive: Callable[[str], AbstractContextManager[Lock | None]],
        send_digests: Callable[[str], DigestRun],
        sync_arxiv: Callable[..., SyncReport],
        sync_oai: Callable[..., SyncReport],
        sync_hf_daily: Callable[[], SyncReport],
    ) -> None:
        self.settings = settings
        self._storage = storage
        self._now = now
        self._exclusive = exclusive
        self._send_digests = send_digests
        self._sync_arxiv = sync_arxiv
        self._sync_oai = sync_oai
        self._sync_hf_daily = sync_hf_daily

    def run_job(self, name: str) -> str:
        """Run one job by name now (see ``schedule.JOBS``); return a one-line summary."""
        from .schedule import JOBS

        if name not in JOBS:
            raise InvalidInputError(f"unknown job {name!r}: use one of {', '.join(JOBS)}")
        if name.startswith("digest-"):
            run = self._send_digests(name.removeprefix("digest-"))
            if run.busy:
                return f"{name}: another sender holds the outbox: nothing done"
            return (f"{name} {run.period}: {run.queued} queued, {run.empty} with nothing new, {run.sent} sent, "
                    f"{run.retry_later} to retry, {run.failed} failed" + "".join(f"; {e}" for e in run.errors))  # fmt: skip
        if name == "sync-arxiv":
            cats = [c.strip() for c in self.settings.sync_arxiv_categories.split(",") if c.strip()]
            if not cats:
                return "sync-arxiv: no sync_arxiv_categories set: nothing to do"
            report = self._sync_arxiv(cats, since=self._now().date() - timedelta(days=2))
        elif name == "sync-oai":
            if not self.settings.sync_oai_set:  # all of arXiv is a decision, not a default
                return "sync-oai: no sync_oai_set set (e.g. cs, or * for all of arXiv): nothing to do"
            report = self._sync_oai(None if self.settings.sync_oai_set == "*" else self.settings.sync_oai_set)
        else:
            report = self._sync_hf_daily()
        return (f"{name}: {report.added} added, {report.updated} updated, {report.listings_added} listings"
                + ("" if report.complete else "; stopped early: " + "; ".join(report.problems)))  # fmt: skip

    def run_due_jobs(self, *, only: Sequence[str] | None = None, on_job: Callable[[str, str], None] | None = None) -> list[tuple[str, str]]:
        """See ``Hub.run_due_jobs``."""
        from .schedule import last_slot, parse_schedule

        store = self._storage.digests
        done = []
        for name, when in parse_schedule(self.settings.schedule).items():
            if when is None or (only and name not in only):
                continue
            slot = last_slot(when, self._now())
            with self._exclusive(f"job:{name}") as held:  # a run of this job elsewhere: leave it be
                if held is None or not store.claim_slot(name, slot.isoformat(timespec="minutes"), self._now()):
                    continue
                try:
                    summary, error = self.run_job(name), None
                except Exception as e:  # noqa: BLE001 - one job's failure must not stop the others
                    summary, error = f"{name}: failed: {e}", f"{type(e).__name__}: {e}"
                store.finish_job(name, self._now(), error)
            done.append((name, summary))
            if on_job:
                on_job(name, summary)
        return done
