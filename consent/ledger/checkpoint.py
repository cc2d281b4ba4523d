"""Checkpoints in the C2SP tlog-checkpoint format (c2sp.org/tlog-checkpoint).

The body is three lines: the log's origin, the tree size in decimal, and the base64 root
hash; it is signed as a C2SP signed note by the key named after the origin.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from consent.errors import VerificationError
from consent.ledger.merkle import HASH_SIZE
from consent.ledger.note import Signer, VerifierKey, open_note


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, signer: Signer) -> str:
        if signer.name != self.origin:
            raise ValueError(f"a checkpoint is signed by the key named after its origin {self.origin!r}")
        return signer.sign(self.body())

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise VerificationError("checkpoint: expected origin, size and root hash lines")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin:
            raise VerificationError("checkpoint: empty origin")
        if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0") or not size_text.isascii():
            raise VerificationError(f"checkpoint: expected a decimal tree size, got {size_text!r}")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            raise VerificationError("checkpoint: the root hash is not base64") from None
        if len(root) != HASH_SIZE:
            raise VerificationError(f"checkpoint: expected a {HASH_SIZE}-byte root hash, got {len(root)}")
        if any(not line for line in lines[3:-1]):
            raise VerificationError("checkpoint: empty extension line")
        return cls(origin, int(size_text), root)


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in a signed note, once its signature verifies and its origin is the key's."""
    checkpoint = Checkpoint.parse_body(open_note(note, key))
    if checkpoint.origin != key.name:
        raise VerificationError(f"checkpoint: expected origin {key.name!r}, got {checkpoint.origin!r}")
    return checkpoint
