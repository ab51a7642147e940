"""Personal digests: a member's subscription carries For you and follow alerts, in the same
exactly-once outbox as every digest. SIGKILL of `broadsheet digest send` mid-run, then a re-run:
each member gets exactly one digest, with their sections and reasons; a later period never
repeats a paper. A real SMTP server (aiosmtpd); both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, timedelta

import pytest
from helpers import paper
from smtp_helpers import SmtpServer
from web_helpers import NOW, PASSWORD, site_hub

from broadsheet.config import load_settings
from broadsheet.exceptions import InvalidInputError
from broadsheet.hub import Hub, make_hub
from broadsheet.types import ListingData

MEMBERS = 8
AUTHORS = ["Grace Hopper", "Rosalind Franklin"]
SEEDS = ["2611.00007", "2611.00008", "2611.00009"]  # site_hub papers listed 2026-11-26 (diffusion, graphs, proteins)


def _papers(day: date, start: int) -> list[object]:
    items: list[object] = []
    for k, author in enumerate(AUTHORS):
        aid = f"2611.{start + k:05d}"
        items += [
            paper(aid, title=f"Work of {author} number {start + k}", abstract="Something new.", authors=(author,),
                  categories=("q-bio.BM",), primary_category="q-bio.BM", published=day),
            ListingData(aid, day),
        ]  # fmt: skip
    return items


def _setup(db_url: str, port: int) -> dict[str, str]:
    hub = site_hub(db_url, embedder="none")
    hub.add_papers(_papers(date(2026, 11, 27), 30001))  # type: ignore[arg-type]
    for n in range(MEMBERS):
        user = hub.create_user(f"m{n:02d}", PASSWORD, email=f"m{n:02d}@example.org")
        hub.follow(user, "author", AUTHORS[n % 2])
        hub.save_paper(user, SEEDS[n % 3])  # a seed: not a cold start
        hub.subscribe(user=user, trending_top=0, follow_alerts=True, for_you_top=2, confirmed=True)
    hub.subscribe("visitor@example.org", trending_top=2, confirmed=True)  # no member: no personal part
    url = hub.settings.database_url
    hub.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update({
        "BROADSHEET_DATABASE_URL": url, "BROADSHEET_SMTP_HOST": "127.0.0.1", "BROADSHEET_SMTP_PORT": str(port),
        "BROADSHEET_SECRET_KEY": "s" * 40, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_BASE_URL": "https://papers.example.org",
    })  # fmt: skip
    return env


def _send(env: dict[str, str], day: str = "2026-11-28") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "digest", "send", "--date", day],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _text(msg) -> str:  # noqa: ANN001
    return msg.get_body(("plain",)).get_content()


def _titles(body: str) -> list[str]:
    return [line[2:] for line in body.splitlines() if line.startswith("* ")]


def test_personal_digest_exactly_once_across_sigkill(db_url: str) -> None:
    server = SmtpServer().start()
    try:
        env = _setup(db_url, server.port)
        server.recorder.hold_rcpt = 4  # killed while the 4th message waits for RCPT: not accepted
        proc = _send(env)
        assert server.recorder.held.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        server.recorder.release.set()
        assert len(server.recorder.messages) == 3
        server.recorder.hold_rcpt = None
        rerun = _send(env)
        out, err = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, err.decode()
        assert b"0 queued" in out  # every digest was composed once, by the killed run
        counts = server.recorder.per_recipient()
        members = {f"m{n:02d}@example.org" for n in range(MEMBERS)}
        assert set(counts) == members | {"visitor@example.org"} and set(counts.values()) == {1}
        for n in range(MEMBERS):
            [msg] = server.recorder.to(f"m{n:02d}@example.org")
            body, mine, other = _text(msg), AUTHORS[n % 2], AUTHORS[(n + 1) % 2]
            assert "== For you ==" in body and f"New papers by {other}" not in body
            titles = _titles(body)
            assert len(titles) == len(set(titles)) >= 2  # never one paper twice
            assert titles.count(f"Work of {mine} number {30001 + n % 2}") == 1  # the followed author's paper, once
            assert body.count("  Why: ") == len(titles)  # every personal paper says why
            assert f"you follow author {mine}" in body or f"by {mine}, whom you follow" in body
            assert "/digest/unsubscribe/" in body and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        visitor = _text(server.recorder.to("visitor@example.org")[0])
        assert "== Trending ==" in visitor and "New papers by" not in visitor and "Why:" not in visitor

        # the next day: only what is new, never a paper sent before
        hub = make_hub(load_settings(env=env))
        hub.add_papers(_papers(date(2026, 11, 28), 30011))  # type: ignore[arg-type]
        hub.close()
        nextday = _send(env, "2026-11-29")
        assert nextday.communicate(timeout=60)[0] and nextday.returncode == 0
        for n in range(MEMBERS):
            first, second = (_titles(_text(m)) for m in server.recorder.to(f"m{n:02d}@example.org"))
            assert f"Work of {AUTHORS[n % 2]} number {30011 + n % 2}" in second
            assert not set(first) & set(second)  # digest_papers: never sent twice
    finally:
        server.stop()


def test_personal_options_are_for_members_only(db_url: str) -> None:
    hub: Hub = site_hub(db_url, embedder="none")
    with pytest.raises(InvalidInputError, match="members"):
        hub.subscribe("someone@example.org", follow_alerts=True, trending_top=0, confirmed=True)
    with pytest.raises(InvalidInputError, match="between 0 and 50"):
        hub.subscribe(user=hub.get_user("ada"), for_you_top=51, confirmed=True)
    sub = hub.subscribe(user=hub.get_user("ada"), follow_alerts=True, confirmed=True)
    assert sub.follow_alerts and sub.for_you_top == 0 and sub.trending_top == 0  # alerts alone are content enough
    assert hub.get_subscriptions(hub.get_user("ada"))[0].follow_alerts
    # a member without follows (nor recommendations) gets no empty email
    assert hub.compose_digest(sub, NOW.date() + timedelta(days=1)) is None


def test_settings_form_and_confirmation_name_the_personal_parts(db_url: str) -> None:
    from test_web_pages import Client

    server = SmtpServer().start()
    try:
        hub = site_hub(db_url, smtp_host="127.0.0.1", smtp_port=server.port, secret_key="s" * 40,
                       base_url="https://papers.example.org", page_cache_seconds=0.0)  # fmt: skip
        member = Client(hub, base_url="https://testserver")
        member.login()
        page = member.get("/settings")
        assert 'name="for_you"' in page.text and 'name="follow_alerts"' in page.text
        r = member.post("/settings/digests", {"frequency": "weekly", "trending": "0", "topics": "", "for_you": "5", "follow_alerts": "1"})
        assert r.status_code == 303, r.text
        [sub] = hub.get_subscriptions(hub.get_user("ada"))
        assert (sub.frequency, sub.for_you_top, sub.follow_alerts, sub.trending_top) == ("weekly", 5, True, 0)
        assert "For you: top 5, follow alerts" in member.get("/settings").text
        [confirm] = server.recorder.to("ada@example.org")
        text = _text(confirm)
        assert "your 5 top For you papers" in text and "new papers of what you follow" in text
        bad = member.post("/settings/digests", {"frequency": "daily", "trending": "0", "for_you": "lots"})
        assert bad.status_code == 400 and "whole number" in bad.text
        hub.close()
    finally:
        server.stop()
