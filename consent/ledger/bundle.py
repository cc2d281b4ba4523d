"""The ledger bundle: a whole ledger as one JSON document, written and verified as a stream.

Layout (docs/ledger-format.md is the reference)::

    {"format": "consent-ledger-bundle/v1",
     "origin": "<log origin>",
     "verifier_key": "<name>+<key id>+<base64 key>",
     "size": <number of events>,
     "checkpoint": "<the latest signed checkpoint>",
     "entries": [
       {"leaf": "<base64 leaf hash>", "event": {...}, "checkpoint": "<signed checkpoint>"},
       {"leaf": "<base64 leaf hash>", "redacted": true, "checkpoint": "<signed checkpoint>"},
       ...]}

A redacted entry keeps its leaf but not its event (the person erased the platform it was
about); it verifies only if a later ``platform.erased`` event, itself in the signed tree,
names its index.

The header comes before the entries, so a verifier can check entry after entry while it
reads, keeping only the tree's frontier in memory (O(log n)), whatever the size. Parsing
is strict (I-JSON, RFC 7493, which RFC 8785 requires): no duplicate member names, no
unknown members, nothing after the closing brace, and every item has a size limit,
enforced below the JSON parser (``LimitedReader``) so that one huge string cannot make it
buffer without bound.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Protocol

import ijson

from consent.errors import VerificationError
from consent.ledger import events
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.cosignature import Cosignature, WitnessKey, verify_cosignatures
from consent.ledger.merkle import EMPTY_ROOT, Frontier, leaf_hash
from consent.ledger.note import VerifierKey, split_note

if TYPE_CHECKING:
    from consent.ledger.held import HeldCheckpoint

FORMAT = "consent-ledger-bundle/v1"
_HEADER = ("format", "origin", "verifier_key", "size", "checkpoint")
_ENTRY = frozenset({"leaf", "event", "checkpoint"})
#: An entry whose event was erased: its leaf hash stays, ``"redacted": true`` replaces it.
_REDACTED_ENTRY = frozenset({"leaf", "redacted", "checkpoint"})

KIB = 1024
MIB = 1024 * KIB
#: The limits (docs/ledger-format.md, "Limits"). Memory is bounded per item by these, and
#: in the number of events by the frontier (one hash per set bit of the size).
MAX_ENTRY_BYTES = 1 * MIB
MAX_HEADER_BYTES = 128 * KIB
MAX_CHECKPOINT_BYTES = 64 * KIB
MAX_TAIL_BYTES = 64 * KIB
#: Objects and arrays nested in one entry (entry, event, data, a list in data: 4 suffice).
MAX_DEPTH = 32
#: What the parser asks for at a time: the limits are exact up to one such buffer.
READ_BUFFER = 64 * KIB

_ED25519_SIGNATURE = 4 + 64  # key ID || signature


def size_text(limit: int) -> str:
    """A limit in words: ``1 MiB (1048576 bytes)``."""
    unit = f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"
    return f"{unit} ({limit} bytes)"


class TextSink(Protocol):
    """Where a bundle is written: an open text file, sys.stdout, a response body."""

    def write(self, text: str, /) -> int: ...


@dataclass(frozen=True)
class Entry:
    """One entry to write: an event, or (``event`` None) the leaf hash of a redacted one."""

    event: dict[str, Any] | None
    checkpoint: str | None = None
    leaf: bytes | None = None


def write_bundle(out: TextSink, *, key: VerifierKey, latest: str, size: int, entries: Iterable[Entry]) -> int:
    """Write the bundle to ``out``, an entry at a time; returns the number of entries."""
    header = {"format": FORMAT, "origin": key.name, "verifier_key": str(key), "size": size, "checkpoint": latest}
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ',\n"entries": [')
    count = 0
    for entry in entries:
        item: dict[str, Any]
        if entry.event is None:
            if entry.leaf is None:
                raise ValueError("a redacted entry needs its leaf hash")
            item = {"leaf": base64.b64encode(entry.leaf).decode(), "redacted": True}
        else:
            raw = events.encode(entry.event)
            item = {"leaf": base64.b64encode(leaf_hash(raw)).decode(), "event": entry.event}
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
    #: Indexes of the events whose payloads were erased, each named by a signed erasure.
    redacted: list[int] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    #: Verified witness cosignatures on the newest checkpoint.
    cosignatures: list[Cosignature] = field(default_factory=list)


# --- reading: a byte limit per item, below the parser -------------------------------------

#: A \\u escape of a UTF-16 surrogate (D800-DFFF), high or low; judged by ``_check_escapes``.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LOW_ESCAPE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_BACKSLASH = 0x5C
#: Bytes kept from one read to the next, so that an escape pair cut by a read is seen whole.
_CARRY = 32


class LimitedReader:
    """A binary stream that refuses to hand out more than a limit of bytes per item.

    ijson (yajl) buffers a whole string token before it yields it, so a limit checked on
    parsed values comes too late: one 50 MB string is 50 MB in memory, and more. This
    reader counts the bytes read since ``item()`` opened the current item and raises
    VerificationError once they exceed its limit plus one read buffer (the parser reads
    ahead by at most one buffer, so an item within its limit is never refused).

    It also refuses a ``\\u`` escape of a lone UTF-16 surrogate, which I-JSON (RFC 7493
    section 2.1) forbids and yajl would quietly read as ``?`` or as another character.
    """

    def __init__(self, stream: IO[bytes], *, name: str = "bundle", buffer: int = READ_BUFFER) -> None:
        self._stream = stream
        self._name = name
        self._buffer = buffer
        self._read = 0
        self._mark = 0
        self._limit = MAX_ENTRY_BYTES
        self._what = "the file"
        self._carry = b""
        self._run_before_carry = 0  # backslashes just before the carried bytes
        self._judged = -1  # stream offset of the last surrogate escape judged

    def item(self, limit: int, what: str) -> None:
        """Start counting a new item of at most ``limit`` bytes, named ``what`` in errors."""
        self._mark, self._limit, self._what = self._read, limit, what

    def read(self, size: int = -1) -> bytes:
        size = self._buffer if size < 0 else min(size, self._buffer)
        data = self._stream.read(size)
        self._read += len(data)
        if self._read - self._mark > self._limit + self._buffer:
            raise VerificationError(
                f"{self._what}: expected at most {size_text(self._limit)}, got more: refused without reading it whole"
            )
        if size:
            self._check_escapes(data)
        return data

    def _check_escapes(self, chunk: bytes) -> None:
        data = self._carry + chunk
        offset = self._read - len(data)  # of data[0] in the stream
        at_end = not chunk
        if _SURROGATE_ESCAPE.search(data) is not None:
            for match in _SURROGATE_ESCAPE.finditer(data):
                start = match.start()
                if offset + start <= self._judged:
                    continue  # judged with the previous read, which saw the bytes before it
                if start + 12 > len(data) and not at_end:
                    break  # in the carried tail: judged with the next read, which sees what follows
                self._judged = offset + start
                if self._escaped(data, start):
                    self._check_surrogate(data, start, offset)
        keep = min(_CARRY, len(data))
        before = len(data) - keep
        run = 0
        while run < before and data[before - 1 - run] == _BACKSLASH:
            run += 1
        self._run_before_carry = run + (self._run_before_carry if run == before else 0)
        self._carry = data[before:]

    def _escaped(self, data: bytes, start: int) -> bool:
        """Whether the backslash at ``start`` begins an escape (an odd run of backslashes)."""
        run = 0
        while run <= start and data[start - run] == _BACKSLASH:
            run += 1
        if run > start:
            run += self._run_before_carry
        return run % 2 == 1

    def _check_surrogate(self, data: bytes, start: int, offset: int) -> None:
        escape = f"{self._name}: not I-JSON: the escape {data[start : start + 6].decode()} at byte {offset + start}"
        high = data[start + 3 : start + 4].lower() in b"89ab"
        if high:
            if _LOW_ESCAPE.match(data, start + 6) is None:
                raise VerificationError(
                    f"{escape} is a high surrogate without its low surrogate (RFC 7493 section 2.1)"
                )
            return
        previous = start - 6
        if previous < 0 or not (
            _SURROGATE_ESCAPE.match(data, previous)
            and data[previous + 3 : previous + 4].lower() in b"89ab"
            and self._escaped(data, previous)
        ):
            raise VerificationError(f"{escape} is a low surrogate without its high surrogate (RFC 7493 section 2.1)")


# --- parsing: a strict JSON reader over ijson's events ------------------------------------

_SCALARS = frozenset({"string", "number", "boolean", "null"})
_TAIL = "the end of the bundle"
_NAMES = {
    "start_map": "an object",
    "start_array": "an array",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
    "end_array": "the end of the array",
    "end_map": "the end of the object",
    "map_key": "a member",
}


def _json_error(e: Exception, where: str) -> VerificationError:
    first = str(e).strip().split("\n")[0]
    if "trailing garbage" in first:
        return VerificationError(
            "bundle: expected the end of the file after the bundle's closing '}', "
            "got more data (trailing data, or a second JSON value)"
        )
    if "premature EOF" in first:
        if where == _TAIL:
            return VerificationError("bundle: truncated: the file ends before the bundle's final '}'")
        return VerificationError(f"bundle: truncated: the file ends in {where}")
    if isinstance(e, UnicodeDecodeError):
        return VerificationError(f"bundle: not valid JSON in {where}: a string is not valid UTF-8")
    return VerificationError(f"bundle: not valid JSON in {where}: {first}")


class _Parser:
    """ijson's events for one bundle, with the strict checks a bundle's grammar needs."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.reader = LimitedReader(stream)
        self.reader.item(MAX_HEADER_BYTES, "bundle header")
        self.where = "the header"
        self._events: Iterator[tuple[str, Any]] = ijson.basic_parse(self.reader, buf_size=READ_BUFFER)

    def next(self) -> tuple[str, Any]:
        try:
            return next(self._events)
        except StopIteration:
            raise VerificationError(f"bundle: truncated: the file ends in {self.where}") from None
        except (ijson.JSONError, UnicodeDecodeError) as e:
            raise _json_error(e, self.where) from None

    def value(self, kind: str, value: Any) -> Any:
        """The JSON value that starts with (kind, value); refuses duplicate names, deep nesting."""
        if kind in _SCALARS:
            return value
        stack: list[Any] = []
        names: list[str] = []
        try:
            while True:
                if kind == "map_key":
                    if value in stack[-1]:
                        raise VerificationError(
                            f"{self.where}: the member name {value!r} appears twice in one object "
                            "(I-JSON, which RFC 8785 requires, forbids it)"
                        )
                    names[-1] = value
                elif kind in ("end_map", "end_array"):
                    done = stack.pop()
                    names.pop()
                    if not stack:
                        return done
                else:
                    item: Any = {} if kind == "start_map" else [] if kind == "start_array" else value
                    if stack:
                        parent = stack[-1]
                        if isinstance(parent, list):
                            parent.append(item)
                        else:
                            parent[names[-1]] = item
                    if kind in ("start_map", "start_array"):
                        if len(stack) >= MAX_DEPTH:
                            raise VerificationError(
                                f"{self.where}: expected at most {MAX_DEPTH} nested objects and arrays, got more"
                            )
                        stack.append(item)
                        names.append("")
                kind, value = next(self._events)
        except StopIteration:
            raise VerificationError(f"bundle: truncated: the file ends in {self.where}") from None
        except (ijson.JSONError, UnicodeDecodeError) as e:
            raise _json_error(e, self.where) from None

    def header(self) -> dict[str, Any]:
        """The members before ``entries``, each once, each of its type; stops inside ``[``."""
        kind, _ = self.next()
        if kind != "start_map":
            raise VerificationError(f"bundle: expected format {FORMAT!r} in a JSON object, got {_NAMES[kind]}")
        header: dict[str, Any] = {}
        while True:
            kind, name = self.next()
            if kind == "end_map":
                raise VerificationError("bundle: expected an entries array after the header, got none")
            if name in header:
                raise VerificationError(
                    f"bundle: the header member {name!r} appears twice (I-JSON, which RFC 8785 requires, forbids it)"
                )
            if name == "entries":
                break
            if name not in _HEADER:
                raise VerificationError(
                    f"bundle: unknown header member {name!r}: expected only {', '.join(_HEADER)} and entries"
                )
            kind, value = self.next()
            wanted = "number" if name == "size" else "string"
            if kind != wanted or (name == "size" and (not isinstance(value, int) or value < 0)):
                what = "a whole number" if name == "size" else "a string"
                raise VerificationError(f"bundle: expected {name} as {what}, got {_NAMES[kind]} {_brief(value)}")
            header[name] = value
        missing = [name for name in _HEADER if name not in header]
        if missing:
            raise VerificationError(f"bundle: expected {', '.join(missing)} before the entries")
        kind, _ = self.next()
        if kind != "start_array":
            raise VerificationError(f"bundle: expected entries as an array, got {_NAMES[kind]}")
        return header

    def entries(self) -> Iterator[dict[str, Any]]:
        """Each entry as a dict, checked for its members; then the end of the file."""
        position = 0
        while True:
            self.where = f"the entries array, after entry {position - 1}" if position else "the entries array"
            self.reader.item(MAX_ENTRY_BYTES, f"entry {position}")
            kind, value = self.next()
            if kind == "end_array":
                break
            self.where = f"entry {position}"
            if kind != "start_map":
                raise VerificationError(f"entry {position}: expected a JSON object, got {_NAMES[kind]}")
            entry = self.value(kind, value)
            if "redacted" in entry and "event" not in entry:
                _check_redacted_members(entry, position)
            elif not {"leaf", "event"} <= set(entry) <= _ENTRY:
                unknown = sorted(set(entry) - _ENTRY - _REDACTED_ENTRY)
                got = f"the unknown member(s) {', '.join(map(repr, unknown))}" if unknown else f"{sorted(entry)}"
                raise VerificationError(f"entry {position}: expected leaf, event and an optional checkpoint, got {got}")
            yield entry
            position += 1
        self.where = _TAIL
        self.reader.item(MAX_TAIL_BYTES, _TAIL)
        kind, name = self.next()
        if kind == "map_key":
            raise VerificationError(f"bundle: expected entries to be the last member, got {name!r} after it")
        # yajl has seen the closing brace; reading to the end makes it check that only white
        # space follows (it yields no more events, or raises on anything else).
        try:
            for _ in self._events:
                pass
        except (ijson.JSONError, UnicodeDecodeError) as e:
            raise _json_error(e, self.where) from None


