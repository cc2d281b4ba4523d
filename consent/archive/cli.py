"""`consent export-account` and `consent import-account`: the account archive from the shell."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from consent import db
from consent.archive import format as archive_format
from consent.errors import EmailTaken, IntegrityAlarm, WeakPassword


def _line(prompt: str, *, confirm: bool) -> str:
    """A secret from the terminal, or the next line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True))
    return sys.stdin.readline().rstrip("\r\n")


class _Bar:
    """A click progress bar on standard error, made once the number of steps is known."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Building the archive", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.command("export-account")
@click.argument("email")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option("--encrypt", is_flag=True, help="Encrypt with a passphrase (age format, .zip.age).")
@with_appcontext
def export_account_command(email: str, output: Path | None, encrypt: bool) -> None:
    """Write EMAIL's whole account to an archive. The password is read from the first line of
    standard input (or the terminal), the passphrase (with --encrypt) from the second."""
    from consent.archive.present import presentation
    from consent.cli import _log_in
    from consent.services import accounts
    from consent.services import archive as archive_service

    suffix = ".zip.age" if encrypt else ".zip"
    output = output or Path(f"account-archive-{datetime.now(UTC):%Y-%m-%d}{suffix}")
    if output.exists():
        raise click.ClickException(f"{output} exists: an archive is never written over a file; choose another name")
    login = _log_in(email)
    passphrase = _line("Passphrase", confirm=True) if encrypt else None
    if encrypt and not passphrase:
        accounts.log_out(db.session(), login.token)
        raise click.ClickException("--encrypt needs a passphrase (the second line of standard input)")
    bar = _Bar()
    try:
        with tempfile.TemporaryFile() as built:
            doc = archive_service.export_account(
                db.session(),
                login,
                built,
                presentation=presentation(),
                public_url=str(current_app.config["PUBLIC_URL"] or ""),
                post_delivery_days=int(current_app.config["POST_DELIVERY_DAYS"]),
                progress=bar,
            )
            bar.close()
            built.seek(0)
            partial = output.with_name(output.name + ".partial")
            with partial.open("xb") as out:
                if passphrase:
                    archive_format.encrypt_stream(built, out, passphrase)
                else:
                    shutil.copyfileobj(built, out)
            os.replace(partial, output)
    except archive_service.ArchiveBusy as e:
        raise click.ClickException(str(e)) from None
    except IntegrityAlarm as alarm:
        raise click.ClickException(
            f"not exported: the records do not match what your key vouches for ({alarm})"
        ) from None
    finally:
        bar.close()
        accounts.log_out(db.session(), login.token)
    click.echo(
        f"Archive written to {output}: {len(doc['platforms'])} platforms, {len(doc['requests'])} requests, "
        f"{(doc['ledger'] or {}).get('size', 0)} ledger events.",
        err=True,
    )
    if not passphrase:
        click.echo("It is not encrypted and holds your signing key: keep it as safe as your password.", err=True)


@click.command("import-account")
@click.argument("archive", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--email", required=True, help="The e-mail address of the account to create.")
@with_appcontext
def import_account_command(archive: Path, email: str) -> None:
    """Create an account for EMAIL from ARCHIVE (made by export-account). The new password is
    read from the first line of standard input (or the terminal), the archive's passphrase,
    if it is encrypted, from the second."""
    from consent.cli import _settings
    from consent.services import accounts, witnessing
    from consent.services import archive as archive_service

    password = _line("New password", confirm=True)
    with archive.open("rb") as stream:
        encrypted = stream.read(len(archive_format.AGE_HEADER)) == archive_format.AGE_HEADER
        stream.seek(0)
        passphrase = _line("Passphrase", confirm=False) if encrypted else None
        s = db.session()
        trusted = tuple(w.key for w in witnessing.witnesses(s))
        try:
            opened = archive_format.open_archive(stream, passphrase=passphrase, witnesses=trusted)
            try:
                cosignatures = archive_service.ask_witnesses(s, opened)
                new = archive_service.import_account(
                    s, _settings(), opened, password=password, email=email, cosignatures=cosignatures
                )
            finally:
                opened.close()
        except archive_format.ArchiveError as e:
            raise click.ClickException(f"refused, nothing written: {e}") from None
        except WeakPassword as e:
            raise click.ClickException(f"password refused ({e.reason.replace('_', ' ')}): {e}") from None
        except EmailTaken:
            raise click.ClickException("an account with this e-mail address already exists") from None
    accounts.log_out(s, new.login.token)  # the command needs no login
    click.echo(f"Account {opened.user_id} imported for {email}. Its new recovery code, shown only this once:")
    click.echo(new.recovery_code)
