"""An operator with write access to the database tries to forge a person's history.

Each attack is made the way such an operator would: straight in the database (Core
statements on their own connection, no app code), between two of the person's requests.
Each must end in an alarm that names what is wrong, and nothing recorded or signed on top.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from consent import db
from consent.errors import IntegrityAlarm, VerificationError
from consent.ledger import bundle, receipts
from consent.ledger import events as ledger_events
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.merkle import Frontier
from consent.ledger.note import Signer, VerifierKey
from consent.models import LedgerCheckpoint, LedgerEntry, LedgerHead, Platform, Request, Use, User
from consent.services import accounts, integrity, ledger, platforms
from tests.conftest import PASSWORD, Auth
from tests.test_platforms import add_platform, add_use, decide, use_ids
from tests.test_requests import post_letter
from tests.test_witness_flow import backup, restore


@pytest.fixture
def person(auth: Auth) -> Auth:
    auth.register()
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "1 Street\nLondon", "country": "GB"})
    return auth


def _login(app: Any) -> accounts.ActiveLogin:
    settings = app.extensions["consent.accounts"]
    return accounts.log_in(db.session(), settings, email="ada@example.org", password=PASSWORD)


def operator(app: Any, *statements: sa.Executable) -> None:
    """What an operator with write access does: statements on their own connection."""
    with app.app_context(), db.engine().begin() as conn:
        for statement in statements:
            conn.execute(statement)


def ledger_rows(app: Any) -> tuple[int, int, int]:
    with app.app_context(), db.engine().connect() as conn:
        count = lambda table: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()  # noqa: E731
        head = conn.execute(sa.select(LedgerHead.__table__.c.size)).scalar_one()
        return count(LedgerEntry.__table__), count(LedgerCheckpoint.__table__), head


def assert_alarm(response: Any, *phrases: str) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 409, page[:2000]
    assert 'id="integrity-alarm"' in page and "Nothing was recorded or signed." in page
    for phrase in phrases:
        assert phrase in page, phrase
    return page


def _token(client: Any) -> str:
    """A CSRF token from the alarm page's own forms (every page shows the alarm)."""
    page = client.get("/ledger").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _withdraw_is_refused(app: Any, person: Auth, use_id: str) -> None:
    """The decision is refused with the alarm, and the ledger does not grow."""
    before = ledger_rows(app)
    token = person.client.get("/dashboard")
    assert token.status_code == 409  # the page that would carry the button shows the alarm
    with app.app_context():
        s = db.session()
        login = _login(app)
        with pytest.raises(IntegrityAlarm):
            platforms.decide(s, login, uuid.UUID(use_id), "withdraw")
    assert ledger_rows(app) == before


def test_a_swapped_public_key_stops_every_ledger_action(person, app, client, tmp_path):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    with app.app_context():
        real_key = ledger.verifier_key(_login(app))
    # The operator puts their own key in place and re-signs every stored checkpoint with it.
    theirs = Ed25519PrivateKey.generate()
    signer = Signer(real_key.name, theirs.private_bytes_raw())
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(sa.update(User.__table__).values(signing_public_key=theirs.public_key().public_bytes_raw()))
        for size, note in conn.execute(sa.select(LedgerCheckpoint.__table__.c.size, LedgerCheckpoint.__table__.c.note)):
            body = note[: note.index("\n\n") + 1]
            conn.execute(
                sa.update(LedgerCheckpoint.__table__)
                .where(LedgerCheckpoint.__table__.c.size == size)
                .values(note=Checkpoint.parse_body(body).sign(signer))
            )
    assert_alarm(client.get("/ledger"), "is not your key")
    assert_alarm(client.get("/platforms"), "is not your key")
    _withdraw_is_refused(app, person, use_id)
    # The export names the key the sealed private key makes, not the stored copy, so the
    # operator's re-signed checkpoints fail against it.
    export = client.get("/ledger/export.json")
    assert json.loads(export.data)["verifier_key"] == str(real_key)
    path = tmp_path / "export.json"
    path.write_bytes(export.data)
    export.close()
    with path.open("rb") as f, pytest.raises(VerificationError, match=r"does not verify|no signature"):
        bundle.verify_bundle(f, expected_key=real_key)
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert not check.ok and "public key stored for this account" in check.problems[0]


