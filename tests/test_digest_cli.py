"""`broadsheet subscription ...`, `broadsheet digest ...` and `broadsheet worker --once`."""

from __future__ import annotations


from smtp_helpers import SmtpServer
from typer.testing import CliRunner
from web_helpers import site_hub

from broadsheet.cli import app


def test_subscription_add_list_send_status(db_url: str) -> None:
    hub = site_hub(db_url)
    db = hub.settings.database_url
    hub.close()
    server = SmtpServer().start()
    env = {"BROADSHEET_DATABASE_URL": db, "BROADSHEET_SMTP_HOST": "127.0.0.1", "BROADSHEET_SMTP_PORT": str(server.port),
           "BROADSHEET_SECRET_KEY": "s" * 40, "BROADSHEET_EMBEDDER": "none", "BROADSHEET_BASE_URL": "https://papers.example.org",
           "BROADSHEET_SCHEDULE": "digest-daily=00:00; digest-weekly=off"}  # fmt: skip
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout

    try:
        assert "confirmed" in run("subscription", "add", "a@example.org", "--topic", "graph networks", "--topic", "cat:cs.LG", "--confirmed")
        assert "waiting for confirmation" in run("subscription", "add", "b@example.org", "--frequency", "weekly")
        listed = run("subscription", "list")
        assert "a@example.org  daily  confirmed" in listed and "b@example.org  weekly  UNCONFIRMED" in listed
        dry = run("digest", "send", "--date", "2026-11-28", "--dry-run")
        assert "a@example.org: Trending" in dry and "would queue 1" in dry
        assert server.recorder.to("a@example.org") == []
        sent = run("digest", "send", "--date", "2026-11-28")
        assert "1 queued" in sent and "1 sent" in sent
        status = run("digest", "status")
        assert "0 pending" in status and "2 sent" in status  # the digest and b's confirmation
        assert "1 confirmed, 1 unconfirmed" in status
        bad = runner.invoke(app, ["digest", "send", "--date", "28/11/2026"], env=env)
        assert bad.exit_code == 2
        worker = run("worker", "--once")
        assert "digest-daily at 00:00" in worker and "digest-daily" in worker.splitlines()[1]
    finally:
        server.stop()
