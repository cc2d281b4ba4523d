"""Strict verification: parsing (I-JSON), limits, held checkpoints, witnesses, signature
modes, and `consent verify`'s options. Pure: no Flask app, ledgers built in memory."""

from __future__ import annotations

import base64
import copy
import io
import json
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from consent import ledger
from consent.errors import VerificationError
from consent.ledger import bundle, events, merkle, receipts
from consent.ledger.bundle import MAX_ENTRY_BYTES, READ_BUFFER, LimitedReader
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.cosignature import Cosigner, add_cosignatures
from consent.ledger.held import HeldCheckpoint, open_held
from consent.ledger.merkle import Frontier
from consent.ledger.note import Signer
from consent.ledger.verify import verify_command
from tests.ledger_helpers import PLATFORM, START, build, signer

N = 12
KEY = signer()
TIME = 1_767_603_600  # 2026-01-05T09:00:00Z


def _write(entries: list[bundle.Entry], latest: str, key: Signer = KEY) -> str:
    out = io.StringIO()
    bundle.write_bundle(out, key=key.verifier, latest=latest, size=len(entries), entries=entries)
    return out.getvalue()


def _verify(text: str, **options) -> bundle.Report:
    return bundle.verify_bundle(io.BytesIO(text.encode()), expected_key=KEY.verifier, **options)


def _receipt(entries: list[bundle.Entry], index: int, size: int) -> dict:
    leaves = [merkle.leaf_hash(events.encode(e.event)) for e in entries[:size]]
    return receipts.make_receipt(
        event=entries[index].event,
        proof=merkle.inclusion_proof(leaves, index),
        checkpoint_note=entries[size - 1].checkpoint or "",
        key=KEY.verifier,
        platform={"name": "Shop"},
    )


def _held(document: dict | str, name: str = "held") -> HeldCheckpoint:
    data = document if isinstance(document, str) else json.dumps(document)
    return open_held(data.encode(), KEY.verifier, name=name)


def _edit_entry(text: str, position: int, old: str, new: str) -> str:
    """Replace ``old`` once in the line of entry ``position`` (the writer puts one per line)."""
    lines = text.split("\n")
    line = lines[2 + position]
    assert line.count(old) == 1, (old, line)
    lines[2 + position] = line.replace(old, new)
    return "\n".join(lines)


@pytest.fixture(scope="module")
def ledger_of_n() -> tuple[list[bundle.Entry], str]:
    entries, latest, _ = build(N, KEY)
    return entries, latest


@pytest.fixture(scope="module")
def good(ledger_of_n) -> str:
    return _write(*ledger_of_n)


# --- strict parsing ----------------------------------------------------------------------


def test_honest_bundle_verifies_in_both_modes_and_says_which_ran(good):
    default = _verify(good)
    assert default.events == N
    assert any(line.startswith("signatures (default mode): the newest checkpoint's") for line in default.checks)
    everything = _verify(good, all_signatures=True)
    assert f"signatures (--all-signatures): all {N} checkpoints' signatures verified" in everything.checks


