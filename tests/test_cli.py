"""The `consent` command line."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from consent import create_app, db
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
