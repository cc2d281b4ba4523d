"""The account archive: export everything a person has here, and import it elsewhere.

``export_account`` writes one zip (consent.archive.format; docs/archive.md): the account,
profile, platforms (with identifiers and notes), uses, requests, the ledger bundle exactly
as consent.services.ledger.export writes it, every letter (PDF and text), every answer
file, the key card and an index.html; account.json lists every file's SHA-256 and is
signed with the person's ledger key. It is written to the file it is given (a temporary
file: nothing but one answer file at a time is held in memory).

``import_account`` brings a checked archive (consent.archive.format.open_archive) into
this instance as the account it was, keeping its user id (the ledger's origin) and every
row's id: before anything is written the instance's witnesses are asked whether they saw
more of this ledger (a rollback), then, in one transaction, the empty account that asks
for it (or, from the command line, no account) gives way to the imported one, every
sealed value sealed again under a new data key, and its first manifest sealed over all of
it. Any failure leaves the database as it was.
"""

from __future__ import annotations

import base64
import json
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import keys, passwords
from consent.archive import format as archive_format
from consent.archive.format import Archive, ArchiveError, HashingWriter
from consent.errors import ConsentError, EmailTaken, IntegrityAlarm
from consent.keys import DataKey
from consent.ledger import events
from consent.ledger.cosignature import add_cosignatures
from consent.ledger.merkle import Frontier, consistency_proof
from consent.ledger.note import VerifierKey
from consent.letters.output import to_pdf
from consent.models import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    Platform,
    Profile,
    Request,
    RequestFile,
    SecondFactor,
    Use,
    User,
)
from consent.services import accounts, integrity, requests, transaction, witnessing
from consent.services import ledger as ledger_service
from consent.services.accounts import AccountSettings, ActiveLogin, NewCredentials
from consent.vault import Vault
from consent.witness.client import LedgerForked, LedgerRolledBack, WitnessError, WitnessRefused, cosign

#: Called as the archive is built: (steps done, steps in all).
Progress = Callable[[int, int], object]


@dataclass(frozen=True)
class Presentation:
    """What the archive shows the person, in their language: made by the caller (the page or
    the command, which have the templates and the translations)."""

    index_html: Callable[[dict[str, Any]], str]
    key_card_pdf: Callable[[VerifierKey], bytes]


def _now() -> datetime:
    return datetime.now(UTC)


def _json(login: ActiveLogin, row: Any, name: str) -> Any:
    return None if getattr(row, name) is None else json.loads(login.vault.read_bytes(row, name))


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# --- export -------------------------------------------------------------------------------


class _TextSink:
    """A text sink (consent.ledger.bundle.TextSink) writing UTF-8 into a zip member."""

    def __init__(self, out: HashingWriter) -> None:
        self.out = out

    def write(self, text: str, /) -> int:
        self.out.write(text.encode("utf-8"))
        return len(text)


