"""The person's ledger in the database: record decisions, read them back, verify, export.

Every decision goes through ``LedgerWriter.record`` inside the caller's transaction:
it takes the per-person append lock, checks the decision against the current state,
appends the event, signs the new checkpoint, and updates the projection (platforms,
uses) in the same transaction, so the state can never drift from the ledger.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import ledger
from consent.errors import DecisionError, DecryptionError, IntegrityAlarm, VerificationError
from consent.ledger import bundle, events, receipts
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.merkle import Frontier, inclusion_proof, leaf_hash, verify_inclusion
from consent.ledger.state import LedgerState, PlatformState, UseState, replay
from consent.models import LedgerCheckpoint, LedgerEntry, LedgerHead, Platform, Request, RequestFile, Use, User
from consent.services import integrity, witnessing
from consent.services.accounts import ActiveLogin
from consent.services.integrity import verifier_key as verifier_key  # the key, where ledger code looks for it

#: How far ahead of the server's clock a decision's time may be (a browser's clock skew).
_CLOCK_SKEW = timedelta(minutes=5)


def _read_json(login: ActiveLogin, row: Any, name: str) -> Any:
    return json.loads(login.vault.read_bytes(row, name))


def _write_json(login: ActiveLogin, row: Any, name: str, value: Any) -> None:
    login.vault.write_bytes(row, name, json.dumps(value, ensure_ascii=False, sort_keys=True).encode())


class LedgerWriter:
    """Appends to one person's ledger, inside an integrity.personal_transaction: its lock
    is what keeps a second append by the same person from using the same index, and its
    check is what keeps anything from being signed on top of a state not vouched for."""

    def __init__(self, s: Session, login: ActiveLogin, now: datetime) -> None:
        self.s, self.login, self.now = s, login, now
        personal = integrity.personal(s)
        self.head = personal.head
        self.frontier = Frontier.from_bytes(self.head.size, self.head.frontier)
        self.signer = integrity.signer(login)
        if not personal.before_seal:
            # Before the first signature of the transaction, the witnesses confirm the
            # current checkpoint; after the last, they cosign the newest.
            key, start = self.signer.verifier, self.head.size
            known = witnessing.confirm(s, login, self.head, key)
            personal.before_seal.append(
                lambda: self.head.size > start and witnessing.cosign_newest(s, login, self.head, key, known)
            )

    def record(
        self,
        kind: str,
        *,
        platform: uuid.UUID,
        use: uuid.UUID | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Check, append and project one decision; DecisionError leaves everything as it was."""
        at = at or self.now
        if at > self.now + _CLOCK_SKEW:
            raise DecisionError("in_future", "a decision cannot be dated in the future")
        state, platform_row, use_row = self._load(platform, use)
        event = events.new_event(
            index=self.frontier.size, type=kind, at=at, recorded=self.now, platform=platform, use=use, data=data
        )
        state.apply(event)  # refuses a decision that cannot follow the current state
        self._append(event)
        self._project(state, platform, platform_row, use, use_row)
        return event

    def seal_records(self, kinds: list[str]) -> dict[str, Any]:
        """The ``records.sealed`` event: the person's records changed without a decision."""
        event = events.new_event(
            index=self.frontier.size,
            type=events.RECORDS_SEALED,
            at=self.now,
            recorded=self.now,
            platform=None,
            data={"records": sorted(set(kinds))},
        )
        self._append(event)
        return event

    def erase_platform(self, platform: uuid.UUID) -> dict[str, Any]:
        """Redact every event about ``platform`` (its payload goes, its leaf stays), then
        append the signed ``platform.erased`` event that names them. The caller removes the
        platform's rows; DecisionError if the platform is not the person's, IntegrityAlarm
        if a payload is already missing without an erasure (nothing is signed over it)."""
        state, platform_row, _ = self._load(platform, None)
        if platform_row is None:
            raise DecisionError("unknown", f"no platform {platform}")
        about: list[LedgerEntry] = []
        blank: list[int] = []
        erased: set[int] = set()
        for entry in self.s.scalars(
            sa.select(LedgerEntry).where(LedgerEntry.user_id == self.login.user.id).order_by(LedgerEntry.index)
        ):
            if entry.event is None:
                blank.append(entry.index)
                continue
            recorded = json.loads(self.login.vault.read_bytes(entry, "event"))
            erased.update(events.redacted_by(recorded))
            if recorded.get("platform") == str(platform):
                about.append(entry)
        _refuse_unexplained(blank, erased)
        event = events.new_event(
            index=self.frontier.size,
            type=events.PLATFORM_ERASED,
            at=self.now,
            recorded=self.now,
            platform=platform,
            data={"redacted": [entry.index for entry in about]},
        )
        state.apply(event)
        for entry in about:
            entry.event = None
        self._append(event)
        return event

    def _append(self, event: dict[str, Any]) -> None:
        appended = ledger.append(self.frontier, self.signer, event)
        user_id = self.login.user.id
        entry = LedgerEntry(user_id=user_id, index=event["index"], leaf_hash=appended.leaf)
        self.login.vault.write_bytes(entry, "event", events.encode(event))
        self.s.add(entry)
        self.s.add(LedgerCheckpoint(user_id=user_id, size=self.frontier.size, note=appended.checkpoint))
        self.head.size, self.head.frontier = self.frontier.size, self.frontier.to_bytes()

    def _load(self, platform: uuid.UUID, use: uuid.UUID | None) -> tuple[LedgerState, Platform | None, Use | None]:
        state = LedgerState()
        platform_row = self.s.scalar(
            sa.select(Platform)
            .where(Platform.id == platform, Platform.user_id == self.login.user.id)
            .execution_options(populate_existing=True)
        )
        if platform_row is not None:
            state.platforms[str(platform)] = PlatformState(**_read_json(self.login, platform_row, "details"))
        use_row = None
        if use is not None:
            use_row = self.s.scalar(
                sa.select(Use)
                .where(Use.id == use, Use.user_id == self.login.user.id)
                .execution_options(populate_existing=True)
            )
            if use_row is not None:
                if use_row.platform_id != platform:
                    raise DecisionError("unknown", "this use belongs to another platform")
                state.uses[str(use)] = UseState(**_read_json(self.login, use_row, "state"))
        return state, platform_row, use_row

    def _project(
        self,
        state: LedgerState,
        platform: uuid.UUID,
        platform_row: Platform | None,
        use: uuid.UUID | None,
        use_row: Use | None,
    ) -> None:
        user_id = self.login.user.id
        if platform_row is None:
            platform_row = Platform(id=platform, user_id=user_id, updated_at=self.now)
            self.s.add(platform_row)
        _write_json(self.login, platform_row, "details", state.platforms[str(platform)].to_json())
        platform_row.updated_at = self.now
        if use is not None:
            if use_row is None:
                use_row = Use(id=use, user_id=user_id, platform_id=platform, updated_at=self.now)
                self.s.add(use_row)
            _write_json(self.login, use_row, "state", state.uses[str(use)].to_json())
            use_row.updated_at = self.now


