"""Platforms, uses and the ledger through the web and the services."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from consent import db
from consent.errors import IntegrityAlarm
from consent.ledger import bundle, receipts
from consent.ledger.state import replay
from consent.models import LedgerCheckpoint, LedgerEntry, Use
from consent.services import accounts, ledger, platforms
from consent.vocabulary import DPV, PD
from tests.conftest import PASSWORD, Auth, count_rows

SHOP = {
    "name": "Shopwise Online",
    "website": "https://shopwise.example",
    "email": "privacy@shopwise.example",
    "address": "1 Example Street\nBerlin",
    "country": "DE",
    "dpo": "",
    "categories": [PD + "Name", PD + "Address"],
    "other_categories": "",
    "identifiers-0-kind": "customer number",
    "identifiers-0-value": "C-77123",
    "notes": "Bought a bike there",
}


def _form(data: dict) -> dict:
    return {k: v for k, v in data.items()}


def add_platform(auth: Auth, **changes) -> str:
    response = auth.post("/platforms/new", _form({**SHOP, **changes}))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def add_use(auth: Auth, platform_id: str, term: str, decision: str = "grant", **extra) -> None:
    data = {"purpose": DPV + term, "decision": decision, **extra}
    response = auth.post(f"/platforms/{platform_id}", data, action=f"/platforms/{platform_id}/uses")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]


def use_ids(app, platform_id: str) -> dict[str, str]:
    """Use ids by label, read through the service as the person."""
    with app.app_context():
        s = db.session()
        login = _login(app)
        view = platforms.get_platform(s, login, uuid.UUID(platform_id))
        return {u.label: u.id for u in view.uses}


def _login(app):
    return accounts.log_in(db.session(), app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)


def decide(auth: Auth, use_id: str, action: str, **extra):
    return auth.post("/dashboard", {"back_to": "/dashboard", **extra}, action=f"/uses/{use_id}/{action}")


@pytest.fixture
def person(auth):
    auth.register()
    return auth


def all_events(app) -> list[dict]:
    with app.app_context():
        return list(ledger.iter_events(db.session(), _login(app)))


def test_main_path_add_grant_three_withdraw_one(person, client, app):
    platform_id = add_platform(person)
    for purpose in ("DirectMarketing", "ServiceUsageAnalytics", "PersonalisedAdvertising"):
        add_use(person, platform_id, purpose)
    ids = use_ids(app, platform_id)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Granted: 3" in dashboard
    # One click from the dashboard (GDPR Art. 7(3)): a single POST, no form to fill.
    response = decide(person, ids["Personalised advertising"], "withdraw")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Granted: 2" in dashboard and "Withdrawn: 1" in dashboard
    recorded = all_events(app)
    assert [e["type"] for e in recorded] == ["platform.added"] + ["use.granted"] * 3 + ["use.withdrawn"]
    assert [e["index"] for e in recorded] == [0, 1, 2, 3, 4]
    assert recorded[-1]["data"]["label"] == "Personalised advertising"
    page = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    assert "C-77123" in page and "Bought a bike there" in page
    assert page.count('class="seg seg-withdrawn"') == 1 and page.count('class="seg seg-granted"') == 3
    with app.app_context():
        assert ledger.verify(db.session(), _login(app)).ok


def test_user_text_is_escaped_on_every_page(person, client, app):
    attack = '<script>alert("x")</script>'
    platform_id = add_platform(person, name=attack, notes=attack, **{"identifiers-0-value": attack})
    add_use(person, platform_id, "ignored", purpose="custom", custom=attack)
    for path in ["/dashboard", "/platforms", f"/platforms/{platform_id}", "/ledger", "/ledger/events/1"]:
        page = client.get(path).get_data(as_text=True)
        assert attack not in page, path
        assert "&lt;script&gt;" in page, path


def test_identifiers_and_notes_stay_out_of_the_ledger(person, app):
    add_platform(person)
    (event,) = all_events(app)
    assert "C-77123" not in json.dumps(event) and "bike" not in json.dumps(event)
    assert event["data"]["name"] == "Shopwise Online"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter the platform"),
        ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"website": "not a url"}, "Enter a web address starting with https://."),
        ({"website": "javascript://alert(1)"}, "Enter a web address starting with https://."),
        ({"email": "nope"}, "Enter a valid e-mail address."),
        ({"country": "XX"}, "Not a valid choice."),
        ({"categories": ["https://example.org/made-up"]}, "not a valid choice"),
        ({"notes": "x" * 2001}, "Field cannot be longer than 2000 characters."),
    ],
)
def test_bad_platform_input_records_nothing(person, app, changes, message):
    response = person.post("/platforms/new", _form({**SHOP, **changes}))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_rows(app)["ledger_entries"] == 0 and count_rows(app)["platforms"] == 0


def test_edit_records_only_what_changed(person, app):
    platform_id = add_platform(person)
    person.post(f"/platforms/{platform_id}/edit", _form({**SHOP, "email": "dpo@shopwise.example"}))
    person.post(f"/platforms/{platform_id}/edit", _form({**SHOP, "email": "dpo@shopwise.example", "notes": "new"}))
    recorded = all_events(app)
    # The notes are the person's own: their change is sealed, not described, in the ledger.
    assert [e["type"] for e in recorded] == ["platform.added", "platform.changed", "records.sealed"]
    assert recorded[1]["data"] == {"email": "dpo@shopwise.example"}
    assert recorded[2]["data"] == {"records": ["platforms"]}


def test_archived_platform_takes_no_new_grant_but_a_withdrawal(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    add_use(person, platform_id, "DirectMarketing")
    response = person.post(f"/platforms/{platform_id}", {}, action=f"/platforms/{platform_id}/archive")
    assert response.status_code == 302
    ids = use_ids(app, platform_id)
    # Withdrawing is the person's right whatever the platform's state (GDPR Art. 7(3)).
    decide(person, ids["Marketing"], "withdraw")
    assert all_events(app)[-1]["type"] == "use.withdrawn"
    before = count_rows(app)["ledger_entries"]
    decide(person, ids["Marketing"], "grant")
    assert count_rows(app)["ledger_entries"] == before
    assert "This platform is archived: bring it back" in client.get("/dashboard").get_data(as_text=True)
    assert platform_id not in client.get("/platforms").get_data(as_text=True)
    assert platform_id in client.get("/platforms?archived=1").get_data(as_text=True)
    assert platform_id in client.get("/platforms?shown=archived").get_data(as_text=True)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("withdraw", "cannot be withdrawn"),
        ("renew", "cannot be withdrawn, renewed"),
        ("refuse", "refused already"),
    ],
)
def test_decision_that_cannot_follow_is_refused_and_records_nothing(person, client, app, action, message):
    platform_id = add_platform(person)
    add_use(person, platform_id, "SellDataToThirdParties", decision="refuse")
    use_id = use_ids(app, platform_id)["Selling my data to third parties"]
    before = count_rows(app)["ledger_entries"]
    response = decide(person, use_id, action)
    assert response.status_code == 302
    assert message in client.get("/dashboard").get_data(as_text=True)
    assert count_rows(app)["ledger_entries"] == before


def test_decision_dated_in_the_future_is_refused(person, client, app):
    platform_id = add_platform(person)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    response = person.post(
        f"/platforms/{platform_id}",
        {"purpose": DPV + "Marketing", "decision": "grant", "decided_on": tomorrow},
        action=f"/platforms/{platform_id}/uses",
    )
    assert response.status_code == 400
    assert "A decision cannot be dated in the future." in response.get_data(as_text=True)
    assert count_rows(app)["ledger_entries"] == 1


def test_decision_made_earlier_carries_both_times(person, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", decided_on="2026-03-02")
    event = all_events(app)[-1]
    assert event["at"] == "2026-03-02T12:00:00Z"
    assert event["recorded"][:10] == datetime.now(UTC).date().isoformat()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"purpose": "https://example.org/not-a-purpose", "decision": "grant"}, "Not a valid choice."),
        ({"purpose": "custom", "custom": "", "decision": "grant"}, "Describe the purpose."),
        ({"purpose": DPV + "Marketing", "decision": "grant", "expires": "31/12/2026"}, "Not a valid date value."),
    ],
)
def test_bad_use_input_records_nothing(person, app, data, message):
    platform_id = add_platform(person)
    response = person.post(f"/platforms/{platform_id}", data, action=f"/platforms/{platform_id}/uses")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_rows(app)["ledger_entries"] == 1


def test_custom_purpose(person, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "ignored", purpose="custom", custom="Training their chatbot")
    event = all_events(app)[-1]
    assert event["data"]["purpose"] == "custom:Training their chatbot"
    assert event["data"]["label"] == "Training their chatbot"


def test_unknown_decision_or_missing_button_is_refused(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    assert decide(person, use_id, "delete").status_code == 404
    assert decide(person, str(uuid.uuid4()), "withdraw").status_code == 404
    assert client.get(f"/uses/{use_id}/withdraw").status_code == 405
    response = person.post(
        f"/platforms/{platform_id}", {"purpose": DPV + "Marketing"}, action=f"/platforms/{platform_id}/uses"
    )
    assert response.status_code == 400
    assert count_rows(app)["ledger_entries"] == 2


def test_another_persons_platform_and_uses_are_out_of_reach(person, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    use_id = use_ids(app, platform_id)["Marketing"]
    person.logout()
    intruder = Auth(app.test_client())
    intruder.register(email="mallory@example.org")
    assert intruder.client.get(f"/platforms/{platform_id}").status_code == 404
    assert intruder.client.get(f"/platforms/{platform_id}/edit").status_code == 404
    assert intruder.post("/dashboard", {}, action=f"/uses/{use_id}/withdraw").status_code == 404
    assert intruder.post("/dashboard", {}, action=f"/platforms/{platform_id}/archive").status_code == 404
    assert intruder.client.get("/ledger/events/0").status_code == 404
    assert intruder.client.get("/ledger/events/0/receipt.json").status_code == 404


def test_what_stood_on_a_past_date(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", decided_on="2026-01-10")
    use_id = use_ids(app, platform_id)["Marketing"]
    decide(person, use_id, "withdraw", decided_on="2026-02-20")
    on = lambda day: client.get(f"/ledger/as-of?date={day}").get_data(as_text=True)  # noqa: E731
    assert re.search(r'status-granted">Granted</span>\s+Marketing', on("2026-02-01"))
    assert re.search(r'status-withdrawn">Withdrawn</span>\s+Marketing', on("2026-03-01"))
    assert "Nothing was recorded yet on that date." in on("2025-12-31")
    bad = client.get("/ledger/as-of?date=yesterday")
    assert bad.status_code == 400 and "Not a valid date value." in bad.get_data(as_text=True)


def test_expired_grant_is_recorded_at_next_login(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", decided_on="2026-01-10", expires="2026-02-01")
    assert "Expired: 1" in client.get("/dashboard").get_data(as_text=True)  # derived before it is recorded
    person.logout()
    person.login()
    recorded = all_events(app)
    assert recorded[-1]["type"] == "use.expired" and recorded[-1]["at"] == "2026-02-02T00:00:00Z"
    person.logout()
    person.login()
    assert len(all_events(app)) == len(recorded)  # recorded once


def test_replay_equals_projection_and_rebuild_restores_it(person, app):
    platform_id = add_platform(person)
    other = add_platform(person, name="FriendSphere", country="IE")
    add_use(person, platform_id, "Marketing")
    add_use(person, other, "PersonalisedAdvertising", decision="refuse")
    add_use(person, other, "ServiceProvision", expires="2030-01-01")
    ids = use_ids(app, platform_id)
    decide(person, ids["Marketing"], "withdraw")
    decide(person, ids["Marketing"], "grant")
    person.post(f"/platforms/{other}", {}, action=f"/platforms/{other}/archive")
    with app.app_context():
        s, login = db.session(), _login(app)
        projected = ledger.projected_state(s, login)
        assert replay(ledger.iter_events(s, login)) == projected
        # Damage the projection: the next read raises the alarm; rebuild it from the ledger alone.
        s.execute(sa.delete(Use))
        s.commit()
        with pytest.raises(IntegrityAlarm) as alarm:
            ledger.projected_state(s, login)
        assert {kind for kind, _ in alarm.value.problems} == {"missing"} and len(alarm.value.problems) == 3
        result = app.test_cli_runner().invoke(args=["rebuild-state", "ada@example.org"], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        assert "Rebuilt 2 platforms and 3 uses from the ledger." in result.output
        assert ledger.projected_state(db.session(), _login(app)) == projected
        view = platforms.get_platform(db.session(), _login(app), uuid.UUID(platform_id))
        assert view.notes == "Bought a bike there"  # kept: not in the ledger


def test_verify_page_finds_tampering_in_the_database(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    verify = lambda: person.post("/ledger", {}, action="/ledger/verify").get_data(as_text=True)  # noqa: E731
    assert "Your ledger is intact." in verify()
    with app.app_context():
        s = db.session()
        entry = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.index == 1))
        entry.leaf_hash = bytes(32)
        s.commit()
    page = verify()
    assert "Your ledger has problems." in page
    assert "event 1 does not hash to its leaf" in page
    assert "checkpoint 2 does not match the events before it" in page


def test_verify_page_finds_a_forged_checkpoint(person, app):
    add_platform(person)
    with app.app_context():
        s = db.session()
        row = s.scalar(sa.select(LedgerCheckpoint))
        row.note = row.note.replace("\n1\n", "\n1\n", 1)[:-10] + "AAAAAAAAA\n"
        s.commit()
    alarm = person.client.get("/ledger")
    assert alarm.status_code == 409
    assert "does not match its newest signed checkpoint" in alarm.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', alarm.get_data(as_text=True)).group(1)
    page = person.client.post("/ledger/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "checkpoint 1: note:" in page


def test_exported_bundle_and_receipt_verify_offline(person, client, app, tmp_path):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    add_use(person, platform_id, "DirectMarketing")
    decide(person, use_ids(app, platform_id)["Marketing"], "withdraw")
    export = client.get("/ledger/export.json")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    path = tmp_path / "ledger.json"
    path.write_bytes(export.data)
    export.close()
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        key = ledger.verifier_key(login)
    with path.open("rb") as f:
        report = bundle.verify_bundle(f, expected_key=key)
    assert report.events == 4 and report.checkpoints == 4
    assert str(key) in client.get("/ledger").get_data(as_text=True)
    receipt = client.get("/ledger/events/3/receipt.json")
    assert receipt.status_code == 200
    document = json.loads(receipt.data)
    assert document["event"]["type"] == "use.withdrawn"
    assert document["dpv"]["dpv:hasConsentStatus"]["@id"] == "dpv:ConsentWithdrawn"
    assert "kantara" not in document
    assert receipts.verify_receipt(document, expected_key=key).size == 4
    grant = json.loads(client.get("/ledger/events/1/receipt.json").data)
    assert grant["kantara"]["piiControllers"][0]["piiController"] == "Shopwise Online"
    assert client.get("/ledger/events/99").status_code == 404


def test_export_of_an_empty_ledger_is_a_clear_404(person, client):
    assert client.get("/ledger/export.json").status_code == 404


def test_cli_export_then_verify_with_the_console_script(person, app, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    out = tmp_path / "bundle.json"
    result = app.test_cli_runner().invoke(args=["export", "ada@example.org", "-o", str(out)], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    key = json.loads(out.read_text())["verifier_key"]
    script = Path(sys.executable).with_name("consent")
    ok = subprocess.run([script, "verify", str(out), "--key", key], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "OK: bundle of ledger" in ok.stdout and "signed by the expected key" in ok.stdout
    unpinned = subprocess.run([script, "verify", str(out)], capture_output=True, text=True, check=False)
    assert unpinned.returncode == 0 and "key not pinned" in unpinned.stdout
    text = out.read_text().replace('"Marketing"', '"Marketinh"')
    out.write_text(text)
    bad = subprocess.run([script, "verify", str(out), "--key", key], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "FAILED: event 1 was changed" in bad.stderr
    wrong = app.test_cli_runner().invoke(args=["export", "ada@example.org"], input="wrong password\n")
    assert wrong.exit_code == 1 and "the e-mail address or the password is wrong" in wrong.output


def test_verify_command_imports_neither_flask_nor_sqlalchemy(tmp_path):
    import subprocess
    import sys

    from tests.ledger_helpers import bundle_text

    path = tmp_path / "b.json"
    path.write_text(bundle_text(5))
    code = (
        "import sys\n"
        "from consent.command import main\n"
        f"sys.argv = ['consent', 'verify', {str(path)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out
    assert "OK: bundle" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "neither JSON nor"),
        ('{"format": "something/else"}', "unknown format"),
        ('{"x": 1}', "no format field"),
    ],
)
def test_verify_command_refuses_what_it_cannot_read(tmp_path, content, message):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "f.json"
    path.write_text(content)
    script = Path(sys.executable).with_name("consent")
    result = subprocess.run([script, "verify", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and message in result.stderr


def test_demo_account_has_a_year_of_history(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    email = re.search(r"e-mail:\s+(\S+)", result.output).group(1)
    password = re.search(r"password:\s+(\S+)", result.output).group(1)
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email=email, password=password)
        recorded = list(ledger.iter_events(s, login))
        kinds = {e["type"] for e in recorded}
        assert {"platform.added", "use.granted", "use.refused", "use.withdrawn", "use.expired"} <= kinds
        assert len(platforms.list_platforms(s, login)) == 10
        first, last = recorded[0]["at"], recorded[-1]["recorded"]
        assert (datetime.fromisoformat(last[:-1]) - datetime.fromisoformat(first[:-1])).days >= 300
        assert ledger.verify(s, login).ok


def test_deleting_the_account_removes_its_ledger_and_platforms(app):
    bystander = Auth(app.test_client())
    bystander.register(email="grace@example.org")
    add_platform(bystander, name="Grace's bank")
    bystander.logout()
    before = count_rows(app)
    person = Auth(app.test_client())
    person.register()
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    decide(person, use_ids(app, platform_id)["Marketing"], "withdraw")
    during = count_rows(app)
    assert during["ledger_entries"] == before["ledger_entries"] + 3
    assert during["uses"] == 1 and during["ledger_checkpoints"] == before["ledger_checkpoints"] + 3
    response = person.post(
        "/settings", {"delete-current": PASSWORD, "delete-understood": "y"}, action="/settings/delete", prefix="delete"
    )
    assert response.status_code == 302
    assert count_rows(app) == before
