"""Receipts: one event, proven to be in the ledger, in forms others can read.

A receipt is a JSON document::

    {"format": "consent-ledger-receipt/v1",
     "verifier_key": "<name>+<key id>+<base64 key>",
     "event": {...},
     "proof": "<c2sp.org/tlog-proof@v1 text>",
     "dpv": {... JSON-LD consent record, DPV profile of ISO/IEC TS 27560 ...},
     "kantara": {... Kantara Consent Receipt 1.1, for grants only ...}}

The proof is a c2sp.org/tlog-proof@v1 text whose ``extra`` line carries the event's
canonical bytes, so the proof alone is enough to verify; ``event``, ``dpv`` and ``kantara``
are readable renderings. Only ``event`` is checked against the proof; the renderings are
derived from it and carry no authority of their own (``dpv`` is allowed on use events
only, ``kantara`` on grants only; both are optional). Receipts are parsed strictly
(``parse_receipt``): no duplicate names, no unknown members, at most 1 MiB.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consent.errors import VerificationError
from consent.ledger import events
from consent.ledger.bundle import (
    MAX_DEPTH,
    MIB,
    Report,
    check_min_cosignatures,
    check_witnesses,
    fork_message,
    held_key_check,
    parse_key,
    size_text,
)
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.cosignature import WitnessKey
from consent.ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from consent.ledger.note import VerifierKey

if TYPE_CHECKING:
    from consent.ledger.held import HeldCheckpoint

FORMAT = "consent-ledger-receipt/v1"
#: A receipt file, and a bare proof: the event in it is at most an entry's size (1 MiB).
MAX_RECEIPT_BYTES = 1 * MIB
MAX_PROOF_BYTES = 1 * MIB
_REQUIRED = frozenset({"format", "verifier_key", "event", "proof"})
#: The readable renderings, each optional, and the event types that may carry it.
_RENDERING_TYPES = {"dpv": events.USE_TYPES, "kantara": frozenset({events.USE_GRANTED})}
_RENDERINGS = frozenset(_RENDERING_TYPES)
_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
PROFILE_27560 = "https://w3id.org/dpv/schema/dpv-27560#receipt"

_STATUS = {
    events.USE_GRANTED: "dpv:ConsentGiven",
    events.USE_RENEWED: "dpv:RenewedConsentGiven",
    events.USE_REFUSED: "dpv:ConsentRefused",
    events.USE_WITHDRAWN: "dpv:ConsentWithdrawn",
    events.USE_EXPIRED: "dpv:ConsentExpired",
}


def tlog_proof(event: dict[str, Any], proof: Sequence[bytes], checkpoint_note: str) -> str:
    """The c2sp.org/tlog-proof@v1 text for ``event`` (its canonical bytes in ``extra``)."""
    lines = [_PROOF_HEADER, "extra " + base64.b64encode(events.encode(event)).decode(), f"index {event['index']}"]
    lines += [base64.b64encode(h).decode() for h in proof]
    return "\n".join(lines) + "\n\n" + checkpoint_note


def _get_unverified_tlog_proof(text: str) -> tuple[bytes, int, list[bytes], str]:
    """The proof's extra bytes, index, hashes and checkpoint note, parsed but not verified."""
    if len(text.encode("utf-8")) > MAX_PROOF_BYTES:
        raise VerificationError(f"proof: expected at most {size_text(MAX_PROOF_BYTES)}, got more")
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != _PROOF_HEADER:
        raise VerificationError(f"proof: expected a {_PROOF_HEADER} text")
    if len(lines) < 3 or not lines[1].startswith("extra "):
        raise VerificationError("proof: expected an extra line carrying the event")
    index_text = lines[2].removeprefix("index ")
    if (
        not lines[2].startswith("index ")
        or not index_text.isascii()
        or not index_text.isdigit()
        or (index_text != "0" and index_text[0] == "0")
    ):
        raise VerificationError(f"proof: expected 'index N', got {lines[2][:40]!r}")
    try:
        extra = base64.b64decode(lines[1][6:], validate=True)
        hashes = [base64.b64decode(line, validate=True) for line in lines[3:]]
    except binascii.Error:
        raise VerificationError("proof: a line is not valid base64") from None
    for number, value in enumerate(hashes, start=4):
        if len(value) != HASH_SIZE:
            raise VerificationError(f"proof: line {number}: expected a {HASH_SIZE}-byte hash, got {len(value)} bytes")
    return extra, int(index_text), hashes, note


