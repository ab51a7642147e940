"""`broadsheet user create`: the way to make the first admin."""

from __future__ import annotations

from typer.testing import CliRunner

from broadsheet.cli import app
from broadsheet.config import load_settings
from broadsheet.hub import make_hub

runner = CliRunner()


def test_user_create_prompts_for_the_password(db_url: str) -> None:
    args = [
        "--db",
        db_url,
        "user",
        "create",
        "root",
        "--email",
        "root@example.org",
        "--admin",
    ]
    result = runner.invoke(
        app,
        args,
        input="a long password\na long password\n",
        env={"BROADSHEET_DATABASE_URL": ""},
    )
    assert result.exit_code == 0, result.output
    assert "created admin root" in result.stdout
    hub = make_hub(load_settings(env={}, database_url=db_url))
    try:
        user, _ = hub.log_in("root", "a long password")
        assert user.is_admin and user.email == "root@example.org"
    finally:
        hub.close()


def test_user_create_refuses_taken_names_and_short_passwords(db_url: str) -> None:
    db = db_url
    env = {"BROADSHEET_DATABASE_URL": ""}
    ok = runner.invoke(
        app,
        ["--db", db, "user", "create", "ada", "--password", "a long password"],
        env=env,
    )
    assert ok.exit_code == 0 and "created user ada" in ok.stdout
    taken = runner.invoke(
        app,
        ["--db", db, "user", "create", "Ada", "--password", "a long password"],
        env=env,
    )
    assert taken.exit_code == 2 and "is taken" in taken.stderr
    short = runner.invoke(
        app, ["--db", db, "user", "create", "bob", "--password", "short"], env=env
    )
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr
