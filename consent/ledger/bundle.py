"""The ledger bundle: a whole ledger as one JSON document, written and verified as a stream.

Layout (docs/ledger-format.md is the reference)::

    {"format": "consent-ledger-bundle/v1",
     "origin": "<log origin>",
     "verifier_key": "<name>+<key id>+<base64 key>",
     "size": <number of events>,
     "checkpoint": "<the latest signed checkpoint>",
     "entries": [
       {"leaf": "<base64 leaf hash>", "event": {...}, "checkpoint": "<signed checkpoint>"},
       ...]}

The header comes before the entries, so a verifier can check entry after entry while it
reads, keeping only the tree's frontier in memory (O(log n)), whatever the size.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import ijson

from consent.errors import VerificationError
from consent.ledger import events
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.merkle import Frontier, leaf_hash
from consent.ledger.note import VerifierKey

FORMAT = "consent-ledger-bundle/v1"
_HEADER = ("format", "origin", "verifier_key", "size", "checkpoint")


class TextSink(Protocol):
    """Where a bundle is written: an open text file, sys.stdout, a response body."""

    def write(self, text: str, /) -> int: ...


@dataclass(frozen=True)
class Entry:
    event: dict[str, Any]
    checkpoint: str | None = None


def write_bundle(out: TextSink, *, key: VerifierKey, latest: str, size: int, entries: Iterable[Entry]) -> int:
    """Write the bundle to ``out``, an entry at a time; returns the number of entries."""
    header = {"format": FORMAT, "origin": key.name, "verifier_key": str(key), "size": size, "checkpoint": latest}
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ',\n"entries": [')
    count = 0
    for entry in entries:
        raw = events.encode(entry.event)
        item: dict[str, Any] = {"leaf": base64.b64encode(leaf_hash(raw)).decode(), "event": entry.event}
        if entry.checkpoint is not None:
            item["checkpoint"] = entry.checkpoint
        out.write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False, sort_keys=True))
        count += 1
    out.write("\n]}\n")
    return count


@dataclass
class Report:
    """What a verification found: enough to print, and to compare with what one expects."""

    kind: str
    origin: str
    key: str
    key_pinned: bool
    events: int = 0
    checkpoints: int = 0
    size: int = 0
    root: str = ""
    first_recorded: str | None = None
    last_recorded: str | None = None
    checks: list[str] = field(default_factory=list)


def _items(stream: IO[bytes]) -> tuple[dict[str, Any], Iterator[Any]]:
    """The header (read before the first entry) and an iterator over the entries."""
    parser = ijson.parse(stream)
    header: dict[str, Any] = {}
    try:
        for prefix, kind, value in parser:
            if prefix in _HEADER and kind in ("string", "number"):
                header[prefix] = value
            elif prefix == "entries" and kind == "start_array":
                break
            elif prefix == "" and kind == "end_map":
                break
    except ijson.JSONError as e:
        raise VerificationError(f"bundle: not valid JSON: {e}") from None

    def entries() -> Iterator[Any]:
        builder: ijson.ObjectBuilder | None = None
        try:
            for prefix, kind, value in parser:
                if prefix == "entries" and kind == "end_array":
                    return
                if builder is None:
                    builder = ijson.ObjectBuilder()
                builder.event(kind, value)
                if prefix == "entries.item" and kind in ("end_map", "end_array", "string", "number", "boolean", "null"):
                    yield builder.value
                    builder = None
        except ijson.JSONError as e:
            raise VerificationError(f"bundle: not valid JSON: {e}") from None

    return header, entries()


def _key(header: dict[str, Any], expected: VerifierKey | None) -> VerifierKey:
    missing = [name for name in _HEADER if name not in header]
    if missing:
        raise VerificationError(f"bundle: expected {', '.join(missing)} before the entries")
    if header["format"] != FORMAT:
        raise VerificationError(f"bundle: expected format {FORMAT!r}, got {header['format']!r}")
    key = VerifierKey.parse(str(header["verifier_key"]))
    if expected is not None and key != expected:
        raise VerificationError(f"bundle: signed by {key}, not by the expected key {expected}")
    if header["origin"] != key.name:
        raise VerificationError(f"bundle: expected origin {key.name!r}, got {header['origin']!r}")
    return key


def _leaf(entry: Any, position: int) -> tuple[dict[str, Any], bytes, str | None]:
    if not isinstance(entry, dict) or not {"leaf", "event"} <= set(entry) <= {"leaf", "event", "checkpoint"}:
        raise VerificationError(f"entry {position}: expected leaf, event and an optional checkpoint")
    try:
        leaf = base64.b64decode(str(entry["leaf"]), validate=True)
    except binascii.Error:
        raise VerificationError(f"entry {position}: the leaf hash is not base64") from None
    checkpoint = entry.get("checkpoint")
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise VerificationError(f"entry {position}: expected the checkpoint as a string")
    return entry["event"], leaf, checkpoint


def _index_of(entry: Any) -> Any:
    if isinstance(entry, dict) and isinstance(entry.get("event"), dict):
        return entry["event"].get("index")
    return None


def _check_position(position: int, entry: Any, previous: Any, following: Any) -> None:
    """Name what happened when an entry is not where its index says it belongs."""
    index = _index_of(entry)
    if index == position:
        return
    if previous is not None and index == _index_of(previous):
        if entry == previous:
            raise VerificationError(f"event {index} appears twice: an index is used twice")
        raise VerificationError(f"an event was inserted: two different events claim index {index}")
    if isinstance(index, int) and index == position + 1 and _index_of(following) == position:
        raise VerificationError(f"events {position} and {position + 1} are swapped")
    if isinstance(index, int) and index > position:
        raise VerificationError(f"event {position} is missing: the entry at position {position} has index {index}")
    raise VerificationError(f"entry {position}: expected index {position}, got {index!r}")


def verify_bundle(stream: IO[bytes], *, expected_key: VerifierKey | None = None) -> Report:
    """Check a bundle end to end while reading it; VerificationError names the first fault."""
    header, items = _items(stream)
    key = _key(header, expected_key)
    latest = open_checkpoint(str(header["checkpoint"]), key)
    report = Report("bundle", key.name, str(key), expected_key is not None)
    frontier = Frontier()
    previous: Any = None
    uncovered_from: int | None = None
    # One entry of look-ahead, to tell two swapped events from a missing one.
    current = next(items, None)
    position = 0
    while current is not None:
        following = next(items, None)
        _check_position(position, current, previous, following)
        event, leaf, note = _leaf(current, position)
        events.check_event(event, index=position)
        if leaf_hash(events.encode(event)) != leaf:
            raise VerificationError(f"event {position} was changed: it no longer hashes to its leaf")
        frontier.append(leaf)
        if note is None:
            uncovered_from = position if uncovered_from is None else uncovered_from
        else:
            _check_checkpoint(note, key, frontier, position)
            uncovered_from = None
            report.checkpoints += 1
        report.first_recorded = report.first_recorded or event["recorded"]
        report.last_recorded = event["recorded"]
        previous, current, position = current, following, position + 1
    report.events = position
    if position == 0:
        raise VerificationError("bundle: it holds no events")
    if uncovered_from is not None:
        raise VerificationError(f"events {uncovered_from} to {position - 1} are not covered by any signed checkpoint")
    if latest.size > position:
        raise VerificationError(
            f"the latest checkpoint covers {latest.size} events but the bundle holds {position}: its tail was cut"
        )
    if latest != Checkpoint(key.name, position, frontier.root()):
        raise VerificationError(f"the latest checkpoint does not match the {position} events of the bundle")
    if header["size"] != position:
        raise VerificationError(f"bundle: declares {header['size']} events, holds {position}")
    report.size = position
    report.root = base64.b64encode(frontier.root()).decode()
    report.checks = [
        f"{position} events, each in its place (indexes 0 to {position - 1}) and hashing to its leaf",
        f"{report.checkpoints} checkpoints, each signed by {key} and matching the tree of the events before it",
        "every checkpoint is therefore consistent with every later one",
        f"the latest checkpoint covers all {position} events (root {report.root})",
    ]
    return report


def _check_checkpoint(note: str, key: VerifierKey, frontier: Frontier, position: int) -> None:
    try:
        checkpoint = open_checkpoint(note, key)
    except VerificationError as e:
        raise VerificationError(f"checkpoint after event {position}: {e}") from None
    if checkpoint.size != frontier.size:
        raise VerificationError(
            f"checkpoint after event {position}: expected tree size {frontier.size}, got {checkpoint.size}"
        )
    if checkpoint.root != frontier.root():
        raise VerificationError(
            f"checkpoint of size {checkpoint.size} is signed but not consistent with the ledger: "
            "its root differs from the tree of the events before it"
        )
