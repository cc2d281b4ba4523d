"""Instance backups: a consistent copy of the database, with the secrets needed to open it,
in one file that only the holder of a passphrase can restore; and the restore, which asks
the instance's witnesses first whether the backup is older than what they saw.

The file is a tar archive of these members, in this order:

- ``description.json``, in the clear: when, the schema revision, the app's version, and for
  each ledger its origin, size, root hash, newest signed checkpoint and verifier key (all
  public: witnesses hold the same), so that restore asks the witnesses without opening the
  database, and an operator can read it with ``tar -xOf FILE description.json``;
- ``secrets.age``: age, passphrase recipient (scrypt): the instance's secret settings, the
  key that opens ``database.age``, and the SHA-256 of ``description.json`` and
  ``database.age``, so that neither can be swapped or edited without the passphrase;
- ``database.age`` (SQLite only): the copy, made with SQLite's online backup API in one
  step (one read transaction, so one consistent state while other processes write), age
  encrypted (streamed) to a fresh X25519 key. On PostgreSQL the data is pg_dump's
  (docs/operations.md, "Backups").

age's payload is authenticated (ChaCha20-Poly1305 in chunks, the last one marked), so a
wrong passphrase, a truncated or an edited file is refused before anything is written.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import pyrage
import sqlalchemy as sa
from pyrage import x25519

from consent import age, migrate
from consent.errors import ConsentError, VerificationError
from consent.ledger import origin_for
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.note import VerifierKey
from consent.models import LedgerCheckpoint, LedgerHead, User
from consent.witness.client import LedgerForked, LedgerRolledBack, Witness, WitnessError, WitnessRefused, cosign

FORMAT = "consent-backup/1"
DESCRIPTION = "description.json"
SECRETS = "secrets.age"
DATABASE = "database.age"
#: The settings without which a restored database opens no account (EMAIL_LOOKUP_KEY finds
#: an account by its address), or the instance cannot do what it did (sessions, mail).
SECRET_SETTINGS = ("SECRET_KEY", "EMAIL_LOOKUP_KEY", "SMTP_PASSWORD")
#: A passphrase guarded by scrypt alone: short ones fall to guessing once the file leaks.
MIN_PASSPHRASE_LENGTH = 12
#: Members are read into memory, except the database: bounds against a hostile file.
_MAX_DESCRIPTION_BYTES = 64 * 1024 * 1024
_MAX_SECRETS_BYTES = 64 * 1024
_CHUNK = 1024 * 1024


class BackupError(ConsentError):
    """A backup cannot be written, or a file is not a backup this instance can restore; nothing was written."""


@dataclass(frozen=True)
class LedgerDescription:
    origin: str
    size: int
    root: str  # base64, as in the checkpoint
    checkpoint: str | None  # the newest signed note (None for an empty ledger)
    key: str  # the ledger's verifier key


@dataclass(frozen=True)
class Description:
    created_at: str
    schema_revision: str | None
    app_version: str
    database: str  # "sqlite" or "postgresql"
    ledgers: tuple[LedgerDescription, ...]
    format: str = FORMAT
    # The instance's witnesses as configured ("<key> <url>") and its quorum: restore asks
    # them even on a machine whose config names none (sealed with the secrets, as is the rest).
    witnesses: tuple[str, ...] = ()
    witness_quorum: int = 0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Description:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BackupError(f"expected a backup of format {FORMAT}, got {data.get('format')!r}")
            ledgers = tuple(LedgerDescription(**ledger) for ledger in data.pop("ledgers"))
            witnesses = tuple(str(text) for text in data.pop("witnesses", ()))
            return cls(**data, ledgers=ledgers, witnesses=witnesses)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            raise BackupError(f"{DESCRIPTION} is not a backup description: {e}") from None

    @property
    def events(self) -> int:
        return sum(ledger.size for ledger in self.ledgers)


def _app_version() -> str:
    try:
        return metadata.version("consent-manager")
    except metadata.PackageNotFoundError:
        return "unknown"


def describe(connection: sa.Connection, *, now: datetime) -> Description:
    """What the database holds, read in ``connection``'s one transaction."""
    revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    rows = connection.execute(
        sa.select(User.id, User.signing_public_key, LedgerHead.size, LedgerCheckpoint.note)
        .join(LedgerHead, LedgerHead.user_id == User.id, isouter=True)
        .join(
            LedgerCheckpoint,
            sa.and_(LedgerCheckpoint.user_id == User.id, LedgerCheckpoint.size == LedgerHead.size),
            isouter=True,
        )
        .order_by(User.id)
    )
    ledgers = []
    for user_id, public_key, size, stored in rows:
        origin = origin_for(user_id)
        key = VerifierKey(origin, bytes(public_key))
        root, note = "", None
        if stored is not None:
            try:
                root, note = _b64(open_checkpoint(stored, key).root), str(stored)
            except VerificationError:
                pass  # not this key's: nothing a witness can be asked with; restore says so
        ledgers.append(LedgerDescription(origin, size or 0, root, note, str(key)))
    return Description(
        created_at=now.astimezone(UTC).isoformat(timespec="seconds"),
        schema_revision=revision,
        app_version=_app_version(),
        database=connection.dialect.name,
        ledgers=tuple(ledgers),
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- Writing -------------------------------------------------------------------------


def write_sqlite(
    database: Path,
    out: Path,
    *,
    secrets: dict[str, str],
    passphrase: str,
    witnesses: Sequence[str] = (),
    witness_quorum: int = 0,
    now: datetime | None = None,
) -> Description:
    """Copy the SQLite ``database`` while it is in use and write the backup to ``out`` (0600,
    never over an existing file). Returns its description."""
    _check_new(out, passphrase)
    with _scratch(out.parent) as scratch:
        copy = scratch / "copy.db"
        _online_copy(database, copy)
        engine = sa.create_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as connection:
                description = describe(connection, now=now or datetime.now(UTC))
        finally:
            engine.dispose()
        description = replace(description, witnesses=tuple(witnesses), witness_quorum=witness_quorum)
        identity = x25519.Identity.generate()
        encrypted = scratch / DATABASE
        with copy.open("rb") as plain, encrypted.open("wb") as sealed:
            pyrage.encrypt_io(plain, sealed, [identity.to_public()])
        _write(out, scratch, description, secrets, passphrase, encrypted, str(identity))
    return description


def write_secrets_only(
    engine: sa.Engine,
    out: Path,
    *,
    secrets: dict[str, str],
    passphrase: str,
    witnesses: Sequence[str] = (),
    witness_quorum: int = 0,
    now: datetime | None = None,
) -> Description:
    """PostgreSQL: the description (one snapshot) and the secrets; pg_dump writes the data."""
    _check_new(out, passphrase)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        description = describe(connection, now=now or datetime.now(UTC))
    description = replace(description, witnesses=tuple(witnesses), witness_quorum=witness_quorum)
    with _scratch(out.parent) as scratch:
        _write(out, scratch, description, secrets, passphrase, None, None)
    return description


def _check_new(out: Path, passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise BackupError(
            f"the passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters, got {len(passphrase)}"
        )
    if out.exists() or out.is_symlink():
        raise BackupError(f"{out} exists: a backup is never written over a file; choose another name")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a folder")


@contextlib.contextmanager
def _scratch(folder: Path | None) -> Iterator[Path]:
    """A private folder (mode 0700) in ``folder`` (None: the system's), removed whatever happens."""
    with tempfile.TemporaryDirectory(dir=folder, prefix=".consent-backup-") as name:
        yield Path(name)


def _online_copy(database: Path, copy: Path) -> None:
    """SQLite's online backup API, the whole database in one step: one read transaction, so
    one consistent state, while writers go on (WAL). A file copy of a database in WAL mode
    misses what is still in the -wal file, and still opens."""
    if not database.exists():
        raise BackupError(f"{database}: no such database")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if verdict != "ok":
        raise BackupError(f"the copy fails SQLite's integrity check: {verdict}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write(
    out: Path,
    scratch: Path,
    description: Description,
    secrets: dict[str, str],
    passphrase: str,
    database: Path | None,
    database_key: str | None,
) -> None:
    described = description.to_json()
    sealed = {
        "format": FORMAT,
        "secrets": secrets,
        "database_key": database_key,
        "description_sha256": hashlib.sha256(described).hexdigest(),
        "database_sha256": _sha256_file(database) if database is not None else None,
    }
    secret_bytes = age.encrypt(json.dumps(sealed).encode("utf-8"), passphrase)
    partial = scratch / "backup.tar"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, DESCRIPTION, io.BytesIO(described), len(described))
        _add(tar, SECRETS, io.BytesIO(secret_bytes), len(secret_bytes))
        if database is not None:
            with database.open("rb") as f:
                _add(tar, DATABASE, f, database.stat().st_size)
    with partial.open("rb") as f:
        os.fsync(f.fileno())
    try:
        os.link(partial, out)  # never over a file that appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{out} exists: a backup is never written over a file; choose another name") from None
    with contextlib.suppress(OSError):
        directory = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _add(tar: tarfile.TarFile, name: str, content: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o600
    tar.addfile(info, content)


# --- Reading -------------------------------------------------------------------------


@dataclass
class Opened:
    """A backup whose passphrase opened it and whose parts all check out."""

    description: Description
    secrets: dict[str, str] = field(repr=False)
    #: The decrypted SQLite copy, in a scratch folder that `open_backup` removes; None on PostgreSQL.
    database: Path | None = None


def read_description(path: Path) -> Description:
    """The description alone, unauthenticated (no passphrase): for showing, never for deciding."""
    with _reading(path) as tar:
        return Description.from_json(_member(tar, DESCRIPTION, _MAX_DESCRIPTION_BYTES))


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(path, mode="r:") as tar:
            yield tar
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except (tarfile.TarError, EOFError) as e:
        raise BackupError(f"{path} is not a complete backup (truncated, or not one): {e}") from None


def _member(tar: tarfile.TarFile, name: str, limit: int) -> bytes:
    info = _info(tar, name)
    if info.size > limit:
        raise BackupError(f"{name}: expected at most {limit} bytes, got {info.size}")
    content = _open_member(tar, info).read()
    if len(content) != info.size:
        raise BackupError(f"{name} is truncated: expected {info.size} bytes, got {len(content)}")
    return content


def _info(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    try:
        info = tar.getmember(name)
    except KeyError:
        raise BackupError(f"the file holds no {name}: not a backup, or an incomplete one") from None
    if not info.isfile():
        raise BackupError(f"{name}: expected a regular file in the backup")
    return info


def _open_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    f = tar.extractfile(info)
    if f is None:  # _info lets only regular files through
        raise BackupError(f"{info.name}: expected a regular file in the backup")
    return f


@contextlib.contextmanager
def open_backup(path: Path, passphrase: str) -> Iterator[Opened]:
    """The backup at ``path``, every part checked: the passphrase opens the secrets, the
    description and the database are the ones they name, the database decrypts whole and
    passes SQLite's integrity check, and its schema is one this version knows. The
    decrypted copy (sealed values only, like the database itself) lives in a private
    temporary folder (0700), removed on leaving."""
    with _reading(path) as tar:
        described = _member(tar, DESCRIPTION, _MAX_DESCRIPTION_BYTES)
        description = Description.from_json(described)
        try:
            sealed = json.loads(age.decrypt(_member(tar, SECRETS, _MAX_SECRETS_BYTES), passphrase))
        except age.AgeError as e:
            if e.reason == "passphrase":
                raise BackupError(
                    "the passphrase does not open this backup (wrong passphrase, or an edited file)"
                ) from None
            raise BackupError(f"{SECRETS} cannot be opened: {e}") from None
        if not isinstance(sealed, dict) or sealed.get("format") != FORMAT:
            raise BackupError(f"{SECRETS}: expected the secrets of a {FORMAT} backup")
        if hashlib.sha256(described).hexdigest() != sealed["description_sha256"]:
            raise BackupError(
                f"{DESCRIPTION} was changed after the backup was made: it is not the one the secrets name"
            )
        if description.schema_revision is not None and description.schema_revision not in migrate.history():
            raise BackupError(
                f"the backup's schema revision {description.schema_revision} is unknown to this version "
                f"({_app_version()}): restore it with the version that made it ({description.app_version})"
            )
        opened = Opened(description, {str(k): str(v) for k, v in sealed["secrets"].items()})
        with _scratch(None) as scratch:
            if sealed["database_sha256"] is not None:
                opened.database = _decrypt_database(tar, scratch, sealed["database_sha256"], sealed["database_key"])
            elif description.database == "sqlite":
                raise BackupError(f"the backup of a SQLite database holds no {DATABASE}")
            yield opened


def _decrypt_database(tar: tarfile.TarFile, scratch: Path, expected: str, key: str) -> Path:
    info = _info(tar, DATABASE)
    source = _open_member(tar, info)
    encrypted = scratch / DATABASE
    digest = hashlib.sha256()
    with encrypted.open("wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected:
        raise BackupError(f"{DATABASE} is not the database the secrets name (truncated or changed)")
    copy = scratch / "restored.db"
    try:
        with encrypted.open("rb") as sealed, copy.open("wb") as plain:
            pyrage.decrypt_io(sealed, plain, [x25519.Identity.from_str(key)])
    except (OSError, pyrage.DecryptError, pyrage.IdentityError) as e:
        raise BackupError(f"{DATABASE} does not decrypt: {e}") from None
    encrypted.unlink()
    connection = sqlite3.connect(copy)
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as e:
        verdict = str(e)
    finally:
        connection.close()
    if verdict != "ok":
        raise BackupError(f"the database in the backup fails SQLite's integrity check: {verdict}")
    return copy


# --- Witnesses -----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What a witness said about a ledger of the backup that stops a restore."""

    origin: str
    witness: str
    backup_size: int
    witness_size: int | None  # known for a rollback
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


class _WitnessHoldsLess(Exception):
    """The witness asks for a proof from a smaller tree: the backup is newer than what it saw."""


def _holds_less(_old: int) -> list[bytes]:
    raise _WitnessHoldsLess


def witnesses_to_ask(description: Description, configured: Sequence[Witness]) -> tuple[Witness, ...]:
    """The witnesses the backup names and those this machine's config names, each once: a
    config that lost its witnesses (or never had them, on a new machine) asks the backup's."""
    found: dict[str, Witness] = {str(w): w for w in configured}
    for text in description.witnesses:
        witness = Witness.parse(text)  # ConfigError: refused like any other unusable setting
        found.setdefault(str(witness), witness)
    return tuple(found.values())


def behind(description: Description, witnesses: Sequence[Witness], *, timeout: float) -> list[Finding]:
    """Ask every witness about every ledger of the backup: a witness that cosigned a larger
    tree (or another root at this size) proves the backup older than what was acknowledged.
    Only the backup's own signed checkpoints are sent; nothing new is signed. A witness that
    never saw a ledger pins and cosigns the backup's checkpoint, as it would the next one."""
    findings: list[Finding] = []
    for ledger in description.ledgers:
        for witness in witnesses:
            name = witness.key.name
            if ledger.checkpoint is None:
                if ledger.size:
                    findings.append(Finding(ledger.origin, name, ledger.size, None, "no signed checkpoint to ask with"))
                continue  # an empty ledger: no checkpoint was ever signed, nothing to compare
            try:
                cosign(
                    witness,
                    note=ledger.checkpoint,
                    log_key=VerifierKey.parse(ledger.key),
                    proof_from=_holds_less,
                    guess=ledger.size,
                    timeout=timeout,
                )
            except _WitnessHoldsLess:
                continue
            except LedgerRolledBack as e:
                findings.append(
                    Finding(
                        ledger.origin,
                        name,
                        ledger.size,
                        e.witness_size,
                        f"witness {name} has seen {e.witness_size} events, the backup holds {ledger.size} "
                        f"({e.witness_size - ledger.size} behind)",
                    )
                )
            except LedgerForked:
                findings.append(
                    Finding(
                        ledger.origin,
                        name,
                        ledger.size,
                        ledger.size,
                        f"witness {name} holds another ledger of {ledger.size} events (a fork)",
                    )
                )
            except WitnessRefused as e:
                if e.status != 404:  # 404: the witness does not witness this ledger
                    findings.append(Finding(ledger.origin, name, ledger.size, None, f"witness {name} refused: {e}"))
            except (WitnessError, VerificationError) as e:
                findings.append(Finding(ledger.origin, name, ledger.size, None, f"could not ask witness {name}: {e}"))
    return findings


# --- Restoring -----------------------------------------------------------------------


def holds_accounts(engine: sa.Engine) -> bool:
    """Whether the database has any account (an upgraded but unused one has none)."""
    if "users" not in sa.inspect(engine).get_table_names():
        return False
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(User)).scalar_one() > 0


def restore_sqlite(copy: Path, engine: sa.Engine) -> None:
    """Write the checked copy into the instance's database through SQLite's backup API, which
    replaces it whole in one transaction and keeps its -wal and -shm files coherent."""
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        with contextlib.closing(engine.raw_connection()) as raw:
            target: Any = raw.driver_connection
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")  # the copy was written in rollback-journal mode
    finally:
        source.close()
    engine.dispose()


def write_config(path: Path, secrets: dict[str, str]) -> None:
    """Set each secret in the TOML file at ``path`` (created 0600 if absent), every other line
    kept as it was. Written beside it, then renamed over it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    # Settings are top-level keys: only lines before the first [table] are theirs.
    end = next((n for n, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    missing = dict(secrets)
    for n in range(end):
        name = lines[n].split("=", 1)[0].strip()
        if "=" in lines[n] and not lines[n].lstrip().startswith("#") and name in missing:
            lines[n] = _toml_line(name, missing.pop(name))
    lines[:0] = [_toml_line(name, value) for name, value in missing.items()]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _toml_line(name: str, value: str) -> str:
    # JSON's string escapes (\" \\ \n \uXXXX) are all TOML basic-string escapes.
    return f"{name} = {json.dumps(value, ensure_ascii=True)}\n"