def test_trailing_white_space_is_fine(good):
    assert _verify(good + "\n \t\r\n").events == N


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t + "x", r"expected the end of the file after the bundle's closing '\}', got more data"),
        (lambda t: t + '{"format": "consent-ledger-bundle/v1"}', "trailing data, or a second JSON value"),
        (lambda t: t + "[]", "trailing data, or a second JSON value"),
        (lambda t: t.rstrip()[:-1], r"bundle: truncated: the file ends before the bundle's final '\}'"),
        (lambda t: t.rstrip()[:-2], f"bundle: truncated: the file ends in the entries array, after entry {N - 1}"),
        (
            lambda t: t.rstrip()[:-2] + "}",
            f"not valid JSON in the entries array, after entry {N - 1}: .*expect ',' or ']'",
        ),
        (lambda t: t[: t.index('"entries"') + 30], "bundle: truncated: the file ends in entry 0"),
        (lambda t: t[:100], "bundle: truncated: the file ends in the header"),
    ],
    ids=[
        "trailing-data",
        "second-object",
        "second-array",
        "missing-brace",
        "missing-bracket-and-brace",
        "missing-bracket",
        "cut-in-an-entry",
        "cut-in-the-header",
    ],
)
def test_anything_but_one_whole_bundle_is_refused(good, change, reason):
    with pytest.raises(VerificationError, match=reason):
        _verify(change(good))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda t: t.replace(f'"size": {N},', f'"size": {N}, "size": {N},', 1),
            "bundle: the header member 'size' appears twice",
        ),
        (
            lambda t: _edit_entry(t, 5, '{"checkpoint": ', '{"leaf": "AAAA", "checkpoint": '),
            "entry 5: the member name 'leaf' appears twice in one object",
        ),
        # The same value twice: json.loads would keep one and the leaf would still match.
        (
            lambda t: _edit_entry(t, 5, '"nonce": "', '"nonce": "' + "0" * 32 + '", "nonce": "'),
            "entry 5: the member name 'nonce' appears twice",
        ),
        (
            lambda t: _edit_entry(t, 5, '"label": "Use 5"', '"label": "Use 5", "label": "Use 5"'),
            "entry 5: the member name 'label' appears twice",
        ),
    ],
    ids=["header", "entry", "event", "event-data"],
)
def test_duplicate_member_names_are_refused_at_any_depth(good, change, reason):
    changed = change(good)
    assert changed != good
    with pytest.raises(VerificationError, match=reason):
        _verify(changed)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda t: t.replace(f'"size": {N},', f'"size": {N}, "signed_by": "me",', 1),
            "unknown header member 'signed_by'",
        ),
        (lambda t: t.rstrip()[:-1] + ', "size": 12}', "expected entries to be the last member, got 'size' after it"),
        (lambda t: _edit_entry(t, 5, '{"checkpoint": ', '{"comment": "hi", "checkpoint": '), "entry 5: .*'comment'"),
        (lambda t: _edit_entry(t, 5, '"nonce": ', '"extra": 1, "nonce": '), "event: expected fields"),
        (
            lambda t: t.replace(f'"size": {N},', f'"size": "{N}",', 1),
            "bundle: expected size as a whole number, got a string",
        ),
        (
            lambda t: t.replace('"format": "consent-ledger-bundle/v1"', '"format": ["x"]', 1),
            "expected format as a string, got an array",
        ),
        (
            lambda t: _edit_entry(t, 5, '"label": "Use 5"', '"label": ' + "[" * 40 + "]" * 40),
            "entry 5: expected at most 32 nested",
        ),
    ],
    ids=["header", "after-entries", "entry", "event", "header-type", "header-container", "nesting"],
)
def test_unknown_or_misplaced_members_are_refused(good, change, reason):
    with pytest.raises(VerificationError, match=reason):
        _verify(change(good))


def test_a_time_with_a_trailing_newline_is_a_verification_failure_not_a_crash(good):
    changed = _edit_entry(good, 5, '"at": "2026-01-05T14:00:00Z"', '"at": "2026-01-05T14:00:00Z\\n"')
    with pytest.raises(VerificationError, match="expected a UTC time like 2026-01-31T12:00:00Z"):
        _verify(changed)


def test_keys_must_be_in_their_canonical_form(good):
    key = str(KEY.verifier)
    name, key_id, encoded = key.split("+")
    upper = f"{name}+{key_id.upper()}+{encoded}"
    assert upper != key
    with pytest.raises(VerificationError, match="verifier key: expected the canonical form"):
        _verify(good.replace(key, upper, 1))
    result = _run(Path("/dev/null"), "--key", upper)
    assert result.exit_code == 2 and "expected the canonical form" in result.output


@pytest.mark.parametrize(
    ("escape", "reason"),
    [
        ("\\ud800", r"the escape \\ud800 at byte \d+ is a high surrogate without its low surrogate"),
        ("\\udc00", r"the escape \\udc00 at byte \d+ is a low surrogate without its high surrogate"),
        # yajl reads this as U+10041: another parser reads two characters.
        ("\\ud800\\u0041", "high surrogate without its low surrogate"),
    ],
)
def test_lone_surrogate_escapes_are_refused(good, escape, reason):
    changed = _edit_entry(good, 5, '"label": "Use 5"', f'"label": "Use {escape}"')
    with pytest.raises(VerificationError, match=reason) as failure:
        _verify(changed)
    offset = int(str(failure.value).split("at byte ")[1].split()[0])
    assert changed.encode()[offset : offset + 6] == escape[:6].encode()