# --- reading ------------------------------------------------------------------------------


def iter_events(s: Session, login: ActiveLogin, *, checked: bool = True) -> Generator[dict[str, Any], None, None]:
    """Every event of the person's ledger, in order, decrypted one at a time (after the
    integrity check, unless the caller is the one repairing what it checks). Redacted
    events (their platform erased) are left out: there is nothing left of them to read;
    ``redacted_indexes`` names them."""
    platforms = None
    if checked:
        integrity.check(s, login)
        platforms = _platform_ids(s, login)
    query = (
        sa.select(LedgerEntry)
        .where(LedgerEntry.user_id == login.user.id)
        .order_by(LedgerEntry.index)
        .execution_options(yield_per=500)
    )
    # Streamed (a server-side cursor on PostgreSQL): closed however the reading ends.
    blank: list[int] = []
    erased: set[int] = set()
    with contextlib.closing(s.scalars(query)) as entries:
        for entry in entries:
            if entry.event is None:
                blank.append(entry.index)
                continue
            event = json.loads(login.vault.read_bytes(entry, "event"))
            if platforms is not None:
                _refuse_erased(entry.index, event, platforms)
            erased.update(events.redacted_by(event))
            yield event
    # Known only at the end (an erasure follows what it erased).
    _refuse_unexplained(blank, erased)


