"""What the app last left in the database for a person, sealed with their key, and checked
before anything is shown or signed.

The ledger's signatures vouch for the events; this module makes them vouch for everything
else the app keeps for the person too (the state of their platforms and uses, their
requests and the files of the answers, their profile), which the database holds as rows
an operator can edit. After every change the app seals a **manifest** under the person's
data key: the head of their ledger (size and root) and, for every row it wrote, a
fingerprint of each sealed value and each link (use -> platform, request -> platform,
file -> request). Only a login can open or re-seal it. ``check`` compares the database with
it before anything is read, and IntegrityAlarm names what differs: a replayed older
ciphertext, a moved or relinked row, a deleted or added row, a ledger whose head moved
back, a swapped public key.

Every change to those rows goes through ``personal_transaction``: it takes the person's
lock (the ledger head's row), checks (reading the rows FOR SHARE on PostgreSQL, so they
stay as checked until it commits), lets the caller write, appends ``records.sealed`` if
the caller wrote records but no event (so that the seal always moves with the signed
ledger), and seals a manifest made of what it checked plus what this transaction itself
wrote (collected from the session's flushes), never of what the database says at the end.

docs/security.md explains the mechanism and what it does not cover (a consistent rollback
of the whole database, which the browser check and the witnesses catch).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import ledger
from consent.errors import ConsentError, DecryptionError, IntegrityAlarm, VerificationError
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.merkle import Frontier
from consent.ledger.note import Signer, VerifierKey
from consent.models import LedgerCheckpoint, LedgerEntry, LedgerHead, Platform, Profile, Request, RequestFile, Use, User
from consent.services import transaction

if TYPE_CHECKING:  # accounts seals a new account's first manifest: no import circle at run time
    from consent.services.accounts import ActiveLogin

_VERSION = 1

#: The rows the manifest covers, and for each the columns it fingerprints: sealed values
#: (by a digest of their ciphertext) and links (by the id they point to). A file's content
#: is left out: it is written once and never changed, and its ciphertext is bound to the
#: file's own id, so it can neither be replayed nor moved; its name and link are covered.
OWNED: dict[type[Any], tuple[str, ...]] = {
    User: ("email",),
    Profile: Profile.FIELDS,
    Platform: ("details", "private"),
    Use: ("platform_id", "state"),
    Request: ("platform_id", "details"),
    RequestFile: ("request_id", "name"),
}
#: Where each kind of row says whose it is.
_OWNER = {
    User: "id",
    Profile: "user_id",
    Platform: "user_id",
    Use: "user_id",
    Request: "user_id",
    RequestFile: "user_id",
}
_LINKS = {"platform_id", "request_id"}

_CHECKED = "consent.integrity.checked"
_UNGUARDED = "consent.integrity.unguarded"
_PERSONAL = "consent.integrity.personal"


# --- the person's key ---------------------------------------------------------------------


def signer(login: ActiveLogin) -> Signer:
    return Signer(ledger.origin_for(login.user.id), login.vault.read_bytes(login.user, "signing_private_key"))


def verifier_key(login: ActiveLogin) -> VerifierKey:
    """The person's verifier key, derived from their sealed private key (the seal
    authenticates it). The copy of the public key kept in the clear (for whoever verifies
    without logging in) must agree with it: if it does not, someone replaced it, and
    IntegrityAlarm stops every ledger action."""
    key = signer(login).verifier
    if not hmac.compare_digest(key.public_key, login.user.signing_public_key):
        raise IntegrityAlarm([("key", "the public key stored for this account is not the one its private key makes")])
    return key


# --- fingerprints -------------------------------------------------------------------------


def _row_key(row: Any) -> str:
    mapper = sa.inspect(type(row))
    identity = "/".join(str(getattr(row, mapper.get_property_by_column(c).key)) for c in mapper.primary_key)
    return f"{mapper.local_table.name}:{identity}"


def _digest(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    return hashlib.sha256(value).hexdigest()[:32]


def _fingerprint(row: Any, names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: _digest(getattr(row, name)) for name in names}


@dataclass
class Manifest:
    """The sealed record: the ledger head it was made at, and every owned row's fingerprint."""

    size: int = 0
    root: str = base64.b64encode(Frontier().root()).decode()
    rows: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(
            {"v": _VERSION, "size": self.size, "root": self.root, "rows": self.rows}, sort_keys=True
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if data.get("v") != _VERSION:
            raise ValueError(f"expected manifest version {_VERSION}, got {data.get('v')!r}")
        return cls(int(data["size"]), str(data["root"]), dict(data["rows"]))


def _root(head: LedgerHead) -> str:
    return base64.b64encode(Frontier.from_bytes(head.size, head.frontier).root()).decode()


def _fingerprints(
    s: Session, user_id: uuid.UUID, *, lock: bool = False
) -> Iterator[tuple[str, dict[str, str | None]]]:
    """Every row the manifest covers, as (row key, fingerprint): only the columns it covers
    (a file's content stays where it is), read as plain rows, at a fraction of the cost of
    loading objects. What the services then load is what the next check looks at again."""
    for model, names in OWNED.items():
        table = model.__table__
        identity = list(table.primary_key.columns)
        query = sa.select(*identity, *(table.c[name] for name in names)).where(table.c[_OWNER[model]] == user_id)
        # For a change, FOR SHARE on PostgreSQL: nobody changes a checked row before it
        # commits (on SQLite the transaction that writes holds the whole database already).
        for row in s.execute(query.with_for_update(read=True) if lock else query):
            key = f"{table.name}:{'/'.join(str(value) for value in row[: len(identity)])}"
            yield key, {name: _digest(value) for name, value in zip(names, row[len(identity) :], strict=True)}


# --- checking -----------------------------------------------------------------------------


#: Appends the ``records.sealed`` event when a change wrote records but no ledger event
#: (consent.services.ledger registers it: it builds on this module, which cannot import it).
_record_sealers: list[Callable[[Session, ActiveLogin, list[str]], object]] = []


def seal_records_with(sealer: Callable[[Session, ActiveLogin, list[str]], object]) -> None:
    _record_sealers[:] = [sealer]


def check(s: Session, login: ActiveLogin) -> None:
    """Raise IntegrityAlarm unless the database holds what the person's key vouches for.

    Once per transaction (a page's reads share one); the session then forgets what it had
    loaded before, so that the page reads the rows again. (A change locks what it checks,
    see personal_transaction; a page does not, so that readers never hold up, or deadlock
    with, the person's own changes: a row changed in the milliseconds between a page's
    check and its reads is shown once, and found by the next check.) A difference
    found without the person's lock is looked at again under it before it counts: a write
    of their own that committed between two reads of the check is not an attack.
    """
    if s.info.get(_CHECKED) == login.user.id or _PERSONAL in s.info:
        return
    problems = _problems(s, login)
    if problems:
        lock(s, login.user.id)  # held until the request's transaction ends: only on this rare path
        problems = _problems(s, login)
        if problems:
            raise IntegrityAlarm(problems)
    s.expire_all()
    s.info[_CHECKED] = login.user.id


def lock(s: Session, user_id: uuid.UUID) -> LedgerHead:
    """The person's lock: the first write of the transaction, to their ledger head. On
    PostgreSQL it locks the row, on SQLite the database; either way a second change by
    the same person waits here until this one ends."""
    locked = s.execute(sa.update(LedgerHead).where(LedgerHead.user_id == user_id).values(size=LedgerHead.size))
    if locked.rowcount != 1:  # type: ignore[attr-defined]
        raise ConsentError(f"no ledger for this account (expected one head row, got {locked.rowcount})")  # type: ignore[attr-defined]
    return s.scalars(
        sa.select(LedgerHead).where(LedgerHead.user_id == user_id).execution_options(populate_existing=True)
    ).one()


def _problems(s: Session, login: ActiveLogin, *, lock: bool = False) -> list[tuple[str, str]]:
    user_id = login.user.id
    try:
        key = verifier_key(login)
    except IntegrityAlarm as alarm:
        return alarm.problems
    head = s.scalars(
        sa.select(LedgerHead).where(LedgerHead.user_id == user_id).execution_options(populate_existing=True)
    ).one_or_none()
    if head is None:
        return [("head", "this account has no ledger head")]
    if head.manifest is None:
        # An account from before the seal existed (or one whose seal was deleted): the
        # person adopts it, from their signed ledger, with "Check and seal my records".
        return [("unsealed", "the records of this account have not been sealed yet")]
    problems = _head_problems(s, login, head, key)
    try:
        manifest = Manifest.from_bytes(login.vault.read_bytes(head, "manifest"))
    except (DecryptionError, ValueError, KeyError):
        return [*problems, ("unreadable", "the record of what the app last wrote does not open with your key")]
    if head.size < manifest.size:
        problems.append(
            ("rolled_back", f"the ledger holds {head.size} events, but the app last left it with {manifest.size}")
        )
    elif not problems and (head.size, _root(head)) != (manifest.size, manifest.root):  # (a bad head has no root)
        problems.append(("head", f"the ledger's head ({head.size} events) is not where the app last left it"))
    problems += _row_problems(manifest, _fingerprints(s, user_id, lock=lock))
    return problems


def _head_problems(s: Session, login: ActiveLogin, head: LedgerHead, key: VerifierKey) -> list[tuple[str, str]]:
    """The head must be what the newest signed checkpoint says, and the stored events must
    end where it does."""
    user_id = login.user.id
    last = s.scalar(sa.select(sa.func.max(LedgerEntry.index)).where(LedgerEntry.user_id == user_id))
    if (last if last is not None else -1) != head.size - 1:
        return [("head", f"the ledger's head says {head.size} events, the stored events end at {last}")]
    newest = s.scalar(sa.select(sa.func.max(LedgerCheckpoint.size)).where(LedgerCheckpoint.user_id == user_id))
    if head.size == 0:
        return [] if newest is None else [("head", f"an empty ledger has a checkpoint of size {newest}")]
    if newest != head.size:
        return [("head", f"the newest checkpoint is of size {newest}, the head of size {head.size}")]
    note = s.scalar(
        sa.select(LedgerCheckpoint.note).where(LedgerCheckpoint.user_id == user_id, LedgerCheckpoint.size == head.size)
    )
    try:
        signed = open_checkpoint(note or "", key)
        frontier = Frontier.from_bytes(head.size, head.frontier)
    except (VerificationError, ValueError) as e:
        return [("head", f"the newest checkpoint does not verify: {e}")]
    if signed != Checkpoint(key.name, head.size, frontier.root()):
        return [("head", "the ledger's head is not the tree its newest signed checkpoint describes")]
    return []


def _row_problems(manifest: Manifest, rows: Iterator[tuple[str, dict[str, str | None]]]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen = set()
    for name, actual in rows:
        seen.add(name)
        expected = manifest.rows.get(name)
        if expected is None:
            problems.append(("unexpected", f"{name} was not written by the app"))
            continue
        if actual == expected:
            continue
        for column, value in actual.items():
            if value == expected.get(column):
                continue
            if column in _LINKS:
                problems.append(("relinked", f"{name} was moved from {expected.get(column)} to {value}"))
            else:
                problems.append(("replayed", f"{name}: {column} is not the value the app last wrote"))
    for name in sorted(set(manifest.rows) - seen):
        problems.append(("missing", f"{name} was deleted"))
    return problems


# --- writing ------------------------------------------------------------------------------


@dataclass
class Personal:
    """The state of a personal transaction: whose, their locked head and its size at the
    start, the checked manifest (None while adopting), and what this transaction wrote
    (row key -> fingerprints, or None once deleted)."""

    login: ActiveLogin
    head: LedgerHead
    start: int
    manifest: Manifest | None
    repairing: bool = False
    written: dict[str, dict[str, str | None] | None] = field(default_factory=dict)
    #: Steps to run once the caller's writes are flushed, before the seal (the witnesses').
    before_seal: list[Callable[[], object]] = field(default_factory=list)


def personal(s: Session) -> Personal:
    """The personal transaction this session is in; ConsentError outside one."""
    found = s.info.get(_PERSONAL)
    if not isinstance(found, Personal):
        raise ConsentError("a change to a person's data must run in integrity.personal_transaction")
    return found


@contextmanager
def personal_transaction(s: Session, login: ActiveLogin, *, repair: bool = False) -> Iterator[Personal]:
    """One transaction of changes to the person's data: lock, check, write, seal, commit.

    IntegrityAlarm before the caller runs leaves everything as it was: nothing is written,
    and nothing signed, on top of a state the person's key does not vouch for. A change
    that wrote records but appended no event appends ``records.sealed``, so that the seal
    always moves with the signed ledger and an older one written back shows.

    ``repair``: for consent.services.ledger.recover only, which checks the ledger itself
    and rebuilds what follows from it; the seal then keeps every other record exactly as
    the old one had it (or, adopting an account that has none, as it is).
    """
    if _PERSONAL in s.info:
        raise ConsentError("personal transactions do not nest")
    if s.in_transaction():
        s.commit()  # what this request read so far is read again under the lock, below
    with transaction(s):
        head = lock(s, login.user.id)
        s.expire_all()  # nothing loaded before the lock is taken for what the check will have seen
        s.info.pop(_CHECKED, None)
        if repair:
            manifest = _open_manifest(login, head)
        else:
            problems = _problems(s, login, lock=True)
            if problems:
                raise IntegrityAlarm(problems)
            manifest = Manifest.from_bytes(login.vault.read_bytes(head, "manifest"))
        state = s.info[_PERSONAL] = Personal(login, head, head.size, manifest, repair)
        try:
            yield state
            s.flush()
            kinds = sorted({name.split(":", 1)[0] for name in state.written})
            if (kinds and head.size == state.start) or repair:
                _record_sealers[0](s, login, kinds or ["platforms", "uses"])
                s.flush()
            for step in state.before_seal:
                step()
            _seal(s, state)
        finally:
            s.info.pop(_PERSONAL, None)


def _open_manifest(login: ActiveLogin, head: LedgerHead) -> Manifest | None:
    """The sealed manifest for a repair: None when there is none (adoption); one that does
    not open is refused, since it could be hiding anything."""
    if head.manifest is None:
        return None
    try:
        return Manifest.from_bytes(login.vault.read_bytes(head, "manifest"))
    except (DecryptionError, ValueError, KeyError):
        raise IntegrityAlarm([("unreadable", "the record of what the app last wrote does not open with your key")]) from None


def behind_manifest(manifest: Manifest | None, head: LedgerHead) -> list[tuple[str, str]]:
    """A rollback or fork the sealed manifest is evidence of: the ledger stands behind, or
    beside, the head the app last sealed."""
    if manifest is None:
        return []
    if head.size < manifest.size:
        return [("rolled_back", f"the ledger holds {head.size} events, but the app last left it with {manifest.size}")]
    if (head.size, _root(head)) != (manifest.size, manifest.root):
        return [("forked", f"the ledger of {head.size} events is not the one the app last left")]
    return []


def seal_new_account(s: Session, login: ActiveLogin, head: LedgerHead) -> None:
    """The first manifest of a new account (inside registration's transaction)."""
    rows = {_row_key(login.user): _fingerprint(login.user, OWNED[User])}
    login.vault.write_bytes(head, "manifest", Manifest(rows=rows).to_bytes())


#: What a repair rebuilds from the ledger: the rest must be as the old seal recorded it.
_REBUILT = {"platforms": {"details"}, "uses": {"platform_id", "state"}}


def _seal(s: Session, state: Personal) -> None:
    if state.repairing:
        rows = _repaired_rows(s, state)
    else:
        assert state.manifest is not None  # noqa: S101 - opened by personal_transaction
        rows = dict(state.manifest.rows)
        for name, fingerprint in state.written.items():
            if fingerprint is None:
                rows.pop(name, None)
            else:
                rows[name] = {**rows.get(name, {}), **fingerprint}
    manifest = Manifest(state.head.size, _root(state.head), rows)
    state.login.vault.write_bytes(state.head, "manifest", manifest.to_bytes())
    s.flush()


def rebuildable(problems: list[tuple[str, str]]) -> bool:
    """Whether ``recover`` can clear these problems: the seal is missing, or every problem
    is a platform's details or a use, which follow from the signed ledger."""
    if [kind for kind, _ in problems] == ["unsealed"]:
        return True
    for kind, detail in problems:
        if kind not in ("replayed", "relinked", "missing", "unexpected"):
            return False
        name, _, rest = detail.partition(" ")
        table = name.rstrip(":").split(":", 1)[0]
        column = rest.split(" ", 1)[0] if kind == "replayed" else None
        if table not in _REBUILT or (column is not None and column not in _REBUILT[table]):
            return False
    return True


def _repaired_rows(s: Session, state: Personal) -> dict[str, dict[str, str | None]]:
    """After a rebuild: what the database holds now, where the old seal agrees with it on
    everything the ledger does not vouch for; otherwise IntegrityAlarm, and nothing sealed."""
    current = dict(_fingerprints(s, state.login.user.id, lock=True))
    if state.manifest is None:
        return current  # adopting: nothing to compare with (docs/security.md says what this trusts)
    old = state.manifest.rows
    problems = []
    for name in sorted(set(current) | set(old)):
        table = name.split(":", 1)[0]
        rebuilt = _REBUILT.get(table, set())
        if table in _REBUILT and (name not in old or name not in current):
            continue  # a platform or use that the ledger has, or does not have
        mine, theirs = current.get(name), old.get(name)
        if mine is None or theirs is None:
            problems.append(("missing" if mine is None else "unexpected", f"{name} cannot be rebuilt from the ledger"))
            continue
        for column in mine:
            if column not in rebuilt and mine[column] != theirs.get(column):
                problems.append(("replayed", f"{name}: {column} cannot be rebuilt from the ledger"))
    if problems:
        raise IntegrityAlarm(problems)
    return current


def _after_flush(s: Session, _context: Any) -> None:
    """Collect what a flush wrote to owned rows: into the personal transaction's record,
    or refuse it outside one (a change that no manifest would vouch for)."""
    state = s.info.get(_PERSONAL)
    for row in [*s.new, *s.dirty, *s.deleted]:
        names = OWNED.get(type(row))
        if names is None:
            continue
        inspected = sa.inspect(row)
        if row in s.dirty and not any(inspected.attrs[name].history.has_changes() for name in names):
            continue  # e.g. a new password hash: nothing the manifest covers
        if state is None:
            if s.info.get(_UNGUARDED):
                continue
            raise ConsentError(f"{_row_key(row)} was written outside a personal transaction")
        if getattr(row, _OWNER[type(row)]) != state.login.user.id:
            raise ConsentError(f"{_row_key(row)} belongs to another account")
        if row in s.deleted:
            state.written[_row_key(row)] = None
            continue
        changed = {
            name: _digest(getattr(row, name))
            for name in names
            if row in s.new or inspected.attrs[name].history.has_changes()
        }
        if changed:
            state.written[_row_key(row)] = {**(state.written.get(_row_key(row)) or {}), **changed}


def _forget_check(s: Session, transaction: Any) -> None:
    if transaction.parent is None:  # a check holds for the transaction it ran in, no longer
        s.info.pop(_CHECKED, None)


@contextmanager
def unguarded(s: Session) -> Iterator[None]:
    """Writes that need no manifest: registration (which seals the first one) and account
    deletion (which removes the rows and the manifest together)."""
    s.info[_UNGUARDED] = True
    try:
        yield
    finally:
        s.info.pop(_UNGUARDED, None)


sa.event.listen(Session, "after_flush", _after_flush)
sa.event.listen(Session, "after_transaction_end", _forget_check)
