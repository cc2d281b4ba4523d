"""The age file format (age-encryption.org/v1, C2SP age) with a passphrase: one scrypt
recipient stanza, the payload in 64 KiB chunks of ChaCha20-Poly1305 (the STREAM
construction), read and written a chunk at a time. Pure: no Flask, no database.

Why not pyrage.passphrase: it takes and returns whole byte strings, and picks scrypt's cost
by timing the machine (2^20 here: 1 GiB and about 20 s under load), too much for a small
server. This module writes 2^18 (256 MiB, age's usual cost) and refuses to open a file that
asks for more than 2^20, so that a hostile file cannot make the server spend more. pyrage
reads what it writes and the reverse (tests/test_age.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import os
import re
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from consent.errors import ConsentError

#: scrypt's work factor written, a power of two: 2^18 (256 MiB, about a second).
SCRYPT_LOG_N = 18
#: The most a file to open may ask for (2^20: 1 GiB).
MAX_LOG_N = 20
CHUNK = 64 * 1024
_TAG = 16
_NONCE = 16
_MAX_HEADER = 4096
_VERSION = b"age-encryption.org/v1"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_UNPADDED_B64 = re.compile(r"[A-Za-z0-9+/]*")


class AgeError(ConsentError):
    """A file this module cannot open. ``reason``: ``passphrase`` (wrong passphrase),
    ``recipient`` (encrypted to a key, not a passphrase), ``work_factor`` (scrypt above the
    cap), ``header`` (not age, or its header changed or damaged), ``payload`` (cut or
    damaged after the header), ``too_large`` (more than the caller's limit)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")  # age: no padding


def _unb64(text: str, size: int) -> bytes:
    # Canonical only (no padding, no stray characters): an edited header is refused here.
    if not _UNPADDED_B64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError(text)
    raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if len(raw) != size or _b64(raw) != text:
        raise ValueError(text)
    return raw


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def _scrypt(passphrase: str, salt: bytes, log_n: int) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"),
        salt=_SCRYPT_LABEL + salt,
        n=2**log_n,
        r=8,
        p=1,
        maxmem=128 * 8 * 2**log_n + 2**24,  # scrypt needs 128 * r * N bytes; some room
        dklen=32,
    )


def _nonce(counter: int, last: bool) -> bytes:
    # STREAM: an 11-byte big-endian chunk counter, then 1 for the last chunk, 0 before it.
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(source: IO[bytes], out: IO[bytes], passphrase: str, *, log_n: int = SCRYPT_LOG_N) -> None:
    """``source`` to ``out`` as an age file opened by ``passphrase`` (scrypt at 2^``log_n``)."""
    if not 1 <= log_n <= MAX_LOG_N:
        raise ValueError(f"expected a scrypt work factor from 2^1 to 2^{MAX_LOG_N}, got 2^{log_n}")
    file_key, salt = os.urandom(16), os.urandom(16)
    wrapped = ChaCha20Poly1305(_scrypt(passphrase, salt, log_n)).encrypt(bytes(12), file_key, None)
    header = b"%s\n-> scrypt %s %d\n%s\n---" % (_VERSION, _b64(salt).encode(), log_n, _b64(wrapped).encode())
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = os.urandom(_NONCE)
    out.write(header + b" " + _b64(mac).encode() + b"\n" + nonce)
    payload = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunk, counter = source.read(CHUNK), 0
    while True:
        following = source.read(CHUNK)  # read one ahead: the last chunk is marked
        out.write(payload.encrypt(_nonce(counter, not following), chunk, None))
        if not following:
            return
        chunk, counter = following, counter + 1


