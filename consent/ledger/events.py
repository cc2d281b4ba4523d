"""Ledger events: what a person decided, as canonical JSON (RFC 8785).

An event is a JSON object::

    {"v": 1, "index": 4, "type": "use.withdrawn", "nonce": "<32 hex digits>",
     "at": "2026-11-02T09:30:00Z", "recorded": "2026-11-02T09:31:12Z",
     "platform": "<uuid>", "use": "<uuid>", "data": {...}}

``at`` is when the decision was made, ``recorded`` when it entered the ledger (a decision
made outside the app is recorded later). ``nonce`` is 128 random bits, so that nobody can
confirm a guessed event from its hash. ``index`` binds the event to its place in the log.
The bytes hashed into the Merkle tree are the event's RFC 8785 canonical form.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import rfc8785

from consent.errors import VerificationError

VERSION = 1

PLATFORM_ADDED = "platform.added"
PLATFORM_CHANGED = "platform.changed"
PLATFORM_ARCHIVED = "platform.archived"
#: The platform comes back from the archive: its uses can change again.
PLATFORM_UNARCHIVED = "platform.unarchived"
USE_GRANTED = "use.granted"
USE_REFUSED = "use.refused"
USE_WITHDRAWN = "use.withdrawn"
USE_RENEWED = "use.renewed"
USE_EXPIRED = "use.expired"
LETTER_SENT = "letter.sent"
REQUEST_UPDATED = "request.updated"
#: The person's own records changed without a decision (their profile, notes, drafts...):
#: an event, so that the record the app seals of them moves with the signed ledger, and an
#: older version written back shows. ``data.records`` names the kinds that changed.
RECORDS_SEALED = "records.sealed"
#: The person erased everything the app held about a platform: ``data.redacted`` names the
#: indexes of the earlier events whose payloads went (their leaf hashes stay in the tree).
#: Signed like any event, it is what tells a redaction from an operator blanking rows.
PLATFORM_ERASED = "platform.erased"

TYPES = frozenset(
    {
        PLATFORM_ADDED,
        PLATFORM_CHANGED,
        PLATFORM_ARCHIVED,
        PLATFORM_UNARCHIVED,
        USE_GRANTED,
        USE_REFUSED,
        USE_WITHDRAWN,
        USE_RENEWED,
        USE_EXPIRED,
        LETTER_SENT,
        REQUEST_UPDATED,
        RECORDS_SEALED,
        PLATFORM_ERASED,
    }
)
#: Events about letters and requests: they change no use, and carry hashes, not text.
REQUEST_TYPES = frozenset({LETTER_SENT, REQUEST_UPDATED})
#: Events about a use name it; events about a platform alone do not.
USE_TYPES = frozenset({USE_GRANTED, USE_REFUSED, USE_WITHDRAWN, USE_RENEWED, USE_EXPIRED})

#: The kinds of records a ``records.sealed`` event names (the tables they are kept in).
RECORD_KINDS = frozenset({"users", "profiles", "platforms", "uses", "requests", "request_files"})

_KEYS = {"v", "index", "type", "nonce", "at", "recorded", "platform", "data"}
# ASCII digits only, and \Z: "$" would let a final newline through.
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
_NONCE = re.compile(r"[0-9a-f]{32}\Z")
#: The one spelling of a UUID in an event: lowercase, hyphenated, as str(uuid.UUID) writes it.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime")
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"  # four digits even before year 1000 (%Y would not pad)


def parse_time(text: str) -> datetime:
    if not _TIME.match(text):
        raise VerificationError(f"expected a UTC time like 2026-01-31T12:00:00Z, got {text!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:  # the right shape, but no such moment (month 13, February 30)
        raise VerificationError(f"expected a real UTC time, got {text!r}") from None


def new_event(
    *,
    index: int,
    type: str,
    at: datetime,
    recorded: datetime,
    platform: uuid.UUID | None,
    use: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "v": VERSION,
        "index": index,
        "type": type,
        "nonce": secrets.token_hex(16),
        "at": format_time(at),
        "recorded": format_time(recorded),
        "data": data or {},
    }
    if platform is not None:
        event["platform"] = str(platform)
    if use is not None:
        event["use"] = str(use)
    check_event(event)
    return event


def encode(event: dict[str, Any]) -> bytes:
    """The event's canonical bytes (RFC 8785): what its leaf hash is computed over."""
    try:
        return bytes(rfc8785.dumps(event))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise VerificationError(f"event: cannot be canonicalised: {e}") from None


def check_event(event: Any, *, index: int | None = None) -> None:
    """Raise VerificationError unless ``event`` has the shape of a ledger event."""
    if not isinstance(event, dict):
        raise VerificationError(f"event: expected a JSON object, got {type(event).__name__}")
    if event.get("v") != VERSION:
        raise VerificationError(f"event: expected version {VERSION}, got {event.get('v')!r}")
    if event.get("type") not in TYPES:
        raise VerificationError(f"event: unknown type {event.get('type')!r}")
    keys = set(event)
    expected = _KEYS | ({"use"} if event["type"] in USE_TYPES else set())
    if event["type"] == RECORDS_SEALED:
        expected = expected - {"platform"}  # about the person's records, not a platform
    if keys != expected:
        raise VerificationError(f"event: expected fields {sorted(expected)}, got {sorted(keys)}")
    if not isinstance(event["index"], int) or isinstance(event["index"], bool) or event["index"] < 0:
        raise VerificationError(f"event: expected a whole-number index, got {event['index']!r}")
    if index is not None and event["index"] != index:
        raise VerificationError(f"event: expected index {index}, got {event['index']}")
    if not isinstance(event["nonce"], str) or not _NONCE.match(event["nonce"]):
        raise VerificationError("event: expected a nonce of 32 hex digits")
    for name in ("at", "recorded"):
        if not isinstance(event[name], str):
            raise VerificationError(f"event: expected {name} as a string")
        parse_time(event[name])
    for name in ("platform", "use"):
        if name in event:
            if not isinstance(event[name], str) or not _UUID.match(event[name]):
                raise VerificationError(f"event: expected {name} as a lowercase hyphenated UUID, got {event[name]!r}")
    if not isinstance(event["data"], dict):
        raise VerificationError("event: expected data to be an object")
    if event["type"] == RECORDS_SEALED:
        records = event["data"].get("records")
        if set(event["data"]) != {"records"} or not isinstance(records, list) or not records:
            raise VerificationError("event: expected data.records, a non-empty list of kinds of records")
        if any(kind not in RECORD_KINDS for kind in records) or records != sorted(set(records)):
            raise VerificationError(f"event: expected records among {sorted(RECORD_KINDS)}, sorted, each once")
    if event["type"] == PLATFORM_ERASED:
        _check_erasure(event)


def _check_erasure(event: dict[str, Any]) -> None:
    redacted = event["data"].get("redacted")
    if set(event["data"]) != {"redacted"} or not isinstance(redacted, list) or not redacted:
        raise VerificationError("event: expected data.redacted, a non-empty list of the indexes erased")
    if any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < event["index"] for i in redacted):
        raise VerificationError(f"event: expected redacted indexes of earlier events (below {event['index']})")
    if redacted != sorted(set(redacted)):
        raise VerificationError("event: expected the redacted indexes sorted, each once")


def redacted_by(event: dict[str, Any]) -> list[int]:
    """The indexes an event's signature vouches were erased: those of a ``platform.erased``."""
    return list(event["data"]["redacted"]) if event["type"] == PLATFORM_ERASED else []
