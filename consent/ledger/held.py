"""Held evidence: a checkpoint the person already holds, to pin what they verify next.

A person who once received a receipt, a bare c2sp.org/tlog-proof@v1 text or a signed
checkpoint note holds the ledger's size and root at that moment, signed by the owner's
key. Any later bundle must extend that tree (same root at that size, RFC 9162 section
2.1.4): another root is a fork, a smaller bundle a rollback. This module reads such a
file, whatever its form, into one ``HeldCheckpoint``; ``bundle.verify_bundle`` and
``receipts.verify_receipt`` compare with it.

Pure code, like the rest of consent.ledger: no Flask, no database, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consent.errors import VerificationError
from consent.ledger import receipts
from consent.ledger.bundle import MIB, size_text
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.note import VerifierKey

#: A held file: a receipt or proof (at most an entry's size) or a checkpoint note.
MAX_HELD_BYTES = 1 * MIB
_PROOF_START = b"c2sp.org/tlog-proof@v1\n"


@dataclass(frozen=True)
class HeldCheckpoint:
    """A checkpoint that verified with ``key``, and the event it proves, if it came with one."""

    name: str
    kind: str  # "receipt", "proof" or "checkpoint"
    key: VerifierKey
    checkpoint: Checkpoint
    index: int | None = None
    #: The event's canonical bytes (RFC 8785), for receipts and proofs.
    event: bytes | None = None


def open_held(data: bytes, key: VerifierKey, *, name: str) -> HeldCheckpoint:
    """Read a held file (receipt JSON, tlog proof, or signed checkpoint note) and verify its
    checkpoint's signature with ``key``; VerificationError, prefixed with ``name``, if not."""
    try:
        return _open(data, key, name)
    except VerificationError as e:
        raise VerificationError(f"held file {name}: {e}") from None


def _open(data: bytes, key: VerifierKey, name: str) -> HeldCheckpoint:
    if len(data) > MAX_HELD_BYTES:
        raise VerificationError(f"expected at most {size_text(MAX_HELD_BYTES)}, got {len(data)} bytes")
    if data.startswith(_PROOF_START):
        proven = receipts.open_tlog_proof(_text(data), key)
        return HeldCheckpoint(name, "proof", key, proven.checkpoint, proven.index, proven.canonical)
    if data.lstrip().startswith(b"{"):
        proven = receipts.open_receipt(receipts.parse_receipt(data), expected_key=key)
        return HeldCheckpoint(name, "receipt", key, proven.checkpoint, proven.index, proven.canonical)
    return HeldCheckpoint(name, "checkpoint", key, open_checkpoint(_text(data), key))


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("expected UTF-8 text") from None


def read_held(path: Path, key: VerifierKey) -> HeldCheckpoint:
    """``open_held`` for a file; reads at most one byte more than the limit."""
    with path.open("rb") as f:
        data = f.read(MAX_HELD_BYTES + 1)
    return open_held(data, key, name=path.name)