def _platform_ids(s: Session, login: ActiveLogin) -> set[str]:
    return {str(i) for i in s.scalars(sa.select(Platform.id).where(Platform.user_id == login.user.id))}


def _refuse_erased(index: int, event: dict[str, Any], platforms: set[str]) -> None:
    """IntegrityAlarm for an event whose platform is gone, but whose details are back.

    A platform row goes only with its erasure, and the seal covers the rows (one added back
    is caught), so, once checked, an event about a platform that is not there was erased:
    details read for it were written back (an old ciphertext from a backup decrypts, being
    bound only to its row). Found before anything is shown, not at the end of a reading."""
    platform = event.get("platform")
    if event.get("type") != events.PLATFORM_ERASED and platform is not None and str(platform) not in platforms:
        raise IntegrityAlarm(
            [("replayed", f"ledger_entries:{index}: you erased its details, but they are stored again")]
        )


def _refuse_unexplained(blank: list[int], erased: set[int]) -> None:
    """IntegrityAlarm for a payload gone without the person's signed erasure: an operator's
    doing, not a redaction."""
    unexplained = [index for index in blank if index not in erased]
    if unexplained:
        raise IntegrityAlarm(
            [
                (
                    "missing",
                    f"ledger_entries:{index}: its details were deleted, and no erasure signed with your key names it",
                )
                for index in unexplained[:20]
            ]
        )


def get_event(s: Session, login: ActiveLogin, index: int) -> dict[str, Any] | None:
    """Event ``index``; None if there is none, or if it was erased (``redacted_indexes``)."""
    integrity.check(s, login)
    entry = s.get(LedgerEntry, (login.user.id, index))
    if entry is None:
        return None
    if entry.event is None:
        redacted_indexes(s, login)  # the alarm, unless a signed erasure names it
        return None
    event: dict[str, Any] = json.loads(login.vault.read_bytes(entry, "event"))
    _refuse_erased(index, event, _platform_ids(s, login))
    return event


def redacted_indexes(s: Session, login: ActiveLogin) -> list[int]:
    """The indexes of the events whose payloads the person erased (with their platforms),
    as their signed erasures name them: reading them all raises the alarm for a payload an
    operator blanked, which no erasure names (it must never pass for the person's own)."""
    erased: set[int] = set()
    for event in iter_events(s, login):
        erased.update(events.redacted_by(event))
    return sorted(erased)


def state_at(s: Session, login: ActiveLogin, moment: datetime) -> LedgerState:
    """What stood at ``moment``: the decisions made by then, replayed."""
    return replay(iter_events(s, login), until=moment)


def latest_checkpoint(s: Session, user: User) -> str | None:
    return s.scalar(
        sa.select(LedgerCheckpoint.note)
        .where(LedgerCheckpoint.user_id == user.id)
        .order_by(LedgerCheckpoint.size.desc())
        .limit(1)
    )


def _leaves(s: Session, user: User) -> list[bytes]:
    return list(
        s.scalars(sa.select(LedgerEntry.leaf_hash).where(LedgerEntry.user_id == user.id).order_by(LedgerEntry.index))
    )


@dataclass(frozen=True)
class _Proven:
    """An event with its inclusion proof in the tree the newest signed checkpoint describes."""

    event: dict[str, Any]
    leaf: bytes
    proof: list[bytes]
    note: str
    checkpoint: Checkpoint


