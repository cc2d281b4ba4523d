"""The witness's SQLite database: its key, the latest cosigned checkpoint per log, evidence.

What a caller may rely on: `WitnessStore.add_checkpoint` reads the log's state, checks
the submission against it and stores the new checkpoint in one ``BEGIN IMMEDIATE``
transaction, committed (``synchronous = FULL``) before it returns. SQLite lets one such
transaction run at a time across every thread and process using the file, so two
requests can never both extend the same old size, and a log can never be rolled back
(c2sp.org/tlog-witness, add-checkpoint: "checking the old size ... and persisting the new
checkpoint must be performed atomically").

The private key lives in the same file as the state, on purpose: a witness key that
outlives its state could cosign a rollback or a fork of any log it forgot. Kept
together, they are lost together, and a lost witness is retired with a new key
(docs/witness.md). The file is created 0600 for that reason.

Each call opens its own connection: gunicorn forks workers, and a SQLite connection must
not cross a fork. The price, measured: about 1 ms of a 5 ms request (with no connection
left open, SQLite checkpoints the WAL at each close), well within what a witness needs.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from consent.errors import ConsentError, VerificationError
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.cosignature import Cosigner
from consent.ledger.merkle import verify_consistency
from consent.ledger.note import VerifierKey, split_note
from consent.witness.protocol import (
    LOG_KEY_HEADER,
    MAX_SIZE,
    InconsistentProof,
    MalformedSubmission,
    SizeConflict,
    Submission,
    SubmissionRefused,
    UnknownLog,
    UntrustedSignature,
)

_SCHEMA_VERSION = 1
#: Refused-but-signed submissions kept per log. The first ones are kept, not the last:
#: they are the evidence, and the log's own operator (the party they incriminate) must
#: not be able to flush them by sending more.
EVIDENCE_PER_LOG = 100
#: How long a request waits for another one's transaction before giving up (seconds).
_BUSY_TIMEOUT = 10.0

_SCHEMA = """
CREATE TABLE witness (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created INTEGER NOT NULL
) STRICT;
CREATE TABLE logs (
    origin TEXT PRIMARY KEY,
    log_key TEXT NOT NULL,              -- the pinned verifier key (name+keyid+base64)
    added_by TEXT NOT NULL CHECK (added_by IN ('operator', 'first-use')),
    size INTEGER NOT NULL,              -- latest cosigned size; 0 until the first cosignature
    root BLOB,                          -- its root hash; NULL while nothing is cosigned
    checkpoint TEXT,                    -- the signed checkpoint last cosigned
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL
) STRICT;
CREATE TABLE evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL REFERENCES logs (origin),
    received INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request BLOB NOT NULL               -- the whole add-checkpoint body, as received
) STRICT;
CREATE INDEX evidence_by_origin ON evidence (origin, id);
"""

logger = logging.getLogger("consent.witness")


class WitnessDatabaseError(ConsentError):
    """The witness database is missing, already exists, or is not one this code wrote."""


@dataclass(frozen=True)
class _Log:
    key: VerifierKey
    size: int
    root: bytes | None


def _connect(path: Path) -> sqlite3.Connection:
    # mode=rw: a missing file is an error, never a fresh empty witness that would cosign anything.
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=_BUSY_TIMEOUT, isolation_level=None
        )
    except sqlite3.OperationalError as e:
        raise WitnessDatabaseError(f"{path}: cannot open the witness database: {e}") from None
    try:
        # FULL: in WAL mode NORMAL may lose the last commits on power loss, i.e. roll logs back.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise WitnessDatabaseError(f"{path}: expected a witness database, got {e}") from None
    return conn


def create_database(path: Path, name: str, *, now: int) -> Cosigner:
    """Create the witness database at ``path`` with a fresh key named ``name``; refuse an existing file."""
    cosigner = Cosigner.generate(name)
    try:
        # O_EXCL: refusing to overwrite is atomic; 0600: the file holds the private key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise WitnessDatabaseError(
            f"{path}: expected no file, got an existing one (a witness is never re-created in place)"
        ) from None
    except OSError as e:
        raise WitnessDatabaseError(f"{path}: cannot create the witness database: {e.strerror}") from None
    os.close(fd)
    try:
        conn = _connect(path)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # readers do not wait for the writer
            conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}")  # the transaction stays open
            conn.execute(
                "INSERT INTO witness (id, name, private_key, created) VALUES (1, ?, ?, ?)",
                (cosigner.name, cosigner.private_key, now),
            )
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        finally:
            conn.close()
    except BaseException:
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        raise
    return cosigner


class WitnessStore:
    """A witness database opened for serving: holds no connection, so threads and workers may share it.

    ``accept_prefix``: origins under it may be added on first use (docs/witness.md);
    ``None`` witnesses only the logs an operator added.
    """

    def __init__(self, path: Path, *, accept_prefix: str | None = None) -> None:
        self.path = path
        self.accept_prefix = accept_prefix or None
        conn = _connect(path)
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as e:
            raise WitnessDatabaseError(f"{path}: expected a witness database, got {e}") from None
        finally:
            conn.close()
        if version != _SCHEMA_VERSION:
            raise WitnessDatabaseError(f"{path}: expected witness schema version {_SCHEMA_VERSION}, got {version}")

    def cosigner(self) -> Cosigner:
        conn = _connect(self.path)
        try:
            row = conn.execute("SELECT name, private_key FROM witness WHERE id = 1").fetchone()
        finally:
            conn.close()
        if row is None:
            raise WitnessDatabaseError(f"{self.path}: expected the witness key, got none")
        return Cosigner(row[0], row[1])

    def add_log(self, key: VerifierKey, *, now: int) -> None:
        """Trust ``key`` for the log whose origin is its name (the spec's configured log list)."""
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT log_key FROM logs WHERE origin = ?", (key.name,)).fetchone()
                if row is not None:
                    raise WitnessDatabaseError(f"{key.name}: already witnessed, pinned to {row[0]}")
                conn.execute(
                    "INSERT INTO logs (origin, log_key, added_by, size, root, checkpoint, added, updated)"
                    " VALUES (?, ?, 'operator', 0, NULL, NULL, ?, ?)",
                    (key.name, str(key), now, now),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def latest(self, origin: str) -> tuple[int, bytes | None] | None:
        """The latest cosigned size and root for ``origin``, or None for a log it does not witness."""
        conn = _connect(self.path)
        try:
            row = conn.execute("SELECT size, root FROM logs WHERE origin = ?", (origin,)).fetchone()
        finally:
            conn.close()
        return None if row is None else (row[0], row[1])

    def add_checkpoint(
        self, submission: Submission, *, offered_key: VerifierKey | None, request: bytes, now: int
    ) -> str:
        """Check ``submission`` against the log's state and store it; return the checkpoint text to cosign.

        Raises a SubmissionRefused subclass (its ``status`` is the spec's HTTP code); a
        refusal of a validly signed checkpoint for a known log keeps ``request`` as
        evidence. Raises WitnessDatabaseError when the database is busy or unusable.
        """
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                text = self._check_and_store(conn, submission, offered_key, request, now)
            except SubmissionRefused:
                conn.execute("COMMIT")  # a refusal writes nothing but its evidence row
                raise
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return text
        except sqlite3.OperationalError as e:
            raise WitnessDatabaseError(f"{self.path}: {e}") from None
        finally:
            conn.close()

    def _check_and_store(
        self,
        conn: sqlite3.Connection,
        submission: Submission,
        offered_key: VerifierKey | None,
        request: bytes,
        now: int,
    ) -> str:
        # The order of the checks is the spec's: 400 (syntax), 404, 403, 400, 409, 422 / 409.
        text, checkpoint = _parse_unverified_checkpoint(submission.note)
        origin = checkpoint.origin
        row = conn.execute("SELECT log_key, size, root FROM logs WHERE origin = ?", (origin,)).fetchone()
        if row is None:
            log = _Log(self._first_use_key(origin, offered_key), 0, None)
        else:
            log = _Log(VerifierKey.parse(row[0]), row[1], row[2])
            if offered_key is not None and offered_key != log.key:
                raise UntrustedSignature(f"{origin}: expected the pinned key {log.key}, got {offered_key}")
        try:
            open_checkpoint(submission.note, log.key)
        except VerificationError as e:
            raise UntrustedSignature(f"{origin}: {e}") from None
        old = submission.old_size
        if old > checkpoint.size:
            raise MalformedSubmission(f"old size: expected at most the checkpoint's size {checkpoint.size}, got {old}")
        if old != log.size:
            raise SizeConflict(log.size, f"{origin}: expected old size {log.size}, got {old}")
        if old == checkpoint.size and log.root is not None and checkpoint.root != log.root:
            self._keep_evidence(conn, origin, f"fork: another root at the cosigned size {old}", request, now)
            raise SizeConflict(log.size, f"{origin}: expected the cosigned root at size {old}, got another one")
        if old > 0:
            if log.root is None:
                raise WitnessDatabaseError(f"{origin}: stored size {log.size} has no root")
            try:
                verify_consistency(old, checkpoint.size, submission.proof, log.root, checkpoint.root)
            except VerificationError as e:
                self._keep_evidence(conn, origin, f"inconsistent: {e}", request, now)
                raise InconsistentProof(f"{origin}: {e}") from None
        if row is None:
            conn.execute(
                "INSERT INTO logs (origin, log_key, added_by, size, root, checkpoint, added, updated)"
                " VALUES (?, ?, 'first-use', ?, ?, ?, ?, ?)",
                (origin, str(log.key), checkpoint.size, checkpoint.root, submission.note, now, now),
            )
            logger.info("%s: pinned key %s on first use", origin, log.key)
        else:
            conn.execute(
                "UPDATE logs SET size = ?, root = ?, checkpoint = ?, updated = ? WHERE origin = ?",
                (checkpoint.size, checkpoint.root, submission.note, now, origin),
            )
        return text

    def _first_use_key(self, origin: str, offered_key: VerifierKey | None) -> VerifierKey:
        prefix = self.accept_prefix
        if prefix is None or not origin.startswith(prefix) or origin == prefix:
            wanted = "a log added by the operator" + (f" or an origin under {prefix!r}" if prefix else "")
            raise UnknownLog(f"origin: expected {wanted}, got {origin!r}")
        if offered_key is None:
            raise UnknownLog(f"{origin}: expected a {LOG_KEY_HEADER} header to add this new log, got none")
        return offered_key

    @staticmethod
    def _keep_evidence(conn: sqlite3.Connection, origin: str, reason: str, request: bytes, now: int) -> None:
        (kept,) = conn.execute("SELECT count(*) FROM evidence WHERE origin = ?", (origin,)).fetchone()
        if kept >= EVIDENCE_PER_LOG:
            logger.warning(
                "%s: refused a signed checkpoint (%s); %d already kept, this one is not", origin, reason, kept
            )
            return
        conn.execute(
            "INSERT INTO evidence (origin, received, reason, request) VALUES (?, ?, ?, ?)",
            (origin, now, reason, request),
        )
        logger.warning("%s: refused a signed checkpoint and kept it as evidence (%s)", origin, reason)


def _parse_unverified_checkpoint(note: str) -> tuple[str, Checkpoint]:
    """The note's text and checkpoint, parsed before any signature is checked (syntax only)."""
    try:
        text, _ = split_note(note)
        checkpoint = Checkpoint.parse_body(text)
    except VerificationError as e:
        raise MalformedSubmission(str(e)) from None
    if checkpoint.size > MAX_SIZE:
        raise MalformedSubmission(f"checkpoint: expected a size of at most 2^63-1, got {checkpoint.size}")
    return text, checkpoint
