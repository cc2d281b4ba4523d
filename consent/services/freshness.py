"""Evidence of a ledger's newest checkpoint kept outside the operator's reach: the person's browser.

- ``since(s, login, held_size)``: the newest signed checkpoint and the RFC 9162 consistency
  proof from the size a browser holds. Every value in it is checked by the browser against
  the key it pinned, so nothing here has to be trusted.
- ``check_held(s, login, note)``: the checkpoint a browser holds must be a prefix of the
  stored tree before anything new is signed on top of it: the app never signs a fork.

Both only read leaf hashes (one query, in index order) and never decrypt an event.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent.errors import IntegrityAlarm, VerificationError
from consent.ledger import origin_for
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.merkle import Frontier, consistency_proof
from consent.models import LedgerEntry, User
from consent.services import transaction
from consent.services.accounts import ActiveLogin
from consent.services.ledger import latest_checkpoint, verifier_key

#: A checkpoint is three short lines and a few signature lines, well under 1 KiB; the
#: limit only stops a form field from making the server parse megabytes.
MAX_HELD_NOTE = 64 * 1024


@dataclass(frozen=True)
class Fresh:
    """The newest checkpoint of a ledger, and how it extends the one a browser holds."""

    origin: str
    key: str
    checkpoint: str | None
    size: int
    proof: list[bytes]


def _leaf_hashes(s: Session, user: User) -> list[bytes]:
    query = sa.select(LedgerEntry.leaf_hash).where(LedgerEntry.user_id == user.id).order_by(LedgerEntry.index)
    return list(s.scalars(query))


def since(s: Session, login: ActiveLogin, held_size: int) -> Fresh:
    """The newest checkpoint, with the consistency proof from ``held_size`` to its size.

    The proof is empty when there is nothing to prove: a browser that holds nothing
    (``held_size`` 0), the same size, or a larger one (a rollback, which the browser sees
    from the sizes alone).
    """
    if held_size < 0:
        raise ValueError(f"expected a held size of 0 or more, got {held_size}")
    with transaction(s):
        key = verifier_key(login)
        note = latest_checkpoint(s, login.user)
        if note is None:
            return Fresh(origin_for(login.user.id), str(key), None, 0, [])
        # The size is the signed one, not the head's: the browser checks it against the note.
        size = open_checkpoint(note, key).size
        proof: list[bytes] = []
        if 0 < held_size < size:
            leaves = _leaf_hashes(s, login.user)
            if len(leaves) < size:
                raise IntegrityAlarm([("missing", f"checkpoint {size} signs events that are not stored")])
            proof = consistency_proof(leaves, held_size, size)
        return Fresh(key.name, str(key), note, size, proof)


def check_held(s: Session, login: ActiveLogin, note: str) -> None:
    """Refuse to go on if the ledger is not a continuation of the checkpoint ``note``.

    VerificationError: the note is too large or does not verify under the person's key
    (their browser only keeps notes it verified, so this one was not sent by it).
    IntegrityAlarm: the stored ledger is shorter than the held checkpoint (``rolled_back``)
    or holds another history at its size (``forked``).
    """
    if len(note.encode("utf-8")) > MAX_HELD_NOTE:
        raise VerificationError(f"held checkpoint: expected at most {MAX_HELD_NOTE} bytes, got more")
    with transaction(s):
        held = open_checkpoint(note, verifier_key(login))
        leaves = _leaf_hashes(s, login.user)
    if held.size > len(leaves):
        raise IntegrityAlarm(
            [("rolled_back", f"your browser holds a checkpoint of {held.size} events, the server has {len(leaves)}")]
        )
    prefix = Frontier()
    for leaf in leaves[: held.size]:
        prefix.append(leaf)
    if prefix.root() != held.root:
        raise IntegrityAlarm(
            [("forked", f"the first {held.size} events stored are not the ones your browser's checkpoint signs")]
        )
