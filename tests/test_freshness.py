"""The browser's copy of the newest checkpoint: the JSON it checks, and the server's refusal
to sign on top of a ledger that the checkpoint a browser holds shows rolled back or forked."""

from __future__ import annotations

import base64
import hashlib
import html
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consent import db
from consent.errors import IntegrityAlarm, VerificationError
from consent.ledger import origin_for
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.cosignature import Cosigner
from consent.ledger.merkle import verify_consistency
from consent.ledger.note import Signer, VerifierKey
from consent.models import LedgerCheckpoint
from consent.services import accounts, freshness
from consent.services.accounts import ActiveLogin
from consent.vocabulary import DPV
from tests.conftest import PASSWORD, Auth, count_rows

SHOP = {
    "name": "Shopwise Online",
    "website": "https://shopwise.example",
    "email": "privacy@shopwise.example",
    "address": "1 Example Street\nBerlin",
    "country": "DE",
    "categories": [],
}
#: Someone else's ledger.
ANOTHER = origin_for(uuid.UUID(int=1))
PURPOSES = [
    "DirectMarketing",
    "ServiceUsageAnalytics",
    "PersonalisedAdvertising",
    "Marketing",
    "ServicePersonalisation",
]


def add_platform(auth: Auth) -> str:
    response = auth.post("/platforms/new", SHOP)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return str(response.headers["Location"].rsplit("/", 1)[1])


def grant(auth: Auth, platform_id: str, term: str, **extra: str):  # type: ignore[no-untyped-def]
    data = {"purpose": DPV + term, "decision": "grant", **extra}
    return auth.post(f"/platforms/{platform_id}", data, action=f"/platforms/{platform_id}/uses")


def log_in(app: Flask) -> ActiveLogin:
    settings = app.extensions["consent.accounts"]
    return accounts.log_in(db.session(), settings, email="ada@example.org", password=PASSWORD)


def person_signer(login: ActiveLogin) -> Signer:
    """The person's own signing key: what a forged note needs to pass as theirs."""
    return Signer(origin_for(login.user.id), login.vault.read_bytes(login.user, "signing_private_key"))


def stored_notes(app: Flask) -> dict[int, str]:
    with app.app_context():
        rows = db.session().execute(sa.select(LedgerCheckpoint.size, LedgerCheckpoint.note))
        return {size: note for size, note in rows}


@pytest.fixture
def ledger_of_six(auth: Auth) -> str:
    """A person whose ledger holds six events: a platform and five uses."""
    auth.register()
    platform_id = add_platform(auth)
    for term in PURPOSES:
        assert grant(auth, platform_id, term).status_code == 302
    return platform_id


# --- GET /ledger/checkpoint.json --------------------------------------------------------------


def test_checkpoint_json_of_an_empty_ledger_pins_the_key(auth: Auth, client: FlaskClient, app: Flask) -> None:
    auth.register()
    response = client.get("/ledger/checkpoint.json")
    assert response.status_code == 200
    with app.app_context():
        key = person_signer(log_in(app)).verifier
    assert response.get_json() == {"origin": key.name, "key": str(key), "checkpoint": None, "size": 0, "proof": []}
    assert key.name.startswith("consent-ledger/")


def test_checkpoint_json_proves_each_held_size_a_prefix_of_the_newest(
    ledger_of_six: str, client: FlaskClient, app: Flask
) -> None:
    notes = stored_notes(app)
    assert sorted(notes) == [1, 2, 3, 4, 5, 6]
    for held in range(9):
        response = client.get(f"/ledger/checkpoint.json?from={held}")
        assert response.status_code == 200
        answer = response.get_json()
        assert set(answer) == {"origin", "key", "checkpoint", "size", "proof"}
        key = VerifierKey.parse(answer["key"])
        assert key.name == answer["origin"]
        newest = open_checkpoint(answer["checkpoint"], key)
        assert (answer["checkpoint"], answer["size"], newest.size) == (notes[6], 6, 6)
        proof = [base64.b64decode(h, validate=True) for h in answer["proof"]]
        if held in (0, 6, 7, 8):  # nothing held, the same size, or a rollback the browser sees itself
            assert proof == []
            continue
        assert proof, f"from {held}: expected a proof"
        root = open_checkpoint(notes[held], key).root
        verify_consistency(held, 6, proof, root, newest.root)
        with pytest.raises(VerificationError):
            verify_consistency(held, 6, proof, hashlib.sha256(b"another history").digest(), newest.root)