def _proven(s: Session, login: ActiveLogin, index: int) -> _Proven | None:
    """Event ``index`` as its own bytes hash it, proven against the newest signed checkpoint:
    what a letter cites or a receipt carries never rests on a stored hash alone."""
    event = get_event(s, login, index)
    note = latest_checkpoint(s, login.user)
    if event is None or note is None:
        return None
    checkpoint = open_checkpoint(note, verifier_key(login))
    leaf = leaf_hash(events.encode(event))
    leaves = _leaves(s, login.user)
    try:
        if len(leaves) != checkpoint.size:
            raise VerificationError(f"expected {checkpoint.size} leaves, got {len(leaves)}")
        proof = inclusion_proof(leaves, index, checkpoint.size)
        verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root)
    except (VerificationError, ValueError) as e:
        raise IntegrityAlarm(
            [("head", f"event {index} is not in the tree your newest checkpoint signs ({e})")]
        ) from None
    return _Proven(event, leaf, proof, note, checkpoint)


def receipt(s: Session, login: ActiveLogin, index: int, *, language: str = "en") -> dict[str, Any] | None:
    """The receipt of event ``index``, proven against the latest checkpoint."""
    proven = _proven(s, login, index)
    if proven is None:
        return None
    event = proven.event
    row = (
        s.scalar(
            sa.select(Platform).where(Platform.id == uuid.UUID(event["platform"]), Platform.user_id == login.user.id)
        )
        if "platform" in event
        else None
    )
    details = _read_json(login, row, "details") if row is not None else {}
    return receipts.make_receipt(
        event=event,
        proof=proven.proof,
        checkpoint_note=proven.note,
        key=verifier_key(login),
        platform=details,
        language=language,
    )


def export(s: Session, login: ActiveLogin, out: bundle.TextSink) -> int:
    """Write the whole ledger as a bundle to ``out``; returns the number of events.

    No integrity check first: the export is the person's evidence, most needed after an
    alarm, and it needs no trust in the server (its signatures are checked offline)."""
    size = s.scalar(sa.select(LedgerHead.size).where(LedgerHead.user_id == login.user.id)) or 0
    latest = latest_checkpoint(s, login.user)
    if size == 0 or latest is None:
        raise VerificationError("the ledger is empty: there is nothing to export yet")
    key = integrity.signer(login).verifier  # from the sealed private key, whatever the stored copy says
    query = (
        sa.select(LedgerEntry)
        .where(LedgerEntry.user_id == login.user.id)
        .order_by(LedgerEntry.index)
        .execution_options(yield_per=500)
    )
    # What the person erased stays out of the export even if its details were written back
    # (an old ciphertext decrypts): a first pass learns from the signed erasures what they
    # name, since each follows what it erased.
    erased: set[int] = set()
    with contextlib.closing(s.scalars(query)) as stored:
        for row in stored:
            if row.event is not None:
                erased.update(events.redacted_by(json.loads(login.vault.read_bytes(row, "event"))))
    with contextlib.closing(_checkpoints(s, login.user)) as notes, contextlib.closing(s.scalars(query)) as stored:
        entries = (
            bundle.Entry(
                None
                if row.event is None or row.index in erased
                else json.loads(login.vault.read_bytes(row, "event")),
                notes.upto(row.index + 1),
                leaf=row.leaf_hash,
            )
            for row in stored
        )
        return bundle.write_bundle(out, key=key, latest=latest, size=size, entries=entries)


class _CheckpointCursor:
    """Checkpoints in size order, read alongside the events so neither is held in memory."""

    def __init__(self, result: sa.Result[int, str]) -> None:
        self._result = result
        self._rows: Iterator[tuple[int, str]] = ((size, note) for size, note in result)
        self._next = next(self._rows, None)

    def close(self) -> None:
        self._result.close()  # a server-side cursor on PostgreSQL

    def upto(self, size: int) -> str | None:
        """The checkpoint of exactly ``size``, if any; those of smaller sizes are skipped."""
        while self._next is not None and self._next[0] < size:
            self._next = next(self._rows, None)
        if self._next is not None and self._next[0] == size:
            note = self._next[1]
            self._next = next(self._rows, None)
            return note
        return None

    def rest(self) -> list[int]:
        sizes = [] if self._next is None else [self._next[0]]
        return sizes + [size for size, _ in self._rows]


