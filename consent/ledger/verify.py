"""`consent verify FILE [--key VKEY] [--held FILE ...] [--witness VKEY ...]`: check a
bundle, a receipt or a tlog proof offline.

Imports neither Flask nor SQLAlchemy, so it runs anywhere the package (or just this
subpackage and its few dependencies) is installed, far from any server.
Exit codes: 0 verified, 1 verification failed ("FAILED: ..."), 2 usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click
import ijson

from consent.errors import VerificationError
from consent.ledger import bundle, receipts
from consent.ledger.bundle import READ_BUFFER, LimitedReader, Report
from consent.ledger.cosignature import WitnessKey
from consent.ledger.held import HeldCheckpoint, read_held
from consent.ledger.note import VerifierKey

_PROOF_START = b"c2sp.org/tlog-proof@v1\n"


def _sniff(path: Path) -> tuple[str, str | None]:
    """The file's kind (its format, or "proof") and the verifier key it names, if any.

    Reads the top-level members until both are found or the entries begin, never more
    than a receipt's limit: a bundle names both in its header.
    """
    with path.open("rb") as f:
        if f.read(len(_PROOF_START)) == _PROOF_START:
            return "proof", None
        f.seek(0)
        reader = LimitedReader(f, name="the file")
        reader.item(receipts.MAX_RECEIPT_BYTES, "the file's format member")
        found: dict[str, str] = {}
        try:
            for prefix, kind, value in ijson.parse(reader, buf_size=READ_BUFFER):
                if prefix in ("format", "verifier_key") and kind == "string":
                    found.setdefault(prefix, value)
                if (prefix == "entries" and kind == "start_array") or len(found) == 2:
                    break
                if prefix == "" and kind == "end_map":
                    break
        except (ijson.JSONError, UnicodeDecodeError):
            if "format" not in found:
                raise VerificationError("the file is neither JSON nor a c2sp.org/tlog-proof@v1 text") from None
    if "format" not in found:
        raise VerificationError("the file has no format field: expected a ledger bundle or receipt")
    return found["format"], found.get("verifier_key")


def verify_path(
    path: Path,
    key: VerifierKey | None,
    *,
    held: Sequence[Path] = (),
    witnesses: Sequence[WitnessKey] = (),
    min_cosignatures: int = 0,
    all_signatures: bool = False,
) -> Report:
    """Verify the file at ``path``: a bundle, a receipt or a bare tlog proof.

    ``held`` files are opened with ``key`` or, if it is None, with the key the file names
    (the report then says the key was not pinned).
    """
    bundle.check_min_cosignatures(witnesses, min_cosignatures)
    kind, named_key = _sniff(path)
    if kind == "proof" and key is None:
        raise VerificationError("a bare tlog proof names no key: give the expected one with --key")
    if kind not in (bundle.FORMAT, receipts.FORMAT, "proof"):
        raise VerificationError(f"unknown format {kind!r}: expected {bundle.FORMAT} or {receipts.FORMAT}")
    held_checkpoints = _held(held, key, named_key)
    if kind == bundle.FORMAT:
        with path.open("rb") as f:
            return bundle.verify_bundle(
                f,
                expected_key=key,
                held=held_checkpoints,
                witnesses=witnesses,
                min_cosignatures=min_cosignatures,
                all_signatures=all_signatures,
            )
    if kind == receipts.FORMAT:
        with path.open("rb") as f:
            data = f.read(receipts.MAX_RECEIPT_BYTES + 1)
        return receipts.verify_receipt(
            receipts.parse_receipt(data),
            expected_key=key,
            held=held_checkpoints,
            witnesses=witnesses,
            min_cosignatures=min_cosignatures,
        )
    assert key is not None  # noqa: S101 - refused above
    with path.open("rb") as f:
        data = f.read(receipts.MAX_PROOF_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("proof: expected UTF-8 text") from None
    return receipts.verify_tlog_proof(
        text, key=key, pinned=True, held=held_checkpoints, witnesses=witnesses, min_cosignatures=min_cosignatures
    )


def _held(paths: Sequence[Path], key: VerifierKey | None, named_key: str | None) -> list[HeldCheckpoint]:
    if not paths:
        return []
    if key is None:
        if named_key is None:
            raise VerificationError("the file names no verifier key to check the held files with: give one with --key")
        key = bundle.parse_key(named_key)
    return [read_held(path, key) for path in paths]


def _parse_key(ctx: click.Context, param: click.Parameter, value: str | None) -> VerifierKey | None:
    try:
        return bundle.parse_key(value.strip()) if value else None
    except VerificationError as e:
        raise click.BadParameter(str(e)) from None


def _parse_witness(text: str) -> WitnessKey:
    key = WitnessKey.parse(text)
    if str(key) != text:
        raise VerificationError(f"witness key: expected the canonical form {str(key)!r}, got {text!r}")
    return key


def _parse_witnesses(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[WitnessKey]:
    try:
        return [_parse_witness(value.strip()) for value in values]
    except VerificationError as e:
        raise click.BadParameter(str(e)) from None


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    metavar="VKEY",
    callback=_parse_key,
    help="The verifier key you expect (name+keyid+base64). Without it, the file's own key is used, and said so.",
)
@click.option(
    "--held",
    "held",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A receipt, tlog proof or signed checkpoint you already hold: FILE must be consistent with it. Repeatable.",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="VKEY",
    callback=_parse_witnesses,
    help="A witness's cosignature key (name+keyid+base64 of type 0x04) to require on the newest checkpoint.",
)
@click.option(
    "--min-cosignatures",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="How many of the witnesses must have cosigned (default: 1 if any --witness is given).",
)
@click.option(
    "--all-signatures",
    is_flag=True,
    help="Verify the signature of every checkpoint in a bundle, not only the newest one.",
)
def verify_command(
    file: Path,
    key: VerifierKey | None,
    held: tuple[Path, ...],
    witnesses: list[WitnessKey],
    min_cosignatures: int | None,
    all_signatures: bool,
) -> None:
    """Verify a ledger bundle, a receipt or a tlog proof, offline."""
    minimum = min_cosignatures if min_cosignatures is not None else (1 if witnesses else 0)
    if minimum > len(witnesses):
        raise click.UsageError(
            f"--min-cosignatures {minimum} asks for more cosignatures than the {len(witnesses)} --witness key(s) given"
        )
    try:
        report = verify_path(
            file, key, held=held, witnesses=witnesses, min_cosignatures=minimum, all_signatures=all_signatures
        )
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