def _check_redacted_members(entry: dict[str, Any], position: int) -> None:
    if not {"leaf", "redacted"} <= set(entry) <= _REDACTED_ENTRY:
        raise VerificationError(
            f"entry {position}: expected a redacted entry to have leaf, redacted and an optional checkpoint, "
            f"got {sorted(entry)}"
        )
    if entry["redacted"] is not True:
        raise VerificationError(f"entry {position}: expected redacted to be true, got {_brief(entry['redacted'])}")


def _brief(value: Any) -> str:
    text = repr(value)
    return "" if value is None else text if len(text) <= 40 else text[:37] + "..."


# --- checking -----------------------------------------------------------------------------


def parse_key(text: str) -> VerifierKey:
    """A verifier key, in its canonical form only (the grammar of docs/ledger-format.md)."""
    key = VerifierKey.parse(text)
    if str(key) != text:
        raise VerificationError(f"verifier key: expected the canonical form {str(key)!r}, got {text!r}")
    return key


def _key(header: dict[str, Any], expected: VerifierKey | None) -> VerifierKey:
    if header["format"] != FORMAT:
        raise VerificationError(f"bundle: expected format {FORMAT!r}, got {header['format']!r}")
    key = parse_key(header["verifier_key"])
    if expected is not None and key != expected:
        raise VerificationError(f"bundle: signed by {key}, not by the expected key {expected}")
    if header["origin"] != key.name:
        raise VerificationError(f"bundle: expected origin {key.name!r}, got {header['origin']!r}")
    if len(header["checkpoint"].encode("utf-8")) > MAX_CHECKPOINT_BYTES:
        raise VerificationError(f"bundle: expected a checkpoint of at most {size_text(MAX_CHECKPOINT_BYTES)}, got more")
    return key