def _checkpoints(s: Session, user: User) -> _CheckpointCursor:
    query = (
        sa.select(LedgerCheckpoint.size, LedgerCheckpoint.note)
        .where(LedgerCheckpoint.user_id == user.id)
        .order_by(LedgerCheckpoint.size)
        .execution_options(yield_per=500)
    )
    return _CheckpointCursor(s.execute(query))


# --- verification -------------------------------------------------------------------------


@dataclass
class LedgerCheck:
    """What "Verify my ledger" found."""

    events: int = 0
    checkpoints: int = 0
    root: str = ""
    key: str = ""
    #: Indexes of the events the person erased, each named by a signed ``platform.erased``.
    redacted: list[int] = field(default_factory=list)
    #: What is wrong with the signed ledger itself.
    problems: list[str] = field(default_factory=list)
    #: What is wrong with the records kept beside it (IntegrityAlarm's (kind, detail)).
    records: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.records


def verify(s: Session, login: ActiveLogin, *, with_state: bool = True) -> LedgerCheck:
    """Check the stored ledger: every event decrypts and hashes to its leaf, indexes run
    without a gap, every checkpoint is signed by the person's key and matches the tree of
    the events before it (so successive checkpoints are consistent), and the head agrees;
    ``with_state``, also that everything else the app keeps is what it last sealed.

    An event without its payload passes only if a signed ``platform.erased`` event names
    it (then it is reported in ``redacted``); an erased event whose payload is back is a
    problem too (the erasure's promise broken)."""
    try:
        key = verifier_key(login)
    except IntegrityAlarm as alarm:
        return LedgerCheck(problems=[detail for _, detail in alarm.problems])
    check = LedgerCheck(key=str(key))
    # Both streamed (server-side cursors on PostgreSQL): closed however the check ends.
    with (
        contextlib.closing(_checkpoints(s, login.user)) as notes,
        contextlib.closing(
            s.scalars(
                sa.select(LedgerEntry)
                .where(LedgerEntry.user_id == login.user.id)
                .order_by(LedgerEntry.index)
                .execution_options(yield_per=500)
            )
        ) as stored,
    ):
        frontier = Frontier()
        blank: list[int] = []  # payloads missing, explained only by a later signed erasure
        erased: set[int] = set()
        present: set[int] = set()
        for entry in stored:
            if len(check.problems) >= 20:
                break
            if entry.index != frontier.size:
                check.problems.append(f"event {frontier.size} is missing (the next stored event is {entry.index})")
                break
            raw = b""
            if entry.event is None:
                blank.append(entry.index)
            else:
                try:
                    raw = login.vault.read_bytes(entry, "event")
                    event = json.loads(raw)
                    events.check_event(event, index=entry.index)
                    erased.update(events.redacted_by(event))
                    present.add(entry.index)
                except (DecryptionError, VerificationError, ValueError) as e:
                    check.problems.append(f"event {entry.index} cannot be read: {e}")
                    raw = b""
            if raw and leaf_hash(raw) != entry.leaf_hash:
                check.problems.append(f"event {entry.index} does not hash to its leaf")
            frontier.append(entry.leaf_hash)
            note = notes.upto(frontier.size)
            if note is not None:
                check.checkpoints += 1
                try:
                    checkpoint = open_checkpoint(note, key)
                except VerificationError as e:
                    check.problems.append(f"checkpoint {frontier.size}: {e}")
                    continue
                if checkpoint != Checkpoint(key.name, frontier.size, frontier.root()):
                    check.problems.append(f"checkpoint {frontier.size} does not match the events before it")
        check.events = frontier.size
        check.root = base64.b64encode(frontier.root()).decode()
        check.redacted = [index for index in blank if index in erased]
        check.problems += [
            f"event {index} has no details, and no erasure signed with your key names it"
            for index in blank
            if index not in erased
        ][:20]
        check.problems += [
            f"event {index} was erased, but its details are stored again" for index in sorted(erased & present)
        ][:20]
        for size in notes.rest():
            check.problems.append(f"checkpoint {size} signs events that are not in the ledger")
    head = s.get(LedgerHead, login.user.id)
    if head is None or head.size != frontier.size or _head_root(head) != frontier.root():
        check.problems.append("the ledger's head does not match its events")
    if with_state and check.ok:
        try:
            integrity.check(s, login)
        except IntegrityAlarm as alarm:
            check.records = alarm.problems
    return check