def test_escaped_astral_characters_and_backslashes_verify():
    """json.dumps's default escapes non-ASCII: a surrogate pair is one character."""
    key = KEY
    frontier = Frontier()
    made = []
    for index, label in enumerate(["smile \U0001f600", "not an escape \\ud800", "\\\\\\ud83d\\ude00"]):
        event = events.new_event(
            index=index, type=events.PLATFORM_ADDED, at=START, recorded=START, platform=PLATFORM, data={"name": label}
        )
        made.append(bundle.Entry(event, ledger.append(frontier, key, event).checkpoint))
    doc = json.loads(_write(made, made[-1].checkpoint or ""))
    text = json.dumps(doc)  # ensure_ascii: \ud83d\ude00, and \\ud800 (an escaped backslash)
    assert "\\ud83d\\ude00" in text and "\\\\ud800" in text
    assert _verify(text).events == 3


@pytest.mark.parametrize("buffer", range(1, 15))
@pytest.mark.parametrize(
    ("json_string", "ok"),
    [
        (b'"a\\ud83d\\ude00b"', True),
        (b'"\\uD83D\\uDE00"', True),
        (b'"\\\\ud800"', True),
        (b'"' + b"\\\\" * 20 + b'ud800"', True),
        (b'"\\\\\\ud800"', False),
        (b'"' + b"\\\\" * 20 + b'\\ud800"', False),
        (b'"x\\ud800"', False),
        (b'"\\udc00"', False),
        (b'"\\ud83d\\ud83d\\ude00"', False),
        (b'"\\ud83d\\ude00\\ude00"', False),
    ],
)
def test_the_surrogate_check_sees_across_reads(buffer, json_string, ok):
    reader = LimitedReader(io.BytesIO(b"[" + json_string * 3 + b"]"), buffer=buffer)

    def read_all() -> None:
        while reader.read(buffer):
            pass

    if ok:
        read_all()
    else:
        with pytest.raises(VerificationError, match="not I-JSON"):
            read_all()


# --- limits ------------------------------------------------------------------------------


class _HugeEventBundle(io.RawIOBase):
    """A bundle whose one event holds a string of ``filler`` bytes, made as it is read."""

    def __init__(self, filler: int) -> None:
        entries, latest, _ = build(1, KEY)
        text = _write(entries, latest)
        self.header = len(text[: text.index('"entries": [')].encode())
        self.consumed = 0
        self._pending = b""
        self._chunks = self._generate(text, filler)

    @staticmethod
    def _generate(text: str, filler: int):  # type: ignore[no-untyped-def]
        before, after = text.split('"Shop"')
        yield before.encode() + b'"'
        while filler > 0:
            yield b"x" * min(filler, 1 << 20)
            filler -= 1 << 20
        yield b'"' + after.encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if not self._pending:
            self._pending = next(self._chunks, b"")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.consumed += size
        return size