def _leaf(entry: dict[str, Any], position: int) -> tuple[dict[str, Any] | None, bytes, str | None]:
    leaf_text = entry["leaf"]
    try:
        if not isinstance(leaf_text, str):
            raise binascii.Error
        leaf = base64.b64decode(leaf_text, validate=True)
    except binascii.Error:
        raise VerificationError(f"entry {position}: the leaf hash is not base64") from None
    if len(leaf) != 32:
        raise VerificationError(f"entry {position}: expected a leaf hash of 32 bytes, got {len(leaf)}")
    checkpoint = entry.get("checkpoint")
    if "checkpoint" in entry and not isinstance(checkpoint, str):
        raise VerificationError(f"entry {position}: expected the checkpoint as a string")
    return entry.get("event"), leaf, checkpoint


def _index_of(entry: Any) -> Any:
    if isinstance(entry, dict) and isinstance(entry.get("event"), dict):
        return entry["event"].get("index")
    return None


def _check_position(position: int, entry: Any, previous: Any, following: Any) -> None:
    """Name what happened when an entry is not where its index says it belongs."""
    if "event" not in entry:
        return  # redacted: its place is fixed by its leaf in the tree, checked by every checkpoint
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


def utc(timestamp: int) -> str:
    """A POSIX time as ``YYYY-MM-DDTHH:MM:SSZ`` (the raw number if no calendar holds it)."""
    try:
        return events.format_time(datetime.fromtimestamp(timestamp, UTC))
    except (OverflowError, ValueError, OSError):
        return f"{timestamp} (seconds since 1970)"


