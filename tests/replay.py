"""A replay HTTP server on 127.0.0.1 for the live-source syncs: it serves the real recorded responses
in ``../shared/data/fixtures/`` and injects faults on demand.

    with Replay(fixtures_dir) as server:
        server.fail(Fault("503", path="/oai", retry_after="1"))
        hub.sync_oai(base_url=server.url + "/oai", delay=0)
        server.requests("/oai")  # what the client asked, in order

Routes:

- ``/api/query``: the arXiv export API recordings, keyed by ``(search_query, id_list, start,
  max_results)`` as recorded (the ``.json`` files' URL; else the feed's own title). An ``id_list``
  request is matched on its ids alone (``max_results`` does not change what an id list returns).
  Sort parameters are not part of the key: the recordings were made with one sort each.
- ``/oai``: ``ListRecords`` chains. A first request (no token) is answered with the first page of
  the chain of its ``metadataPrefix`` (``arXiv``: the 15 pages of ``arxiv_format_2018_pages``;
  ``oai_dc``: the 2 pages of ``oai_dc_2023``); selective-harvesting arguments (``set``, ``from``,
  ``until``) are logged, not applied. Each page's real resumption token leads to the next page.
  **One alteration**: the recordings are the first pages of longer lists, so the last recorded
  page's token is served empty (``<resumptionToken .../>``), as a list's real last page is. An
  unknown token gets ``badResumptionToken``, as a real server answers an expired one.
- ``/api/daily_papers?date=D``: the recorded day when there is one (page ``p`` > 0 and other days:
  ``[]``).

Faults (``Fault.kind``), each for the next ``times`` requests matching ``path`` and ``when``:
``503`` (with ``Retry-After``), ``reset`` (the connection is reset before any answer), ``cut``
(the body stops half-way and the connection closes: fewer bytes than Content-Length),
``truncate`` (a complete HTTP answer whose body is the first half of the document), ``slow``
(answer after ``seconds``), ``block`` (no answer until ``release()``; for killing a client
mid-request), ``error_feed`` (arXiv's recorded error feed, status 400), ``bad_token``
(OAI-PMH ``badResumptionToken``).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

_TOKEN = re.compile(rb"<resumptionToken([^>]*)>([^<]*)</resumptionToken>")
_ATOM = "{http://www.w3.org/2005/Atom}"
OAI_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-11-28T12:00:00Z</responseDate>
<request verb="ListRecords">http://127.0.0.1/oai</request>
<error code="{code}">{message}</error>
</OAI-PMH>
"""


@dataclass
class Fault:
    kind: str
    path: str = ""  # applies to request paths starting with this
    when: Callable[[dict[str, str]], bool] | None = None  # and whose query parameters pass this
    times: int = 1
    retry_after: str | None = "1"
    seconds: float = 0.0


@dataclass(frozen=True)
class Logged:
    path: str
    params: dict[str, str]
    at: float  # time.monotonic()
    fault: str | None
    user_agent: str = ""


# -- the recordings ---------------------------------------------------------------------------


def _arxiv_key(params: dict[str, str]) -> tuple[str, str, str, str]:
    return (
        params.get("search_query", ""),
        params.get("id_list", ""),
        params.get("start", "0"),
        params.get("max_results", "10"),
    )


@functools.cache
def arxiv_recordings(root: Path) -> tuple[dict[tuple[str, str, str, str], Path], dict[str, Path]]:
    """``(by full key, by id_list)`` → recorded Atom body."""
    by_key: dict[tuple[str, str, str, str], Path] = {}
    for xml in sorted((root / "arxiv-api").rglob("*.xml")):
        meta = xml.with_suffix(".json")
        if meta.exists():
            query = urlsplit(json.loads(meta.read_text(encoding="utf-8"))["url"]).query
        else:  # older recordings: the feed's title repeats the query ("ArXiv Query: search_query=...&...")
            title = etree.parse(str(xml)).getroot().findtext(f"{_ATOM}title") or ""
            query = title.split("Query:", 1)[1].strip()
        params = dict(parse_qsl(query, keep_blank_values=True)) if meta.exists() else dict(
            part.split("=", 1) for part in query.split("&") if "=" in part
        )
        by_key[_arxiv_key(params)] = xml
    by_ids = {key[1]: path for key, path in by_key.items() if key[1] and not key[0]}
    return by_key, by_ids


@dataclass
class Chain:
    pages: list[Path]
    tokens: dict[str, int] = field(default_factory=dict)  # token → index of the page it asks for

    def body(self, index: int) -> bytes:
        return _page_body(self.pages[index], index == len(self.pages) - 1)


@functools.cache
def _page_body(path: Path, last: bool) -> bytes:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if last:  # the recording goes on beyond its last page: serve that page as a list's end
        data = _TOKEN.sub(lambda m: b"<resumptionToken" + m.group(1) + b"/>", data)
    return data