def test_a_50_mb_event_is_refused_early_in_small_memory():
    stream = _HugeEventBundle(50_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(VerificationError, match=r"entry 0: expected at most 1 MiB \(1048576 bytes\), got more"):
            bundle.verify_bundle(stream)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # It stopped within the entry's limit plus the parser's read-ahead, far from 50 MB...
    assert stream.consumed <= stream.header + MAX_ENTRY_BYTES + 3 * READ_BUFFER, stream.consumed
    # ...and kept little: yajl's own buffer is C memory (the benchmark reports the process's
    # peak RSS); what Python holds stays small.
    assert peak < 4_000_000, peak


def test_an_entry_within_the_limit_verifies():
    frontier = Frontier()
    event = events.new_event(
        index=0, type=events.PLATFORM_ADDED, at=START, recorded=START, platform=PLATFORM, data={"name": "x" * 1_000_000}
    )
    entries = [bundle.Entry(event, ledger.append(frontier, KEY, event).checkpoint)]
    text = _write(entries, entries[0].checkpoint or "")
    assert 1_000_000 < len(text.split("\n")[2]) < MAX_ENTRY_BYTES
    assert _verify(text).events == 1


def test_the_header_and_its_checkpoint_have_limits(good):
    big_checkpoint = json.loads(good.split("\n")[0] + '"entries": []}')["checkpoint"] + "x" * 70_000
    header = good.split("\n")[0]
    start = header.index('"checkpoint": ') + len('"checkpoint": ')
    text = header[:start] + json.dumps(big_checkpoint) + ",\n" + "\n".join(good.split("\n")[1:])
    with pytest.raises(VerificationError, match=r"bundle: expected a checkpoint of at most 64 KiB \(65536 bytes\)"):
        _verify(text)
    huge_origin = good.replace('"origin": "', '"origin": "' + "x" * 300_000, 1)
    with pytest.raises(VerificationError, match=r"bundle header: expected at most 128 KiB \(131072 bytes\)"):
        _verify(huge_origin)


# --- signatures: default mode and --all-signatures ---------------------------------------------


def _garbage_signature(note: str) -> str:
    head, _, signature = note.rpartition(" ")
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 1
    return head + " " + base64.b64encode(bytes(raw)).decode() + "\n"


def test_a_garbage_intermediate_signature_is_seen_only_with_all_signatures(ledger_of_n):
    """Documented: by default an intermediate checkpoint whose body matches the recomputed
    tree is not signature-checked (the newest checkpoint's signature covers the tree)."""
    entries, latest = ledger_of_n
    entries = [copy.copy(e) for e in entries]
    entries[3] = bundle.Entry(entries[3].event, _garbage_signature(entries[3].checkpoint or ""))
    text = _write(entries, latest)
    assert _verify(text).events == N
    with pytest.raises(VerificationError, match=r"checkpoint after event 3: note: the signature by .* does not verify"):
        _verify(text, all_signatures=True)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda note: note.split("\n\n")[0] + "\n", "no blank line"),
        (lambda note: note.split("\n\n")[0] + "\n\n", "no signature lines"),
        (lambda note: note.replace(KEY.name + " ", "someone-else ", 1), "no signature by"),
        (lambda note: note[:-10] + "\n", "not valid base64|too short|expected a 68-byte signature"),
        (lambda note: note + "junk\n", "malformed signature line"),
    ],
    ids=["no-signature-block", "no-signature-line", "other-key-only", "short-signature", "junk-line"],
)
def test_intermediate_notes_are_parsed_strictly_in_the_default_mode(ledger_of_n, change, reason):
    entries, latest = ledger_of_n
    entries = list(entries)
    entries[3] = bundle.Entry(entries[3].event, change(entries[3].checkpoint or ""))
    with pytest.raises(VerificationError, match=f"checkpoint after event 3: .*({reason})"):
        _verify(_write(entries, latest))


def test_a_wrong_intermediate_body_reports_the_signature_first_when_it_is_bad(ledger_of_n):
    entries, latest = ledger_of_n
    entries = list(entries)
    forged = Checkpoint(KEY.name, 4, merkle.leaf_hash(b"another history")).body()
    note = entries[3].checkpoint or ""
    entries[3] = bundle.Entry(entries[3].event, forged + note[note.index("\n\n") + 1 :])
    with pytest.raises(VerificationError, match=r"checkpoint after event 3: note: the signature by .* does not verify"):
        _verify(_write(entries, latest))


# --- held evidence -----------------------------------------------------------------------


def test_a_held_receipt_consistent_with_the_bundle_verifies(ledger_of_n, good):
    entries, _ = ledger_of_n
    held = _held(_receipt(entries, 5, 8), "receipt-5.json")
    report = _verify(good, held=[held])
    assert any("held receipt (receipt-5.json): its checkpoint of 8 events" in line for line in report.checks)
    assert "held receipt (receipt-5.json): event 5 is the same event in the bundle" in report.checks


def test_a_held_proof_and_a_held_checkpoint_verify(ledger_of_n, good):
    entries, latest = ledger_of_n
    proof = _receipt(entries, 2, 3)["proof"]
    report = _verify(good, held=[_held(proof, "p"), _held(entries[9].checkpoint or "", "c"), _held(latest, "l")])
    assert sum(line.startswith("held ") for line in report.checks) == 4