def test_a_use_moved_to_another_platform_is_found_before_anything_is_signed(person, app, client):
    shop = add_platform(person)
    spam = add_platform(person, name="SpamCorp", email="sales@spam.example")
    add_use(person, shop, "Marketing")
    use_id = use_ids(app, shop)["Marketing"]
    operator(app, sa.update(Use.__table__).where(Use.__table__.c.id == uuid.UUID(use_id)).values(platform_id=uuid.UUID(spam)))
    page = assert_alarm(client.get(f"/platforms/{spam}"), "A record was moved to another platform or request.")
    assert f"uses:{use_id} was moved from {shop} to {spam}" in page
    _withdraw_is_refused(app, person, use_id)


def _granted_state_written_back_after_a_withdrawal(person: Auth, app: Any) -> tuple[str, str]:
    """The operator writes the use's state of before the withdrawal back: (platform, use)."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    table = Use.__table__
    with app.app_context(), db.engine().connect() as conn:
        granted = conn.execute(sa.select(table.c.state).where(table.c.id == uuid.UUID(use_id))).scalar_one()
    decide(person, use_id, "withdraw")
    operator(app, sa.update(table).where(table.c.id == uuid.UUID(use_id)).values(state=granted))
    return platform_id, use_id


def test_an_older_ciphertext_written_back_is_found(person, app, client):
    platform_id, use_id = _granted_state_written_back_after_a_withdrawal(person, app)
    page = assert_alarm(client.get(f"/platforms/{platform_id}"), "A value was replaced")
    assert "Granted" not in page
    _withdraw_is_refused(app, person, use_id)
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert not check.ok and check.problems == []  # the signed ledger itself is intact
    assert ("replayed", f"uses:{use_id}: state is not the value the app last wrote") in check.records
    page = client.post("/ledger/verify", data={"csrf_token": _token(client)}).get_data(as_text=True)
    assert "Your signed ledger is intact, but the records this server keeps beside it were changed" in page
    assert "Rebuild from my signed ledger" in page


def test_rebuilding_from_the_signed_ledger_clears_a_replayed_use(person, app, client):
    platform_id, use_id = _granted_state_written_back_after_a_withdrawal(person, app)
    alarm = assert_alarm(client.get("/dashboard"), "Rebuild from my signed ledger")
    rebuilt = client.post("/ledger/recover", data={"csrf_token": _seal_button(alarm)})
    assert rebuilt.status_code == 302
    page = client.get(f"/platforms/{platform_id}")
    assert page.status_code == 200 and "Withdrawn" in page.get_data(as_text=True)
    assert decide(person, use_id, "grant").status_code == 302  # decisions work again
    # profile sealed, platform, grant, withdrawal, the rebuild's records.sealed, grant
    assert ledger_rows(app)[2] == 6


def test_a_deleted_request_is_found(person, app, client):
    platform_id = add_platform(person)
    sent = post_letter(person, platform_id, step="sent", sent_on="2026-11-20")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    operator(app, sa.delete(Request.__table__))
    page = assert_alarm(client.get("/requests"), "A record the app wrote is gone.")
    assert "was deleted" in page


def test_a_request_whose_events_are_gone_is_found(person, app, client):
    """Truncation: the newest events and checkpoints deleted and the head set back; the
    request row the letter made is still there."""
    platform_id = add_platform(person)
    sent = post_letter(person, platform_id, step="sent", sent_on="2026-11-20")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    roll_back(app, to_size=1)
    assert_alarm(client.get("/requests"), "This ledger was rolled back")
    # "Rebuild" is not offered: repairing a rollback would sign a fork.
    page = assert_alarm(client.get("/dashboard"))
    assert "Rebuild from my signed ledger" not in page
    with app.app_context():
        with pytest.raises(IntegrityAlarm, match="rolled_back"):
            ledger.recover(db.session(), _login(app))


def roll_back(app: Any, *, to_size: int) -> None:
    """The operator deletes the newest events and checkpoints and sets the head back: no key needed."""
    entries, checkpoints, heads = LedgerEntry.__table__, LedgerCheckpoint.__table__, LedgerHead.__table__
    with app.app_context(), db.engine().begin() as conn:
        leaves = conn.execute(sa.select(entries.c.leaf_hash).order_by(entries.c.index)).scalars().all()
        frontier = Frontier()
        for leaf in leaves[:to_size]:
            frontier.append(leaf)
        conn.execute(sa.delete(entries).where(entries.c.index >= to_size))
        conn.execute(sa.delete(checkpoints).where(checkpoints.c.size > to_size))
        conn.execute(sa.update(heads).values(size=to_size, frontier=frontier.to_bytes()))


def test_a_rolled_back_ledger_refuses_the_next_decision(person, app, client):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    add_use(person, platform_id, "DirectMarketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    roll_back(app, to_size=3)  # of 4: the profile's seal, the platform, two grants
    assert_alarm(client.get("/ledger"), "This ledger was rolled back")
    _withdraw_is_refused(app, person, use_id)
    # The person's browser-less "verify" says so too.
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert ("rolled_back", "the ledger holds 3 events, but the app last left it with 4") in check.records


def test_a_head_that_disagrees_with_the_newest_checkpoint_is_found(person, app, client):
    add_platform(person)
    add_platform(person, name="Other")
    operator(app, sa.update(LedgerHead.__table__).values(frontier=bytes(32)))
    assert_alarm(client.get("/platforms"), "does not match its newest signed checkpoint")


def test_a_row_copied_in_from_nowhere_is_found(person, app, client):
    platform_id = add_platform(person)
    table = Platform.__table__
    with app.app_context(), db.engine().begin() as conn:
        row = conn.execute(sa.select(table)).mappings().one()
        conn.execute(sa.insert(table).values({**row, "id": uuid.uuid4()}))
    assert platform_id
    assert_alarm(client.get("/platforms"), "A record appeared that the app never wrote.")


def test_honest_use_leaves_the_manifest_in_step(person, app, client):
    """Every kind of change the app makes is sealed: no alarm after a long honest session."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires="2027-01-01")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    person.post("/profile", {"full_name": "Ada Lovelace", "country": "FR"})
    sent = post_letter(person, platform_id, step="sent", sent_on="2026-11-20")
    request_id = sent.headers["Location"].rsplit("/", 1)[1]
    person.post(f"/requests/{request_id}", {"status": "answered", "note": "They sent a CSV"}, action=f"/requests/{request_id}/update")
    person.post(f"/platforms/{platform_id}/edit", {"name": "Shopwise", "country": "DE", "notes": "new note"})
    for path in ["/dashboard", "/platforms", f"/platforms/{platform_id}", "/requests", f"/requests/{request_id}", "/ledger", "/profile"]:
        assert client.get(path).status_code == 200, path
    with app.app_context():
        s = db.session()
        assert ledger.verify(s, _login(app)).ok


