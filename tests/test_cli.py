"""The `consent` command line."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from consent import create_app, db, migrate
from consent.models import User
from tests.conftest import PASSWORD, Auth, test_settings


def test_db_upgrade_creates_the_schema(database_url):
    app = create_app(test_settings(database_url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is at revision head." in result.output
    with app.app_context():
        assert "users" in sa.inspect(db.engine()).get_table_names()
        db.engine().dispose()


def test_create_user_then_log_in(app):
    result = app.test_cli_runner().invoke(args=["create-user", "ada@example.org"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    code = result.output.strip().splitlines()[-1]
    assert len(code) == 39 and code.count("-") == 7
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1
        assert db.session().scalar(sa.select(sa.func.count()).select_from(sa.table("logins"))) == 0
    assert Auth(app.test_client()).login().status_code == 302


def test_create_user_refuses_a_weak_password_and_a_taken_email(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-user", "ada@example.org"], input="password1234\n")
    assert weak.exit_code == 1 and "password refused (too common)" in weak.output
    runner.invoke(args=["create-user", "ada@example.org"], input=PASSWORD + "\n")
    taken = runner.invoke(args=["create-user", "ADA@example.org"], input=PASSWORD + "\n")
    assert taken.exit_code == 1 and "already exists" in taken.output
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_console_script_runs_from_its_environment(tmp_path: Path):
    """The installed `consent` command finds the app, its config file and its migrations."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'secret_key = "{secrets.token_hex(32)}"\nemail_lookup_key = "{secrets.token_hex(32)}"\n'
        f'database_url = "sqlite:///{tmp_path / "c.db"}"\n'
    )
    env = {**os.environ, "CONSENT_CONFIG": str(config)}
    script = Path(sys.executable).with_name("consent")
    out = subprocess.run([script, "db", "upgrade"], check=False, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.db").exists()
    commands = subprocess.run(
        [script, "--help"], check=True, env=env, capture_output=True, text=True, cwd=tmp_path
    ).stdout
    for command in ["run", "db", "create-user"]:
        assert f"  {command} " in commands


def test_console_script_without_secrets_says_what_to_do(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env["CONSENT_CONFIG"] = str(tmp_path / "absent.toml")
    script = Path(sys.executable).with_name("consent")
    out = subprocess.run([script, "db", "upgrade"], check=False, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode != 0
    assert "configuration: secret_key must be a random value of at least 32 characters" in out.stderr
    assert "Traceback" not in out.stderr


# --- consent db upgrade / downgrade: the revision before and after, never the wrong way ---


def _revision(app) -> str | None:
    with app.app_context():
        return migrate.current(db.engine())


def test_db_upgrade_prints_the_revision_before_and_after(database_url):
    app = create_app(test_settings(database_url))
    runner = app.test_cli_runner()
    first = migrate.history()[0]
    step = runner.invoke(args=["db", "upgrade", "--revision", first])
    assert step.exit_code == 0, step.output
    assert step.output == f"Database was at revision base (empty).\nDatabase is at revision {first}.\n"
    rest = runner.invoke(args=["db", "upgrade"])
    assert rest.exit_code == 0, rest.output
    assert rest.output.startswith(f"Database was at revision {first}.\nDatabase is at revision head.\n")
    again = runner.invoke(args=["db", "upgrade"])
    assert again.output.startswith("Database was at revision head.\nDatabase is at revision head.\n")
    assert _revision(app) == migrate.head()
    with app.app_context():
        db.engine().dispose()


def test_db_upgrade_never_goes_down(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade", "--revision", "base"])
    assert result.exit_code == 1
    assert result.output == (
        "Database was at revision head.\n"
        "Error: upgrade never goes down: base (empty) is older than head; to go back, run: consent db downgrade base\n"
    )
    assert _revision(app) == migrate.head()


@pytest.mark.parametrize("command", [["upgrade", "--revision", "nonsense"], ["downgrade", "nonsense", "--yes"]])
def test_db_commands_refuse_an_unknown_revision_in_one_line(app, command):
    result = app.test_cli_runner().invoke(args=["db", *command])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: unknown revision 'nonsense': expected head, base or one of {', '.join(migrate.history())}\n"
    )
    assert _revision(app) == migrate.head()


def test_db_downgrade_asks_first_and_goes_down_when_confirmed(app):
    runner = app.test_cli_runner()
    previous = migrate.history()[-2]
    declined = runner.invoke(args=["db", "downgrade", previous], input="n\n")
    assert declined.exit_code == 1
    assert "Tables and columns added since are dropped with their data" in declined.output
    assert "Aborted!" in declined.output
    assert _revision(app) == migrate.head()
    confirmed = runner.invoke(args=["db", "downgrade", previous], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.output.startswith("Database is at revision head.\n")
    assert confirmed.output.endswith(f"Database is at revision {previous}.\n")
    assert _revision(app) == previous


def test_db_downgrade_to_base_with_yes_drops_the_schema(app):
    result = app.test_cli_runner().invoke(args=["db", "downgrade", "base", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.output == "Database is at revision head.\nDatabase is at revision base (empty).\n"
    assert _revision(app) is None
    with app.app_context():
        assert "users" not in sa.inspect(db.engine()).get_table_names()


def test_db_downgrade_never_goes_up_and_does_nothing_at_its_revision(app):
    runner = app.test_cli_runner()
    first = migrate.history()[0]
    assert runner.invoke(args=["db", "downgrade", first, "--yes"]).exit_code == 0
    up = runner.invoke(args=["db", "downgrade", "head", "--yes"])
    assert up.exit_code == 1
    assert up.output == (
        f"Database is at revision {first}.\n"
        f"Error: downgrade never goes up: head is newer than {first}; run: consent db upgrade\n"
    )
    same = runner.invoke(args=["db", "downgrade", first])  # no question: nothing would change
    assert same.exit_code == 0 and same.output == f"Database is at revision {first}.\nNothing to do.\n"
    assert _revision(app) == first