def test_a_held_checkpoint_from_a_forked_history_is_a_fork(ledger_of_n, good):
    other, _, _ = build(N, KEY)  # same key, other events (new nonces): another history
    held = _held(other[5].checkpoint or "", "checkpoint-6.txt")
    with pytest.raises(VerificationError) as failure:
        _verify(good, held=[held])
    message = str(failure.value)
    ours = Checkpoint.parse_body((ledger_of_n[0][5].checkpoint or "").split("\n\n")[0] + "\n")
    theirs = Checkpoint.parse_body((other[5].checkpoint or "").split("\n\n")[0] + "\n")
    assert message == (
        f"the bundle's tree of 6 events has root {base64.b64encode(ours.root).decode()}, but the checkpoint you hold "
        f"for 6 events (checkpoint-6.txt) has root {base64.b64encode(theirs.root).decode()}: "
        "this is another history (a fork)"
    )


def test_a_held_receipt_from_a_forked_history_names_the_event(good):
    other, _, _ = build(N, KEY)
    with pytest.raises(
        VerificationError,
        match=r"the bundle's event 5 differs from the event 5 in the receipt you hold \(r\.json\): .*a fork",
    ):
        _verify(good, held=[_held(_receipt(other, 5, 6), "r.json")])


def test_a_held_checkpoint_larger_than_the_bundle_is_a_rollback(ledger_of_n):
    entries, latest = ledger_of_n
    older = _write(entries[:8], entries[7].checkpoint or "")
    with pytest.raises(
        VerificationError, match=r"^rolled back: you hold a checkpoint of 12 events \(latest\), this bundle has only 8$"
    ):
        _verify(older, held=[_held(latest, "latest")])


def test_a_held_checkpoint_by_another_key_is_refused(ledger_of_n):
    thief = Signer(KEY.name, bytes([99]) * 32)
    _, latest, _ = build(3, thief)
    with pytest.raises(VerificationError, match="held file stolen: note: no signature by"):
        _held(latest, "stolen")


def test_a_held_checkpoint_opened_with_another_key_does_not_pin_this_bundle(good):
    thief = Signer(KEY.name, bytes([99]) * 32)
    _, latest, _ = build(3, thief)
    held = open_held(latest.encode(), thief.verifier, name="theirs")
    with pytest.raises(VerificationError, match=r"the checkpoint you hold \(theirs\) was checked with the key"):
        _verify(good, held=[held])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda e, latest: latest + "trailing\n", "malformed signature line"),
        (lambda e, latest: latest + "\n", "no signature lines"),
        (lambda e, latest: json.dumps(_receipt(e, 5, 8))[:-1] + ', "format": "x"}', "'format' appears twice"),
        (lambda e, latest: json.dumps({**_receipt(e, 5, 8), "note": "mine"}), r"unknown member\(s\) \['note'\]"),
        (lambda e, latest: json.dumps(_receipt(e, 5, 8)) + " {}", "trailing data"),
        (lambda e, latest: _receipt(e, 5, 8)["proof"] + "x\n", "malformed signature line"),
        (lambda e, latest: latest + " " * (1 << 20), r"expected at most 1 MiB"),
    ],
    ids=[
        "checkpoint-junk",
        "checkpoint-blank-line",
        "receipt-duplicate",
        "receipt-unknown",
        "receipt-trailing",
        "proof-junk",
        "too-large",
    ],
)
def test_held_files_are_parsed_strictly(ledger_of_n, make, reason):
    entries, latest = ledger_of_n
    with pytest.raises(VerificationError, match=f"held file h: .*{reason}"):
        _held(make(entries, latest), "h")


