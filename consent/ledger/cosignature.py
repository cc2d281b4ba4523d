"""Witness cosignatures: C2SP tlog-cosignature v1 with Ed25519 (c2sp.org/tlog-cosignature).

A witness that has checked a checkpoint's consistency with everything it saw before adds
a signature line to it::

    — <witness name> base64(key ID || 8-byte big-endian timestamp || Ed25519 signature)

The key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``; the signed message is
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's body. A witness's
verifier key is written ``<name>+<key ID in hex>+base64(0x04 || public key)``.

Pure code, like the rest of consent.ledger: no Flask, no database, no network.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent.errors import VerificationError
from consent.ledger.note import check_key_name, key_id, parse_vkey, signature_line, split_note

_COSIGNATURE_V1 = 0x04
_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1


def signed_message(body: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line, then the checkpoint body."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise VerificationError(f"cosignature: expected a timestamp from 0 to 2^63-1, got {timestamp}")
    return f"{_HEADER}time {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness's public key, with the name its cosignature lines carry."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        try:
            check_key_name(self.name)
        except VerificationError as e:
            raise VerificationError(f"witness {e}") from None
        if len(self.public_key) != 32:
            raise VerificationError(f"witness key: expected a 32-byte Ed25519 key, got {len(self.public_key)} bytes")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key, _COSIGNATURE_V1)

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> WitnessKey:
        kind = "a cosignature/v1 key (type 0x04, 32 bytes)"
        return cls(*parse_vkey(text, _COSIGNATURE_V1, what="witness key", kind=kind))


@dataclass(frozen=True)
class Cosigner:
    """A witness's private key and name: what `consent witness serve` signs with."""

    name: str
    private_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def key(self) -> WitnessKey:
        public = Ed25519PrivateKey.from_private_bytes(self.private_key).public_key().public_bytes_raw()
        return WitnessKey(self.name, public)

    def cosign(self, body: str, timestamp: int) -> str:
        """The cosignature line (with its newline) over a checkpoint ``body`` at ``timestamp``."""
        signature = Ed25519PrivateKey.from_private_bytes(self.private_key).sign(signed_message(body, timestamp))
        return signature_line(self.name, struct.pack(">IQ", self.key.key_id, timestamp) + signature)


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which witness, and the time it vouches for (POSIX seconds)."""

    witness: WitnessKey
    timestamp: int


def verify_cosignatures(note: str, witnesses: Sequence[WitnessKey]) -> list[Cosignature]:
    """The cosignatures on ``note`` by any of ``witnesses``, each verified.

    Lines by other keys are ignored (the log's own signature among them); a line that
    carries a listed witness's name and key ID but does not verify fails the whole note.
    """
    text, signatures = split_note(note)
    by_id = {(w.name, w.key_id): w for w in witnesses}
    found: dict[WitnessKey, Cosignature] = {}
    for name, raw in signatures:
        witness = by_id.get((name, int.from_bytes(raw[:4], "big")))
        if witness is None:
            continue
        if len(raw) != 4 + 8 + 64:
            raise VerificationError(f"cosignature by {name}: expected 76 bytes, got {len(raw)}")
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        try:
            Ed25519PublicKey.from_public_bytes(witness.public_key).verify(raw[12:], signed_message(text, timestamp))
        except InvalidSignature:
            raise VerificationError(f"cosignature by {name} does not verify") from None
        found[witness] = Cosignature(witness, timestamp)
    return list(found.values())


def add_cosignatures(note: str, lines: str) -> str:
    """``note`` with the signature ``lines`` a witness returned appended (each once)."""
    present = set(note.splitlines(keepends=True))
    extra = [line for line in lines.splitlines(keepends=True) if line not in present]
    return note + "".join(extra)
