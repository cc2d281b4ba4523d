"""Retention: a person erases one platform's data (the ledger keeps its leaves, the payloads
go, a signed erasure vouches for the redaction), or deletes the whole account after being
offered the archive."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from consent import db
from consent.errors import DecisionError, VerificationError
from consent.ledger import append as ledger_append
from consent.ledger import bundle, events, receipts, verify
from consent.ledger.held import open_held
from consent.ledger.merkle import Frontier, inclusion_proof
from consent.ledger.state import replay
from consent.models import LedgerEntry, Login, Platform
from consent.services import accounts, ledger, platforms
from tests import ledger_helpers
from tests.conftest import PASSWORD, Auth, count_rows, csrf_token
from tests.test_factors import turn_on
from tests.test_integrity import _consent_verify, assert_alarm, operator
from tests.test_platforms import SHOP, add_platform, add_use, decide, use_ids
from tests.test_requests import FRENCH_SHOP, post_letter

OTHER = {**SHOP, "name": "Keepme Bank", "identifiers-0-value": "K-1", "notes": "My savings"}


@pytest.fixture
def person(auth: Auth) -> Auth:
    auth.register()
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "1 Street\nLondon", "country": "GB"})
    return auth


def _login(app: Any) -> accounts.ActiveLogin:
    return accounts.log_in(db.session(), app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)


def _answered_request(person: Auth, platform_id: str) -> str:
    """A letter recorded as sent, and an answer with a file: a request and its file."""
    request_page = post_letter(person, platform_id, step="sent", sent_on="2026-11-02").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    token = csrf_token(person.client, request_page)
    answered = person.client.post(
        f"/requests/{request_id}/update",
        data={"csrf_token": token, "status": "answered", "file": (io.BytesIO(b"their copy of my data"), "copy.txt")},
        content_type="multipart/form-data",
    )
    assert answered.status_code == 302, answered.get_data(as_text=True)[:2000]
    return request_id


def _erase(person: Auth, platform_id: str, **data: str) -> Any:
    form = {"current": PASSWORD, "understood": "y", **data}
    return person.post(f"/platforms/{platform_id}/erase", form)


def _unchanged(app: Any) -> tuple[dict[str, int], dict[int, bytes | None]]:
    """Every table but the count of wrong passwords (which a refused attempt adds to), and
    every ledger entry's payload."""
    rows = count_rows(app)
    rows.pop("failed_attempts")
    return rows, _stored(app)


def _stored(app: Any) -> dict[int, bytes | None]:
    with app.app_context(), db.engine().connect() as conn:
        table = LedgerEntry.__table__
        return {i: e for i, e in conn.execute(sa.select(table.c.index, table.c.event).order_by(table.c.index))}


def _export(client: Any, path: Path) -> Path:
    response = client.get("/ledger/export.json")
    assert response.status_code == 200
    path.write_bytes(response.data)
    response.close()
    return path


@pytest.fixture
def erased(person: Auth, app: Any) -> dict[str, Any]:
    """Two platforms; the first, with a use, a request and an answer's file, is erased."""
    gone = add_platform(person, **FRENCH_SHOP)
    add_use(person, gone, "Marketing")
    _answered_request(person, gone)
    kept = add_platform(person, **OTHER)
    add_use(person, kept, "ServicePersonalisation")
    with app.app_context():
        about = [e["index"] for e in ledger.iter_events(db.session(), _login(app)) if e.get("platform") == gone]
    before = count_rows(app)
    response = _erase(person, gone)
    assert response.status_code == 302 and response.headers["Location"] == "/platforms"
    return {"gone": gone, "kept": kept, "about": about, "before": before}


# --- the erasure, through the pages ---------------------------------------------------------