# --- the projection ---------------------------------------------------------------------------


def _head_root(head: LedgerHead) -> bytes | None:
    try:
        return Frontier.from_bytes(head.size, head.frontier).root()
    except ValueError:  # not even the right number of hashes
        return None


def recover(s: Session, login: ActiveLogin) -> LedgerState:
    """Check the person's records against their signed ledger, rebuild what follows from
    it, and seal them again; appends ``records.sealed``.

    Two uses: adopting an account that has no seal yet (made before it existed), and, after
    an alarm, the person's choice to rebuild. Platforms and uses are rebuilt from the ledger
    alone (their private notes, not in it, must be as the old seal recorded them); every
    letter and answer must match its events (request, platform, letter and answer hashes,
    statuses, files). Everything else must be exactly as the old seal recorded it.
    Refused, with IntegrityAlarm, when the ledger does not verify, or stands behind what
    the old seal or a witness saw: signing on top of a rolled-back ledger would fork the
    person's history, so a rollback is never "repaired" here.
    """
    with integrity.personal_transaction(s, login, repair=True) as personal:
        checked = verify(s, login, with_state=False)
        problems = [("head", problem) for problem in checked.problems]
        problems += integrity.behind_manifest(personal.manifest, personal.head)
        if problems:
            raise IntegrityAlarm(problems)
        state = replay(iter_events(s, login, checked=False))
        _rewrite_projection(s, login, state)
        s.flush()
        problems = _requests_against_ledger(s, login)
        if problems:
            raise IntegrityAlarm(problems)
    return state


def _rewrite_projection(s: Session, login: ActiveLogin, state: LedgerState) -> None:
    user_id, now = login.user.id, datetime.now(UTC)
    platforms = {row.id: row for row in s.scalars(sa.select(Platform).where(Platform.user_id == user_id))}
    uses = {row.id: row for row in s.scalars(sa.select(Use).where(Use.user_id == user_id))}
    for key, platform in state.platforms.items():
        row = platforms.pop(uuid.UUID(key), None)
        if row is None:
            row = Platform(id=uuid.UUID(key), user_id=user_id, updated_at=now)
            s.add(row)
        _write_json(login, row, "details", platform.to_json())
    for key, use in state.uses.items():
        use_row = uses.pop(uuid.UUID(key), None)
        if use_row is None:
            use_row = Use(id=uuid.UUID(key), user_id=user_id, updated_at=now)
            s.add(use_row)
        use_row.platform_id = uuid.UUID(use.platform)
        _write_json(login, use_row, "state", use.to_json())
    for stale in [*uses.values(), *platforms.values()]:  # rows no event made
        s.delete(stale)


