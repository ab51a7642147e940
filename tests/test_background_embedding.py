"""Search by meaning without a separate `broadsheet index`: `serve` (and `worker`) embed what is
missing in the background, the demo embeds its papers when it builds, and search says honestly
what it cannot see yet."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import hub_at, paper
from typer.testing import CliRunner

from broadsheet.cli import app
from broadsheet.demo import load_demo_papers

runner = CliRunner()


def _cli(*args: str, db: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], env={"BROADSHEET_DATABASE_URL": ""})
    return result.exit_code, result.stdout, result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - a local test server
        return r.read().decode()


def test_fresh_serve_embeds_in_the_background_until_meaning_search_answers(tmp_path: Path) -> None:
    """As the user met it: papers ingested, no `broadsheet index`, `broadsheet serve`, search by
    meaning only. It first says what it cannot see yet, then finds papers: nobody ran anything."""
    db = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    hub = hub_at(db, embedder="none")
    hub.add_papers(p for p, _ in load_demo_papers()[:16])
    hub.close()
    port = _free_port()
    env = {**os.environ, "BROADSHEET_DATABASE_URL": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "--db", db, "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        search = base + "/search?q=stock+price+prediction&mode=semantic"
        first = _get(search)
        assert 'id="coverage"' in first and "not embedded yet" in first  # honest, not a bare "No papers match"
        while "ResNLS" not in (page := _get(search)) or 'id="coverage"' in page:
            assert time.monotonic() < deadline + 180, "the background embedder never finished"
            time.sleep(0.5)
        assert "No papers match" not in page
    finally:
        server.terminate()
        server.communicate(timeout=30)  # and close the pipe
    assert server.returncode is not None
    code, out, _ = _cli("info", "--json", db=db)
    assert json.loads(out)["embeddings"] == {
        "model": "all-MiniLM-L6-v2-int8", "papers": 16, "embedded": 16, "waiting": 0,
        "background": "off", "holder": None, "rate": None, "error": None,
    }  # fmt: skip


def test_worker_embeds_in_the_background_and_stops_cleanly(tmp_path: Path) -> None:
    import signal

    db = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    hub = hub_at(db, embedder="none")
    hub.add_papers([paper("2401.00001", title="Protein folding"), paper("2401.00002", title="Graph networks")])
    hub.close()
    env = {**os.environ, "BROADSHEET_DATABASE_URL": "", "BROADSHEET_SCHEDULE": "", "BROADSHEET_SMTP_HOST": "127.0.0.1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "--db", db, "worker", "--interval", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while json.loads(_cli("info", "--json", db=db)[1])["embeddings"]["waiting"]:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGINT)  # Ctrl+C
        try:
            out, _ = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()  # not left running (and found open by a later test) when it fails
            worker.communicate()
            raise
    assert worker.returncode == 0, out
    assert "embedding papers without a vector in the background" in out
    assert json.loads(_cli("info", "--json", db=db)[1])["embeddings"]["holder"] is None  # the lock was let go


def test_background_embedder_of_a_hub_stops_cleanly_and_waits_for_another_holder(db_url: str) -> None:
    from broadsheet.hub import EMBED_LOCK

    hub = hub_at(db_url)
    hub.add_papers([paper(f"2401.0000{i}", title=f"Protein folding {i}") for i in range(1, 6)])
    other = hub_at(db_url, embedder="none")
    with other.exclusive(EMBED_LOCK) as held:  # e.g. another server already embeds
        assert held is not None
        assert hub.start_background_embedding()
        deadline = time.monotonic() + 30
        while hub.embedding_status().background != "waiting":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert hub.embedding_status().embedded == 0
    hub._background.wake()  # type: ignore[union-attr] # rather than after the idle minute
    deadline = time.monotonic() + 60
    while (status := hub.embedding_status()).waiting:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status.embedded == 5 and status.background in ("embedding", "idle") and status.error is None
    thread = hub._background._thread  # type: ignore[union-attr]
    hub.stop_background_embedding()
    assert thread is not None and not thread.is_alive()
    assert hub.embedding_status().background == "off"
    assert hub_at(db_url, background_embed=False).start_background_embedding() is False
    assert hub_at(db_url, embedder="none").start_background_embedding() is False


def test_meaning_search_before_any_embedding_says_so(db_url: str) -> None:
    hub = hub_at(db_url)
    hub.add_papers([paper("2401.00001", title="Protein folding with transformers")])
    page = hub.search("how proteins fold", mode="semantic")
    assert page.hits == () and page.not_embedded == 1
    code, out, err = _cli("search", "how proteins fold", "--mode", "semantic", db=db_url)
    assert code == 0 and "no papers match" in out
    err = " ".join(err.split())
    assert "1 paper is not embedded yet" in err and "broadsheet index" in err
    hub.index_embeddings()
    hub._not_embedded = None  # the count is reused for a few seconds
    page = hub.search("how proteins fold", mode="semantic")
    assert [h.paper.arxiv_id for h in page.hits] == ["2401.00001"] and page.not_embedded == 0
    assert hub_at(db_url, embedder="none").search("proteins", mode="semantic").semantic is False


def test_imputed_meaning_score_is_said_not_passed_off_as_a_share(db_url: str) -> None:
    from broadsheet.search.explain import why

    hub = hub_at(db_url)
    hub.add_papers([paper("2401.00001", title="Protein folding with transformers")])
    hub.index_embeddings()
    hub.add_papers([paper("2401.00002", title="Protein folding by diffusion")])  # no vector yet
    code, out, _ = _cli("search", "protein folding", "--json", db=db_url)
    hits = {h["id"]: h for h in json.loads(out)}
    assert hits["2401.00002"]["semantic_imputed"] and not hits["2401.00001"]["semantic_imputed"]
    page = hub.search("protein folding")
    assert page.not_embedded == 1  # a hit shows it: the page says so too
    new = next(h for h in page.hits if h.paper.arxiv_id == "2401.00002")
    old = next(h for h in page.hits if h.paper.arxiv_id == "2401.00001")
    assert "% from words" not in why(new) and "meaning: not embedded yet" in why(new)
    assert "% from words" in why(old) and "meaning: #1" in why(old)
    code, out, _ = _cli("search", "protein folding", db=db_url)
    line = next(ln for ln in out.splitlines() if "not embedded yet" in ln)
    assert "from words" not in line


@pytest.mark.slow  # embeds 64 papers: 10-50 s on two busy cores
def test_demo_embeds_its_papers_when_it_builds(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.sqlite3")
    code, out, _ = _cli("demo", "--no-serve", db=db)
    assert code == 0 and "64 embedded" in " ".join(out.split())
    code, out, err = _cli("search", "stock price prediction", "--mode", "semantic", "--limit", "3", db=db)
    assert code == 0 and "ResNLS" in out and "not embedded" not in err
    code, out, _ = _cli("info", db=db)
    assert "64 of 64 papers" in " ".join(out.split())


def test_ingest_says_how_many_wait_and_how_to_speed_it_up(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"arxiv_id": f"0704.000{i}", "title": "T", "abstract": "A"}) + "\n" for i in (1, 2)))
    code, out, _ = _cli("ingest", str(path), db=str(tmp_path / "i.sqlite3"))
    assert code == 0
    out = " ".join(out.split())
    assert "2 papers wait for embedding" in out and "broadsheet index" in out and "background" in out
    code, out, _ = _cli("info", db=str(tmp_path / "i.sqlite3"))
    out = " ".join(out.split())
    assert "0 of 2 papers" in out and "2 waiting" in out
    result = runner.invoke(app, ["--db", str(tmp_path / "n.sqlite3"), "ingest", str(path)], env={"BROADSHEET_EMBEDDER": "none"})
    assert result.exit_code == 0 and "wait for embedding" not in result.stdout  # nothing would embed them


@pytest.mark.parametrize("admin", [True, False])
def test_admin_status_page(db_url: str, admin: bool) -> None:
    from fastapi.testclient import TestClient
    from web_helpers import csrf_of

    from broadsheet.web import create_app

    hub = hub_at(db_url)
    hub.add_papers([paper("2401.00001"), paper("2401.00002")])
    hub.index_embeddings(arxiv_ids=["2401.00001"])
    hub.create_user("boss", "a long password", is_admin=admin)
    client = TestClient(create_app(hub), follow_redirects=False)
    assert client.get("/admin/status").headers["location"] == "/login?next=/admin/status"
    token = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"csrf_token": token, "login": "boss", "password": "a long password"}).status_code == 303
    assert ('href="/admin/status"' in client.get("/settings").text) is admin
    page = client.get("/admin/status")
    if not admin:
        assert page.status_code == 403
        return
    assert page.status_code == 200
    assert "1 of 2 papers" in page.text and "all-MiniLM-L6-v2-int8" in page.text and "not embedding in the background" in page.text
