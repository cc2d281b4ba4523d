"""The account archive's format: file names, the signature, and reading an archive safely.

Pure code (no Flask, no database): docs/archive.md is the reference for the format.

An archive is a zip. ``account.json`` lists every other file with its size and SHA-256;
``account.json.sig`` is an Ed25519 signature (RFC 8032) by the person's ledger key over
``SIGNED_PREFIX || hex(SHA-256(account.json)) || "\\n"``, so a change to any file shows.
Optionally the whole zip is encrypted with a passphrase in the age format
(age-encryption.org/v1, scrypt recipient), a stream at a time (``encrypt_stream``).

Reading trusts nothing before it is checked: the size of every member and of the whole
is capped before anything is decompressed, member names must be plain relative paths, and
every byte is hashed as it is read (``open_archive``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ijson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent import age
from consent.errors import ConsentError, VerificationError
from consent.ledger import bundle, origin_for
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.cosignature import WitnessKey
from consent.ledger.note import VerifierKey

FORMAT = "consent-account-archive"
VERSION = 1
ACCOUNT = "account.json"
SIGNATURE = "account.json.sig"
INDEX = "index.html"
BUNDLE = "ledger/bundle.json"
VERIFIER_KEY = "ledger/verifier-key.txt"
KEY_CARD = "key-card.pdf"
#: What the signature covers, before the account.json digest: names the format and version,
#: so a signature made for something else with the same key never passes for this one.
SIGNED_PREFIX = b"consent-account-archive/v1\n"
#: The first line of every age file (age-encryption.org/v1).
AGE_HEADER = b"age-encryption.org/v1\n"
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 64 * 1024

MIB = 1024 * 1024


class ArchiveError(ConsentError):
    """An archive refused; ``reason`` is a short code (tests, the web layer), the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """Caps checked before anything is decompressed: against zip bombs and absurd sizes."""

    max_total: int = 2048 * MIB
    max_file: int = 512 * MIB
    max_files: int = 100_000
    max_account_json: int = 256 * MIB


def answer_path(file_id: str, name: str) -> str:
    """Where an answer file goes: its id (unique, safe), and the extension of its name
    when it has a plain one, so the person's system knows how to open it."""
    match = re.search(r"\.([A-Za-z0-9]{1,8})$", name)
    extension = match.group(1).lower() if match else ""
    if extension in _ACTIVE:  # a company's page must not run as one, opened from index.html
        extension += ".txt"
    return f"answers/{file_id}{'.' + extension if extension else ''}"


#: Extensions a browser runs as pages or scripts: an answer file with one is kept as text.
_ACTIVE = frozenset({"htm", "html", "xhtml", "xht", "shtml", "svg", "svgz", "xml", "xsl", "js", "mjs", "mht", "mhtml"})


def letter_path(request_id: str, extension: str) -> str:
    return f"letters/{request_id}.{extension}"


def signed_message(account_json: bytes) -> bytes:
    return SIGNED_PREFIX + hashlib.sha256(account_json).hexdigest().encode() + b"\n"


def sign(account_json: bytes, private_key: bytes) -> bytes:
    """The content of ``account.json.sig``: the base64 signature and a newline."""
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(signed_message(account_json))
    return base64.b64encode(signature) + b"\n"


# --- age (consent.age): the archive's reasons for what it refuses ------------------------------

#: What an age refusal means for an archive (consent.age.AgeError's reasons).
_AGE_REASONS = {
    "passphrase": "passphrase",
    "recipient": "passphrase",
    "work_factor": "too_large",
    "too_large": "too_large",
    "header": "damaged",
    "payload": "damaged",
}


def encrypt_stream(source: IO[bytes], out: IO[bytes], passphrase: str) -> None:
    """``source`` to ``out`` in the age format, with the passphrase (consent.age)."""
    age.encrypt_stream(source, out, passphrase)


def encrypt(data: bytes, passphrase: str) -> bytes:
    return age.encrypt(data, passphrase)


def decrypt_stream(source: IO[bytes], out: IO[bytes], passphrase: str, *, limit: int) -> None:
    """The age file ``source``, opened with ``passphrase``, to ``out`` (at most ``limit`` bytes)."""
    try:
        age.decrypt_stream(source, out, passphrase, limit=limit)
    except age.AgeError as e:
        raise ArchiveError(_AGE_REASONS.get(e.reason, "damaged"), f"the encrypted archive: {e}") from None


