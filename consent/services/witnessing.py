"""Witnesses: others who keep the newest checkpoint of each ledger, so that a rollback or a
fork is caught before the person's key signs anything on top of it.

Before a transaction appends to a ledger, its current checkpoint goes to every witness
the instance names (C2SP tlog-witness; consent.witness.client): a witness that has
already cosigned a larger tree, or another root at this size, proves that the database
was rolled back or forked, and nothing is signed. Fewer than the quorum reachable:
nothing is signed either. After the appends, the newest checkpoint goes to them with its
consistency proof; their cosignatures are kept in its note. A decision counts as
acknowledged once the quorum cosigned it (``status``); one signed while a witness was
away is confirmed with the next action (its checkpoint is what the next check sends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent.errors import ConsentError, IntegrityAlarm, VerificationError
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.cosignature import add_cosignatures, verify_cosignatures
from consent.ledger.merkle import EMPTY_ROOT, consistency_proof
from consent.ledger.note import VerifierKey
from consent.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from consent.services import integrity
from consent.witness.client import LedgerForked, LedgerRolledBack, Witness, WitnessError, WitnessRefused, cosign

if TYPE_CHECKING:
    from consent.services.accounts import ActiveLogin

#: Where a session finds the instance's policy (set on the session factory, consent.db).
POLICY = "consent.witnesses"


class NotWitnessed(ConsentError):
    """Fewer witnesses than the quorum could confirm the ledger: nothing was signed."""

    def __init__(self, confirmed: int, required: int) -> None:
        super().__init__(f"expected {required} witnesses to confirm the ledger, got {confirmed}")
        self.confirmed, self.required = confirmed, required


@dataclass(frozen=True)
class WitnessPolicy:
    witnesses: tuple[Witness, ...] = ()
    quorum: int = 0
    timeout: float = 5.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> WitnessPolicy:
        witnesses = tuple(Witness.parse(text) for text in settings["WITNESSES"])
        return cls(witnesses, settings["WITNESS_QUORUM"] or len(witnesses), float(settings["WITNESS_TIMEOUT_SECONDS"]))


def policy(s: Session) -> WitnessPolicy:
    found = s.info.get(POLICY)
    return found if isinstance(found, WitnessPolicy) else WitnessPolicy()


def _leaves(s: Session, user_id: object) -> list[bytes]:
    query = sa.select(LedgerEntry.leaf_hash).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.index)
    return list(s.scalars(query))


def _note(s: Session, user_id: object, size: int) -> LedgerCheckpoint:
    row = s.get(LedgerCheckpoint, (user_id, size))
    if row is None:
        raise IntegrityAlarm([("head", f"the checkpoint of size {size} is missing")])
    return row


def confirm(s: Session, login: ActiveLogin, head: LedgerHead, key: VerifierKey) -> dict[Witness, int]:
    """Before anything is signed: every witness must agree that the current checkpoint is the
    newest it saw of this ledger. Returns the size each confirming witness now holds."""
    rules = policy(s)
    if not rules.witnesses:
        return {}
    if head.size == 0:
        # No checkpoint stored yet, or all of them deleted: the empty tree's checkpoint, which
        # no history can contradict, asks each witness whether it has seen more.
        note = Checkpoint(key.name, 0, EMPTY_ROOT).sign(integrity.signer(login))
    else:
        note = _note(s, login.user.id, head.size).note
    leaves: list[bytes] | None = None

    def proof_from(old: int) -> list[bytes]:
        nonlocal leaves
        leaves = leaves if leaves is not None else _leaves(s, login.user.id)
        return consistency_proof(leaves, old, head.size)

    confirmed: dict[Witness, int] = {}
    problems: list[tuple[str, str]] = []
    for witness in rules.witnesses:
        try:
            cosign(witness, note=note, log_key=key, proof_from=proof_from, timeout=rules.timeout)
        except WitnessError as e:
            problems += _evidence(witness, e)  # unreachable or refusing: counted against the quorum below
        else:
            confirmed[witness] = head.size
    if problems:
        raise IntegrityAlarm(problems)
    if len(confirmed) < rules.quorum:
        raise NotWitnessed(len(confirmed), rules.quorum)
    return confirmed


def cosign_newest(s: Session, login: ActiveLogin, head: LedgerHead, key: VerifierKey, known: dict[Witness, int]) -> int:
    """After the appends: the newest checkpoint to every witness that confirmed the old one,
    with the consistency proof from what it holds; returns how many cosigned. Their lines
    are kept in the stored note. A witness that fails now is asked again next time."""
    if not known:
        return 0
    row = _note(s, login.user.id, head.size)
    leaves = _leaves(s, login.user.id)
    cosigned = 0
    for witness, size in known.items():
        try:
            lines = cosign(
                witness,
                note=row.note,
                log_key=key,
                proof_from=lambda old: consistency_proof(leaves, old, head.size),
                guess=size,
                timeout=policy(s).timeout,
            )
        except WitnessError as e:
            # Evidence of another history now still stops everything: this runs before the
            # commit, so the new checkpoint is never stored. Silence is asked again next time.
            problems = _evidence(witness, e)
            if problems:
                raise IntegrityAlarm(problems) from None
            continue
        row.note = add_cosignatures(row.note, lines)
        cosigned += 1
    return cosigned


def _evidence(witness: Witness, error: WitnessError) -> list[tuple[str, str]]:
    """What a witness's answer proves about the ledger: a rollback, a fork, another key;
    nothing when it was only unreachable or unwilling."""
    name = witness.key.name
    if isinstance(error, LedgerRolledBack):
        return [("rolled_back", f"witness {name} has seen {error.witness_size} events, the server holds {error.size}")]
    if isinstance(error, LedgerForked):
        return [("forked", f"witness {name} holds another ledger of {error.size} events")]
    if isinstance(error, WitnessRefused) and error.status == 422:  # no proof leads from what it holds
        return [("forked", f"witness {name} holds a ledger this one does not extend")]
    if isinstance(error, WitnessRefused) and error.status == 403:
        return [("witness", f"witness {name} knows this ledger by another key")]
    return []


@dataclass(frozen=True)
class Status:
    """How many of the instance's witnesses vouch for the newest checkpoint, of how many needed."""

    cosigned: int
    required: int
    times: tuple[int, ...] = ()

    @property
    def acknowledged(self) -> bool:
        return self.cosigned >= self.required


def status(s: Session, login: ActiveLogin) -> Status:
    """Read from the newest stored note; every cosignature is verified, none is taken on trust."""
    rules = policy(s)
    if not rules.witnesses:
        return Status(0, 0)
    size = s.scalar(sa.select(LedgerHead.size).where(LedgerHead.user_id == login.user.id)) or 0
    if size == 0:
        return Status(0, 0)
    note = s.scalar(
        sa.select(LedgerCheckpoint.note).where(LedgerCheckpoint.user_id == login.user.id, LedgerCheckpoint.size == size)
    )
    try:
        found = verify_cosignatures(note or "", [w.key for w in rules.witnesses])
    except VerificationError:
        found = []
    return Status(len(found), rules.quorum, tuple(sorted(c.timestamp for c in found)))


def witnesses(s: Session) -> Sequence[Witness]:
    return policy(s).witnesses
