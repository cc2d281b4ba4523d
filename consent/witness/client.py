"""Asking a witness to cosign a ledger checkpoint: the client side of c2sp.org/tlog-witness.

`cosign` submits a signed checkpoint with ``POST <url>/add-checkpoint``, follows the
witness's 409 Conflict answers (at most three round trips), and returns only cosignature
lines that verify against the witness's key (c2sp.org/tlog-cosignature). What a 409 says
about the ledger is raised as `LedgerRolledBack` or `LedgerForked`; what says nothing
about it (network, timeouts, 5xx, nonsense) as `WitnessUnavailable`.

Standard library only (urllib): the ledger service calls this without the web layer.
Redirects are never followed, whatever the host: a witness's URL is configured, and an
answer from anywhere else means nothing. Answers are read up to 64 KiB.
"""

from __future__ import annotations

import base64
import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from consent.errors import ConfigError, ConsentError, VerificationError
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.cosignature import WitnessKey, verify_cosignatures
from consent.ledger.note import VerifierKey, split_note
from consent.witness.protocol import (
    LOG_KEY_HEADER,
    SIZE_CONTENT_TYPE,
    MalformedSubmission,
    format_submission,
    parse_size_answer,
)

_MAX_ROUND_TRIPS = 3
_MAX_ANSWER_BYTES = 64 * 1024
#: Answers that mean "this witness will not cosign this checkpoint", whatever the retry.
_REFUSALS = frozenset({400, 403, 404, 413, 422})
_SIGNATURE_PREFIX = "\u2014 "


class WitnessError(ConsentError):
    """A witness did not cosign a checkpoint; the subclass says why."""


class WitnessUnavailable(WitnessError):
    """No usable answer: network error, timeout, 5xx, redirect, or an answer outside the spec."""


class WitnessRefused(WitnessError):
    """The witness answered that it will not cosign this checkpoint (``status``: 400, 403, 404, 413 or 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LedgerRolledBack(WitnessError):
    """The witness has cosigned a larger tree (``witness_size``) than the one submitted (``size``).

    Either the ledger lost entries, or this was a stale submission overtaken by a newer
    one for the same ledger: the caller tells the two apart by its ledger's current size.
    """

    def __init__(self, *, witness_size: int, size: int) -> None:
        super().__init__(f"witness: expected a cosigned size of at most {size}, got {witness_size}")
        self.witness_size = witness_size
        self.size = size


class LedgerForked(WitnessError):
    """The witness has cosigned another root at the submitted checkpoint's ``size``."""

    def __init__(self, *, size: int) -> None:
        super().__init__(f"witness: expected the submitted root at size {size}, got another cosigned one")
        self.size = size


@dataclass(frozen=True)
class Witness:
    """A witness the instance trusts: its key, and its submission prefix (``http(s)://host[:port][/path]``)."""

    key: WitnessKey
    url: str

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"witness URL: expected http(s)://host[:port][/path], got {self.url!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigError(f"witness URL: expected no query, fragment or credentials, got {self.url!r}")

    @classmethod
    def parse(cls, text: str) -> Witness:
        """A witness from its configuration form, ``<witness verifier key> <url>``."""
        key_text, space, url = text.strip().partition(" ")
        if not space or not url or " " in url:
            raise ConfigError(f"witness: expected '<verifier key> <url>', got {text.strip()!r}")
        try:
            key = WitnessKey.parse(key_text)
        except VerificationError as e:
            raise ConfigError(str(e)) from None
        return cls(key, url)

    def __str__(self) -> str:
        return f"{self.key} {self.url}"

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/add-checkpoint"