def test_owned_rows_cannot_be_written_outside_a_personal_transaction(person, app):
    add_platform(person)
    with app.app_context():
        s = db.session()
        row = s.scalar(sa.select(Platform))
        row.private = row.details
        with pytest.raises(Exception, match="outside a personal transaction"):
            s.flush()
        s.rollback()


def _seal_button(page: str) -> str:
    """The CSRF token of the "Check and seal my records" / "Rebuild" form on an alarm page."""
    return page.split('action="/ledger/recover">', 1)[1].split('value="', 1)[1].split('"', 1)[0]


def test_an_account_from_before_the_seal_is_adopted_from_its_signed_ledger(person, app, client):
    """The upgrade leaves existing accounts without a seal: the person is asked to check
    and seal their records, which rebuilds platforms and uses from the signed ledger."""
    platform_id, _ = _granted_state_written_back_after_a_withdrawal(person, app)
    # As after the migration, plus a stale state the old code would have shown.
    operator(app, sa.update(LedgerHead.__table__).values(manifest=None))
    asked = client.get(f"/platforms/{platform_id}")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "Your records need sealing" in page and "Granted" not in page
    assert client.post("/ledger/recover", data={"csrf_token": _seal_button(page)}).status_code == 302
    page = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    assert "Withdrawn" in page
    with app.app_context():
        s = db.session()
        assert s.scalar(sa.select(LedgerHead.manifest)) is not None
        recorded = list(ledger.iter_events(s, _login(app)))
    assert recorded[-1]["type"] == "records.sealed" and recorded[-1]["data"] == {"records": ["platforms", "uses"]}


def test_adoption_refuses_a_letter_the_ledger_does_not_know(person, app, client):
    platform_id = add_platform(person)
    sent = post_letter(person, platform_id, step="sent", sent_on="2026-11-20")
    request_id = sent.headers["Location"].rsplit("/", 1)[1]
    entries = LedgerEntry.__table__
    with app.app_context(), db.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar_one() == 3
    roll_back(app, to_size=2)  # the letter's event gone, its request still there
    operator(app, sa.update(LedgerHead.__table__).values(manifest=None))
    page = client.get("/requests").get_data(as_text=True)
    refused = client.post("/ledger/recover", data={"csrf_token": _seal_button(page)})
    page = assert_alarm(refused, "A record appeared that the app never wrote.")
    assert f"requests:{request_id} is not in the ledger" in page