def check_witnesses(
    note: str, witnesses: Sequence[WitnessKey], minimum: int, *, what: str
) -> tuple[list[Cosignature], list[str]]:
    """The witnesses' verified cosignatures on ``note`` and the lines that report them.

    VerificationError if one of them does not verify, or if fewer than ``minimum`` do.
    """
    if not witnesses:
        return [], []
    try:
        found = verify_cosignatures(note, witnesses)
    except VerificationError as e:
        raise VerificationError(f"{what}: {e}") from None
    if len(found) < minimum:
        raise VerificationError(
            f"{what}: expected at least {minimum} cosignature(s) from the {len(witnesses)} given witness(es), "
            f"found {len(found)}"
        )
    lines = [
        f"{len(found)} of the {len(witnesses)} given witnesses cosigned {what} (at least {minimum} required)",
        *(
            f"witness {c.witness.name} cosigned it at {utc(c.timestamp)} (UTC): a time vouched for "
            "by someone other than the ledger's owner"
            for c in found
        ),
    ]
    return found, lines


def check_min_cosignatures(witnesses: Sequence[WitnessKey], minimum: int) -> None:
    """A caller's mistake, not a verification failure: ValueError."""
    if not 0 <= minimum <= len(witnesses):
        raise ValueError(f"expected a minimum of cosignatures from 0 to {len(witnesses)}, got {minimum}")


