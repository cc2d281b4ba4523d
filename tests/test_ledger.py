"""The pure ledger: proofs over random trees, bundles and receipts, and every way of
tampering with them, each refused with its own reason."""

from __future__ import annotations

import base64
import copy
import io
import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent import ledger
from consent.errors import VerificationError
from consent.ledger import bundle, events, merkle, receipts
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.note import Signer, VerifierKey
from tests.ledger_helpers import as_json, build, bundle_text, make_events, signer, to_stream

# --- Merkle proofs over random trees -----------------------------------------------------


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_proofs_verify_for_every_size_and_index(case):
    n, index = case
    leaves = _leaves(n)
    root = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, index)
    merkle.verify_inclusion(leaves[index], index, n, proof, root)
    assert len(proof) <= max(1, (n - 1).bit_length())
    # The same proof fails for any other leaf, index or root.
    other = (index + 1) % n
    if other != index:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaves[other], index, n, proof, root)
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaves[index], other, n, proof, root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(leaves[index], index, n, proof, merkle.leaf_hash(b"x"))


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_consistency_proofs_verify_for_every_pair_of_sizes(case):
    size1, size2 = case
    leaves = _leaves(size2)
    root1, root2 = merkle.root(leaves[:size1]), merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, size1)
    merkle.verify_consistency(size1, size2, proof, root1, root2)
    if size1 < size2:
        forked = merkle.root([*_leaves(size1 - 1), merkle.leaf_hash(b"fork")])
        with pytest.raises(VerificationError):
            merkle.verify_consistency(size1, size2, proof, forked, root2)
        if proof:
            bad = [bytes(32), *proof[1:]]
            with pytest.raises(VerificationError):
                merkle.verify_consistency(size1, size2, bad, root1, root2)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=600))
def test_frontier_root_equals_the_full_computation(n):
    leaves = _leaves(n)
    frontier = merkle.Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert frontier.root() == merkle.root(leaves)
    assert merkle.Frontier.from_bytes(n, frontier.to_bytes()).root() == frontier.root()


def test_frontier_rejects_the_wrong_number_of_hashes():
    with pytest.raises(ValueError, match="a frontier of size 3 has 2 hashes, got 1"):
        merkle.Frontier(3, [bytes(32)])


# --- events and checkpoints --------------------------------------------------------------------


def test_event_bytes_are_canonical_and_carry_a_nonce():
    a, b = make_events(2)[1], make_events(2)[1]
    assert a["nonce"] != b["nonce"] and len(a["nonce"]) == 32
    raw = events.encode(a)
    assert raw == events.encode(json.loads(raw))
    assert raw.startswith(b'{"at":"2026-01-05T10:00:00Z","data":{')


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("nonce"), "expected fields"),
        (lambda e: e.update(v=2), "expected version 1"),
        (lambda e: e.update(type="use.stolen"), "unknown type"),
        (lambda e: e.update(nonce="xyz"), "nonce of 32 hex digits"),
        (lambda e: e.update(at="yesterday"), "expected a UTC time"),
        (lambda e: e.update(platform="not-a-uuid"), "expected platform as a lowercase hyphenated UUID"),
        (lambda e: e.update(index=-1), "whole-number index"),
        (lambda e: e.update(data=[]), "data to be an object"),
    ],
)
def test_malformed_events_are_refused(change, message):
    event = copy.deepcopy(make_events(2)[1])
    change(event)
    with pytest.raises(VerificationError, match=message):
        events.check_event(event)


def test_checkpoint_round_trip_and_origin_check():
    key = signer()
    checkpoint = Checkpoint(key.name, 3, bytes(range(32)))
    note = checkpoint.sign(key)
    assert note.startswith(f"{key.name}\n3\n{base64.b64encode(bytes(range(32))).decode()}\n\n\u2014 {key.name} ")
    assert open_checkpoint(note, key.verifier) == checkpoint
    other_name = Signer("consent-ledger/other", key.private_key)
    with pytest.raises(VerificationError, match="no signature by"):
        open_checkpoint(note, other_name.verifier)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("origin\n", "expected origin, size and root hash lines"),
        ("origin\n01\nAAAA\n", "expected a decimal tree size"),
        ("origin\n1\n!!\n", "not base64"),
        ("origin\n1\nAAAA\n", "expected a 32-byte root hash"),
    ],
)
def test_malformed_checkpoints_are_refused(body, message):
    with pytest.raises(VerificationError, match=message):
        Checkpoint.parse_body(body)