def cosign(
    witness: Witness,
    *,
    note: str,
    log_key: VerifierKey,
    proof_from: Callable[[int], list[bytes]],
    guess: int | None = None,
    timeout: float = 5.0,
) -> str:
    """Submit the signed checkpoint ``note`` (size n) and return the witness's verified cosignature line(s).

    Starts with old = ``guess`` (default n: "you already have this one") and follows 409
    Conflict: a witness size above n raises LedgerRolledBack; size n after sending old n
    raises LedgerForked (the roots differ); a size below n is resubmitted with
    ``proof_from(size)``, the RFC 9162 consistency proof from that size to n (no proof,
    and no call, from 0). At most three round trips. ``timeout`` applies to each
    connection and read. The returned lines are those by ``witness.key``, each verified;
    add them to the note with consent.ledger.cosignature.add_cosignatures. A ``note``
    that is not a checkpoint signed by ``log_key`` raises VerificationError, unsent.
    """
    size = open_checkpoint(note, log_key).size
    old = size if guess is None else guess
    if not 0 <= old <= size:
        raise ValueError(f"guess: expected 0 to {size}, got {old}")
    for _ in range(_MAX_ROUND_TRIPS):
        proof = proof_from(old) if 0 < old < size else []
        body = format_submission(old, proof, note)
        status, content_type, answer = _post(witness, body, log_key, timeout)
        if status == 200:
            return _verified_lines(witness, note, answer)
        if status in _REFUSALS:
            raise WitnessRefused(status, f"witness {witness.key.name}: {status} {_first_line(answer)}")
        if status != 409:
            raise WitnessUnavailable(f"witness {witness.key.name}: expected 200 or 409, got {status}")
        witness_size = _conflict_size(witness, content_type, answer)
        if witness_size > size:
            raise LedgerRolledBack(witness_size=witness_size, size=size)
        if witness_size == size and old == size:
            raise LedgerForked(size=size)
        if witness_size == old:
            raise WitnessUnavailable(f"witness {witness.key.name}: 409 Conflict with the very size sent, {old}")
        old = witness_size
    raise WitnessUnavailable(
        f"witness {witness.key.name}: expected a cosignature within {_MAX_ROUND_TRIPS} round trips"
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turns every redirect into an HTTPError (3xx) instead of following it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(witness: Witness, body: bytes, log_key: VerifierKey, timeout: float) -> tuple[int, str, bytes]:
    """The answer's status, content type and body (capped); WitnessUnavailable if there is none."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) in Witness
        witness.endpoint,
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8", LOG_KEY_HEADER: str(log_key)},
    )
    try:
        try:
            response = _opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as e:
            response = e  # a 4xx, 5xx or refused redirect: its status and body are the answer
        with response:
            return response.status or 0, response.headers.get_content_type(), _read_capped(response)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise WitnessUnavailable(f"witness {witness.key.name} at {witness.endpoint}: {e}") from None


def _read_capped(response: IO[bytes]) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := response.read(_MAX_ANSWER_BYTES + 1 - total):
        chunks.append(chunk)
        total += len(chunk)
        if total > _MAX_ANSWER_BYTES:
            raise WitnessUnavailable(f"witness: expected an answer of at most {_MAX_ANSWER_BYTES} bytes, got more")
    return b"".join(chunks)


def _conflict_size(witness: Witness, content_type: str, answer: bytes) -> int:
    if content_type != SIZE_CONTENT_TYPE:
        raise WitnessUnavailable(f"witness {witness.key.name}: 409 with {content_type}, expected {SIZE_CONTENT_TYPE}")
    try:
        return parse_size_answer(answer)
    except MalformedSubmission as e:
        raise WitnessUnavailable(f"witness {witness.key.name}: {e}") from None


def _verified_lines(witness: Witness, note: str, answer: bytes) -> str:
    """The answer's lines by ``witness.key``, once each verifies over the checkpoint."""
    try:
        lines = answer.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessUnavailable(f"witness {witness.key.name}: expected UTF-8 signature lines") from None
    if not lines.endswith("\n") or not all(line.startswith(_SIGNATURE_PREFIX) for line in lines.splitlines()):
        raise WitnessUnavailable(f"witness {witness.key.name}: expected signature lines, got {_first_line(answer)!r}")
    text, _ = split_note(note)
    try:
        # The checkpoint text with the answer alone: the note's own signatures play no part.
        found = verify_cosignatures(f"{text}\n{lines}", [witness.key])
    except VerificationError as e:
        raise WitnessUnavailable(f"witness {witness.key.name}: {e}") from None
    if not found:
        raise WitnessUnavailable(f"witness {witness.key.name}: expected a cosignature by {witness.key}, got none")
    key_id = witness.key.key_id.to_bytes(4, "big")
    return "".join(line for line in lines.splitlines(keepends=True) if _is_by(line, witness.key.name, key_id))


def _is_by(line: str, name: str, key_id: bytes) -> bool:
    line_name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    return line_name == name and base64.b64decode(encoded.strip())[:4] == key_id


def _first_line(answer: bytes) -> str:
    """The start of a witness's answer, fit for a log line: one line, printable, short."""
    line = answer[:200].decode("utf-8", "replace").split("\n", 1)[0]
    return "".join(ch if ch.isprintable() else "?" for ch in line)