class HashingWriter(io.RawIOBase):
    """Counts and hashes what goes through it to ``out`` (a zip member being written)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.size, self.digest = out, 0, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = bytes(data)
        self.out.write(view)
        self.digest.update(view)
        self.size += len(view)
        return len(view)


# --- reading ------------------------------------------------------------------------------


@dataclass
class Archive:
    """An archive whose every file was checked; ``account`` is account.json, parsed."""

    account: dict[str, Any]
    key: VerifierKey
    private_key: bytes = field(repr=False)
    zip: zipfile.ZipFile = field(repr=False)
    bundle_report: bundle.Report | None
    #: The decrypted copy of an encrypted archive (a temporary file), closed with it.
    plain: IO[bytes] | None = field(default=None, repr=False)

    @property
    def user_id(self) -> uuid.UUID:
        return uuid.UUID(self.account["account"]["id"])

    def read(self, name: str) -> bytes:
        """A file already checked against its SHA-256 (``open_archive`` read them all)."""
        return self.zip.read(name)

    def open(self, name: str) -> IO[bytes]:
        return self.zip.open(name)

    def close(self) -> None:
        self.zip.close()
        if self.plain is not None:
            self.plain.close()


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise ArchiveError("malformed", f"account.json: the member {name!r} appears twice")
        found[name] = value
    return found


def _plain(name: str) -> bool:
    """A relative path of plain parts: no absolute path, drive, backslash, '..' or '.'."""
    if not name or name.startswith("/") or "\\" in name or ":" in name or "\x00" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _decrypted(stream: IO[bytes], passphrase: str | None, limits: Limits) -> IO[bytes]:
    head = stream.read(len(AGE_HEADER))
    stream.seek(0)
    if head == AGE_HEADER:
        if not passphrase:
            raise ArchiveError("passphrase", "this archive is encrypted: give its passphrase")
        # Decrypted to a temporary file (on disk past a few MiB), not into memory.
        plain = tempfile.SpooledTemporaryFile(max_size=8 * MIB)
        try:
            decrypt_stream(stream, plain, passphrase, limit=limits.max_total)
        except BaseException:
            plain.close()
            raise
        plain.seek(0)
        return plain
    if head[:4] != _ZIP_MAGIC:
        raise ArchiveError("not_archive", "this is not an account archive: neither a zip nor an age-encrypted file")
    return stream


def _members(archive: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        raise ArchiveError("too_large", f"expected at most {limits.max_files} files, got {len(infos)}")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if not _plain(info.filename) or info.is_dir():
            raise ArchiveError("unsafe_path", f"the archive holds a file with an unsafe name: {info.filename!r}")
        if info.filename in members:
            raise ArchiveError("malformed", f"the file {info.filename} appears twice")
        if info.file_size > limits.max_file:
            raise ArchiveError(
                "too_large",
                f"{info.filename}: expected at most {limits.max_file} bytes, it unpacks to {info.file_size}",
            )
        total += info.file_size
        if total > limits.max_total:
            raise ArchiveError("too_large", f"expected at most {limits.max_total} bytes unpacked in all, got more")
        members[info.filename] = info
    return members


def _read_capped(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    with archive.open(name) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise ArchiveError("too_large", f"{name}: expected at most {cap} bytes")
    return data


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    """Size and SHA-256 of a member as it unpacks, a chunk at a time (the zip's declared
    size bounds what zipfile produces; its CRC is checked at the end)."""
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as member:
        while chunk := member.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _key_pair(account: dict[str, Any]) -> tuple[VerifierKey, bytes]:
    try:
        user_id = uuid.UUID(account["account"]["id"])
        public = base64.b64decode(account["signing_key"]["public"], validate=True)
        private = base64.b64decode(account["signing_key"]["private"], validate=True)
        key = VerifierKey(origin_for(user_id), public)
        made = Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()
    except (KeyError, TypeError, ValueError, binascii.Error, VerificationError) as e:
        raise ArchiveError("malformed", f"account.json: the account id or signing key is unreadable ({e})") from None
    if made != public:
        raise ArchiveError("signature", "account.json: the private signing key does not make its public key")
    return key, private


def _check_signature(account_json: bytes, signature_file: bytes, key: VerifierKey) -> None:
    try:
        signature = base64.b64decode(signature_file.strip(), validate=True)
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, signed_message(account_json))
    except (binascii.Error, ValueError, InvalidSignature):
        raise ArchiveError(
            "signature", "account.json does not match its signature: it was changed after the export"
        ) from None


def _check_files(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], listed: Any) -> None:
    if not isinstance(listed, dict):
        raise ArchiveError("malformed", "account.json: expected 'files' as an object")
    expected = set(listed) | {ACCOUNT, SIGNATURE}
    for name in sorted(expected - set(members)):
        raise ArchiveError("missing", f"the file {name} is missing from the archive")
    for name in sorted(set(members) - expected):
        raise ArchiveError("extra", f"the file {name} is not part of the archive account.json lists")
    for name in sorted(listed):
        entry = listed[name]
        try:
            size, digest = _digest(archive, name)
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise ArchiveError("damaged", f"the file {name} is damaged ({e})") from None
        if not isinstance(entry, dict) or entry.get("sha256") != digest or entry.get("size") != size:
            raise ArchiveError("changed", f"the file {name} was changed: its SHA-256 is not the one account.json lists")


def open_archive(
    stream: IO[bytes],
    *,
    passphrase: str | None = None,
    witnesses: tuple[WitnessKey, ...] = (),
    limits: Limits = Limits(),
) -> Archive:
    """Check an archive as a whole and return it open; ArchiveError names the first fault.

    In order: age decryption (if encrypted), the zip's directory, member names and
    sizes, account.json's format and version, its signature by the key it carries,
    every listed file's size and SHA-256 (nothing missing, nothing extra), and the ledger
    bundle with ``verify_bundle`` against that key (and the cosignatures of ``witnesses``
    that it carries must verify).
    """
    plain = _decrypted(stream, passphrase, limits)
    owned = None if plain is stream else plain
    try:
        archive = zipfile.ZipFile(plain)
    except (zipfile.BadZipFile, EOFError, OSError):
        if owned is not None:
            owned.close()
        raise ArchiveError("damaged", "the archive is not a readable zip: truncated or damaged") from None
    try:
        checked = _checked(archive, witnesses, limits)
    except BaseException:
        archive.close()
        if owned is not None:
            owned.close()
        raise
    checked.plain = owned
    return checked


def _checked(archive: zipfile.ZipFile, witnesses: tuple[WitnessKey, ...], limits: Limits) -> Archive:
    members = _members(archive, limits)
    for name in (ACCOUNT, SIGNATURE):
        if name not in members:
            raise ArchiveError("missing", f"the file {name} is missing from the archive")
    try:
        account_json = _read_capped(archive, ACCOUNT, limits.max_account_json)
        signature = _read_capped(archive, SIGNATURE, 1024)
        account = json.loads(account_json, object_pairs_hook=_strict_object)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ArchiveError("damaged", f"account.json is damaged ({e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ArchiveError("malformed", f"account.json is not JSON ({e})") from None
    if not isinstance(account, dict) or account.get("format") != FORMAT:
        raise ArchiveError("malformed", f"expected an archive of format {FORMAT!r}, got {account.get('format')!r}")
    version = account.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ArchiveError(
            "version", f"this archive is of format version {version!r}, this instance reads up to version {VERSION}"
        )
    key, private = _key_pair(account)
    _check_signature(account_json, signature, key)
    _check_files(archive, members, account.get("files"))
    ledger = account.get("ledger")
    if ledger is None:  # an account whose ledger was still empty: no bundle
        return Archive(account, key, private, archive, None)
    try:
        with archive.open(BUNDLE) as stream:
            report = bundle.verify_bundle(stream, expected_key=key, witnesses=witnesses)
        # What account.json says of the ledger (its newest checkpoint goes to the witnesses)
        # must be the bundle's own newest checkpoint.
        newest = open_checkpoint(str(ledger["checkpoint"]), key)
    except KeyError:
        raise ArchiveError("missing", f"the file {BUNDLE} is missing from the archive") from None
    except (VerificationError, TypeError) as e:
        raise ArchiveError("ledger", f"the ledger does not verify: {e}") from None
    if (newest.size, base64.b64encode(newest.root).decode(), ledger.get("size")) != (
        report.size,
        report.root,
        report.size,
    ):
        raise ArchiveError("ledger", "account.json describes another ledger than its bundle holds")
    return Archive(account, key, private, archive, report)


def bundle_entries(archive: Archive) -> Iterator[dict[str, Any]]:
    """The verified bundle's entries, one at a time (none for an empty ledger)."""
    if archive.bundle_report is None:
        return
    with archive.open(BUNDLE) as stream:
        yield from ijson.items(stream, "entries.item", use_float=True)