# --- strict JSON (I-JSON, RFC 7493, which RFC 8785 requires) --------------------------------


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name in document:
            raise VerificationError(
                f"the member name {name!r} appears twice in one object (I-JSON, which RFC 8785 requires, forbids it)"
            )
        document[name] = value
    return document


def _no_constant(name: str) -> Any:
    raise VerificationError(f"expected JSON numbers, got {name}")


def _check_strict(document: Any) -> None:
    """No nesting deeper than MAX_DEPTH and no lone surrogate in a string (I-JSON 2.1)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise VerificationError(f"expected at most {MAX_DEPTH} nested objects and arrays, got more")
            children = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
            for name, child in children:
                if name is not None:
                    _check_string(name)
                stack.append((child, depth + 1))
        elif isinstance(value, str):
            _check_string(value)


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise VerificationError("not I-JSON: a string holds a lone surrogate (RFC 7493 section 2.1)") from None


def loads_strict(text: str) -> Any:
    """``json.loads`` that also refuses duplicate names, NaN/Infinity, lone surrogates and
    deep nesting; trailing data is refused as by ``json.loads``. VerificationError."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except RecursionError:
        raise VerificationError(f"expected at most {MAX_DEPTH} nested objects and arrays, got more") from None
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            raise VerificationError(
                "expected the end of the file after the JSON value, got more data (trailing data, or a second JSON value)"
            ) from None
        raise VerificationError(f"not valid JSON: {e}") from None
    _check_strict(document)
    return document