@functools.cache
def oai_chains(root: Path) -> dict[str, Chain]:
    chains = {
        "arXiv": Chain(sorted((root / "oai-pmh" / "arxiv_format_2018_pages").glob("ListRecords_arXiv_page*.xml.gz"))),
        "oai_dc": Chain(sorted((root / "oai-pmh" / "oai_dc_2023").glob("ListRecords_data_*.xml"))),
    }
    for chain in chains.values():
        for index, page in enumerate(chain.pages[:-1]):
            data = gzip.decompress(page.read_bytes()) if page.suffix == ".gz" else page.read_bytes()
            match = _TOKEN.search(data)
            assert match and match.group(2), f"{page} has no resumption token"
            chain.tokens[match.group(2).decode()] = index + 1
    return chains


@functools.cache
def hf_days(root: Path) -> dict[str, Path]:
    days = {}
    for path in sorted((root / "hf-daily-papers").glob("*.json")):
        day = re.search(r"(\d{4}-\d{2}-\d{2})", path.name)
        if day:
            days[day.group(1)] = path
    return days


# -- the server -------------------------------------------------------------------------------


class Replay:
    def __init__(self, fixtures: Path) -> None:
        self.fixtures = fixtures
        self.log: list[Logged] = []
        self._faults: list[Fault] = []
        self._lock = threading.Condition()
        self._release = threading.Event()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                try:
                    replay._handle(self)
                except (ConnectionError, OSError):  # the client went away (a timeout, a kill)
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- for tests --

    def fail(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def release(self) -> None:
        """Let ``block`` faults go (their connections are closed without an answer)."""
        self._release.set()

    def requests(self, path: str = "") -> list[dict[str, str]]:
        with self._lock:
            return [entry.params for entry in self.log if entry.path.startswith(path)]

    def wait_for(self, predicate: Callable[[Logged], bool], timeout: float = 60) -> Logged:
        """The first logged request passing ``predicate``, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for entry in self.log:
                    if predicate(entry):
                        return entry
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no such request reached the replay server")
                self._lock.wait(left)

    # -- serving --

    def _take_fault(self, path: str, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and path.startswith(fault.path) and (fault.when is None or fault.when(params)):
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        fault = self._take_fault(split.path, params)
        with self._lock:
            entry = Logged(split.path, params, time.monotonic(), fault.kind if fault else None, h.headers.get("User-Agent", ""))
            self.log.append(entry)
            self._lock.notify_all()
        kind = fault.kind if fault else None
        if kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            return
        if kind == "block":
            self._release.wait(120)
            h.close_connection = True
            return
        if kind == "503":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return self._send(h, 503, b"The server is busy; retry later.\n", "text/plain", extra)
        if kind == "slow":
            time.sleep(fault.seconds)
        status, body, ctype = self._route(split.path, params, kind)
        if kind == "truncate":
            body = body[: len(body) // 2]
        if kind == "cut":
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, status, body, ctype)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    def _route(self, path: str, params: dict[str, str], kind: str | None) -> tuple[int, bytes, str]:
        atom, xml, js, text = "application/atom+xml", "text/xml; charset=utf-8", "application/json", "text/plain"
        if path == "/api/query":
            by_key, by_ids = arxiv_recordings(self.fixtures)
            if kind == "error_feed":
                return 400, by_ids["abc"].read_bytes(), atom
            key = _arxiv_key(params)
            found = by_ids.get(key[1]) if key[1] and not key[0] else by_key.get(key)
            if found is None:
                return 404, f"no recording for {key}\n".encode(), text
            status = 400 if found.name.startswith("id_abc") else 200
            return status, found.read_bytes(), atom
        if path == "/oai":
            if kind == "bad_token":
                return 200, OAI_ERROR.format(code="badResumptionToken", message="expired").encode(), xml
            chains = oai_chains(self.fixtures)
            if params.get("verb") != "ListRecords":
                return 200, OAI_ERROR.format(code="badVerb", message="only ListRecords is recorded").encode(), xml
            token = params.get("resumptionToken")
            if token:
                for chain in chains.values():
                    if token in chain.tokens:
                        return 200, chain.body(chain.tokens[token]), xml
                return 200, OAI_ERROR.format(code="badResumptionToken", message=f"unknown token {token}").encode(), xml
            chain = chains.get(params.get("metadataPrefix", ""))
            if chain is None:
                return 200, OAI_ERROR.format(code="cannotDisseminateFormat", message="not recorded").encode(), xml
            return 200, chain.body(0), xml
        if path == "/api/daily_papers":
            day = hf_days(self.fixtures).get(params.get("date", ""))
            if day is None or params.get("p", "0") != "0":
                return 200, b"[]", js
            return 200, day.read_bytes(), js
        return 404, b"not found\n", text