def held_key_check(held: Sequence[HeldCheckpoint], key: VerifierKey) -> None:
    for h in held:
        if h.key != key:
            raise VerificationError(
                f"the checkpoint you hold ({h.name}) was checked with the key {h.key}, but this file is signed by {key}"
            )


def fork_message(what: str, size: int, root: bytes, held: HeldCheckpoint) -> str:
    return (
        f"{what} of {size} events has root {base64.b64encode(root).decode()}, but the checkpoint you hold "
        f"for {size} events ({held.name}) has root {base64.b64encode(held.checkpoint.root).decode()}: "
        "this is another history (a fork)"
    )


class _HeldPins:
    """The checkpoints the person holds, checked as the bundle's tree grows past their sizes."""

    def __init__(self, held: Sequence[HeldCheckpoint], key: VerifierKey, latest: Checkpoint) -> None:
        held_key_check(held, key)
        for h in held:
            if h.checkpoint.size > latest.size:
                raise VerificationError(
                    f"rolled back: you hold a checkpoint of {h.checkpoint.size} events ({h.name}), "
                    f"this bundle has only {latest.size}"
                )
            if h.checkpoint.size == 0 and h.checkpoint.root != EMPTY_ROOT:
                raise VerificationError(fork_message("the empty tree", 0, EMPTY_ROOT, h))
        self.by_size: dict[int, list[HeldCheckpoint]] = {}
        self.by_index: dict[int, list[HeldCheckpoint]] = {}
        for h in held:
            self.by_size.setdefault(h.checkpoint.size, []).append(h)
            if h.index is not None:
                self.by_index.setdefault(h.index, []).append(h)
        self.lines = [
            f"held {h.kind} ({h.name}): its checkpoint of {h.checkpoint.size} events, signed by {key}, "
            "has the root of the bundle's first events: the bundle extends it"
            for h in held
        ]
        self.lines += [
            f"held {h.kind} ({h.name}): event {h.index} is the same event in the bundle"
            for h in held
            if h.index is not None
        ]

    def event(self, position: int, canonical: bytes) -> None:
        for h in self.by_index.get(position, ()):
            if h.event != canonical:
                raise VerificationError(
                    f"the bundle's event {position} differs from the event {position} in the {h.kind} you hold "
                    f"({h.name}): this is another history (a fork)"
                )

    def redacted(self, position: int, leaf: bytes) -> None:
        """A held receipt of an event since erased: its event must still hash to the leaf."""
        for h in self.by_index.get(position, ()):
            if h.event is not None and leaf_hash(h.event) != leaf:
                raise VerificationError(
                    f"the bundle's redacted event {position} has another leaf than the event {position} in the "
                    f"{h.kind} you hold ({h.name}): this is another history (a fork)"
                )

    def tree(self, frontier: Frontier) -> None:
        for h in self.by_size.get(frontier.size, ()):
            root = frontier.root()
            if root != h.checkpoint.root:
                raise VerificationError(fork_message("the bundle's tree", frontier.size, root, h))


