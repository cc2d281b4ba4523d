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
derived from it and carry no authority of their own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from consent.errors import VerificationError
from consent.ledger import events
from consent.ledger.bundle import Report
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.merkle import leaf_hash, verify_inclusion
from consent.ledger.note import VerifierKey

FORMAT = "consent-ledger-receipt/v1"
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


def _parse_tlog_proof(text: str) -> tuple[bytes, int, list[bytes], str]:
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != _PROOF_HEADER:
        raise VerificationError(f"proof: expected a {_PROOF_HEADER} text")
    if len(lines) < 3 or not lines[1].startswith("extra "):
        raise VerificationError("proof: expected an extra line carrying the event")
    index_text = lines[2].removeprefix("index ")
    if not lines[2].startswith("index ") or not index_text.isdigit() or (index_text != "0" and index_text[0] == "0"):
        raise VerificationError(f"proof: expected 'index N', got {lines[2][:40]!r}")
    try:
        extra = base64.b64decode(lines[1][6:], validate=True)
        hashes = [base64.b64decode(line, validate=True) for line in lines[3:]]
    except binascii.Error:
        raise VerificationError("proof: a line is not valid base64") from None
    return extra, int(index_text), hashes, note


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


def verify_receipt(receipt: Any, *, expected_key: VerifierKey | None = None) -> Report:
    """Check that the receipt's event is in the ledger its checkpoint signs."""
    if not isinstance(receipt, dict) or receipt.get("format") != FORMAT:
        raise VerificationError(f"receipt: expected format {FORMAT!r}")
    key = VerifierKey.parse(str(receipt.get("verifier_key", "")))
    if expected_key is not None and key != expected_key:
        raise VerificationError(f"receipt: signed by {key}, not by the expected key {expected_key}")
    report = verify_tlog_proof(str(receipt.get("proof", "")), key=key, pinned=expected_key is not None)
    event = receipt.get("event")
    events.check_event(event)
    extra, _, _, _ = _parse_tlog_proof(str(receipt["proof"]))
    if events.encode(event) != extra:  # type: ignore[arg-type]
        raise VerificationError("receipt: its event differs from the event its proof was made for")
    report.kind = "receipt"
    return report


def verify_tlog_proof(text: str, *, key: VerifierKey, pinned: bool) -> Report:
    """Check a c2sp.org/tlog-proof@v1 text whose extra data is a ledger event."""
    extra, index, hashes, note = _parse_tlog_proof(text)
    checkpoint = open_checkpoint(note, key)
    try:
        event = json.loads(extra)
    except ValueError:
        raise VerificationError("proof: the extra data is not a JSON event") from None
    events.check_event(event, index=index)
    if events.encode(event) != extra:
        raise VerificationError("proof: the event in the extra data is not in canonical form")
    try:
        verify_inclusion(leaf_hash(extra), index, checkpoint.size, hashes, checkpoint.root)
    except VerificationError as e:
        raise VerificationError(f"receipt: the inclusion proof does not belong to this event ({e})") from None
    report = Report("proof", key.name, str(key), pinned, events=1, checkpoints=1, size=checkpoint.size)
    report.root = base64.b64encode(checkpoint.root).decode()
    report.first_recorded = report.last_recorded = event["recorded"]
    report.checks = [
        f"the checkpoint of size {checkpoint.size} is signed by {key}",
        f"event {index} ({event['type']}, recorded {event['recorded']}) is included in that tree",
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
