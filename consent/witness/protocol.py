"""The add-checkpoint request of C2SP tlog-witness (c2sp.org/tlog-witness), both ways.

``POST <submission prefix>/add-checkpoint`` carries an old size line (``old <size>``),
zero to 63 base64 consistency-proof lines, an empty line, then the signed checkpoint.
A 409 Conflict answer carries the witness's latest cosigned size as ``<size>\\n`` with the
Content-Type ``text/x.tlog.size``. The witness server and the client both use this module,
so the two cannot disagree on the format.

Pure code: no Flask, no database, no network.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from consent.errors import ConsentError
from consent.ledger.merkle import HASH_SIZE

#: The spec forbids clients to send more: 63 hashes cover any tree of up to 2^63 leaves.
MAX_PROOF_LINES = 63
#: Request bodies above this are refused unread: 63 proof lines and a checkpoint with a
#: dozen signatures fit in under 5 KiB.
MAX_BODY_BYTES = 16 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"
#: The request header that carries a new log's verifier key (our trust-on-first-use
#: extension, see docs/witness.md).
LOG_KEY_HEADER = "Consent-Log-Key"
#: Tree sizes are stored as SQLite INTEGERs (signed 64-bit) and timestamps as u64.
MAX_SIZE = 2**63 - 1

_OLD_PREFIX = "old "


class SubmissionRefused(ConsentError):
    """The witness will not cosign a submission; ``status`` is the HTTP code the spec assigns."""

    status = 400


class MalformedSubmission(SubmissionRefused):
    """The body is not a well-formed request, or the old size exceeds the checkpoint's (400)."""

    status = 400


class UnknownLog(SubmissionRefused):
    """No key is configured or pinned for the origin, and it may not be added (404)."""

    status = 404


class UntrustedSignature(SubmissionRefused):
    """No signature on the checkpoint verifies against the origin's trusted key (403)."""

    status = 403


class SizeConflict(SubmissionRefused):
    """The old size is not the witness's latest cosigned size, or a same-size root differs (409).

    ``size`` is the witness's latest cosigned size: the body of the answer.
    """

    status = 409

    def __init__(self, size: int, message: str) -> None:
        super().__init__(message)
        self.size = size


class InconsistentProof(SubmissionRefused):
    """The consistency proof does not verify from the stored tree to the submitted one (422)."""

    status = 422


@dataclass(frozen=True)
class Submission:
    """A parsed add-checkpoint body; ``note`` is the signed checkpoint, not yet verified."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def _parse_decimal(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or (text.startswith("0") and text != "0"):
        raise MalformedSubmission(f"{what}: expected a decimal number without leading zeros, got {text[:24]!r}")
    value = int(text)
    if value > MAX_SIZE:
        raise MalformedSubmission(f"{what}: expected at most 2^63-1, got {text[:24]}")
    return value


def parse_submission(body: bytes) -> Submission:
    """The old size, proof and note of an add-checkpoint body; MalformedSubmission if it is not one.

    Checks the syntax only, including two rules of the spec that need no state: at most
    63 proof lines, and no proof at all from old size 0 (every tree extends the empty one).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedSubmission("body: expected UTF-8 text") from None
    head, blank, note = text.partition("\n\n")
    if not blank or not note:
        raise MalformedSubmission("body: expected an old size line, proof lines, an empty line, then a checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith(_OLD_PREFIX):
        raise MalformedSubmission(f"body: expected the first line to be 'old <size>', got {lines[0][:40]!r}")
    old_size = _parse_decimal(lines[0][len(_OLD_PREFIX) :], "old size")
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedSubmission(f"proof: expected at most {MAX_PROOF_LINES} lines, got {len(proof_lines)}")
    proof = []
    for i, line in enumerate(proof_lines):
        try:
            value = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise MalformedSubmission(f"proof line {i + 1}: expected base64, got {line[:48]!r}") from None
        if len(value) != HASH_SIZE:
            raise MalformedSubmission(f"proof line {i + 1}: expected a {HASH_SIZE}-byte hash, got {len(value)} bytes")
        proof.append(value)
    if old_size == 0 and proof:
        raise MalformedSubmission(f"proof: expected none from old size 0, got {len(proof)} lines")
    return Submission(old_size, tuple(proof), note)


def format_submission(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint body for ``note`` (a signed checkpoint) from ``old_size``."""
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"expected at most {MAX_PROOF_LINES} proof hashes, got {len(proof)}")
    lines = [f"{_OLD_PREFIX}{old_size}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n", note]
    return "".join(lines).encode("utf-8")


def parse_size_answer(body: bytes) -> int:
    """The size in a 409 Conflict body (``<size>\\n``); MalformedSubmission if it is not one."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedSubmission("size answer: expected ASCII") from None
    if not text.endswith("\n") or "\n" in text[:-1]:
        raise MalformedSubmission(f"size answer: expected one line ending in a newline, got {text[:24]!r}")
    return _parse_decimal(text[:-1], "size answer")
