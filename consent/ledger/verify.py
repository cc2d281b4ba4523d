"""`consent verify FILE [--key VKEY]`: check a bundle, a receipt or a tlog proof offline.

Imports neither Flask nor SQLAlchemy, so it runs anywhere the package (or just this
subpackage and its few dependencies) is installed, far from any server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import ijson

from consent.errors import VerificationError
from consent.ledger import bundle, receipts
from consent.ledger.bundle import Report
from consent.ledger.note import VerifierKey


def _kind(path: Path) -> str:
    with path.open("rb") as f:
        start = f.read(64)
        if start.startswith(b"c2sp.org/tlog-proof@v1\n"):
            return "proof"
        f.seek(0)
        try:
            for prefix, kind, value in ijson.parse(f):
                if prefix == "format" and kind == "string":
                    return str(value)
                if prefix == "" and kind == "end_map":
                    break
        except ijson.JSONError:
            raise VerificationError("the file is neither JSON nor a c2sp.org/tlog-proof@v1 text") from None
    raise VerificationError("the file has no format field: expected a ledger bundle or receipt")


def verify_path(path: Path, key: VerifierKey | None) -> Report:
    kind = _kind(path)
    if kind == bundle.FORMAT:
        with path.open("rb") as f:
            return bundle.verify_bundle(f, expected_key=key)
    if kind == receipts.FORMAT:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise VerificationError(f"receipt: not valid JSON: {e}") from None
        return receipts.verify_receipt(document, expected_key=key)
    if kind == "proof":
        if key is None:
            raise VerificationError("a bare tlog proof names no key: give the expected one with --key")
        return receipts.verify_tlog_proof(path.read_text(encoding="utf-8"), key=key, pinned=True)
    raise VerificationError(f"unknown format {kind!r}: expected {bundle.FORMAT} or {receipts.FORMAT}")


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_text", metavar="VKEY", help="The verifier key you expect (name+keyid+base64).")
def verify_command(file: Path, key_text: str | None) -> None:
    """Verify a ledger bundle, a receipt or a tlog proof, offline."""
    try:
        key = VerifierKey.parse(key_text) if key_text else None
        report = verify_path(file, key)
    except VerificationError as e:
        click.echo(f"FAILED: {e}", err=True)
        sys.exit(1)
    click.echo(f"OK: {report.kind} of ledger {report.origin}")
    for line in report.checks:
        click.echo(f"  - {line}")
    if report.first_recorded:
        click.echo(f"  - events recorded from {report.first_recorded} to {report.last_recorded}")
    if report.key_pinned:
        click.echo(f"  - signed by the expected key {report.key}")
    else:
        click.echo(f"  ! key not pinned: the file was signed by {report.key}, the key it names itself.")
        click.echo("    Anyone can make a file that checks out with its own key: compare this key with the")
        click.echo("    one the ledger's owner gave you, or pass it with --key.")