def _header(source: IO[bytes], max_log_n: int) -> tuple[bytes, bytes, int, bytes, bytes]:
    """The header as the MAC covers it (through '---'), the salt, work factor, wrapped file
    key and the MAC."""
    lines: list[bytes] = []
    read = 0
    while True:
        line = source.readline(_MAX_HEADER)
        read += len(line)
        if read > _MAX_HEADER or not line.endswith(b"\n"):
            raise AgeError("header", "not an age file, or its header is cut or damaged")
        lines.append(line[:-1])
        if line.startswith(b"---"):
            break
    if lines[0] != _VERSION:
        raise AgeError("header", "not an age file (age-encryption.org/v1), or its header is damaged")
    stanzas = [line for line in lines[1:-1] if line.startswith(b"-> ")]
    if not any(stanza.startswith(b"-> scrypt ") for stanza in stanzas):
        raise AgeError("recipient", "this file is encrypted to a key (an age recipient), not with a passphrase")
    if len(lines) != 4:  # the spec: a scrypt stanza is the only one, its body one line
        raise AgeError("header", "the age header is damaged (a scrypt stanza must be alone)")
    arguments = lines[1].decode("ascii", "replace").split(" ")
    try:
        if len(arguments) != 4 or not re.fullmatch(r"[1-9][0-9]{0,1}", arguments[3]):
            raise ValueError(arguments)
        salt, log_n = _unb64(arguments[2], 16), int(arguments[3])
        wrapped = _unb64(lines[2].decode("ascii"), 32)
        if not lines[3].startswith(b"--- "):
            raise ValueError(lines[3])
        mac = _unb64(lines[3][4:].decode("ascii"), 32)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise AgeError("header", "the age header is damaged") from None
    if log_n > max_log_n:
        raise AgeError(
            "work_factor",
            f"expected a scrypt work factor of at most 2^{max_log_n}, got 2^{log_n}: "
            "more memory and time than this server spends on a file",
        )
    return b"\n".join(lines[:3]) + b"\n---", salt, log_n, wrapped, mac


def decrypt_stream(
    source: IO[bytes], out: IO[bytes], passphrase: str, *, limit: int | None = None, max_log_n: int = MAX_LOG_N
) -> int:
    """The age file ``source`` opened with ``passphrase``, written to ``out`` a chunk at a
    time; returns the bytes written. Refuses (AgeError) a work factor above 2^``max_log_n``,
    a wrong passphrase, a changed header, a cut or damaged payload, more than ``limit``
    bytes. On a refusal ``out`` may hold a prefix: write to a temporary file."""
    signed, salt, log_n, wrapped, mac = _header(source, max_log_n)
    try:
        file_key = ChaCha20Poly1305(_scrypt(passphrase, salt, log_n)).decrypt(bytes(12), wrapped, None)
    except InvalidTag:
        raise AgeError("passphrase", "the passphrase does not open this file") from None
    expected = hmac.new(_hkdf(file_key, b"", b"header"), signed, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise AgeError("header", "the age header was changed after the file was written")
    nonce = source.read(_NONCE)
    if len(nonce) != _NONCE:
        raise AgeError("payload", "the file is cut short after its header")
    payload = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunk, counter, written = source.read(CHUNK + _TAG), 0, 0
    while True:
        following = source.read(CHUNK + _TAG) if len(chunk) == CHUNK + _TAG else b""
        last = not following
        try:
            plain = payload.decrypt(_nonce(counter, last), chunk, None)
        except InvalidTag:
            raise AgeError("payload", "the encrypted file is cut short or damaged") from None
        if last and not plain and counter > 0:  # the spec: only an empty file ends in an empty chunk
            raise AgeError("payload", "the encrypted file is damaged (an empty last chunk)")
        written += len(plain)
        if limit is not None and written > limit:
            raise AgeError("too_large", f"expected at most {limit} bytes once decrypted, got more")
        out.write(plain)
        if last:
            return written
        chunk, counter = following, counter + 1


def encrypt(data: bytes, passphrase: str, *, log_n: int = SCRYPT_LOG_N) -> bytes:
    """``data`` as an age file, in memory (small things: a backup's secrets)."""
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, passphrase, log_n=log_n)
    return out.getvalue()


def decrypt(data: bytes, passphrase: str, *, limit: int | None = None, max_log_n: int = MAX_LOG_N) -> bytes:
    """The age file ``data`` opened with ``passphrase``, in memory; AgeError as decrypt_stream."""
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(data), out, passphrase, limit=limit, max_log_n=max_log_n)
    return out.getvalue()