def parse_receipt(data: bytes) -> dict[str, Any]:
    """A receipt file's JSON object, parsed strictly (not yet verified): VerificationError."""
    if len(data) > MAX_RECEIPT_BYTES:
        raise VerificationError(f"receipt: expected at most {size_text(MAX_RECEIPT_BYTES)}, got {len(data)} bytes")
    try:
        document = loads_strict(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise VerificationError("receipt: expected UTF-8 text") from None
    except VerificationError as e:
        raise VerificationError(f"receipt: {e}") from None
    if not isinstance(document, dict):
        raise VerificationError(f"receipt: expected format {FORMAT!r} in a JSON object, got {type(document).__name__}")
    return document


def make_receipt(
    *,
    event: dict[str, Any],
    proof: Sequence[bytes],
    checkpoint_note: str,
    key: VerifierKey,
    platform: dict[str, Any],
    language: str = "en",
) -> dict[str, Any]:
    """A receipt for ``event``; ``platform`` holds the platform's details for the renderings."""
    receipt: dict[str, Any] = {
        "format": FORMAT,
        "verifier_key": str(key),
        "event": event,
        "proof": tlog_proof(event, proof, checkpoint_note),
    }
    if event["type"] in events.USE_TYPES:
        receipt["dpv"] = dpv_record(event, key=key, platform=platform)
    if event["type"] == events.USE_GRANTED:
        receipt["kantara"] = kantara_receipt(event, key=key, platform=platform, language=language)
    return receipt


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenEvent:
    """An event proven to be in the tree of a checkpoint that verified with ``key``."""

    key: VerifierKey
    checkpoint: Checkpoint
    note: str
    index: int
    event: dict[str, Any]
    canonical: bytes


def open_tlog_proof(text: str, key: VerifierKey) -> ProvenEvent:
    """Check a c2sp.org/tlog-proof@v1 text whose extra data is a ledger event."""
    extra, index, hashes, note = _get_unverified_tlog_proof(text)
    checkpoint = open_checkpoint(note, key)
    try:
        event = loads_strict(extra.decode("utf-8"))
    except (UnicodeDecodeError, VerificationError):
        raise VerificationError("proof: the extra data is not a JSON event") from None
    events.check_event(event, index=index)
    if events.encode(event) != extra:
        raise VerificationError("proof: the event in the extra data is not in canonical form")
    try:
        verify_inclusion(leaf_hash(extra), index, checkpoint.size, hashes, checkpoint.root)
    except VerificationError as e:
        raise VerificationError(f"receipt: the inclusion proof does not belong to this event ({e})") from None
    return ProvenEvent(key, checkpoint, note, index, event, extra)


def open_receipt(receipt: Any, *, expected_key: VerifierKey | None = None) -> ProvenEvent:
    """Check that the receipt's event is in the ledger its checkpoint signs (no renderings)."""
    if not isinstance(receipt, dict) or receipt.get("format") != FORMAT:
        raise VerificationError(f"receipt: expected format {FORMAT!r}")
    missing = sorted(_REQUIRED - set(receipt))
    if missing:
        raise VerificationError(f"receipt: expected the members {sorted(_REQUIRED)}, missing {missing}")
    unknown = sorted(set(receipt) - _REQUIRED - _RENDERINGS)
    if unknown:
        raise VerificationError(
            f"receipt: unknown member(s) {unknown}: expected only {sorted(_REQUIRED | _RENDERINGS)}"
        )
    for name in ("verifier_key", "proof"):
        if not isinstance(receipt[name], str):
            raise VerificationError(f"receipt: expected {name} as a string, got {type(receipt[name]).__name__}")
    key = parse_key(receipt["verifier_key"])
    if expected_key is not None and key != expected_key:
        raise VerificationError(f"receipt: signed by {key}, not by the expected key {expected_key}")
    proven = open_tlog_proof(receipt["proof"], key)
    event = receipt["event"]
    events.check_event(event)
    if events.encode(event) != proven.canonical:
        raise VerificationError("receipt: its event differs from the event its proof was made for")
    allowed = {name for name, types in _RENDERING_TYPES.items() if event["type"] in types}
    for name in _RENDERINGS & set(receipt):
        if name not in allowed:
            raise VerificationError(f"receipt: a {event['type']} event has no {name} rendering, got one")
        if not isinstance(receipt[name], dict):
            raise VerificationError(f"receipt: expected {name} as an object, got {type(receipt[name]).__name__}")
    return proven


def compare_held(proven: ProvenEvent, held: Sequence[HeldCheckpoint], what: str) -> list[str]:
    """Check one checkpoint against those the person holds, as far as it can be without a
    consistency proof: at the same size the roots must be equal, at the same index the
    events; other sizes are reported as not compared."""
    held_key_check(held, proven.key)
    lines = []
    size = proven.checkpoint.size
    for h in held:
        if h.index is not None and h.index == proven.index:
            if h.event != proven.canonical:
                raise VerificationError(
                    f"{what}'s event {proven.index} differs from the event {h.index} in the {h.kind} you hold "
                    f"({h.name}): this is another history (a fork)"
                )
            lines.append(f"held {h.kind} ({h.name}): event {h.index} is the same event")
        if h.checkpoint.size == size:
            if h.checkpoint.root != proven.checkpoint.root:
                raise VerificationError(fork_message(f"{what}'s tree", size, proven.checkpoint.root, h))
            lines.append(f"held {h.kind} ({h.name}): same tree size ({size}) and same root")
        else:
            lines.append(
                f"held {h.kind} ({h.name}): its checkpoint of {h.checkpoint.size} events cannot be compared with "
                f"this one of {size} events without a consistency proof: not compared"
            )
    return lines


def verify_receipt(
    receipt: Any,
    *,
    expected_key: VerifierKey | None = None,
    held: Sequence[HeldCheckpoint] = (),
    witnesses: Sequence[WitnessKey] = (),
    min_cosignatures: int = 0,
) -> Report:
    """Check that the receipt's event is in the ledger its checkpoint signs.

    ``held`` and ``witnesses`` as for ``verify_tlog_proof``.
    """
    check_min_cosignatures(witnesses, min_cosignatures)
    proven = open_receipt(receipt, expected_key=expected_key)
    pinned = expected_key is not None
    return _report("receipt", proven, pinned=pinned, held=held, witnesses=witnesses, minimum=min_cosignatures)


def verify_tlog_proof(
    text: str,
    *,
    key: VerifierKey,
    pinned: bool,
    held: Sequence[HeldCheckpoint] = (),
    witnesses: Sequence[WitnessKey] = (),
    min_cosignatures: int = 0,
) -> Report:
    """Check a c2sp.org/tlog-proof@v1 text whose extra data is a ledger event.

    ``held``: checkpoints the person holds, compared with this one where they can be
    (``compare_held``). ``witnesses``: this checkpoint must carry ``min_cosignatures``
    valid cosignatures from them.
    """
    check_min_cosignatures(witnesses, min_cosignatures)
    proven = open_tlog_proof(text, key)
    return _report("proof", proven, pinned=pinned, held=held, witnesses=witnesses, minimum=min_cosignatures)


def _report(
    kind: str,
    proven: ProvenEvent,
    *,
    pinned: bool,
    held: Sequence[HeldCheckpoint],
    witnesses: Sequence[WitnessKey],
    minimum: int,
) -> Report:
    checkpoint, key, event = proven.checkpoint, proven.key, proven.event
    cosignatures, witness_lines = check_witnesses(proven.note, witnesses, minimum, what=f"the {kind}'s checkpoint")
    held_lines = compare_held(proven, held, f"the {kind}")
    report = Report(
        kind, key.name, str(key), pinned, events=1, checkpoints=1, size=checkpoint.size, cosignatures=cosignatures
    )
    report.root = base64.b64encode(checkpoint.root).decode()
    report.first_recorded = report.last_recorded = event["recorded"]
    report.checks = [
        f"the checkpoint of size {checkpoint.size} is signed by {key}",
        f"event {proven.index} ({event['type']}, recorded {event['recorded']}) is included in that tree",
        *held_lines,
        *witness_lines,
    ]
    return report


# --- renderings -------------------------------------------------------------------------


def _purpose_iri(data: dict[str, Any]) -> str:
    purpose = str(data.get("purpose", ""))
    return purpose if purpose.startswith("https://") else "https://w3id.org/dpv#Purpose"


def dpv_record(event: dict[str, Any], *, key: VerifierKey, platform: dict[str, Any]) -> dict[str, Any]:
    """A JSON-LD consent record in the DPV profile of ISO/IEC TS 27560."""
    data = event["data"]
    controller: dict[str, Any] = {"@type": "dpv:DataController", "dpv:hasName": platform.get("name", "")}
    for source, term in (("address", "dpv:hasAddress"), ("email", "dpv:hasContact"), ("website", "foaf:homepage")):
        if platform.get(source):
            controller[term] = ("mailto:" if source == "email" else "") + str(platform[source])
    purpose: dict[str, Any] = {"@type": _purpose_iri(data), "dct:title": data.get("label", "")}
    if data.get("description"):
        purpose["dct:description"] = data["description"]
    record: dict[str, Any] = {
        "@context": {
            "dpv": "https://w3id.org/dpv#",
            "pd": "https://w3id.org/dpv/pd#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": f"urn:consent-ledger:{key.name}:{event['index']}",
        "@type": "dpv:ConsentRecord",
        "dct:conformsTo": {"@id": PROFILE_27560},
        "dct:identifier": event["nonce"],
        "dct:created": {"@value": event["recorded"], "@type": "xsd:dateTime"},
        "dpv:hasDataSubject": {"@type": "dpv:DataSubject", "dct:identifier": key.name},
        "dpv:hasDataController": controller,
        "dpv:hasPurpose": purpose,
        "dpv:hasConsentStatus": {"@id": _STATUS[event["type"]]},
        "dpv:hasEvent": {"@type": "dpv:ConsentStatus", "dct:date": {"@value": event["at"], "@type": "xsd:dateTime"}},
        "dpv:hasPersonalData": [{"@id": iri} for iri in platform.get("categories", [])],
    }
    if data.get("legal_basis"):
        record["dpv:hasLegalBasis"] = {"@id": data["legal_basis"]}
    if data.get("recipients"):
        record["dpv:hasRecipient"] = {"@type": "dpv:Recipient", "dpv:hasName": data["recipients"]}
    if data.get("expires"):
        record["dpv:hasExpiry"] = {"@value": data["expires"], "@type": "xsd:date"}
    return record


def kantara_receipt(
    event: dict[str, Any], *, key: VerifierKey, platform: dict[str, Any], language: str
) -> dict[str, Any]:
    """The grant as a Kantara Initiative Consent Receipt 1.1 (version KI-CR-v1.1.0)."""
    data = event["data"]
    at = events.parse_time(event["at"])
    termination = f"until {data['expires']} or withdrawal" if data.get("expires") else "withdrawal"
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": platform.get("country") or "EU",
        "consentTimestamp": int(at.timestamp()),
        "collectionMethod": "recorded by the data subject in their signed consent ledger",
        "consentReceiptID": event["nonce"],
        "publicKey": str(key),
        "language": language,
        "piiPrincipalId": key.name,
        "piiControllers": [
            {
                "piiController": platform.get("name", ""),
                "contact": platform.get("dpo") or platform.get("name", ""),
                "address": platform.get("address", ""),
                "email": platform.get("email", ""),
                "phone": "",
                "piiControllerUrl": platform.get("website", ""),
            }
        ],
        "policyUrl": platform.get("website", ""),
        "services": [
            {
                "service": platform.get("name", ""),
                "purposes": [
                    {
                        "purpose": data.get("label", ""),
                        "purposeCategory": [_purpose_iri(data)],
                        "consentType": "EXPLICIT",
                        "piiCategory": list(platform.get("categories", [])),
                        "primaryPurpose": data.get("purpose") == "https://w3id.org/dpv#ServiceProvision",
                        "termination": termination,
                        "thirdPartyDisclosure": bool(data.get("recipients")),
                        "thirdPartyName": data.get("recipients", ""),
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
    }