def test_the_erase_page_says_what_goes_and_what_stays_and_changes_nothing(person, app, client):
    platform_id = add_platform(person, **FRENCH_SHOP)
    add_use(person, platform_id, "Marketing")
    _answered_request(person, platform_id)
    assert f'href="/platforms/{platform_id}/erase"' in client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    before = count_rows(app), _stored(app)
    page = client.get(f"/platforms/{platform_id}/erase").get_data(as_text=True)
    goes = page.split('id="erase-goes-list"', 1)[1].split("</ul>", 1)[0]
    assert "1 use of your data" in goes and "1 request:" in goes and "1 file the platform sent back" in goes
    assert "The details of 4 events in your ledger" in goes  # added, granted, letter sent, answered
    stays = page.split('id="erase-stays-list"', 1)[1].split("</ul>", 1)[0]
    assert "still verify" in stays and "signed with your key" in stays and "erasure request" in stays
    assert 'href="/account/archive"' in page
    assert 'name="current"' in page and 'name="understood"' in page
    assert (count_rows(app), _stored(app)) == before  # showing it changes nothing


def test_erasing_removes_the_platform_its_uses_requests_and_files(erased, app, client):
    after = count_rows(app)
    before = erased["before"]
    assert after["platforms"] == before["platforms"] - 1 == 1
    assert after["uses"] == before["uses"] - 1 == 1
    assert after["requests"] == after["request_files"] == 0 and before["requests"] == before["request_files"] == 1
    assert after["ledger_entries"] == before["ledger_entries"] + 1  # the erasure; every leaf stays
    stored = _stored(app)
    assert [i for i, e in stored.items() if e is None] == erased["about"]
    with app.app_context():
        login = _login(app)
        s = db.session()
        last = ledger.get_event(s, login, max(stored))
        assert last["type"] == events.PLATFORM_ERASED and last["platform"] == erased["gone"]
        assert last["data"] == {"redacted": erased["about"]}  # indexes only: nothing about the platform
        assert s.get(Platform, uuid.UUID(erased["gone"])) is None
        check = ledger.verify(s, login)
        assert check.ok and check.redacted == erased["about"] and check.events == len(stored)
    assert client.get(f"/platforms/{erased['gone']}").status_code == 404
    assert client.get(f"/platforms/{erased['gone']}/erase").status_code == 404


