"""`consent export-account` and `consent import-account` (issue 12: being built)."""

from __future__ import annotations

import click


@click.command("export-account")
@click.argument("email")
def export_account_command(email: str) -> None:
    """Write one person's whole account to an archive (being built)."""
    raise click.ClickException("not built yet")


@click.command("import-account")
@click.argument("archive")
def import_account_command(archive: str) -> None:
    """Bring an account archive into this instance (being built)."""
    raise click.ClickException("not built yet")