def test_a_receipt_is_compared_with_a_held_checkpoint_only_at_the_same_size(ledger_of_n):
    entries, latest = ledger_of_n
    receipt = _receipt(entries, 5, N)
    same = receipts.verify_receipt(receipt, expected_key=KEY.verifier, held=[_held(latest, "latest")])
    assert f"held checkpoint (latest): same tree size ({N}) and same root" in same.checks
    smaller = receipts.verify_receipt(receipt, held=[_held(entries[7].checkpoint or "", "eight")])
    assert any("cannot be compared with this one of 12 events without a consistency proof" in c for c in smaller.checks)
    other, other_latest, _ = build(N, KEY)
    with pytest.raises(
        VerificationError, match=r"the receipt's tree of 12 events has root .* you hold for 12 events .*a fork"
    ):
        receipts.verify_receipt(receipt, held=[_held(other_latest, "other")])
    with pytest.raises(
        VerificationError, match="the receipt's event 5 differs from the event 5 in the receipt you hold"
    ):
        receipts.verify_receipt(receipt, held=[_held(_receipt(other, 5, 9), "other-receipt")])


# --- receipts: strict --------------------------------------------------------------------


def test_receipt_members_are_checked(ledger_of_n):
    entries, _ = ledger_of_n
    grant = _receipt(entries, 5, N)
    assert {"dpv", "kantara"} <= set(grant)
    bare = {k: v for k, v in grant.items() if k not in ("dpv", "kantara")}
    assert receipts.verify_receipt(bare, expected_key=KEY.verifier).kind == "receipt"
    added = _receipt(entries, 0, N)  # platform.added: no renderings
    with pytest.raises(VerificationError, match=r"a platform\.added event has no dpv rendering"):
        receipts.verify_receipt({**added, "dpv": grant["dpv"]})
    with pytest.raises(VerificationError, match=r"unknown member\(s\) \['signature'\]"):
        receipts.verify_receipt({**grant, "signature": "x"})
    with pytest.raises(VerificationError, match=r"missing \['proof'\]"):
        receipts.verify_receipt({k: v for k, v in grant.items() if k != "proof"})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"format": "a", "format": "b"}', "receipt: the member name 'format' appears twice"),
        ('{"format": "a"} x', "receipt: expected the end of the file after the JSON value"),
        ('{"format": NaN}', "receipt: expected JSON numbers, got NaN"),
        ('{"format": "\\ud800"}', "receipt: not I-JSON: a string holds a lone surrogate"),
        ("[" * 5000 + "]" * 5000, "receipt: expected at most 32 nested"),
        ('{"a": ' * 40 + "1" + "}" * 40, "receipt: expected at most 32 nested"),
        ("[]", "receipt: expected format 'consent-ledger-receipt/v1' in a JSON object, got list"),
        (" " * (1 << 20) + "{}", r"receipt: expected at most 1 MiB \(1048576 bytes\), got 1048578 bytes"),
    ],
)
def test_receipt_files_are_parsed_strictly(text, reason):
    with pytest.raises(VerificationError, match=reason):
        receipts.parse_receipt(text.encode())


def test_proof_hash_lines_must_be_hashes(ledger_of_n):
    entries, _ = ledger_of_n
    proof = _receipt(entries, 5, N)["proof"]
    head, _, note = proof.partition("\n\n")
    changed = "\n".join([*head.split("\n")[:3], "AAAA"]) + "\n\n" + note
    with pytest.raises(VerificationError, match="proof: line 4: expected a 32-byte hash, got 3 bytes"):
        receipts.verify_tlog_proof(changed, key=KEY.verifier, pinned=True)


# --- witnesses ---------------------------------------------------------------------------

WITNESS = Cosigner("witness.example/one", bytes([1]) * 32)
SECOND = Cosigner("witness.example/two", bytes([2]) * 32)


def _cosigned(latest: str, *cosigners: Cosigner) -> str:
    body = latest[: latest.index("\n\n") + 1]
    return add_cosignatures(latest, "".join(c.cosign(body, TIME) for c in cosigners))


@pytest.fixture(scope="module")
def witnessed(ledger_of_n) -> str:
    entries, latest = ledger_of_n
    return _write(entries, _cosigned(latest, WITNESS))


def test_a_cosigned_newest_checkpoint_verifies_and_reports_the_time(witnessed):
    report = _verify(witnessed, witnesses=[WITNESS.key], min_cosignatures=1)
    assert [c.timestamp for c in report.cosignatures] == [TIME]
    assert (
        "witness witness.example/one cosigned it at 2026-01-05T09:00:00Z (UTC): a time vouched for by someone "
        "other than the ledger's owner"
    ) in report.checks


