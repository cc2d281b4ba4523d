"""A person's consent ledger: pure code, no Flask and no database.

- ``merkle``: RFC 9162 Merkle trees, proofs and the frontier used for appends.
- ``note``, ``checkpoint``: C2SP signed notes and tlog checkpoints.
- ``events``: the canonical JSON events that are the tree's leaves.
- ``state``: what the events add up to (which uses stand), at any moment.
- ``bundle``, ``receipts``: export formats and their streaming verification.

docs/ledger-format.md describes the formats for someone writing their own verifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consent.ledger import events
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.merkle import Frontier, leaf_hash
from consent.ledger.note import Signer, VerifierKey

ORIGIN_PREFIX = "consent-ledger/"


def origin_for(user_id: object) -> str:
    """A ledger's origin (and its key's name): stable wherever the ledger is hosted."""
    return f"{ORIGIN_PREFIX}{user_id}"


@dataclass(frozen=True)
class Appended:
    leaf: bytes
    checkpoint: str


def append(frontier: Frontier, signer: Signer, event: dict[str, Any]) -> Appended:
    """Add ``event`` to the tree (``frontier`` is updated) and sign the new checkpoint."""
    if event["index"] != frontier.size:
        raise ValueError(f"expected event index {frontier.size}, got {event['index']}")
    leaf = leaf_hash(events.encode(event))
    frontier.append(leaf)
    return Appended(leaf, Checkpoint(signer.name, frontier.size, frontier.root()).sign(signer))


__all__ = ["Appended", "Frontier", "Signer", "VerifierKey", "append", "origin_for"]
