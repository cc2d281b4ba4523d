"""The `consent` command: Flask's own commands (`consent run`) plus the app's."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from consent import db, migrate
from consent.errors import (
    ConfigError,
    EmailTaken,
    IntegrityAlarm,
    InvalidCredentials,
    TooManyAttempts,
    VerificationError,
    WeakPassword,
)
from consent.services.accounts import AccountSettings, ActiveLogin


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
    if revision == "head":  # first start: a fresh install finds companies at once
        load_directory_snapshot_if_empty(strict=False)


def _read_password(*, confirm: bool = True) -> str:
    """The password from the terminal, or the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True))
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


def _log_in(email: str) -> ActiveLogin:
    """A login for a command that needs the person's key: the password from stdin/terminal."""
    from consent.services import accounts

    password = _read_password(confirm=False)
    try:
        return accounts.log_in(db.session(), _settings(), email=email, password=password)
    except InvalidCredentials:
        raise click.ClickException("the e-mail address or the password is wrong") from None
    except TooManyAttempts:
        raise click.ClickException("too many failed attempts for this address: wait a quarter of an hour") from None


def _settings() -> AccountSettings:
    settings: AccountSettings = current_app.extensions["consent.accounts"]
    return settings


@click.command("export")
@click.argument("email")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@with_appcontext
def export_command(email: str, output: Path | None) -> None:
    """Write EMAIL's ledger as a bundle; the password is read from standard input."""
    from consent.services import accounts, ledger

    login = _log_in(email)
    try:
        if output is None:
            count = ledger.export(db.session(), login, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as f:
                count = ledger.export(db.session(), login, f)
    except VerificationError as e:
        raise click.ClickException(str(e)) from None
    finally:
        accounts.log_out(db.session(), login.token)
    click.echo(f"Exported {count} events.", err=True)


@click.command("rebuild-state")
@click.argument("email")
@with_appcontext
def rebuild_state_command(email: str) -> None:
    """Rebuild EMAIL's platforms and uses from the ledger alone, check the letters against
    it, and seal the result (password from stdin). Refused if the ledger was rolled back."""
    from consent.services import accounts, ledger

    login = _log_in(email)
    try:
        state = ledger.recover(db.session(), login)
    except IntegrityAlarm as alarm:
        raise click.ClickException(f"refused: {alarm}") from None
    finally:
        accounts.log_out(db.session(), login.token)
    click.echo(f"Rebuilt {len(state.platforms)} platforms and {len(state.uses)} uses from the ledger.")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create a demo account with a year of history, and print how to log in."""
    from consent.demo import create_demo

    # Where its letters say anyone checks a ledger receipt: this instance's public page
    # (without a public address, where `make run` serves it).
    site = str(current_app.config["PUBLIC_URL"]).rstrip("/") or "http://localhost:5000"
    verify_url = site + "/verify"
    email, password = create_demo(db.session(), _settings(), verify_url=verify_url)
    click.echo("Demo account created. Log in with:")
    click.echo(f"  e-mail:   {email}")
    click.echo(f"  password: {password}")


@click.group("directory")
def directory_group() -> None:
    """The directory of companies and supervisory authorities."""


@directory_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def directory_import(path: Path) -> None:
    """Import a directory in the datarequests.org format from PATH."""
    from consent.services import directory

    _import_and_report(path, directory.record_files(path))


def _import_and_report(
    folder: Path | None, files: int, label: str = "Importing", texts: dict[str, bytes] | None = None
) -> None:
    """The import of a folder (or of record files held in memory) with its progress bar, then its
    report: what `import`, `update` and `load-snapshot` all print."""
    from consent.services import directory

    try:
        with click.progressbar(length=files, label=label, file=sys.stderr) as bar:
            found = directory.Unpacked(folder, files, str(folder), texts)
            report = directory.import_unpacked(db.session(), found, progress=bar.update)
    except directory.DirectoryError as e:
        raise click.ClickException(str(e)) from None
    for kind in ("controllers", "authorities", "redirects", "packs"):
        c = getattr(report, kind)
        retired = f", {c.retired} retired" if c.retired else ""
        click.echo(f"{kind:12} {c.added} added, {c.updated} updated, {c.unchanged} unchanged{retired}")
    for file, reason in report.rejected:
        click.echo(f"rejected     {file}: {reason}")
    click.echo(f"{len(report.rejected)} rejected." if report.rejected else "Nothing rejected.")
    if not report.changed:
        click.echo("No changes: the directory was already up to date.")


@directory_group.command("update")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path),
    help="A local checkout of the directory, a .tar.gz of one, or a snapshot (.json.gz): for a machine offline.",
)
@click.option("--url", help="Where to download the directory's .tar.gz (default: the upstream repository).")
@with_appcontext
def directory_update(source: Path | None, url: str | None) -> None:
    """Refresh the directory from the upstream repository, or from a local copy (--from)."""
    from consent.directory import snapshot
    from consent.services import directory

    if source is not None and url is not None:
        raise click.UsageError("give --from or --url, not both")
    try:
        if source is not None:
            unpacked = directory.unpacked_path(source)
        else:
            click.echo(f"Downloading {url or snapshot.ARCHIVE_URL} ...", err=True)
            unpacked = directory.unpacked_download(url or snapshot.ARCHIVE_URL)
        with unpacked as found:
            click.echo(f"Directory from {found.origin}", err=True)
            _import_and_report(found.folder, found.files, "Updating", found.texts)
    except directory.DirectoryError as e:
        raise click.ClickException(str(e)) from None


@directory_group.command("load-snapshot")
@with_appcontext
def directory_load_snapshot() -> None:
    """Load the directory snapshot shipped with the app, if the directory is empty."""
    load_directory_snapshot_if_empty()


def load_directory_snapshot_if_empty(*, strict: bool = True) -> None:
    """On first start (`consent db upgrade`), fill the empty directory from the shipped
    snapshot; a directory imported or updated before is left alone. Not ``strict``, a
    snapshot that cannot be read is a warning: the app still starts, without suggestions."""
    from consent.services import directory

    if not directory.is_empty(db.session()):
        click.echo("Directory: already filled (refresh it with: consent directory update).")
        return
    try:
        with directory.unpacked_snapshot() as found:
            click.echo(f"Directory: loading the snapshot of {found.origin}", err=True)
            _import_and_report(found.folder, found.files, "Loading the directory", found.texts)
    except (directory.DirectoryError, click.ClickException, OSError) as e:
        message = e.format_message() if isinstance(e, click.ClickException) else str(e)
        if strict:
            raise click.ClickException(message) from None
        click.echo(f"Warning: the directory snapshot was not loaded ({message}); company search stays", err=True)
        click.echo("empty until `consent directory update` or `consent directory import PATH`.", err=True)


def init_app(app: Flask) -> None:
    from consent.archive.cli import export_account_command, import_account_command
    from consent.ledger.verify import verify_command
    from consent.witness.cli import witness_group

    app.cli.add_command(db_group)
    app.cli.add_command(create_user)
    app.cli.add_command(export_command)
    app.cli.add_command(export_account_command)
    app.cli.add_command(import_account_command)
    app.cli.add_command(rebuild_state_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(directory_group)
    app.cli.add_command(verify_command)  # listed in --help; `consent verify` itself runs without the app
    app.cli.add_command(witness_group)  # likewise: `consent witness` runs without the app