def verify_bundle(
    stream: IO[bytes],
    *,
    expected_key: VerifierKey | None = None,
    held: Sequence[HeldCheckpoint] = (),
    witnesses: Sequence[WitnessKey] = (),
    min_cosignatures: int = 0,
    all_signatures: bool = False,
) -> Report:
    """Check a bundle end to end while reading it; VerificationError names the first fault.

    ``held``: checkpoints the person already holds (consent.ledger.held), opened with this
    bundle's key; the bundle must extend each. ``witnesses``/``min_cosignatures``: the
    newest checkpoint must carry that many valid cosignatures from them. The signatures
    of the intermediate checkpoints are verified only with ``all_signatures``; otherwise
    their bodies are checked against the recomputed tree (the newest checkpoint's
    signature covers the whole tree already).
    """
    check_min_cosignatures(witnesses, min_cosignatures)
    parser = _Parser(stream)
    header = parser.header()
    key = _key(header, expected_key)
    latest_note = header["checkpoint"]
    try:
        latest = open_checkpoint(latest_note, key)
    except VerificationError as e:
        raise VerificationError(f"the newest checkpoint (the bundle's header): {e}") from None
    cosignatures, witness_lines = check_witnesses(
        latest_note, witnesses, min_cosignatures, what="the newest checkpoint (the bundle's header)"
    )
    pins = _HeldPins(held, key, latest)
    report = Report("bundle", key.name, str(key), expected_key is not None, cosignatures=cosignatures)
    frontier = Frontier()
    previous: Any = None
    uncovered_from: int | None = None
    #: Redacted entries no signed erasure has named yet (an erasure comes after them).
    unexplained: set[int] = set()
    items = parser.entries()
    # One entry of look-ahead, to tell two swapped events from a missing one.
    current = next(items, None)
    position = 0
    while current is not None:
        following = next(items, None)
        _check_position(position, current, previous, following)
        event, leaf, note = _leaf(current, position)
        if event is None:
            unexplained.add(position)  # until a signed erasure names it
            report.redacted.append(position)
            pins.redacted(position, leaf)
        else:
            events.check_event(event, index=position)
            canonical = events.encode(event)
            if leaf_hash(canonical) != leaf:
                raise VerificationError(f"event {position} was changed: it no longer hashes to its leaf")
            pins.event(position, canonical)
            unexplained.difference_update(events.redacted_by(event))
            report.first_recorded = report.first_recorded or event["recorded"]
            report.last_recorded = event["recorded"]
        frontier.append(leaf)
        pins.tree(frontier)
        if note is None:
            uncovered_from = position if uncovered_from is None else uncovered_from
        else:
            _check_checkpoint(note, key, frontier, position, verify_signature=all_signatures)
            uncovered_from = None
            report.checkpoints += 1
        previous, current, position = current, following, position + 1
    report.events = position
    if position == 0:
        raise VerificationError("bundle: it holds no events")
    if unexplained:
        first = min(unexplained)
        raise VerificationError(
            f"event {first} has no event, and no signed platform.erased event names it: "
            "a payload removed without the person's erasure"
        )
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
    if all_signatures:
        signatures = f"signatures (--all-signatures): all {report.checkpoints} checkpoints' signatures verified"
    else:
        signatures = (
            "signatures (default mode): the newest checkpoint's signature verified; the intermediate "
            "checkpoints matched the recomputed tree by hashing, their signatures not verified "
            "(--all-signatures verifies them)"
        )
    redacted = ""
    if report.redacted:
        redacted = (
            f" ({len(report.redacted)} of them redacted: their leaf only, each named by a signed platform.erased "
            f"event: {', '.join(map(str, report.redacted))})"
        )
    report.checks = [
        f"{position} events, each in its place (indexes 0 to {position - 1}) and hashing to its leaf{redacted}",
        f"{report.checkpoints} checkpoints, each naming the key {key} and matching the tree of the events before it",
        signatures,
        "every checkpoint is therefore consistent with every later one",
        f"the latest checkpoint covers all {position} events (root {report.root})",
        *pins.lines,
        *witness_lines,
    ]
    return report


