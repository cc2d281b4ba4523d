"""The `consent` command: Flask's own commands (`consent run`) plus the app's."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from consent import db, migrate
from consent.errors import ConfigError, EmailTaken, WeakPassword


def _create_app() -> Flask:
    from consent import create_app

    try:
        return create_app()
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """Consent manager: your platforms, your consents, your signed ledger."""


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create or upgrade the database schema."""
    migrate.upgrade(db.engine(), revision)
    click.echo(f"Database is at revision {revision}.")


def _read_password() -> str:
    """The password from the terminal (asked twice), or the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-user")
@click.argument("email")
@with_appcontext
def create_user(email: str) -> None:
    """Create an account for EMAIL; the password is read from the terminal or standard input."""
    from consent.services import accounts

    password = _read_password()
    try:
        new = accounts.register(
            db.session(), current_app.extensions["consent.accounts"], email=email, password=password
        )
        accounts.log_out(db.session(), new.login.token)  # the command needs no login
    except WeakPassword as e:
        raise click.ClickException(f"password refused ({e.reason.replace('_', ' ')}): {e}") from None
    except EmailTaken:
        raise click.ClickException("an account with this e-mail address already exists") from None
    click.echo("Account created. Its recovery code, shown only this once:")
    click.echo(new.recovery_code)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(create_user)