def test_too_few_cosignatures_are_refused(witnessed):
    with pytest.raises(
        VerificationError,
        match=r"the newest checkpoint \(the bundle's header\): expected at least 2 cosignature\(s\) from the 2 given witness\(es\), found 1",
    ):
        _verify(witnessed, witnesses=[WITNESS.key, SECOND.key], min_cosignatures=2)


def test_a_tampered_cosignature_is_refused(ledger_of_n):
    entries, latest = ledger_of_n
    cosigned = _cosigned(latest, WITNESS)
    tampered = _garbage_signature(cosigned)  # the last line: the witness's
    assert tampered.startswith(latest)
    with pytest.raises(VerificationError, match=r"cosignature by witness\.example/one does not verify"):
        _verify(_write(entries, tampered), witnesses=[WITNESS.key], min_cosignatures=1)


def test_more_cosignatures_than_witnesses_is_a_caller_error(witnessed):
    with pytest.raises(ValueError, match="expected a minimum of cosignatures from 0 to 1, got 2"):
        _verify(witnessed, witnesses=[WITNESS.key], min_cosignatures=2)


def test_a_receipt_checkpoint_needs_its_cosignatures_too(ledger_of_n):
    entries, latest = ledger_of_n
    receipt = _receipt(entries, 5, N)
    with pytest.raises(
        VerificationError, match=r"the receipt's checkpoint: expected at least 1 cosignature\(s\).*found 0"
    ):
        receipts.verify_receipt(receipt, witnesses=[WITNESS.key], min_cosignatures=1)
    receipt["proof"] = receipt["proof"].replace(latest, _cosigned(latest, WITNESS))
    report = receipts.verify_receipt(receipt, witnesses=[WITNESS.key], min_cosignatures=1)
    assert len(report.cosignatures) == 1


# --- the command line --------------------------------------------------------------------


def _run(*args: str | Path):
    return CliRunner().invoke(verify_command, [str(a) for a in args])


@pytest.fixture
def files(tmp_path, ledger_of_n, witnessed) -> dict[str, Path]:
    entries, latest = ledger_of_n
    other, _, _ = build(N, KEY)
    made = {
        "bundle": _write(entries, latest),
        "witnessed": witnessed,
        "receipt": json.dumps(_receipt(entries, 5, 8)),
        "fork": other[5].checkpoint or "",
        "latest": latest,
        "older": _write(entries[:8], entries[7].checkpoint or ""),
        "intermediate": _write(
            [
                *entries[:3],
                bundle.Entry(entries[3].event, _garbage_signature(entries[3].checkpoint or "")),
                *entries[4:],
            ],
            latest,
        ),
    }
    paths = {}
    for name, text in made.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_cli_held_ok_and_fork(files):
    ok = _run(files["bundle"], "--key", str(KEY.verifier), "--held", files["receipt"], "--held", files["latest"])
    assert ok.exit_code == 0, ok.output
    assert "held receipt (receipt): event 5 is the same event in the bundle" in ok.stdout
    fork = _run(files["bundle"], "--key", str(KEY.verifier), "--held", files["fork"])
    assert fork.exit_code == 1
    assert fork.stderr.startswith("FAILED: the bundle's tree of 6 events has root ")
    assert "this is another history (a fork)" in fork.stderr


def test_cli_held_without_key_uses_the_bundles_and_says_so(files):
    result = _run(files["bundle"], "--held", files["receipt"])
    assert result.exit_code == 0, result.output
    assert "key not pinned" in result.stdout


def test_cli_rollback(files):
    result = _run(files["older"], "--key", str(KEY.verifier), "--held", files["latest"])
    assert result.exit_code == 1
    assert result.stderr == "FAILED: rolled back: you hold a checkpoint of 12 events (latest), this bundle has only 8\n"


def test_cli_held_with_a_receipt_to_verify(files):
    result = _run(files["receipt"], "--key", str(KEY.verifier), "--held", files["latest"])
    assert result.exit_code == 0, result.output
    assert "cannot be compared with this one of 8 events without a consistency proof" in result.stdout