def test_after_erasure_every_page_works_and_none_names_the_platform(erased, app, client):
    for path in ("/dashboard", "/platforms", "/ledger", "/requests", f"/platforms/{erased['kept']}"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert FRENCH_SHOP["name"] not in page, path
        assert path == "/requests" or OTHER["name"] in page, path
    as_of = client.get("/ledger/as-of?date=" + datetime.now(UTC).date().isoformat()).get_data(as_text=True)
    assert OTHER["name"] in as_of and FRENCH_SHOP["name"] not in as_of
    verified = client.post("/ledger/verify", data={"csrf_token": csrf_token(client, "/ledger")})
    assert "Your ledger is intact." in verified.get_data(as_text=True)
    first = erased["about"][0]
    assert client.get(f"/ledger/events/{first}").status_code == 404  # nothing left to show
    assert client.get(f"/ledger/events/{first}/receipt.json").status_code == 404
    last = max(_stored(app))
    receipt = client.get(f"/ledger/events/{last}/receipt.json")  # the erasure's own receipt
    assert receipt.status_code == 200
    made = json.loads(receipt.data)
    assert made["event"]["type"] == events.PLATFORM_ERASED and FRENCH_SHOP["name"] not in receipt.get_data(as_text=True)
    receipts.verify_receipt(receipts.parse_receipt(receipt.data), expected_key=None)


def test_state_replay_leaves_the_erased_platform_out_and_decisions_go_on(erased, app, person):
    with app.app_context():
        s = db.session()
        login = _login(app)
        state = replay(ledger.iter_events(s, login))
        assert set(state.platforms) == {erased["kept"]}
        assert {u.platform for u in state.uses.values()} == {erased["kept"]}
        assert ledger.projected_state(s, login) == state
        assert ledger.recover(s, login) == state  # rebuilding from the ledger finds no fault
    assert decide(person, use_ids(app, erased["kept"])["Personalising the service"], "withdraw").status_code == 302
    with app.app_context():
        assert ledger.verify(db.session(), _login(app)).ok


def test_erasing_asks_for_a_recent_second_factor_like_deleting_the_account(person, app, client):
    platform_id = add_platform(person)
    turn_on(person)
    with app.app_context():  # eleven minutes later
        s = db.session()
        for row in s.scalars(sa.select(Login)):
            row.factor_confirmed_at = datetime.now(UTC) - timedelta(minutes=11)
        s.commit()
    token = csrf_token(client, "/platforms")
    before = _unchanged(app)
    asked = client.post(
        f"/platforms/{platform_id}/erase", data={"csrf_token": token, "current": PASSWORD, "understood": "y"}
    )
    assert asked.status_code == 302 and "/login/second-step" in asked.headers["Location"]
    assert f"/platforms/{platform_id}/erase" in unquote(asked.headers["Location"])  # back to the page, then
    assert _unchanged(app) == before


def test_an_archived_platform_can_be_erased(person, app):
    platform_id = add_platform(person)
    assert person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive").status_code == 302
    assert _erase(person, platform_id).status_code == 302
    assert count_rows(app)["platforms"] == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current": "not my password at all"}, "The current password is wrong."),
        ({"current": ""}, "Enter your current password."),
        ({"understood": ""}, "Tick the box to confirm."),
    ],
)
def test_erasing_without_confirmation_is_refused_and_changes_nothing(person, app, data, message):
    platform_id = add_platform(person)
    before = _unchanged(app)
    response = _erase(person, platform_id, **data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _unchanged(app) == before


def test_erasing_needs_the_csrf_token_and_a_post(person, app, client):
    platform_id = add_platform(person)
    before = count_rows(app), _stored(app)
    response = client.post(f"/platforms/{platform_id}/erase", data={"current": PASSWORD, "understood": "y"})
    assert response.status_code == 400
    assert client.get(f"/platforms/{platform_id}/erase?current={PASSWORD}&understood=y").status_code == 200
    assert (count_rows(app), _stored(app)) == before


def test_another_persons_platform_cannot_be_erased(person, app, client):
    platform_id = add_platform(person)
    person.logout()
    person.register(email="eve@example.org")
    before = count_rows(app), _stored(app)
    assert client.get(f"/platforms/{platform_id}/erase").status_code == 404
    token = csrf_token(client, "/platforms/new")
    response = client.post(
        f"/platforms/{platform_id}/erase", data={"csrf_token": token, "current": PASSWORD, "understood": "y"}
    )
    assert response.status_code == 404
    assert (count_rows(app), _stored(app)) == before
    with app.app_context():
        s = db.session()
        eve = accounts.log_in(s, app.extensions["consent.accounts"], email="eve@example.org", password=PASSWORD)
        before = count_rows(app), _stored(app)  # with the login just made
        with pytest.raises(DecisionError):
            platforms.erase_platform(s, eve, uuid.UUID(platform_id))
    assert (count_rows(app), _stored(app)) == before


# --- what an operator cannot pass off as an erasure -----------------------------------------


def test_an_operator_blanking_an_event_is_not_a_redaction(person, app, client):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    operator(app, sa.update(LedgerEntry.__table__).where(LedgerEntry.__table__.c.index == 2).values(event=None))
    assert_alarm(client.get("/ledger"), "ledger_entries:2: its details were deleted")
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert not check.ok and check.redacted == []
    assert check.problems == ["event 2 has no details, and no erasure signed with your key names it"]


def test_an_operator_cannot_widen_an_erasure(erased, app, client):
    """Blanking an event the signed erasure does not name fails, even beside real redactions."""
    kept = next(i for i, e in _stored(app).items() if e is not None and i not in erased["about"])
    operator(app, sa.update(LedgerEntry.__table__).where(LedgerEntry.__table__.c.index == kept).values(event=None))
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert check.problems == [f"event {kept} has no details, and no erasure signed with your key names it"]
    assert_alarm(client.get("/ledger"), f"ledger_entries:{kept}")


def test_an_operator_blanking_the_erasure_itself_is_caught(erased, app):
    last = max(_stored(app))
    operator(app, sa.update(LedgerEntry.__table__).where(LedgerEntry.__table__.c.index == last).values(event=None))
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert len(check.problems) == len(erased["about"]) + 1  # nothing vouches for any blank any more


def test_an_erased_payload_written_back_is_reported(person, app):
    platform_id = add_platform(person)
    add_platform(person, **OTHER)
    saved = _stored(app)
    index = next(i for i, e in saved.items() if e is not None and i > 0)  # the erased platform's addition
    with app.app_context():
        about = [e["index"] for e in ledger.iter_events(db.session(), _login(app)) if e.get("platform") == platform_id]
    assert _erase(person, platform_id).status_code == 302
    index = about[0]
    table = LedgerEntry.__table__
    operator(app, sa.update(table).where(table.c.index == index).values(event=saved[index]))
    with app.app_context():
        check = ledger.verify(db.session(), _login(app))
    assert check.problems == [f"event {index} was erased, but its details are stored again"]


def test_an_erased_payload_written_back_raises_the_alarm_before_anything_is_shown(person, app, client):
    """Written back from an old backup, the erased details decrypted and showed again on the
    ledger, its export and the archive, with no alarm (an attacker's pass)."""
    platform_id = add_platform(person, **FRENCH_SHOP)
    add_platform(person, **OTHER)
    saved = _stored(app)
    with app.app_context():
        about = [e["index"] for e in ledger.iter_events(db.session(), _login(app)) if e.get("platform") == platform_id]
    assert _erase(person, platform_id).status_code == 302
    table = LedgerEntry.__table__
    operator(app, sa.update(table).where(table.c.index == about[0]).values(event=saved[about[0]]))
    assert FRENCH_SHOP["name"] not in client.get("/dashboard").get_data(as_text=True)  # reads no event
    for path in ("/ledger", f"/ledger/events/{about[0]}"):
        response = client.get(path)
        assert_alarm(response, f"ledger_entries:{about[0]}")
        assert FRENCH_SHOP["name"] not in response.get_data(as_text=True)
    # The export (the person's evidence, made without the check) leaves it redacted.
    exported = client.get("/ledger/export.json")
    body = exported.get_data(as_text=True)
    exported.close()
    assert exported.status_code == 200 and FRENCH_SHOP["name"] not in body
    entry = json.loads(body)["entries"][about[0]]
    assert entry.get("redacted") is True and "event" not in entry


def test_an_event_the_operator_blanked_raises_the_alarm_on_its_own_page(person, app, client):
    """Its page and receipt answered 404, as if there were nothing (an attacker's pass): a
    blank no signed erasure names is the operator's doing, never a redaction."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    table = LedgerEntry.__table__
    operator(app, sa.update(table).where(table.c.index == 1).values(event=None))
    for path in ("/ledger/events/1", "/ledger/events/1/receipt.json"):
        assert_alarm(client.get(path), "ledger_entries:1")


# --- the bundle, offline --------------------------------------------------------------------


def test_the_export_marks_redacted_entries_and_verifies_offline(person, app, client, tmp_path):
    gone = add_platform(person, **FRENCH_SHOP)
    add_use(person, gone, "Marketing")
    add_platform(person, **OTHER)
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(client.get("/ledger/events/2/receipt.json").data)  # the grant, about to be erased
    before = _export(client, tmp_path / "before.json")
    assert _erase(person, gone).status_code == 302
    after = _export(client, tmp_path / "after.json")
    document = json.loads(after.read_text())
    redacted = [e for e in document["entries"] if "redacted" in e]
    assert [sorted(e) for e in redacted] == [["checkpoint", "leaf", "redacted"]] * 2  # added, granted
    assert all(e["redacted"] is True for e in redacted)
    old = json.loads(before.read_text())["entries"]
    positions = [document["entries"].index(e) for e in redacted]
    assert [old[i]["leaf"] for i in positions] == [e["leaf"] for e in redacted]  # the leaves stay
    assert FRENCH_SHOP["name"] not in after.read_text()
    key = verify.bundle.parse_key(document["verifier_key"])
    report = verify.verify_path(after, key, held=[receipt])
    assert report.redacted == positions and report.events == len(old) + 1
    assert "2 of them redacted" in report.checks[0]
    assert verify.verify_path(receipt, key).kind == "receipt"  # the receipt still verifies on its own
    assert verify.verify_path(before, key).redacted == []  # a bundle from before erasure verifies as ever
    cli = _consent_verify(str(after), "--key", str(key), "--held", str(receipt))
    assert cli.returncode == 0 and "2 of them redacted" in cli.stdout, cli.stderr


def _bundle_of(person: Auth, app: Any, client: Any, tmp_path: Path) -> dict[str, Any]:
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    return json.loads(_export(client, tmp_path / "ledger.json").read_text())


def _verify(document: dict[str, Any]) -> bundle.Report:
    text = json.dumps(document)
    return bundle.verify_bundle(io.BytesIO(text.encode()))


def _redact(entry: dict[str, Any]) -> dict[str, Any]:
    return {"leaf": entry["leaf"], "redacted": True, **({"checkpoint": entry["checkpoint"]})}


def test_a_bundle_with_a_payload_removed_without_erasure_is_refused(person, app, client, tmp_path):
    document = _bundle_of(person, app, client, tmp_path)
    assert _verify(document).redacted == []
    document["entries"][1] = _redact(document["entries"][1])
    with pytest.raises(VerificationError, match=r"event 1 has no event, and no signed platform\.erased event names it"):
        _verify(document)


def test_a_bundle_whose_erasure_is_blanked_too_is_refused(erased, client, tmp_path):
    document = json.loads(_export(client, tmp_path / "ledger.json").read_text())
    assert _verify(document).redacted == erased["about"]
    document["entries"][-1] = _redact(document["entries"][-1])
    with pytest.raises(VerificationError, match=r"no signed platform\.erased event names it"):
        _verify(document)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"redacted": False}, "expected redacted to be true, got False"),
        ({"redacted": 1}, "expected redacted to be true, got 1"),
        ({"redacted": True, "note": "x"}, "expected a redacted entry to have leaf, redacted and an optional"),
        ({"redacted": True, "leaf": "AAAA"}, "expected a leaf hash of 32 bytes, got 3"),
    ],
)
def test_malformed_redacted_entries_are_refused(person, app, client, tmp_path, entry, message):
    document = _bundle_of(person, app, client, tmp_path)
    document["entries"][1] = {**_redact(document["entries"][1]), **entry}
    with pytest.raises(VerificationError, match=re.escape(message)):
        _verify(document)


def _signed(recorded: list[dict[str, Any]], redacted: set[int]) -> tuple[str, list[bytes], list[str]]:
    """A bundle of ``recorded`` (pure, ledger_helpers' key), with ``redacted`` entries."""
    key = ledger_helpers.signer()
    frontier = Frontier()
    entries, leaves, notes = [], [], []
    for event in recorded:
        appended = ledger_append(frontier, key, event)
        leaves.append(appended.leaf)
        notes.append(appended.checkpoint)
        redact = event["index"] in redacted
        entries.append(bundle.Entry(None if redact else event, appended.checkpoint, leaf=appended.leaf))
    out = io.StringIO()
    bundle.write_bundle(out, key=key.verifier, latest=notes[-1], size=len(entries), entries=entries)
    return out.getvalue(), leaves, notes


def _erased_history() -> list[dict[str, Any]]:
    recorded = ledger_helpers.make_events(3)
    at = ledger_helpers.START
    erasure = events.new_event(
        index=3,
        type=events.PLATFORM_ERASED,
        at=at,
        recorded=at,
        platform=ledger_helpers.PLATFORM,
        data={"redacted": [0, 1, 2]},
    )
    return [*recorded, erasure]


def test_a_pure_bundle_with_redacted_entries_verifies_and_says_which():
    text, _, _ = _signed(_erased_history(), {0, 1, 2})
    report = bundle.verify_bundle(io.BytesIO(text.encode()))
    assert report.redacted == [0, 1, 2] and report.events == 4
    assert report.first_recorded == report.last_recorded  # only the erasure's own times are left


def test_a_held_receipt_matches_a_redacted_entry_by_its_leaf_and_a_forked_one_is_refused():
    """A receipt the person kept of an event since erased still pins the bundle: the
    redacted entry must keep the leaf of the receipt's event, else it is another history."""
    history = _erased_history()
    text, leaves, notes = _signed(history, {0, 1, 2})
    key = ledger_helpers.signer().verifier
    proof = inclusion_proof(leaves[:3], 1, 3)
    receipt = receipts.make_receipt(event=history[1], proof=proof, checkpoint_note=notes[2], key=key, platform={})
    held = open_held(json.dumps(receipt).encode(), key, name="receipt.json")
    report = bundle.verify_bundle(io.BytesIO(text.encode()), expected_key=key, held=[held])
    assert report.redacted == [0, 1, 2]
    # The same key signed another history, whose event 1 differs, and erased it there.
    other = _erased_history()
    forked, _, _ = _signed(other, {0, 1, 2})
    with pytest.raises(VerificationError, match=r"redacted event 1 has another leaf .* \(a fork\)"):
        bundle.verify_bundle(io.BytesIO(forked.encode()), expected_key=key, held=[held])


# --- the erasure event, pure ------------------------------------------------------------------


def _erasure(redacted: Any, index: int = 5, **extra: Any) -> dict[str, Any]:
    event = events.new_event(
        index=index,
        type=events.PLATFORM_ERASED,
        at=datetime(2026, 11, 28, tzinfo=UTC),
        recorded=datetime(2026, 11, 28, tzinfo=UTC),
        platform=uuid.UUID(int=7),
        data={"redacted": [0, 1]},
    )
    event["data"] = {"redacted": redacted, **extra}
    return event


def test_a_well_formed_erasure_names_earlier_indexes():
    event = _erasure([0, 2, 4])
    events.check_event(event, index=5)
    assert events.redacted_by(event) == [0, 2, 4]
    assert events.redacted_by({**event, "type": events.PLATFORM_ADDED}) == []


@pytest.mark.parametrize(
    ("redacted", "extra", "message"),
    [
        ([], {}, "a non-empty list"),
        (None, {}, "a non-empty list"),
        ("0", {}, "a non-empty list"),
        ([5], {}, "earlier events (below 5)"),
        ([-1], {}, "earlier events"),
        (["1"], {}, "earlier events"),
        ([True], {}, "earlier events"),
        ([1.5], {}, "earlier events"),
        ([2, 1], {}, "sorted, each once"),
        ([1, 1], {}, "sorted, each once"),
        ([1], {"name": "Shopwise"}, "a non-empty list"),
    ],
)
def test_a_malformed_erasure_is_refused(redacted, extra, message):
    with pytest.raises(VerificationError, match=re.escape(message)):
        events.check_event(_erasure(redacted, **extra))


def test_replay_drops_an_erased_platform_and_its_uses_even_with_its_events():
    """Redacted events are not replayed; a lenient replay that saw them drops them anyway."""
    at = datetime(2026, 11, 1, tzinfo=UTC)
    a, b, use = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
    recorded = [
        events.new_event(index=0, type=events.PLATFORM_ADDED, at=at, recorded=at, platform=a, data={"name": "A"}),
        events.new_event(index=1, type=events.PLATFORM_ADDED, at=at, recorded=at, platform=b, data={"name": "B"}),
        events.new_event(
            index=2,
            type=events.USE_GRANTED,
            at=at,
            recorded=at,
            platform=a,
            use=use,
            data={"purpose": "p", "label": "l"},
        ),
        events.new_event(
            index=3, type=events.PLATFORM_ERASED, at=at, recorded=at, platform=a, data={"redacted": [0, 2]}
        ),
    ]
    whole = replay(recorded)
    redacted = replay([e for e in recorded if e["index"] not in (0, 2)])
    assert set(whole.platforms) == set(redacted.platforms) == {str(b)}
    assert whole.uses == redacted.uses == {}
    assert set(replay(recorded, until=at).platforms) == {str(b)}


# --- deleting the whole account -------------------------------------------------------------


def test_settings_offer_the_archive_before_deletion(person, client):
    page = client.get("/settings").get_data(as_text=True)
    section = page.split('id="delete"', 1)[1]
    offer = section.split("<form", 1)[0]
    assert 'href="/account/archive"' in offer
    assert "Download your account archive first" in offer
    for removed in ("your profile", "your platforms", "your ledger", "your letters", "the files"):
        assert removed in offer, removed


def test_deleting_the_account_removes_every_row_of_the_person(auth, app, client):
    empty = count_rows(app)
    auth.register(email="bob@example.org")  # another person, whose rows stay
    bob = add_platform(auth, **OTHER)
    add_use(auth, bob, "ServicePersonalisation")
    auth.logout()
    others = count_rows(app)
    auth.register()
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "1 Street\nLondon", "country": "GB"})
    platform_id = add_platform(auth, **FRENCH_SHOP)
    add_use(auth, platform_id, "Marketing")
    _answered_request(auth, platform_id)
    assert count_rows(app)["request_files"] == 1
    response = auth.post(
        "/settings", {"delete-current": PASSWORD, "delete-understood": "y"}, action="/settings/delete", prefix="delete"
    )
    assert response.status_code == 302
    after = count_rows(app)
    assert after == others, {name: (after[name], others[name]) for name in after if after[name] != others[name]}
    assert after != empty  # Bob's are still there


