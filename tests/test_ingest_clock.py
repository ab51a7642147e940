"""An ingest batch takes its time once it holds the writer lock: ``last_changed`` then grows in
commit order, which the search indexes rely on to catch up (they read what changed since the
newest time they saw). Read before the lock, a batch that waited behind another writer would
commit with a time older than one already seen, and could be missed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from helpers import Clock, hub_at
from sqlalchemy import select

from broadsheet.storage.schema import papers
from broadsheet.types import PaperData


def test_a_batch_that_waits_for_the_writer_takes_its_time_after(db_url: str) -> None:
    clock = Clock()
    hub = hub_at(db_url, clock, embedder="none")
    storage = hub._storage  # noqa: SLF001 - the test holds the writer lock as another writer would
    before = clock.now
    done = threading.Event()

    def ingest() -> None:
        hub.add_papers([PaperData(arxiv_id="2401.00001", title="Waiting writer", abstract="An abstract.")])
        done.set()

    with storage.papers._writer.begin():  # noqa: SLF001 - another writer's transaction
        worker = threading.Thread(target=ingest)
        worker.start()
        time.sleep(0.5)  # the ingest is now waiting for the lock
        assert not done.is_set()
        clock.now = before + timedelta(minutes=5)  # what the other writer commits with, say
    worker.join(30)
    assert done.is_set()
    with storage.engine.connect() as conn:
        stamped = conn.execute(select(papers.c.last_changed).where(papers.c.arxiv_id == "2401.00001")).scalar_one()
    assert stamped.replace(tzinfo=None) == clock.now.replace(tzinfo=None)