@pytest.mark.parametrize("held", ["-1", "x", "1.5", "", " 1", "0x1", "\u00b2", "1" * 21])
def test_checkpoint_json_refuses_a_from_that_is_not_a_whole_number(
    ledger_of_six: str, client: FlaskClient, held: str
) -> None:
    assert client.get("/ledger/checkpoint.json", query_string={"from": held}).status_code == 400


def test_checkpoint_json_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/ledger/checkpoint.json?from=0")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_checkpoint_json_is_a_read(ledger_of_six: str, client: FlaskClient, app: Flask) -> None:
    before = count_rows(app)
    assert client.get("/ledger/checkpoint.json?from=2").status_code == 200
    assert count_rows(app) == before


# --- freshness.check_held ---------------------------------------------------------------------


def test_every_checkpoint_the_ledger_signed_is_held_without_complaint(ledger_of_six: str, app: Flask) -> None:
    notes = stored_notes(app)
    with app.app_context():
        login = log_in(app)
        for note in notes.values():
            freshness.check_held(db.session(), login, note)


def test_a_witness_cosignature_on_the_held_note_is_ignored(ledger_of_six: str, app: Flask) -> None:
    note = stored_notes(app)[4]
    body = note[: note.index("\n\n") + 1]
    cosigned = note + Cosigner.generate("witness.example/w1").cosign(body, 1_760_000_000)
    with app.app_context():
        freshness.check_held(db.session(), log_in(app), cosigned)


def test_a_held_checkpoint_larger_than_the_ledger_is_a_rollback(ledger_of_six: str, app: Flask) -> None:
    with app.app_context():
        login = log_in(app)
        # The browser saw 9 events: a later ledger, of which the server kept only 6.
        held = Checkpoint(origin_for(login.user.id), 9, hashlib.sha256(b"later").digest()).sign(person_signer(login))
        with pytest.raises(IntegrityAlarm) as alarm:
            freshness.check_held(db.session(), login, held)
    assert alarm.value.problems == [("rolled_back", "your browser holds a checkpoint of 9 events, the server has 6")]


@pytest.mark.parametrize("size", [1, 4, 6])
def test_a_held_checkpoint_of_another_history_is_a_fork(ledger_of_six: str, app: Flask, size: int) -> None:
    with app.app_context():
        login = log_in(app)
        other = Checkpoint(origin_for(login.user.id), size, hashlib.sha256(b"other").digest())
        with pytest.raises(IntegrityAlarm) as alarm:
            freshness.check_held(db.session(), login, other.sign(person_signer(login)))
    ((kind, detail),) = alarm.value.problems
    assert kind == "forked"
    assert detail == f"the first {size} events stored are not the ones your browser's checkpoint signs"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda login, note: Signer(origin_for(login.user.id), bytes(32)).sign(_body(note)), id="other-key"
        ),
        pytest.param(lambda login, note: note.replace("\n6\n", "\n5\n", 1), id="altered-size"),
        pytest.param(lambda login, note: _body(note) + "\n", id="unsigned"),
        pytest.param(lambda login, note: "not a note", id="garbage"),
        pytest.param(
            lambda login, note: Checkpoint(ANOTHER, 6, b"\0" * 32).sign(Signer(ANOTHER, bytes(32))),
            id="another-ledger",
        ),
    ],
)
def test_a_held_note_that_does_not_verify_under_the_persons_key_is_refused(ledger_of_six, app, forge) -> None:  # type: ignore[no-untyped-def]
    note = stored_notes(app)[6]
    with app.app_context():
        login = log_in(app)
        with pytest.raises(VerificationError):
            freshness.check_held(db.session(), login, forge(login, note))


def _body(note: str) -> str:
    return note[: note.index("\n\n") + 1]


def test_a_held_note_over_64_kib_is_refused_unread(ledger_of_six: str, app: Flask) -> None:
    note = stored_notes(app)[6]
    padded = note + "x" * (freshness.MAX_HELD_NOTE - len(note) + 1)
    with app.app_context():
        login = log_in(app)
        with pytest.raises(VerificationError, match="at most 65536 bytes"):
            freshness.check_held(db.session(), login, padded)


# --- the hook: every POST carrying a held checkpoint ------------------------------------------