def test_the_key_the_app_shows_is_derived_from_the_sealed_private_key(person, app, client):
    add_platform(person)
    with app.app_context():
        login = _login(app)
        key = ledger.verifier_key(login)
        assert key == integrity.signer(login).verifier
        assert isinstance(key, VerifierKey)
    assert str(key) in client.get("/ledger").get_data(as_text=True)


def test_the_key_card_shows_prints_and_downloads_the_key(person, app, client):
    add_platform(person)
    with app.app_context():
        key = ledger.verifier_key(_login(app))
    page = client.get("/ledger/key")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="verifier-key">{key}<' in html
    fingerprint = f"{key.key_id:08x}"
    assert " ".join(fingerprint[i : i + 2] for i in range(0, 8, 2)) in html
    assert "<svg" in html and "<script" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    text = client.get("/ledger/key-card.txt")
    assert text.mimetype == "text/plain" and "attachment" in text.headers["Content-Disposition"]
    assert text.get_data(as_text=True).strip().endswith(str(key))
    pdf = client.get("/ledger/key-card.pdf")
    assert pdf.mimetype == "application/pdf"
    extracted = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).replace("\n", "")
    assert str(key) in extracted
    assert client.get("/ledger/key-card.exe").status_code == 404


def test_the_printed_key_cards_qr_code_reads_back_as_the_key(person, app, client):
    """Read the QR code out of the PDF as a phone would read it off the paper."""
    with app.app_context():
        key = ledger.verifier_key(_login(app))
    (page,) = PdfReader(io.BytesIO(client.get("/ledger/key-card.pdf").data)).pages
    (image,) = page.images
    (code,) = zxingcpp.read_barcodes(image.image)
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == str(key)


def test_the_key_card_is_refused_when_the_stored_key_was_swapped(person, app, client):
    add_platform(person)
    operator(app, sa.update(User.__table__).values(signing_public_key=bytes(32)))
    assert_alarm(client.get("/ledger/key"), "is not your key")
    assert client.get("/ledger/key-card.pdf").status_code == 409