def test_append_refuses_an_event_out_of_place():
    with pytest.raises(ValueError, match="expected event index 0, got 1"):
        ledger.append(merkle.Frontier(), signer(), make_events(2)[1])


# --- bundles: the tamper matrix ------------------------------------------------------------------

N = 12


@pytest.fixture(scope="module")
def good_bundle() -> str:
    return bundle_text(N)


def test_untouched_bundle_verifies_and_says_what_it_checked(good_bundle):
    key = signer().verifier
    report = bundle.verify_bundle(to_stream(good_bundle), expected_key=key)
    assert (report.events, report.checkpoints, report.size, report.key_pinned) == (N, N, N, True)
    assert report.checks[0] == f"{N} events, each in its place (indexes 0 to {N - 1}) and hashing to its leaf"
    unpinned = bundle.verify_bundle(to_stream(good_bundle))
    assert not unpinned.key_pinned


def _entries(doc):
    return doc["entries"]


def _change_byte(doc):
    label = _entries(doc)[5]["event"]["data"]["label"]
    _entries(doc)[5]["event"]["data"]["label"] = label[:-1] + chr(ord(label[-1]) ^ 1)


def _drop(doc):
    del _entries(doc)[5]


def _insert(doc):
    # A forged event with a correct leaf hash; the forger cannot sign a checkpoint for it.
    event = copy.deepcopy(_entries(doc)[5]["event"])
    event["data"]["label"] = "I never agreed to this"
    leaf = base64.b64encode(merkle.leaf_hash(events.encode(event))).decode()
    _entries(doc).insert(5, {"leaf": leaf, "event": event})


def _swap(doc):
    e = _entries(doc)
    e[4], e[5] = e[5], e[4]


def _cut_tail(doc):
    del _entries(doc)[-3:]


def _alter_signature(doc):
    note = _entries(doc)[3]["checkpoint"]
    head, _, signature = note.rpartition(" ")
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 1
    _entries(doc)[3]["checkpoint"] = head + " " + base64.b64encode(bytes(raw)).decode() + "\n"


def _resign_with_other_key(doc):
    thief = Signer(signer().name, bytes([99]) * 32)
    entries, latest, _ = build(N, thief)
    forged = as_json(_write(entries, latest, thief))
    doc.clear()
    doc.update(forged)


def _inconsistent_checkpoint(doc):
    # The person's own key signs a tree of size 4 whose root differs from the ledger's:
    # a fork, which the later checkpoints are not consistent with.
    fork = Checkpoint(signer().name, 4, merkle.leaf_hash(b"another history"))
    _entries(doc)[3]["checkpoint"] = fork.sign(signer())


def _duplicate_index(doc):
    _entries(doc).insert(6, copy.deepcopy(_entries(doc)[5]))


def _write(entries, latest, key):
    out = io.StringIO()
    bundle.write_bundle(out, key=key.verifier, latest=latest, size=len(entries), entries=entries)
    return out.getvalue()


TAMPERING = [
    (_change_byte, "event 5 was changed: it no longer hashes to its leaf"),
    (_drop, "event 5 is missing: the entry at position 5 has index 6"),
    (_insert, "an event was inserted: two different events claim index 5"),
    (_swap, "events 4 and 5 are swapped"),
    (_cut_tail, f"the latest checkpoint covers {N} events but the bundle holds {N - 3}: its tail was cut"),
    (_alter_signature, "checkpoint after event 3: note: the signature by .* does not verify"),
    (_resign_with_other_key, "bundle: signed by .*, not by the expected key"),
    (_inconsistent_checkpoint, "checkpoint of size 4 is signed but not consistent with the ledger"),
    (_duplicate_index, "event 5 appears twice: an index is used twice"),
]


@pytest.mark.parametrize(("tamper", "reason"), TAMPERING, ids=[t.__name__.strip("_") for t, _ in TAMPERING])
def test_tampered_bundle_is_refused_with_its_reason(good_bundle, tamper, reason):
    doc = as_json(good_bundle)
    tamper(doc)
    # An intermediate checkpoint's signature is verified only with all_signatures (by
    # default its body is checked by hashing): tests/test_verify_strict.py pins both modes.
    all_signatures = tamper is _alter_signature
    with pytest.raises(VerificationError, match=reason):
        bundle.verify_bundle(to_stream(doc), expected_key=signer().verifier, all_signatures=all_signatures)


