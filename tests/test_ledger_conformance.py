"""The Merkle tree and signed notes against published test vectors (../shared/data)."""

import base64
import json

import pytest

from consent.errors import VerificationError
from consent.ledger import merkle
from consent.ledger.note import Signer, VerifierKey, open_note
from tests.conftest import shared_files, shared_path

pytestmark = pytest.mark.shared


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_root_vectors_for_sizes_0_to_8():
    vectors = json.loads(shared_path("merkle-testdata", "root-vectors.json").read_text())
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in vectors["leaf_inputs_hex"]]
    expected = vectors["root_hashes_hex_by_size"]
    frontier = merkle.Frontier()
    assert merkle.root([]).hex() == expected[0] == frontier.root().hex()
    for size in range(1, len(leaves) + 1):
        frontier.append(leaves[size - 1])
        assert merkle.root(leaves[:size]).hex() == expected[size], size
        assert frontier.root().hex() == expected[size], size


@pytest.mark.parametrize("name", shared_files("merkle-testdata", "testdata", "inclusion"))
def test_inclusion_case(name):
    case = json.loads(shared_path("merkle-testdata", "testdata", "inclusion", name).read_text())
    args = (
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


def _placeholder(case: dict) -> bool:
    """Cases whose roots are not real 32-byte hashes (the reference checks only shape)."""
    return any(len(_b64(case[k])) != merkle.HASH_SIZE for k in ("root1", "root2") if case.get(k))


@pytest.mark.parametrize("name", shared_files("merkle-testdata", "testdata", "consistency"))
def test_consistency_case(name):
    case = json.loads(shared_path("merkle-testdata", "testdata", "consistency", name).read_text())
    args = (
        case["size1"],
        case["size2"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root1"] or ""),
        _b64(case["root2"] or ""),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*args)
    elif _placeholder(case):
        # A right verifier also refuses a root that is not a 32-byte hash (see the README).
        with pytest.raises(VerificationError, match="expected a 32-byte hash"):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_every_case_was_read():
    inclusion = shared_files("merkle-testdata", "testdata", "inclusion")
    consistency = shared_files("merkle-testdata", "testdata", "consistency")
    shared_path("merkle-testdata")
    assert len(inclusion) > 20 and len(consistency) > 20


def test_c2sp_signed_note_example():
    example = json.loads(shared_path("c2sp", "signed-note-example.json").read_text())
    key = VerifierKey.parse(example["verifier_key"])
    assert key.name == example["key_name"]
    assert f"{key.key_id:08x}" == example["key_id_hex"]
    assert str(key) == example["verifier_key"]
    assert open_note(example["note"], key) == example["verified_text"]


def test_c2sp_example_fails_when_any_byte_of_the_text_changes():
    example = json.loads(shared_path("c2sp", "signed-note-example.json").read_text())
    key = VerifierKey.parse(example["verifier_key"])
    note = example["note"]
    text_end = len(example["verified_text"])
    for position in range(text_end - 1):  # the text, up to its final newline
        changed = note[:position] + ("X" if note[position] != "X" else "Y") + note[position + 1 :]
        with pytest.raises(VerificationError):
            open_note(changed, key)


def test_our_signer_writes_notes_the_example_format_accepts():
    signer = Signer("example.com/ours", bytes(range(32)))
    note = signer.sign("hello\n")
    assert note.startswith("hello\n\n\u2014 example.com/ours ")
    assert open_note(note, signer.verifier) == "hello\n"
    assert VerifierKey.parse(str(signer.verifier)) == signer.verifier