def _requests_against_ledger(s: Session, login: ActiveLogin) -> list[tuple[str, str]]:
    """Every request as its events have it: a sent letter has its ``letter.sent`` (same
    platform, same text's hash) and every such event its request; its answers are its
    ``request.updated`` events in order (status and hash), and each answer's file is there,
    linked to it, with that hash; no file is left over. Drafts have no event."""
    sent: dict[str, dict[str, Any]] = {}
    updates: dict[str, list[tuple[str, str]]] = {}
    for e in iter_events(s, login, checked=False):
        if e["type"] == events.LETTER_SENT:
            sent[e["data"]["request"]] = e
        elif e["type"] == events.REQUEST_UPDATED:
            updates.setdefault(e["data"]["request"], []).append((e["data"]["status"], e["data"]["sha256"]))
    files = {row.id: row for row in s.scalars(sa.select(RequestFile).where(RequestFile.user_id == login.user.id))}
    problems: list[tuple[str, str]] = []
    for row in s.scalars(sa.select(Request).where(Request.user_id == login.user.id)):
        details = _read_json(login, row, "details")
        name = f"requests:{row.id}"
        event = sent.pop(str(row.id), None)
        replies = [(r["status"], r["sha256"]) for r in details["replies"]]
        if details["status"] == "draft":
            if event is not None or replies:
                problems.append(("replayed", f"{name} is a draft, but the ledger records it as sent"))
            continue
        if event is None:
            problems.append(("unexpected", f"{name} is not in the ledger"))
            continue
        if event["data"]["sha256"] != details["sha256"]:
            problems.append(("replayed", f"{name}: the letter is not the one the ledger records"))
        if event["platform"] != str(row.platform_id):
            problems.append(("relinked", f"{name} was sent to {event['platform']}, not to {row.platform_id}"))
        if replies != updates.pop(str(row.id), []):
            problems.append(("replayed", f"{name}: its answers are not the ones the ledger records"))
        for reply in details["replies"]:
            if "file" not in reply:
                continue
            file = files.pop(uuid.UUID(reply["file"]), None)
            if file is None or file.request_id != row.id:
                problems.append(("missing", f"request_files:{reply['file']} of {name} is gone or elsewhere"))
            elif hashlib.sha256(login.vault.read_bytes(file, "content")).hexdigest() != reply["sha256"]:
                problems.append(("replayed", f"request_files:{file.id}: not the file the ledger records"))
    problems += [("missing", f"requests:{request} was deleted") for request in sorted(sent)]
    problems += [("unexpected", f"request_files:{file_id} belongs to no answer") for file_id in sorted(files, key=str)]
    return problems


def disagreements(s: Session, login: ActiveLogin) -> list[tuple[str, str]]:
    """Where the records beside the ledger say what its events do not: platforms and uses
    against a replay of the events, letters and answers against theirs. Read without the
    integrity check: for records not sealed yet (an account being imported), which must
    rest on nothing the ledger does not vouch for."""
    replayed = replay(iter_events(s, login, checked=False))
    problems: list[tuple[str, str]] = []
    platforms = {str(row.id): row for row in s.scalars(sa.select(Platform).where(Platform.user_id == login.user.id))}
    for key in sorted(platforms.keys() | replayed.platforms.keys()):
        row, expected = platforms.get(key), replayed.platforms.get(key)
        if row is None or expected is None or PlatformState(**_read_json(login, row, "details")) != expected:
            problems.append(("replayed", f"platforms:{key} is not what the ledger's events make of it"))
    uses = {str(row.id): row for row in s.scalars(sa.select(Use).where(Use.user_id == login.user.id))}
    for key in sorted(uses.keys() | replayed.uses.keys()):
        use_row, use = uses.get(key), replayed.uses.get(key)
        if (
            use_row is None
            or use is None
            or str(use_row.platform_id) != use.platform
            or UseState(**_read_json(login, use_row, "state")) != use
        ):
            problems.append(("replayed", f"uses:{key} is not what the ledger's events make of it"))
    return problems + _requests_against_ledger(s, login)


def projected_state(s: Session, login: ActiveLogin) -> LedgerState:
    """The state as the projection tables hold it."""
    integrity.check(s, login)
    state = LedgerState()
    for row in s.scalars(sa.select(Platform).where(Platform.user_id == login.user.id)):
        state.platforms[str(row.id)] = PlatformState(**_read_json(login, row, "details"))
    for use_row in s.scalars(sa.select(Use).where(Use.user_id == login.user.id)):
        state.uses[str(use_row.id)] = UseState(**_read_json(login, use_row, "state"))
    return state


@dataclass(frozen=True)
class Citation:
    """What a letter cites of a ledger event: its hash, and the latest signed checkpoint."""

    index: int
    hash: str
    size: int
    root: str


def citation(s: Session, login: ActiveLogin, index: int) -> Citation | None:
    proven = _proven(s, login, index)
    if proven is None:
        return None
    root = base64.b64encode(proven.checkpoint.root).decode()
    return Citation(index, proven.leaf.hex(), proven.checkpoint.size, root)


# A change that wrote records but no event seals them with one (see integrity.personal_transaction).
integrity.seal_records_with(lambda s, login, kinds: LedgerWriter(s, login, datetime.now(UTC)).seal_records(kinds))
