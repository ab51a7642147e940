"""Small builders shared by tests."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime

from broadsheet.config import load_settings
from broadsheet.hub import Hub, make_hub
from broadsheet.types import PaperData


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 12, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


_HUBS: list[Hub] = []
_INDEX_DIRS: dict[str, str] = {}


def hub_at(url: str, clock: Clock | None = None, **settings: object) -> Hub:
    """A Hub over the database at ``url`` (a test's ``db_url``: SQLite or PostgreSQL). Search
    index files go beside a SQLite database; for PostgreSQL, into a temporary folder per database
    (not the user's cache)."""
    if not url.startswith("sqlite") and "index_dir" not in settings:
        settings["index_dir"] = _INDEX_DIRS.setdefault(url, tempfile.mkdtemp(prefix="broadsheet-index-"))
    hub = make_hub(load_settings(env={}, database_url=url, **settings), now=clock or Clock())
    _HUBS.append(hub)
    return hub


def close_hubs(url: str) -> None:
    """Close the Hubs ``hub_at`` opened on ``url`` (before its database is dropped)."""
    for hub in [h for h in _HUBS if h.settings.database_url == url]:
        hub.close()
        _HUBS.remove(hub)
    if url in _INDEX_DIRS:
        shutil.rmtree(_INDEX_DIRS.pop(url), ignore_errors=True)


def paper(arxiv_id: str = "2401.00001", **fields: object) -> PaperData:
    values: dict[str, object] = {
        "title": f"Paper {arxiv_id}",
        "abstract": f"Abstract of {arxiv_id}.",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "categories": ("cs.LG", "stat.ML"),
        "primary_category": "cs.LG",
        "source": "test",
        "source_ref": f"test:{arxiv_id}",
    }
    values.update(fields)
    return PaperData(arxiv_id=arxiv_id, **values)  # type: ignore[arg-type]


class FakeEdge:
    """A fake service at the network edge: a real HTTP server on a free local port, in a thread.
    Subclasses define ``handle(request)``, called for every GET and POST with the
    BaseHTTPRequestHandler; ``reply`` writes an answer. ``url`` is the server's address."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                fake.handle(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, request) -> None:  # noqa: ANN001 - a BaseHTTPRequestHandler
        raise NotImplementedError

    @staticmethod
    def reply(request, status: int, body: bytes, content_type: str | None = None, headers: dict[str, str] | None = None) -> None:  # noqa: ANN001
        request.send_response(status)
        if content_type:
            request.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