def test_deleting_the_account_with_a_wrong_password_changes_nothing(person, app):
    add_platform(person)
    before = _unchanged(app)
    response = person.post(
        "/settings",
        {"delete-current": "wrong password here", "delete-understood": "y"},
        action="/settings/delete",
        prefix="delete",
    )
    assert response.status_code == 400 and "The current password is wrong." in response.get_data(as_text=True)
    assert 'href="/account/archive"' in response.get_data(as_text=True)  # the offer is still there
    assert _unchanged(app) == before


def test_erasing_over_a_payload_the_operator_blanked_is_refused(person, app, client):
    """Nothing is signed over a blank no erasure explains: the erasure would not cover it
    anyway (it names only what it found), and the alarm stays the person's evidence."""
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    table = LedgerEntry.__table__
    operator(app, sa.update(table).where(table.c.index == 2).values(event=None))  # the grant
    assert_alarm(client.get(f"/platforms/{platform_id}/erase"), "ledger_entries:2")  # the page reads the ledger
    before = _unchanged(app)
    token = csrf_token(client, "/platforms")  # a page that does not
    form = {"csrf_token": token, "current": PASSWORD, "understood": "y"}
    assert_alarm(client.post(f"/platforms/{platform_id}/erase", data=form), "ledger_entries:2")
    assert _unchanged(app) == before


def test_the_ledger_pages_name_the_erasure_and_the_redacted_events(erased, client):
    page = client.get("/ledger").get_data(as_text=True)
    assert "Platform erased" in page and f"{len(erased['about'])} events redacted" in page
    verified = client.post("/ledger/verify", data={"csrf_token": csrf_token(client, "/ledger")})
    assert f"{len(erased['about'])} events are redacted" in verified.get_data(as_text=True)
    gone = client.get(f"/ledger/events/{erased['about'][0]}")
    assert gone.status_code == 404 and 'id="event-redacted"' in gone.get_data(as_text=True)
    assert 'id="event-redacted"' not in client.get("/ledger/events/999").get_data(as_text=True)
