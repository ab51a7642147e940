"""The sync HTTP edge: retry decisions and pacing (pure), then each fault against the replay server."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from lxml import etree
from replay import Fault

from broadsheet.config import load_settings
from broadsheet.exceptions import SourceError
from broadsheet.sources.arxiv_atom import parse_atom
from broadsheet.sync.http import (
    HttpEdge,
    Pacer,
    Politeness,
    is_unreadable,
    retry_after_seconds,
    retry_wait,
    user_agent,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ONE = {"id_list": "1605.08386", "start": "0", "max_results": "1"}


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds(" 5 ", NOW) == 5
    assert retry_after_seconds("Sat, 28 Nov 2026 12:00:30 GMT", NOW) == 30
    assert retry_after_seconds("Sat, 28 Nov 2026 11:00:00 GMT", NOW) == 0  # in the past: now
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds("", NOW) is None and retry_after_seconds(None, NOW) is None


def test_retry_wait_is_bounded() -> None:
    kw = {"retries": 3, "base": 2.0, "max_wait": 10.0}
    assert [retry_wait(n, **kw) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, None]
    assert retry_wait(4, retries=5, base=8.0, max_wait=10.0) == 10.0  # backoff capped
    assert retry_wait(1, **kw, retry_after=7.0) == 7.0  # the server's word wins
    assert retry_wait(1, **kw, retry_after=11.0) is None  # longer than we wait: give up, report
    assert retry_wait(4, **kw, retry_after=1.0) is None  # out of retries


def test_unreadable_means_not_well_formed() -> None:
    with pytest.raises(SourceError) as cut:
        list(parse_atom(b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "x"))
    assert is_unreadable(cut.value)
    with pytest.raises(SourceError) as other:
        list(parse_atom(b"<html/>", "x"))
    assert not is_unreadable(other.value)
    assert is_unreadable(etree.XMLSyntaxError("x", 1, 1, 1))


def test_pacer_spaces_request_starts() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer(sleep=sleep, clock=lambda: now[0])
    pacer.wait_turn(3.0)  # first request: no wait
    now[0] += 1.0  # it took a second
    pacer.wait_turn(3.0)  # two more seconds
    pacer.defer(10.0)  # Retry-After: 10
    pacer.wait_turn(3.0)
    assert slept == [2.0, 10.0]


def test_user_agent_names_the_contact() -> None:
    agent = user_agent(load_settings(env={}, contact_email="ops@example.org", base_url="https://papers.example.org"))
    assert agent.startswith("Broadsheet/") and "mailto:ops@example.org" in agent and "https://papers.example.org" in agent


def _edge(retries: int = 3, max_wait: float = 5.0, timeout: float = 5.0, delay: float = 0.0) -> HttpEdge:
    return HttpEdge("Broadsheet-test (mailto:t@example.org)", Politeness(delay, retries, timeout, max_wait))


def _read(body: bytes) -> list:
    return list(parse_atom(body, "t"))


@pytest.mark.parametrize("kind", ["reset", "cut", "truncate", "503"])
def test_each_fault_is_retried(replay, kind: str) -> None:
    replay.fail(Fault(kind, path="/api/query", retry_after="0"))
    with _edge() as edge:
        items = edge.get(replay.url + "/api/query", ONE, _read)
    assert [i.arxiv_id for i in items] == ["1605.08386"]
    assert edge.requests == 2 and len(edge.retried) == 1
    assert [e.fault for e in replay.log] == [kind, None]
    assert replay.log[-1].user_agent == "Broadsheet-test (mailto:t@example.org)"


def test_retry_after_is_honoured(replay) -> None:
    replay.fail(Fault("503", path="/api/query", retry_after="1"))
    with _edge() as edge:
        edge.get(replay.url + "/api/query", ONE, _read)
    first, second = replay.log
    assert second.at - first.at >= 0.95
    assert "HTTP 503" in edge.retried[0] and "after 1.0 s" in edge.retried[0]


def test_slow_response_times_out_and_is_retried(replay) -> None:
    replay.fail(Fault("slow", path="/api/query", seconds=1.5))
    with _edge(timeout=0.3) as edge:
        items = edge.get(replay.url + "/api/query", ONE, _read)
    assert len(items) == 1 and "ReadTimeout" in edge.retried[0]


def test_gives_up_after_the_retries(replay) -> None:
    replay.fail(Fault("reset", path="/api/query", times=10))
    with _edge(retries=2) as edge, pytest.raises(SourceError, match="gave up after 2 retries"):
        edge.get(replay.url + "/api/query", ONE, _read)
    assert edge.requests == 3


def test_too_long_retry_after_stops_at_once(replay) -> None:
    replay.fail(Fault("503", path="/api/query", retry_after="3600"))
    with _edge(max_wait=60) as edge, pytest.raises(SourceError, match="asks to wait 3600 s"):
        edge.get(replay.url + "/api/query", ONE, _read)
    assert edge.requests == 1


def test_client_errors_are_not_retried(replay) -> None:
    with _edge() as edge, pytest.raises(SourceError, match="HTTP 404"):
        edge.get(replay.url + "/api/query", {"search_query": "never recorded"}, _read)
    assert edge.requests == 1


def test_requests_are_paced(replay) -> None:
    with _edge(delay=0.25) as edge:
        started = time.monotonic()
        for _ in range(3):
            edge.get(replay.url + "/api/query", ONE, _read)
    gaps = [b.at - a.at for a, b in zip(replay.log, replay.log[1:])]
    # measured where the server logs them, so connection set-up blurs a gap by a few ms
    assert all(g >= 0.2 for g in gaps) and time.monotonic() - started >= 0.5


def test_pacer_refuses_a_turn_that_comes_too_late() -> None:
    now = [100.0]
    pacer = Pacer(sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    assert pacer.wait_turn(3.0, limit=1.0)  # nothing before it
    now[0] += 1.0
    assert not pacer.wait_turn(3.0, limit=1.0)  # its turn is 2 s away: not taken
    assert pacer.wait_turn(3.0, limit=2.5) and now[0] == 103.0  # within the limit: waits


def test_an_interactive_edge_tries_once_within_its_budget(replay) -> None:
    """What a web submission uses: no retries, one deadline (a person is waiting)."""
    from broadsheet.sync.http import interactive

    replay.fail(Fault("503", path="/api/query", retry_after="0"))
    with HttpEdge("Broadsheet-test", interactive(0.0, 2.0)) as edge:
        with pytest.raises(SourceError, match="HTTP 503"):
            edge.get(replay.url + "/api/query", ONE, _read)
        assert edge.requests == 1
        replay.fail(Fault("slow", path="/api/query", seconds=3))
        start = time.monotonic()
        with pytest.raises(SourceError, match="no answer within 2 s"):
            edge.get(replay.url + "/api/query", ONE, _read)
        assert time.monotonic() - start < 2.5
        assert [i.arxiv_id for i in edge.get(replay.url + "/api/query", ONE, _read)] == ["1605.08386"]


def test_each_failed_request_is_logged_with_its_cause(replay, caplog: pytest.LogCaptureFixture) -> None:
    replay.fail(Fault("reset", path="/api/query"), Fault("503", path="/api/query", retry_after="0"))
    with caplog.at_level("WARNING", logger="broadsheet.sync"), _edge() as edge:
        edge.get(replay.url + "/api/query", ONE, _read)
        with pytest.raises(SourceError):
            edge.get(replay.url + "/api/query", {"search_query": "never recorded"}, _read)
    lines = [r.getMessage() for r in caplog.records if r.name == "broadsheet.sync"]
    assert len(lines) == 3, lines  # two faults survived, one 404: one line each
    assert all(line.startswith(f"GET {replay.url}/api/query?") for line in lines)
    assert "RemoteProtocolError" in lines[0] or "ConnectError" in lines[0] or "ReadError" in lines[0], lines[0]
    assert "HTTP 503" in lines[1] and "HTTP 404" in lines[2]


def test_user_agent_without_base_url() -> None:
    assert user_agent(load_settings(env={}, contact_email="ops@example.org")).endswith(" (mailto:ops@example.org)")
    assert "(" not in user_agent(load_settings(env={}))