def _consent_verify(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("consent")
    return subprocess.run([script, "verify", *args], capture_output=True, text=True, check=False)


def test_a_key_card_and_one_receipt_tell_a_continuation_from_a_rollback_or_a_fork(person, app, client, tmp_path):
    """What the person keeps away from the server, the key card's text and one receipt,
    is enough to judge, offline, any export the operator hands them later."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    card = client.get("/ledger/key-card.txt").get_data(as_text=True)
    key = card.strip().splitlines()[-1]
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(client.get("/ledger/events/2/receipt.json").data)  # signed at 3 events
    saved = backup(app)
    decide(person, use_ids(app, platform_id)["Marketing"], "withdraw")

    def export(name: str) -> Path:
        path = tmp_path / name
        response = client.get("/ledger/export.json")
        path.write_bytes(response.data)
        response.close()
        return path

    honest = _consent_verify(str(export("later.json")), "--key", key, "--held", str(receipt))
    assert honest.returncode == 0, honest.stderr
    assert "OK: bundle" in honest.stdout
    # Rolled back past the receipt: the export is shorter than what the person holds.
    roll_back(app, to_size=2)
    rolled = _consent_verify(str(export("rolled.json")), "--key", key, "--held", str(receipt))
    assert rolled.returncode == 1 and "rolled back" in rolled.stderr
    # A fork: an older backup restored, and the person made to sign another second event.
    restore(app, saved)
    roll_back(app, to_size=2)
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(sa.update(LedgerHead.__table__).values(manifest=None))  # adopt the rolled-back state
    person.login()
    page = client.get("/ledger").get_data(as_text=True)
    assert client.post("/ledger/recover", data={"csrf_token": _seal_button(page)}).status_code == 302
    forked = _consent_verify(str(export("forked.json")), "--key", key, "--held", str(receipt))
    assert forked.returncode == 1 and "fork" in forked.stderr
    # A bundle made with another key fails against the card's key whatever it holds.
    other = _consent_verify(str(export("forked.json")), "--key", key.replace("+", "x", 1), "--held", str(receipt))
    assert other.returncode != 0


def _try_to_move(app: Any, use_id: str, to: str) -> Exception | None:
    """The operator moves a use on their own connection, waiting at most a fifth of a second."""
    table = Use.__table__
    with app.app_context(), db.engine().connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET lock_timeout = '200ms'"))
        else:
            conn.exec_driver_sql("PRAGMA busy_timeout = 200")
        try:
            conn.execute(sa.update(table).where(table.c.id == uuid.UUID(use_id)).values(platform_id=uuid.UUID(to)))
            conn.commit()
        except sa.exc.OperationalError as e:
            return e
    return None


def test_rows_a_change_was_checked_against_stay_as_checked_until_it_commits(person, app):
    """Attacker's pass F6: a row changed between the check and the write would be signed."""
    shop = add_platform(person)
    spam = add_platform(person, name="SpamCorp")
    add_use(person, shop, "Marketing")
    use_id = use_ids(app, shop)["Marketing"]
    with app.app_context():
        s = db.session()
        login = _login(app)
        with integrity.personal_transaction(s, login):
            refused = _try_to_move(app, use_id, spam)
            row = s.get(Use, uuid.UUID(use_id))
            assert row is not None and str(row.platform_id) == shop
    assert refused is not None  # locked (PostgreSQL: the rows; SQLite: the database)
    assert _try_to_move(app, use_id, spam) is None  # and free again once it committed


def test_a_row_changed_between_a_pages_check_and_its_reads_is_found_by_the_next_check(person, app):
    """A page locks nothing (readers must never hold up or deadlock with the person's own
    changes): a change slipped in after its check is found by the next one."""
    shop = add_platform(person)
    spam = add_platform(person, name="SpamCorp")
    add_use(person, shop, "Marketing")
    use_id = use_ids(app, shop)["Marketing"]
    with app.app_context():
        s = db.session()
        login = _login(app)
        integrity.check(s, login)
        assert _try_to_move(app, use_id, spam) is None
        s.rollback()
        with pytest.raises(IntegrityAlarm, match="relinked"):
            integrity.check(s, login)


def test_a_renewal_slipped_back_between_two_reads_is_not_signed_as_an_expiry(person, app):
    """Attacker's pass F7: the grants that lapsed are chosen under the lock, after the check."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", expires="2026-12-01")
    use_id = use_ids(app, platform_id)["Marketing"]
    table = Use.__table__
    with app.app_context(), db.engine().connect() as conn:
        before_renewal = conn.execute(sa.select(table.c.state).where(table.c.id == uuid.UUID(use_id))).scalar_one()
    decide(person, use_id, "renew", expires="2027-06-01")
    with app.app_context():
        s = db.session()
        login = _login(app)
        s.scalars(sa.select(Use)).all()  # loaded before anything else: the session keeps it
        operator(app, sa.update(table).where(table.c.id == uuid.UUID(use_id)).values(state=before_renewal))
        with pytest.raises(IntegrityAlarm, match="replayed"):
            platforms.record_expiries(s, login, now=datetime(2026, 12, 15, tzinfo=UTC))
    assert ledger_rows(app)[2] == 4  # the profile's seal, the platform, the grant, the renewal


def test_a_letter_never_cites_a_stored_leaf_hash_its_event_does_not_have(person, app, client):
    """Attacker's pass F5: a letter cites an event's hash, and the person signs the letter's."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw")
    with app.app_context():
        s = db.session()
        withdrawn = list(ledger.iter_events(s, _login(app)))[-1]
    n = withdrawn["index"]
    entries = LedgerEntry.__table__
    operator(app, sa.update(entries).where(entries.c.index == n).values(leaf_hash=bytes(32)))
    real = hashlib.sha256(b"\x00" + ledger_events.encode(withdrawn)).hexdigest()
    letter = post_letter(person, platform_id, kind="withdrawal", uses=use_id, language="en").get_data(as_text=True)
    assert f"event {n}, SHA-256 {real}" in letter  # the hash of the event itself, proven to the signed root
    assert "00" * 32 not in letter
    receipt = json.loads(client.get(f"/ledger/events/{n}/receipt.json").data)
    assert receipts.verify_receipt(receipt).events == 1
    # A stored leaf that no longer matches its event is still reported by "Verify my ledger".
    with app.app_context():
        assert f"event {n} does not hash to its leaf" in ledger.verify(db.session(), _login(app)).problems
