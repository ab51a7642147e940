"""Absolute links name the server the visitor reached: without ``base_url``, pages, feeds,
``/papers/ID.md`` and ``HfApi.read_paper`` use the request's own scheme, host and port (the
forwarded scheme only from ``trusted_proxies``); with it, ``base_url``. Checked in-process with a
host and port that are not the old default, and against a real ``broadsheet serve --port``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import Clock
from smtp_helpers import free_port
from web_helpers import NOW, site_hub

from broadsheet.hub import Hub
from broadsheet.web import create_app

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

OLD_DEFAULT = "127.0.0.1:8000"
PAPER = "2611.00001"
ABSOLUTE = re.compile(r"""(?:href|src|action)="(https?://[^"]+)"|<link>(https?://[^<]+)</link>|<guid[^>]*>(https?://[^<]+)</guid>|<id>(https?://[^<]+)</id>""")


def _absolute_links(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in ABSOLUTE.finditer(text)]


def _own_links(text: str) -> list[str]:
    """Absolute links that point at this site (not arXiv, DOI, GitHub or the XML namespaces)."""
    foreign = ("https://arxiv.org", "https://doi.org", "https://github.com", "http://www.w3.org")
    return [u for u in _absolute_links(text) if not u.startswith(foreign)]


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = site_hub(db_url, Clock(NOW), page_cache_seconds=10.0)
    yield h
    h.close()


def _check_site(get, base: str) -> None:  # noqa: ANN001 - get(path) -> response
    for path in ("/feeds/daily.atom", "/feeds/daily.rss", "/feeds/trending.atom", "/feeds/categories/cs.LG.rss",
                 "/feeds/search.atom?q=graph"):  # fmt: skip
        r = get(path)
        assert r.status_code == 200, path
        links = _own_links(r.text)
        assert links, f"{path} has no absolute links"
        assert all(u.startswith(base + "/") for u in links), (path, base, links)
        assert OLD_DEFAULT not in r.text
    md = get(f"/papers/{PAPER}.md")
    assert f"- Page: {base}/papers/{PAPER}" in md.text and OLD_DEFAULT not in md.text
    docs = get("/api/docs")
    assert f'HfApi(endpoint="{base}")' in docs.text and OLD_DEFAULT not in docs.text


def test_links_follow_the_requests_host_and_port(hub: Hub) -> None:
    app = create_app(hub)
    for base in ("http://papers.test:8001", "https://other.example:9443"):
        client = TestClient(app, base_url=base)
        _check_site(client.get, base)


def test_cached_pages_and_feeds_keep_each_hosts_links(hub: Hub) -> None:
    """Visitors' pages and feeds are cached: one host's links must never be served to another."""
    app = create_app(hub)
    first = TestClient(app, base_url="http://a.test:8001")
    second = TestClient(app, base_url="http://b.test:8002")
    for path in (f"/papers/{PAPER}.md", "/feeds/daily.atom"):
        assert "http://a.test:8001/" in first.get(path).text
        again = second.get(path).text
        assert "http://b.test:8002/" in again and "a.test" not in again


def test_base_url_when_set_wins(db_url: str) -> None:
    hub = site_hub(db_url, Clock(NOW), base_url="https://papers.example.org/")
    try:
        client = TestClient(create_app(hub), base_url="http://internal:8001")
        _check_site(client.get, "https://papers.example.org")
    finally:
        hub.close()


# -- a real `broadsheet serve --port` ------------------------------------------------------------


class Served:
    def __init__(self, db: Path, port: int, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = db.with_suffix(".log")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
        full_env.update({"BROADSHEET_EMBEDDER": "none", "BROADSHEET_SUBMIT_FETCH": "false", **env})
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "broadsheet", "--db", str(db), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=self._err, env=full_env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()  # not left running (and found open by a later test)
                raise RuntimeError("serve did not start:\n" + self.log.read_text())
            time.sleep(0.1)

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(20)
        self._err.close()
        return self.log.read_text()


@pytest.fixture
def site_db(tmp_path: Path) -> Path:
    db = tmp_path / "site.sqlite3"
    site_hub(f"sqlite:///{db}", Clock(NOW), secret_key="k" * 40).close()
    return db


def test_serve_on_another_port_links_to_it(site_db: Path) -> None:
    from huggingface_hub import HfApi

    port = free_port()
    served = Served(site_db, port, {})
    try:
        base = served.url
        _check_site(lambda path: httpx.get(base + path), base)
        text = HfApi(endpoint=base, token=False).read_paper(PAPER)
        assert f"- Page: {base}/papers/{PAPER}" in text and OLD_DEFAULT not in text
        # A proxy on this machine (trusted_proxies defaults to 127.0.0.1) says the visitor used https.
        feed = httpx.get(base + "/feeds/daily.atom", headers={"X-Forwarded-Proto": "https"}).text
        assert all(u.startswith(f"https://127.0.0.1:{port}/") for u in _own_links(feed))
    finally:
        log = served.stop()
    assert "warning: base_url is not set" in log  # emails cannot link anywhere without it


def test_forwarded_scheme_only_from_trusted_proxies(site_db: Path) -> None:
    served = Served(site_db, free_port(), {"BROADSHEET_TRUSTED_PROXIES": "10.9.9.9"})
    try:
        feed = httpx.get(served.url + "/feeds/daily.atom", headers={"X-Forwarded-Proto": "https"}).text
        links = _own_links(feed)
        assert links and all(u.startswith(served.url + "/") for u in links)
    finally:
        served.stop()