def test_every_tamper_case_has_a_reason_of_its_own():
    reasons = [reason for _, reason in TAMPERING]
    assert len(set(reasons)) == len(reasons)


def test_bundle_resigned_with_another_key_passes_only_unpinned_and_says_so(good_bundle):
    doc = as_json(good_bundle)
    _resign_with_other_key(doc)
    report = bundle.verify_bundle(to_stream(doc))
    assert not report.key_pinned and report.key != str(signer().verifier)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"entries": []}', "expected format, origin, verifier_key, size, checkpoint before the entries"),
        ("[]", "expected format"),
    ],
)
def test_malformed_bundles_are_refused(document, reason):
    with pytest.raises(VerificationError, match=reason):
        bundle.verify_bundle(to_stream(document))


def test_events_after_the_last_checkpoint_are_refused(good_bundle):
    doc = as_json(good_bundle)
    del _entries(doc)[-1]["checkpoint"]
    with pytest.raises(VerificationError, match=f"events {N - 1} to {N - 1} are not covered by any signed checkpoint"):
        bundle.verify_bundle(to_stream(doc))


def test_verification_memory_does_not_grow_with_the_ledger(tmp_path):
    """Streaming: verifying 8x more events takes about the same peak memory."""
    peaks = []
    for n in (500, 4000):
        path = tmp_path / f"{n}.json"
        path.write_text(bundle_text(n))
        tracemalloc.start()
        with path.open("rb") as f:
            bundle.verify_bundle(f)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5, peaks
    assert path.stat().st_size > 2_000_000  # the larger bundle is far bigger than the peak
    assert peaks[1] < path.stat().st_size / 4


# --- receipts -------------------------------------------------------------------------------------

PLATFORM = {"name": "Shop", "website": "https://shop.example", "email": "privacy@shop.example", "country": "FR"}


def _receipt(index: int, n: int = N) -> dict:
    key = signer()
    entries, latest, _ = build(n, key)
    leaves = [merkle.leaf_hash(events.encode(e.event)) for e in entries]
    return receipts.make_receipt(
        event=entries[index].event,
        proof=merkle.inclusion_proof(leaves, index),
        checkpoint_note=latest,
        key=key.verifier,
        platform=PLATFORM,
    )


def test_receipt_verifies_and_carries_its_renderings():
    receipt = _receipt(5)
    report = receipts.verify_receipt(json.loads(json.dumps(receipt)), expected_key=signer().verifier)
    assert report.kind == "receipt" and report.size == N
    assert receipt["proof"].startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 5\n" in receipt["proof"]
    dpv = receipt["dpv"]
    assert dpv["@type"] == "dpv:ConsentRecord"
    assert dpv["dct:conformsTo"]["@id"] == "https://w3id.org/dpv/schema/dpv-27560#receipt"
    assert dpv["dpv:hasConsentStatus"]["@id"] == "dpv:ConsentGiven"
    assert dpv["dpv:hasDataController"]["dpv:hasName"] == "Shop"
    kantara = receipt["kantara"]
    assert kantara["version"] == "KI-CR-v1.1.0" and kantara["jurisdiction"] == "FR"
    assert kantara["services"][0]["purposes"][0]["purposeCategory"] == ["https://w3id.org/dpv#Marketing"]


def test_receipt_whose_proof_belongs_to_another_event_is_refused():
    mine, other = _receipt(5), _receipt(6)
    head = other["proof"].split("\n\n")[0].split("\n")
    mine_head, _, note = mine["proof"].partition("\n\n")
    mine_lines = mine_head.split("\n")
    # Keep this receipt's event and index, but take the other event's path.
    mine["proof"] = "\n".join(mine_lines[:3] + head[3:]) + "\n\n" + note
    with pytest.raises(VerificationError, match="the inclusion proof does not belong to this event"):
        receipts.verify_receipt(mine, expected_key=signer().verifier)


def test_receipt_with_a_changed_event_is_refused():
    receipt = _receipt(5)
    receipt["event"]["data"]["label"] = "Something else"
    with pytest.raises(VerificationError, match="its event differs from the event its proof was made for"):
        receipts.verify_receipt(receipt)


def test_receipt_signed_by_another_key_is_refused_when_the_key_is_pinned():
    receipt = _receipt(5)
    with pytest.raises(VerificationError, match="not by the expected key"):
        receipts.verify_receipt(receipt, expected_key=VerifierKey(signer().name, bytes(32)))
