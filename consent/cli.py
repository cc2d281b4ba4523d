"""The `consent` command: Flask's own commands (`consent run`) plus the app's."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
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

if TYPE_CHECKING:
    from consent.services import backup


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
    """Create or upgrade the database schema (never down: see `consent db downgrade`)."""
    engine = db.engine()
    target = _resolve_revision(revision)
    before = migrate.current(engine)
    click.echo(f"Database was at revision {migrate.label(before)}.")
    if migrate.position(target) < migrate.position(before):
        raise click.ClickException(
            f"upgrade never goes down: {migrate.label(target)} is older than {migrate.label(before)}; "
            f"to go back, run: consent db downgrade {target or migrate.BASE}"
        )
    if target != before:
        migrate.upgrade(engine, target or migrate.BASE)
    click.echo(f"Database is at revision {migrate.label(migrate.current(engine))}.")
    if target == migrate.head():  # first start: a fresh install finds companies at once
        load_directory_snapshot_if_empty(strict=False)


@db_group.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def db_downgrade(revision: str, yes: bool) -> None:
    """Take the database schema back to REVISION (an id, or base): what later revisions
    added is dropped, with its data."""
    engine = db.engine()
    target = _resolve_revision(revision)
    before = migrate.current(engine)
    click.echo(f"Database is at revision {migrate.label(before)}.")
    if migrate.position(target) > migrate.position(before):
        raise click.ClickException(
            f"downgrade never goes up: {migrate.label(target)} is newer than {migrate.label(before)}; "
            "run: consent db upgrade"
        )
    if target == before:
        click.echo("Nothing to do.")
        return
    if not yes:
        click.confirm(
            f"Downgrade to {migrate.label(target)}? Tables and columns added since are dropped with their data "
            "(make a backup first: consent backup PATH)",
            abort=True,
            err=True,
        )
    migrate.downgrade(engine, target or migrate.BASE)
    click.echo(f"Database is at revision {migrate.label(migrate.current(engine))}.")


def _resolve_revision(revision: str) -> str | None:
    try:
        return migrate.resolve(revision)
    except migrate.UnknownRevision as e:
        raise click.ClickException(str(e)) from None


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


def _read_passphrase(*, confirm: bool) -> str:
    """The backup's passphrase from the terminal (twice when it is new), or the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True))
    return sys.stdin.readline().rstrip("\r\n")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a backup of the instance to PATH while it runs: the database (SQLite) and the
    secrets that open it, encrypted with a passphrase read from the terminal or standard
    input. On PostgreSQL, the secrets and the description; pg_dump writes the data."""
    from consent.services import backup
    from consent.witness.client import Witness

    if path.exists():  # before asking for a passphrase
        raise click.ClickException(f"{path} exists: a backup is never written over a file; choose another name")
    passphrase = _read_passphrase(confirm=True)
    secrets = {key.lower(): str(current_app.config[key]) for key in backup.SECRET_SETTINGS if current_app.config[key]}
    # The witnesses go in the description, so that restore asks them wherever it runs.
    witnesses = [str(Witness.parse(text)) for text in current_app.config["WITNESSES"]]
    quorum = int(current_app.config["WITNESS_QUORUM"])
    engine = db.engine()
    try:
        if engine.dialect.name == "sqlite":
            described = backup.write_sqlite(
                Path(str(engine.url.database)),
                path,
                secrets=secrets,
                passphrase=passphrase,
                witnesses=witnesses,
                witness_quorum=quorum,
            )
        else:
            described = backup.write_secrets_only(
                engine, path, secrets=secrets, passphrase=passphrase, witnesses=witnesses, witness_quorum=quorum
            )
    except backup.BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        f"Backup written to {path}: {len(described.ledgers)} ledgers, {described.events} events, "
        f"{len(described.witnesses)} witnesses, schema revision {described.schema_revision}, "
        "the secrets encrypted with the passphrase."
    )
    if engine.dialect.name != "sqlite":
        click.echo("The data itself: run pg_dump now, as docs/operations.md (Backups) says:")
        click.echo(f"  pg_dump --format=custom --file={path.with_suffix('.dump')} DATABASE")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds accounts.")
@click.option(
    "--accept-rollback",
    is_flag=True,
    help="Restore even though witnesses saw newer ledgers than the backup holds (or could not be asked).",
)
@click.option(
    "--no-witnesses",
    is_flag=True,
    help="Restore although no witness is known (none in the backup, none configured): nothing then "
    "checks that the backup is not older than what was acknowledged.",
)
def restore_command(path: Path, force: bool, accept_rollback: bool, no_witnesses: bool) -> None:
    """Put a backup made by `consent backup` back: the database (SQLite) and the secrets in
    the instance's config file. The passphrase is read from the terminal or standard input.
    Runs without the app, so that a new machine needs no secrets of its own first."""
    from consent import config
    from consent.services import backup

    instance = Path(os.environ.get("CONSENT_INSTANCE", "instance")).resolve()
    config_path = Path(os.environ.get("CONSENT_CONFIG", instance / "config.toml"))
    passphrase = _read_passphrase(confirm=False)
    try:
        # The settings as they will be once the secrets are back (the file's, then the
        # environment's, then the backup's secrets): the database and witnesses to use.
        current = {**config._read_toml(config_path), **config._read_environment(os.environ)}
        with backup.open_backup(path, passphrase) as opened:
            restored = {key.upper(): value for key, value in opened.secrets.items()}
            settings = config.load(instance, {**current, **restored})
            _restore(
                opened,
                settings,
                config_path,
                force=force,
                accept_rollback=accept_rollback,
                no_witnesses=no_witnesses,
            )
    except (backup.BackupError, ConfigError) as e:
        raise click.ClickException(f"refused, nothing written: {e}") from None
    for key in backup.SECRET_SETTINGS:
        if f"CONSENT_{key}" in os.environ and key.lower() in opened.secrets:
            click.echo(f"Warning: CONSENT_{key} is set in the environment and overrides the restored value.", err=True)


def _restore(
    opened: backup.Opened,
    settings: dict[str, Any],
    config_path: Path,
    *,
    force: bool,
    accept_rollback: bool,
    no_witnesses: bool,
) -> None:
    """The checks that need the instance's settings, then the writes: database, then config."""
    from consent.services import backup, witnessing

    described = opened.description
    url = sa.engine.make_url(settings["DATABASE_URL"])
    kind = url.get_backend_name()
    if described.database != kind:
        raise backup.BackupError(
            f"expected a backup of a {kind} database (the instance's), got one of {described.database}"
        )
    if _holds_accounts(url) and not force:
        raise backup.BackupError("the instance's database already holds accounts; to replace it, add --force")
    rules = witnessing.WitnessPolicy.from_settings(settings)
    # The backup's witnesses as well as the configured ones: a machine whose config names
    # none would otherwise check nothing, and an older backup would come back in silence.
    asked = backup.witnesses_to_ask(described, rules.witnesses)
    if not asked and not no_witnesses:
        raise backup.BackupError(
            "no witness is known (none in the backup, none configured), so nothing can tell whether this "
            "backup is older than what was acknowledged; to restore it unchecked, add --no-witnesses"
        )
    if not asked:
        click.echo(
            "Not checked: whether this backup is older than what was acknowledged (no witness is known); "
            "decisions made after it are lost without a word, and the ledger goes on from it.",
            err=True,
        )
    findings = backup.behind(described, asked, timeout=rules.timeout)
    if findings and not accept_rollback:
        raise backup.BackupError(
            f"the backup is older than what the witnesses saw ({len(findings)} findings):\n"
            + "\n".join(f"  {finding}" for finding in findings)
            + "\nRestoring it loses those decisions; if that is what you mean, add --accept-rollback"
        )
    for finding in findings:
        click.echo(f"Rollback accepted: {finding}", err=True)
    if opened.database is not None:
        engine = db.make_engine(settings["DATABASE_URL"])
        try:
            backup.restore_sqlite(opened.database, engine)
        finally:
            engine.dispose()
    backup.write_config(config_path, opened.secrets)
    click.echo(
        f"Restored the backup of {described.created_at}: {len(described.ledgers)} ledgers, {described.events} events, "
        f"schema revision {described.schema_revision}; secrets written to {config_path}."
    )
    if opened.database is None:
        click.echo("The data itself: restore the pg_dump file taken with it, as docs/operations.md (Backups) says:")
        click.echo("  pg_restore --exit-on-error --no-owner --single-transaction --dbname=DATABASE BACKUP.dump")
    if described.schema_revision != migrate.head():
        click.echo("Then bring the schema up to this version: consent db upgrade")


def _holds_accounts(url: sa.URL) -> bool:
    from consent.services import backup

    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return False  # not created by merely looking: nothing is written before the checks pass
    engine = sa.create_engine(url)
    try:
        return backup.holds_accounts(engine)
    finally:
        engine.dispose()


main.add_command(restore_command)  # on the group itself: it runs without loading the app


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
    app.cli.add_command(backup_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(directory_group)
    app.cli.add_command(verify_command)  # listed in --help; `consent verify` itself runs without the app
    app.cli.add_command(witness_group)  # likewise: `consent witness` runs without the app