def test_a_decision_posted_with_a_rolled_back_held_note_records_nothing(
    ledger_of_six: str, auth: Auth, app: Flask
) -> None:
    with app.app_context():
        login = log_in(app)
        held = Checkpoint(origin_for(login.user.id), 9, hashlib.sha256(b"later").digest()).sign(person_signer(login))
    before = count_rows(app)
    response = grant(auth, ledger_of_six, "ResearchAndDevelopment", held_checkpoint=held)
    assert response.status_code == 409
    # The alarm page names the finding (every page carries the script's own warning texts).
    assert "your browser holds a checkpoint of 9 events, the server has 6" in response.get_data(as_text=True)
    after = count_rows(app)
    assert (after["ledger_entries"], after["ledger_checkpoints"]) == (
        before["ledger_entries"],
        before["ledger_checkpoints"],
    )


def test_a_decision_posted_with_a_forked_held_note_records_nothing(ledger_of_six: str, auth: Auth, app: Flask) -> None:
    with app.app_context():
        login = log_in(app)
        held = Checkpoint(origin_for(login.user.id), 3, hashlib.sha256(b"other").digest()).sign(person_signer(login))
    before = count_rows(app)["ledger_entries"]
    response = grant(auth, ledger_of_six, "ResearchAndDevelopment", held_checkpoint=held)
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert "the first 3 events stored are not the ones your browser's checkpoint signs" in page
    assert count_rows(app)["ledger_entries"] == before


@pytest.mark.parametrize("held", ["not a note", "x" * (64 * 1024 + 1)], ids=["unverified", "oversize"])
def test_a_decision_posted_with_a_held_note_that_is_not_the_persons_is_refused(
    ledger_of_six: str, auth: Auth, app: Flask, held: str
) -> None:
    before = count_rows(app)["ledger_entries"]
    response = grant(auth, ledger_of_six, "ResearchAndDevelopment", held_checkpoint=held)
    assert response.status_code == 400
    assert count_rows(app)["ledger_entries"] == before


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf-as-browsers-post-it"])
def test_a_decision_posted_with_a_consistent_held_note_is_recorded(
    ledger_of_six: str, auth: Auth, app: Flask, newline: str
) -> None:
    held = stored_notes(app)[3].replace("\n", newline)
    response = grant(auth, ledger_of_six, "ResearchAndDevelopment", held_checkpoint=held)
    assert response.status_code == 302
    assert count_rows(app)["ledger_entries"] == 7


def test_a_decision_posted_without_a_held_note_is_recorded_as_before(
    ledger_of_six: str, auth: Auth, app: Flask
) -> None:
    assert grant(auth, ledger_of_six, "ResearchAndDevelopment").status_code == 302
    assert count_rows(app)["ledger_entries"] == 7


def test_logging_out_works_whatever_the_browser_holds(ledger_of_six: str, auth: Auth, client: FlaskClient) -> None:
    response = auth.post("/dashboard", {"held_checkpoint": "not a note"}, action="/logout")
    assert response.status_code == 302
    assert client.get("/ledger/checkpoint.json").status_code == 302  # logged out


def test_a_held_note_is_not_read_from_someone_not_logged_in(client: FlaskClient, auth: Auth) -> None:
    response = auth.post("/login", {"email": "nobody@example.org", "password": PASSWORD, "held_checkpoint": "x"})
    # The login form's own answer, not the 400 of a held note that does not verify.
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)


def test_the_csrf_check_comes_before_the_held_note_is_read(ledger_of_six: str, client: FlaskClient) -> None:
    response = client.post(f"/platforms/{ledger_of_six}/uses", data={"held_checkpoint": "not a note"})
    assert response.status_code == 400
    assert "This form has expired or did not come from this site." in response.get_data(as_text=True)


def test_only_pages_of_someone_logged_in_carry_the_check(auth: Auth, client: FlaskClient, app: Flask) -> None:
    assert 'id="ledger-freshness"' not in client.get("/login").get_data(as_text=True)
    auth.register()
    page = client.get("/dashboard").get_data(as_text=True)
    with app.app_context():
        origin = origin_for(log_in(app).user.id)
    assert f'data-origin="{origin}"' in page
    assert 'data-endpoint="/ledger/checkpoint.json"' in page
    assert (
        'data-rolled-back="This ledger was rolled back: your browser saw more events in it than the server now shows (your browser: {held}, the server: {now})."'
        in page
    )
    assert '<script src="/static/freshness.js" defer></script>' in page