def _get_unverified_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in ``note``, parsed as strictly as ``open_checkpoint`` but unsigned-for.

    The note must be well formed and carry a signature line of the key's name and key ID,
    of the length of an Ed25519 signature; the signature itself is not verified.
    """
    text, signatures = split_note(note)
    claimed = [raw for name, raw in signatures if name == key.name and int.from_bytes(raw[:4], "big") == key.key_id]
    if not claimed:
        raise VerificationError(f"note: no signature by {key} (expected key ID {key.key_id:08x})")
    for raw in claimed:
        if len(raw) != _ED25519_SIGNATURE:
            raise VerificationError(
                f"note: expected a {_ED25519_SIGNATURE}-byte signature by {key.name}, got {len(raw)} bytes"
            )
    checkpoint = Checkpoint.parse_body(text)
    if checkpoint.origin != key.name:
        raise VerificationError(f"checkpoint: expected origin {key.name!r}, got {checkpoint.origin!r}")
    return checkpoint


def _check_checkpoint(
    note: str, key: VerifierKey, frontier: Frontier, position: int, *, verify_signature: bool
) -> None:
    try:
        if verify_signature:
            checkpoint = open_checkpoint(note, key)
        else:
            checkpoint = _get_unverified_checkpoint(note, key)
            if checkpoint != Checkpoint(key.name, frontier.size, frontier.root()):
                # Something is wrong: the signature decides which message is the true one.
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