def test_cli_witnesses(files):
    ok = _run(files["witnessed"], "--key", str(KEY.verifier), "--witness", str(WITNESS.key))
    assert ok.exit_code == 0, ok.output
    assert (
        "1 of the 1 given witnesses cosigned the newest checkpoint (the bundle's header) (at least 1 required)"
        in ok.stdout
    )
    assert "witness witness.example/one cosigned it at 2026-01-05T09:00:00Z (UTC)" in ok.stdout
    none = _run(files["bundle"], "--key", str(KEY.verifier), "--witness", str(WITNESS.key))
    assert none.exit_code == 1 and "found 0" in none.stderr and none.stderr.startswith("FAILED: ")
    two = _run(
        files["witnessed"], "--witness", str(WITNESS.key), "--witness", str(SECOND.key), "--min-cosignatures", "2"
    )
    assert (
        two.exit_code == 1 and "expected at least 2 cosignature(s) from the 2 given witness(es), found 1" in two.stderr
    )
    some = _run(files["witnessed"], "--witness", str(WITNESS.key), "--witness", str(SECOND.key))
    assert some.exit_code == 0, some.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--witness", "not-a-key"], "Invalid value for '--witness': witness key: expected name+keyid+base64"),
        (["--witness", str(KEY.verifier)], "expected a cosignature/v1 key (type 0x04"),
        (["--key", str(WITNESS.key)], "Invalid value for '--key': verifier key: expected an Ed25519 key"),
        (
            ["--min-cosignatures", "1"],
            "--min-cosignatures 1 asks for more cosignatures than the 0 --witness key(s) given",
        ),
        (["--witness", str(WITNESS.key), "--min-cosignatures", "2"], "than the 1 --witness key(s) given"),
        (["--min-cosignatures", "-1"], "Invalid value for '--min-cosignatures'"),
        (["--held", "/nonexistent/file"], "Invalid value for '--held'"),
    ],
)
def test_cli_usage_errors_exit_2(files, args, message):
    result = _run(files["bundle"], *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_all_signatures(files):
    default = _run(files["intermediate"], "--key", str(KEY.verifier))
    assert default.exit_code == 0, default.output
    assert "signatures (default mode)" in default.stdout
    strict = _run(files["intermediate"], "--key", str(KEY.verifier), "--all-signatures")
    assert strict.exit_code == 1
    assert strict.stderr.startswith("FAILED: checkpoint after event 3: note: the signature by ")
    clean = _run(files["bundle"], "--key", str(KEY.verifier), "--all-signatures")
    assert clean.exit_code == 0 and f"all {N} checkpoints' signatures verified" in clean.stdout


def test_cli_refuses_trailing_data_and_oversized_files(files, tmp_path):
    path = files["bundle"]
    path.write_text(path.read_text() + "{}")
    result = _run(path, "--key", str(KEY.verifier))
    assert result.exit_code == 1 and "trailing data, or a second JSON value" in result.stderr
    huge = tmp_path / "huge.json"
    huge.write_text('{"padding": "' + "x" * (2 << 20) + '", "format": "consent-ledger-receipt/v1"}')
    result = _run(huge)
    assert result.exit_code == 1 and "the file's format member: expected at most 1 MiB" in result.stderr


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("platform", "6356C0D8-76DA-4487-93A6-90266EA7AC24"),
        ("platform", "6356c0d876da448793a690266ea7ac24"),
        ("platform", "{6356c0d8-76da-4487-93a6-90266ea7ac24}"),
        ("platform", "urn:uuid:6356c0d8-76da-4487-93a6-90266ea7ac24"),
        ("nonce", "0123456789abcdef0123456789abcdef\n"),
        ("at", "2026-11-02T09:30:00Z\n"),
        ("at", "２026-11-02T09:30:00Z"),
        ("at", "2026-02-30T09:30:00Z"),
    ],
)
def test_an_event_in_another_spelling_is_refused(member, value):
    event = events.new_event(
        index=0,
        type=events.PLATFORM_ADDED,
        at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        recorded=datetime(2026, 11, 2, 9, 31, tzinfo=UTC),
        platform=uuid.UUID("6356c0d8-76da-4487-93a6-90266ea7ac24"),
    )
    events.check_event(event)  # as the app writes it
    event[member] = value
    with pytest.raises(VerificationError):
        events.check_event(event)