class _Writer:
    """The zip being written, and the size and SHA-256 of every member for account.json."""

    def __init__(self, out: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.files: dict[str, dict[str, Any]] = {}

    def add(self, name: str, data: bytes) -> None:
        with self.zip.open(name, "w", force_zip64=len(data) > 2**31) as member:
            writer = HashingWriter(member)
            writer.write(data)
        self.files[name] = {"size": writer.size, "sha256": writer.digest.hexdigest()}

    def add_bundle(self, s: Session, login: ActiveLogin) -> None:
        with self.zip.open(archive_format.BUNDLE, "w", force_zip64=True) as member:
            writer = HashingWriter(member)
            ledger_service.export(s, login, _TextSink(writer))
        self.files[archive_format.BUNDLE] = {"size": writer.size, "sha256": writer.digest.hexdigest()}


#: Attempts at one consistent archive while the person keeps changing their records.
_ATTEMPTS = 3


class ArchiveBusy(ConsentError):
    """The records changed during every attempt to pack them: try again in a moment."""


def _seal_of(s: Session, user_id: uuid.UUID) -> bytes | None:
    return s.scalar(
        sa.select(LedgerHead.manifest).where(LedgerHead.user_id == user_id).execution_options(populate_existing=True)
    )


def export_account(
    s: Session,
    login: ActiveLogin,
    out: IO[bytes],
    *,
    presentation: Presentation,
    public_url: str = "",
    post_delivery_days: int = 3,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write the person's whole account as an archive (a zip) to ``out`` (a seekable file);
    returns account.json as written. IntegrityAlarm if the records are not what the
    person's key vouches for: an archive made of them would carry the tampering elsewhere.

    Packing reads many rows, and neither backend gives those reads one snapshot here
    (SQLite's driver runs each SELECT on its own; PostgreSQL reads committed data), while
    holding the person's lock for seconds would hold up their other tabs (and, on SQLite,
    everyone). Instead: every change re-seals the manifest (a new ciphertext each time), so
    an unchanged seal before and after proves that nothing changed in between; otherwise
    the archive is packed again (ArchiveBusy after three tries)."""
    for _ in range(_ATTEMPTS):
        out.seek(0)
        out.truncate()
        s.commit()  # what follows reads the database as it is now
        before = _seal_of(s, login.user.id)
        doc = _export(s, login, out, presentation, public_url, post_delivery_days, progress, now or _now())
        s.commit()
        if _seal_of(s, login.user.id) == before:
            return doc
    raise ArchiveBusy("the records changed while the archive was being packed, three times: try again")


def _export(
    s: Session,
    login: ActiveLogin,
    out: IO[bytes],
    presentation: Presentation,
    public_url: str,
    post_delivery_days: int,
    progress: Progress | None,
    now: datetime,
) -> dict[str, Any]:
    integrity.check(s, login)
    user_id = login.user.id
    user = s.get_one(User, user_id)
    profile_row = s.get(Profile, user_id)
    platform_rows = list(s.scalars(sa.select(Platform).where(Platform.user_id == user_id).order_by(Platform.id)))
    use_rows = list(s.scalars(sa.select(Use).where(Use.user_id == user_id).order_by(Use.id)))
    request_rows = list(s.scalars(sa.select(Request).where(Request.user_id == user_id).order_by(Request.id)))
    file_rows = list(
        s.execute(
            sa.select(RequestFile.id, RequestFile.request_id, RequestFile.name, RequestFile.created_at)
            .where(RequestFile.user_id == user_id)
            .order_by(RequestFile.id)
        )
    )
    head = s.get_one(LedgerHead, user_id)
    signing = integrity.signer(login)
    total, done = 3 + len(request_rows) + len(file_rows), 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    writer = _Writer(out)
    doc: dict[str, Any] = {
        "format": archive_format.FORMAT,
        "version": archive_format.VERSION,
        "exported_at": _time(now),
        "instance": public_url or None,
        "account": {
            "id": str(user_id),
            "email": login.vault.read(user, "email"),
            "language": user.language,
            "time_zone": login.vault.read(user, "time_zone"),
            "created_at": _time(user.created_at),
        },
        "profile": None
        if profile_row is None
        else {
            **{name: login.vault.read(profile_row, name) for name in Profile.FIELDS},
            "updated_at": _time(profile_row.updated_at),
        },
        "platforms": [
            {
                "id": str(row.id),
                "details": _json(login, row, "details"),
                "private": _json(login, row, "private"),
                "updated_at": _time(row.updated_at),
            }
            for row in platform_rows
        ],
        "uses": [
            {
                "id": str(row.id),
                "platform_id": str(row.platform_id),
                "state": _json(login, row, "state"),
                "updated_at": _time(row.updated_at),
            }
            for row in use_rows
        ],
        "requests": [],
        "ledger": None,
        "signing_key": {
            "public": base64.b64encode(signing.verifier.public_key).decode(),
            "private": base64.b64encode(signing.private_key).decode(),
        },
    }
    step()
    if head.size:
        writer.add_bundle(s, login)
        writer.add(archive_format.VERIFIER_KEY, f"{signing.verifier}\n".encode())
        doc["ledger"] = {
            "bundle": archive_format.BUNDLE,
            "verifier_key": str(signing.verifier),
            "size": head.size,
            "checkpoint": ledger_service.latest_checkpoint(s, user),
        }
    step()
    files_of: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for file_id, request_id, sealed_name, created_at in file_rows:
        # One file's content at a time: a transient row only gives the vault its identity.
        name = login.vault.read(RequestFile(id=file_id, name=sealed_name), "name") or "file"
        sealed = s.scalar(sa.select(RequestFile.content).where(RequestFile.id == file_id))
        content = login.vault.read_bytes(RequestFile(id=file_id, content=sealed), "content")
        path = archive_format.answer_path(str(file_id), name)
        writer.add(path, content)
        files_of.setdefault(request_id, []).append(
            {
                "id": str(file_id),
                "name": name,
                "size": len(content),
                "sha256": writer.files[path]["sha256"],
                "path": path,
                "created_at": _time(created_at),
            }
        )
        del content
        step()
    today = now.date()
    for row in request_rows:
        view = requests.get_request(s, login, row.id)
        assert view is not None  # noqa: S101 - listed above, in this transaction
        letter = requests.letter_of(s, login, view, today=today, post_delivery_days=post_delivery_days)
        pdf, text = archive_format.letter_path(str(row.id), "pdf"), archive_format.letter_path(str(row.id), "txt")
        writer.add(pdf, to_pdf(letter))
        writer.add(text, letter.text.encode("utf-8"))
        doc["requests"].append(
            {
                "id": str(row.id),
                "platform_id": str(row.platform_id),
                "details": _json(login, row, "details"),
                "created_at": _time(row.created_at),
                "updated_at": _time(row.updated_at),
                "letter": {"pdf": pdf, "text": text},
                "files": files_of.get(row.id, []),
            }
        )
        step()
    writer.add(archive_format.KEY_CARD, presentation.key_card_pdf(signing.verifier))
    writer.add(archive_format.INDEX, presentation.index_html(doc).encode("utf-8"))
    doc["files"] = dict(sorted(writer.files.items()))
    account_json = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    writer.add(archive_format.ACCOUNT, account_json)
    writer.add(archive_format.SIGNATURE, archive_format.sign(account_json, signing.private_key))
    writer.zip.close()
    step()
    return doc


# --- import -------------------------------------------------------------------------------


def _leaves(archive: Archive) -> list[bytes]:
    return [base64.b64decode(entry["leaf"]) for entry in archive_format.bundle_entries(archive)]


def ask_witnesses(s: Session, archive: Archive) -> list[str]:
    """Before anything is written: the archive's newest checkpoint goes to each witness this
    instance trusts. One that saw a longer ledger for this origin proves the archive is
    older than the ledger it already vouched for (a rollback); another root, a fork.
    Returns their cosignature lines, kept in the imported newest checkpoint."""
    rules = witnessing.policy(s)
    ledger = archive.account.get("ledger")
    if not rules.witnesses or not ledger:
        return []
    note, size = str(ledger["checkpoint"]), int(ledger["size"])
    leaves: list[bytes] | None = None

    def proof_from(old: int) -> list[bytes]:
        nonlocal leaves
        leaves = leaves if leaves is not None else _leaves(archive)
        return consistency_proof(leaves, old, size)

    lines: list[str] = []
    confirmed = 0
    for witness in rules.witnesses:
        name = witness.key.name
        try:
            lines.append(cosign(witness, note=note, log_key=archive.key, proof_from=proof_from, timeout=rules.timeout))
        except LedgerRolledBack as e:
            raise ArchiveError(
                "rollback",
                f"witness {name} has seen {e.witness_size} events of this ledger, the archive holds {size}: "
                "it is older than what the witness saw (a rollback)",
            ) from None
        except LedgerForked:
            raise ArchiveError("fork", f"witness {name} holds another ledger of {size} events (a fork)") from None
        except WitnessRefused as e:
            raise ArchiveError("fork", f"witness {name} refused this ledger ({e.status}: {e})") from None
        except WitnessError:
            continue  # unreachable: counted against the quorum below
        confirmed += 1
    if confirmed < rules.quorum:
        raise ArchiveError(
            "witnesses", f"expected {rules.quorum} witnesses to confirm the archive's ledger, got {confirmed}"
        )
    return lines


def _is_empty(s: Session, login: ActiveLogin) -> bool:
    """No platform, no request, and a ledger of nothing but the person's own records (a
    profile filled in first, as the dashboard suggests): replacing the account loses
    nothing of their dealings with anyone."""
    user_id = login.user.id
    platforms = s.scalar(sa.select(sa.func.count()).select_from(Platform).where(Platform.user_id == user_id))
    requests_ = s.scalar(sa.select(sa.func.count()).select_from(Request).where(Request.user_id == user_id))
    if platforms or requests_:
        return False
    return all(e["type"] == events.RECORDS_SEALED for e in ledger_service.iter_events(s, login, checked=False))


def _dump(value: Any) -> bytes:
    # The services write their JSON with these settings and in this key order: the same
    # bytes come back (a test compares them with the exporting instance's).
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _moment(text: Any) -> datetime:
    value = datetime.fromisoformat(str(text))
    if value.tzinfo is None:
        raise ArchiveError("malformed", f"expected a time with its zone, got {text!r}")
    return value.astimezone(UTC)


def import_account(
    s: Session,
    settings: AccountSettings,
    archive: Archive,
    *,
    password: str,
    replacing: ActiveLogin | None = None,
    email: str | None = None,
    cosignatures: Sequence[str] = (),
    now: datetime | None = None,
) -> NewCredentials:
    """Make ``archive`` (checked, and its witnesses asked: ``ask_witnesses``) an account here.

    ``replacing``: the empty account of the person asking (the page), whose e-mail,
    password (``password``, already confirmed) and second factors the imported account
    takes; otherwise (the command) a new account for ``email`` with ``password``.
    ArchiveError (or EmailTaken, WeakPassword) and nothing written, or the new login and
    recovery code."""
    now = now or _now()
    user_id = archive.user_id
    with attempts_slot(settings), transaction(s), integrity.unguarded(s):
        if s.get(User, user_id) is not None:
            raise ArchiveError("exists", "an account with this archive's id exists here already")
        factors: list[tuple[SecondFactor, str, str]] = []
        if replacing is not None:
            old = s.get_one(User, replacing.user.id)
            if not _is_empty(s, replacing):
                raise ArchiveError(
                    "not_empty",
                    "this account has platforms or requests already: import only into an empty one",
                )
            email = replacing.vault.read(old, "email") or ""
            for factor in list(s.scalars(sa.select(SecondFactor).where(SecondFactor.user_id == old.id))):
                name, secret = replacing.vault.read(factor, "name") or "", replacing.vault.read(factor, "secret") or ""
                factors.append((factor, name, secret))
                s.delete(factor)  # back under the same id, sealed under the new key
            s.delete(old)  # its logins, head, factors and feed go with it
            s.flush()
        else:
            if not email:
                raise ValueError("an import without an account to replace needs an e-mail address")
            passwords.check_new_password(password, context=[email])
            if accounts.find_user(s, settings, email) is not None:
                raise EmailTaken("an account with this e-mail address exists")
        key = DataKey.generate()
        vault = Vault(key)
        try:
            user, code = _user(s, settings, key, archive, email.strip(), password)
        except (KeyError, TypeError, ValueError, AttributeError) as e:  # a crafted account.json: refused, never a 500
            raise ArchiveError("malformed", f"account.json: the account is incomplete or unreadable ({e!r})") from None
        for factor, name, secret in factors:
            moved = SecondFactor(id=factor.id, user_id=user.id, kind=factor.kind, created_at=factor.created_at)
            vault.write(moved, "name", name)
            vault.write(moved, "secret", secret)
            s.add(moved)
        _records(s, vault, archive)
        head = _ledger(s, vault, archive, cosignatures)
        s.flush()
        # The new account's first login, opened as registration opens it (accounts keeps it private).
        login = accounts._open_login(s, user, key, now)
        # Nothing is sealed that the verified ledger contradicts: whoever holds an archive
        # holds the key that signs account.json, so only the ledger's events (and the
        # witnesses behind them) vouch for platforms, uses, letters and answers.
        try:
            disagreeing = ledger_service.disagreements(s, login)
        except (IntegrityAlarm, KeyError, TypeError, ValueError) as e:
            raise ArchiveError("ledger", f"the records cannot be read against the ledger ({e})") from None
        if disagreeing:
            details = "; ".join(detail for _, detail in disagreeing[:3])
            raise ArchiveError("ledger", f"account.json contradicts the signed ledger: {details}")
        _seal(s, login, head)
        s.flush()
    return NewCredentials(code, login)


def attempts_slot(settings: AccountSettings) -> Any:
    """Argon2 runs once here (the password wraps the new data key): one of the server's slots."""
    from consent.services import attempts

    return attempts.argon2_slot(settings.limits)


def _user(
    s: Session, settings: AccountSettings, key: DataKey, archive: Archive, email: str, password: str
) -> tuple[User, str]:
    """The imported account's user row, and its new recovery code."""
    vault = Vault(key)
    account = archive.account["account"]
    language = account.get("language")
    user = User(
        id=archive.user_id,
        email_lookup=keys.email_lookup(email, settings.email_lookup_key),
        signing_public_key=archive.key.public_key,
        language=language if isinstance(language, str) else None,
        created_at=_moment(account["created_at"]),
    )
    vault.write(user, "email", email)
    vault.write_bytes(user, "signing_private_key", archive.private_key)
    vault.write(user, "time_zone", account.get("time_zone"))
    # The password wraps the new data key, as registration does (accounts keeps it private).
    accounts._set_password(user, key, password, settings)
    code = accounts.new_recovery_code_for(user, key)
    s.add(user)
    s.flush()
    return user, code


def _records(s: Session, vault: Vault, archive: Archive) -> None:
    """Profile, platforms, uses, requests and answer files, each under its own id."""
    data, user_id = archive.account, archive.user_id
    # Each answer file is read from its own member, once: a member listed for several
    # answers would let a small upload write its content again and again.
    used: set[str] = set()
    try:
        if data.get("profile"):
            profile = Profile(user_id=user_id, updated_at=_moment(data["profile"]["updated_at"]))
            for name in Profile.FIELDS:
                vault.write(profile, name, data["profile"].get(name))
            s.add(profile)
        for item in data["platforms"]:
            platform = Platform(id=uuid.UUID(item["id"]), user_id=user_id, updated_at=_moment(item["updated_at"]))
            vault.write_bytes(platform, "details", _dump(item["details"]))
            if item.get("private") is not None:
                vault.write_bytes(platform, "private", _dump(item["private"]))
            s.add(platform)
        s.flush()
        for item in data["uses"]:
            use = Use(
                id=uuid.UUID(item["id"]),
                user_id=user_id,
                platform_id=uuid.UUID(item["platform_id"]),
                updated_at=_moment(item["updated_at"]),
            )
            vault.write_bytes(use, "state", _dump(item["state"]))
            s.add(use)
        for item in data["requests"]:
            request = Request(
                id=uuid.UUID(item["id"]),
                user_id=user_id,
                platform_id=uuid.UUID(item["platform_id"]),
                created_at=_moment(item["created_at"]),
                updated_at=_moment(item["updated_at"]),
            )
            vault.write_bytes(request, "details", _dump(item["details"]))
            s.add(request)
            s.flush()
            for listed in item["files"]:
                file = RequestFile(
                    id=uuid.UUID(listed["id"]),
                    user_id=user_id,
                    request_id=request.id,
                    created_at=_moment(listed["created_at"]),
                )
                path = str(listed["path"])
                if path in used or not path.startswith("answers/"):
                    raise ArchiveError("malformed", f"account.json: the answer file {path!r} is listed twice or elsewhere")
                used.add(path)
                vault.write(file, "name", listed["name"])
                vault.write_bytes(file, "content", archive.read(path))
                s.add(file)
                s.flush()
                s.expunge(file)  # one answer file in memory at a time
        s.flush()
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ArchiveError("malformed", f"account.json: a record is incomplete or unreadable ({e!r})") from None
    except sa.exc.IntegrityError:
        raise ArchiveError("malformed", "account.json: two records share an id, or one points nowhere") from None


def _ledger(s: Session, vault: Vault, archive: Archive, cosignatures: Sequence[str]) -> LedgerHead:
    """The ledger's entries and checkpoints from the verified bundle, and its head."""
    user_id, frontier = archive.user_id, Frontier()
    ledger = archive.account.get("ledger") or {}
    for position, entry in enumerate(archive_format.bundle_entries(archive)):
        leaf = base64.b64decode(entry["leaf"])
        row = LedgerEntry(user_id=user_id, index=position, leaf_hash=leaf)
        if entry.get("event") is not None:
            vault.write_bytes(row, "event", events.encode(entry["event"]))
        s.add(row)
        frontier.append(leaf)
        if "checkpoint" in entry:
            note = entry["checkpoint"]
            if frontier.size == ledger.get("size"):
                for lines in cosignatures:
                    note = add_cosignatures(note, lines)
            s.add(LedgerCheckpoint(user_id=user_id, size=frontier.size, note=note))
        if position % 500 == 499:
            s.flush()
    head = LedgerHead(user_id=user_id, size=frontier.size, frontier=frontier.to_bytes())
    s.add(head)
    return head


def _seal(s: Session, login: ActiveLogin, head: LedgerHead) -> None:
    """The imported account's first manifest: every row just written, at the imported head
    (what registration's seal_new_account does for the user row alone)."""
    # The fingerprints as integrity computes them, of the rows this transaction wrote (no one
    # else knows this id yet), the way check() will read them.
    rows = dict(integrity._fingerprints(s, login.user.id))
    manifest = integrity.Manifest(head.size, integrity._root(head), rows)
    login.vault.write_bytes(head, "manifest", manifest.to_bytes())


def is_empty(s: Session, login: ActiveLogin) -> bool:
    """Whether the person's account may receive an archive (``_is_empty``)."""
    with transaction(s):
        return _is_empty(s, login)


def today() -> date:
    return _now().date()
