"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A note is a text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``. The key ID is the first four bytes of
``SHA-256(key name || 0x0A || 0x01 || public key)``; a verifier key is written
``<name>+<key ID in hex>+base64(0x01 || public key)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent.errors import VerificationError

_ED25519 = 0x01
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
#: The spec asks verifiers to accept at least 16 signatures; more is refused.
_MAX_SIGNATURES = 16


def check_key_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise VerificationError(f"key name: expected no spaces or '+', got {name!r}")


def parse_vkey(text: str, key_type: int, *, what: str, kind: str) -> tuple[str, bytes]:
    """The name and 32-byte public key of a C2SP vkey, ``<name>+<key ID>+base64(type || key)``,
    once its type is ``key_type`` and its key ID the one the name and key make."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or len(parts[1]) != 8:
        raise VerificationError(f"{what}: expected name+keyid+base64, got {text.strip()!r}")
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        wanted_id = int(hex_id, 16)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{what}: the key ID or key is not valid hex / base64") from None
    if len(raw) != 33 or raw[0] != key_type:
        raise VerificationError(f"{what}: expected {kind}")
    actual = key_id(name, raw[1:], key_type)
    if actual != wanted_id:
        raise VerificationError(f"{what}: expected key ID {actual:08x}, got {hex_id}")
    return name, raw[1:]


def key_id(name: str, public_key: bytes, key_type: int = _ED25519) -> int:
    """The 4-byte ID a signature line carries: ``SHA-256(name || 0x0A || type || key)[:4]``."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class VerifierKey:
    """A trusted public key, with the name and ID that its signature lines carry."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != 32:
            raise VerificationError(f"verifier key: expected a 32-byte Ed25519 key, got {len(self.public_key)} bytes")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        return cls(*parse_vkey(text, _ED25519, what="verifier key", kind="an Ed25519 key (type 0x01, 32 bytes)"))


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with the name it signs under."""

    name: str
    private_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def verifier(self) -> VerifierKey:
        public = Ed25519PrivateKey.from_private_bytes(self.private_key).public_key().public_bytes_raw()
        return VerifierKey(self.name, public)

    def sign(self, text: str) -> str:
        """The note: ``text``, a blank line, and this key's signature line."""
        _check_text(text)
        private = Ed25519PrivateKey.from_private_bytes(self.private_key)
        signature = private.sign(text.encode("utf-8"))
        ident = struct.pack(">I", key_id(self.name, private.public_key().public_bytes_raw()))
        return f"{text}\n{signature_line(self.name, ident + signature)}"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise VerificationError("note: expected the text to end in a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise VerificationError("note: control characters other than newline are not allowed")


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The note's text and its signature lines as (key name, base64-decoded bytes), unverified.

    Refuses a malformed note: no blank line, no or too many signature lines, a line that is
    not ``— <name> <base64>``, or a signature too short to hold a key ID.
    """
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("note: no blank line between text and signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = signature_block.split("\n")[:-1]
    if not lines:
        raise VerificationError("note: no signature lines")
    if len(lines) > _MAX_SIGNATURES:
        raise VerificationError(f"note: expected at most {_MAX_SIGNATURES} signatures, got {len(lines)}")
    signatures = []
    for line in lines:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise VerificationError(f"note: malformed signature line {line[:40]!r}")
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise VerificationError("note: a signature is not valid base64") from None
        if len(raw) < 5:
            raise VerificationError("note: a signature is too short")
        signatures.append((name, raw))
    return text, signatures


def signature_line(name: str, raw: bytes) -> str:
    """One signature line, ``— <name> base64(raw)``, with its newline."""
    return f"{_SIGNATURE_PREFIX}{name} {base64.b64encode(raw).decode()}\n"


def open_note(note: str, key: VerifierKey) -> str:
    """The note's text once a signature by ``key`` verifies; VerificationError otherwise.

    Signatures by other keys are ignored, as the spec requires; a signature that claims
    to be ``key``'s (same name and ID) and fails makes the whole note fail.
    """
    text, signatures = split_note(note)
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    verified = False
    for name, raw in signatures:
        if name != key.name or int.from_bytes(raw[:4], "big") != key.key_id:
            continue  # someone else's signature
        try:
            public.verify(raw[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise VerificationError(f"note: the signature by {key.name} does not verify") from None
        verified = True
    if not verified:
        raise VerificationError(f"note: no signature by {key} (expected key ID {key.key_id:08x})")
    return text
