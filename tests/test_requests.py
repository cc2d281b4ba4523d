"""Letters and requests through the web: write, download, send, follow, remind, complain."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from consent import db
from consent.deadlines import response_due
from consent.models import Request, RequestFile
from consent.services import accounts, ledger
from tests.conftest import PASSWORD, Auth, count_rows
from tests.test_platforms import SHOP, add_platform, add_use, decide, use_ids

FRENCH_SHOP = {
    **SHOP,
    "name": "Boutique Éclair SARL",
    "country": "FR",
    "address": "3 rue de Rivoli\n75004 Paris\nFrance",
}


def letter_url(platform_id: str) -> str:
    return f"/platforms/{platform_id}/letter"


def post_letter(auth: Auth, platform_id: str, **data):
    """The letter form posted as a script would (no text area, no record of what the page
    showed); recording as sent or sending comes already confirmed, unless ``confirm`` says."""
    form = {"kind": "access", "language": "fr", "channel": "email", "include_address": "y", "include_email": "y"}
    if data.get("step") in ("sent", "send_email"):
        form["confirm"] = "y"
    form.update(data)
    return auth.post(letter_url(platform_id) + "?kind=" + form["kind"], form, action=letter_url(platform_id))


def events_of(app) -> list[dict]:
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        return list(ledger.iter_events(s, login))


def test_french_access_request_from_pdf_to_complaint(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = client.get(letter_url(platform_id) + "?kind=access").get_data(as_text=True)
    assert '<option selected value="fr">' in page  # the platform's country decides the language
    assert "Demande d&#39;accès à mes données personnelles (article 15 du RGPD)" in page

    pdf = post_letter(person, platform_id, step="pdf")
    assert pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Zoë Dupré" in text and "Boutique Éclair SARL" in text and "article 15" in text
    txt = post_letter(person, platform_id, step="txt")
    assert txt.mimetype == "text/plain" and "Objet : Demande d'accès" in txt.get_data(as_text=True)
    eml = email.message_from_bytes(post_letter(person, platform_id, step="eml").data, policy=email.policy.default)
    assert eml["To"].addresses[0].addr_spec == "privacy@shopwise.example" and "RGPD" in eml["Subject"]

    sent_on = date(2026, 9, 1)
    sent = post_letter(person, platform_id, step="sent", sent_on=sent_on.isoformat())
    assert sent.status_code == 302
    request_page = sent.headers["Location"]
    due = response_due(sent_on, country="FR")
    html = client.get(request_page).get_data(as_text=True)
    assert f'id="due-date">{due.strftime("%b")} {due.day}, {due.year}' in html
    assert 'id="request-status">Overdue' in html  # the date has passed
    assert "overdue since" in client.get("/dashboard").get_data(as_text=True)

    letter_event = events_of(app)[-1]
    assert letter_event["type"] == "letter.sent" and letter_event["data"]["kind"] == "access"
    sent_text = client.get(request_page + "/letter.txt").get_data(as_text=True)
    assert letter_event["data"]["sha256"] == hashlib.sha256(sent_text.encode()).hexdigest()

    request_id = request_page.rsplit("/", 1)[1]
    reminder = client.get(f"{letter_url(platform_id)}?kind=reminder&parent={request_id}").get_data(as_text=True)
    assert "Le 1er septembre 2026, je vous ai adressé une demande d&#39;accès" in reminder
    assert post_letter(person, platform_id, kind="reminder", parent=request_id, step="sent").status_code == 302

    complaint = client.get(f"{letter_url(platform_id)}?kind=complaint&parent={request_id}").get_data(as_text=True)
    assert (
        "Commission nationale de l&#39;informatique et des libertés (CNIL)" in complaint
    )  # the person lives in France
    assert "j&#39;introduis une réclamation à l&#39;encontre du responsable du traitement suivant" in complaint
    assert '<option selected value="webform">' in complaint  # the CNIL takes complaints by web form
    assert "Chacun de mes courriers est consigné dans mon registre de consentements" in complaint
    assert "- Demande d&#39;accès (article 15 du RGPD), 1er septembre 2026" in complaint
    assert complaint.count("SHA-256") == 2  # the access request and its reminder
    filed = post_letter(
        person, platform_id, kind="complaint", parent=request_id, authority="fr-cnil", channel="webform", step="sent"
    )
    assert filed.status_code == 302
    assert 'id="request-status">Complaint filed' in client.get(request_page).get_data(as_text=True)
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        assert ledger.verify(s, login).ok


def test_withdrawal_letter_in_two_clicks_names_the_event_and_its_receipt_verifies(person, client, app, tmp_path):
    platform_id = add_platform(person, **FRENCH_SHOP)
    add_use(person, platform_id, "DirectMarketing")
    use_id = use_ids(app, platform_id)["Direct marketing (newsletters, offers by e-mail, post or phone)"]
    # Click 1: withdraw from the dashboard.
    response = decide(person, use_id, "withdraw")
    dashboard = client.get(response.headers["Location"]).get_data(as_text=True)
    offer = re.search(r'href="([^"]+)" id="letter-offer"', dashboard).group(1).replace("&amp;", "&")
    # Click 2: the letter, already written.
    page = client.get(offer).get_data(as_text=True)
    withdrawal = events_of(app)[-1]
    assert withdrawal["type"] == "use.withdrawn"
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        cited = ledger.citation(s, login, withdrawal["index"])
        key = str(ledger.verifier_key(login))
    assert f"événement {withdrawal['index']}, SHA-256 {cited.hash}" in page
    assert f"Clé qui signe le registre : {key}" in page  # so that the citation can be checked
    assert "Retrait de mon consentement" in page
    eml = post_letter(person, platform_id, kind="withdrawal", uses=use_id, step="eml")
    message = email.message_from_bytes(eml.data, policy=email.policy.default)
    (attachment,) = list(message.iter_attachments())
    receipt_path = tmp_path / attachment.get_filename()
    receipt_path.write_bytes(attachment.get_content())
    assert json.loads(receipt_path.read_text())["event"]["index"] == withdrawal["index"]
    script = Path(sys.executable).with_name("consent")
    result = subprocess.run(
        [script, "verify", str(receipt_path), "--key", key], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "OK: receipt" in result.stdout


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "bribe"}, "Not a valid choice."),
        ({"language": "xx"}, "Not a valid choice."),
        ({"channel": "pigeon"}, "Not a valid choice."),
        ({"details": "x" * 3001}, "Field cannot be longer than 3000 characters."),
    ],
)
def test_bad_letter_input_is_refused_and_records_nothing(person, app, data, message):
    platform_id = add_platform(person, **FRENCH_SHOP)
    response = post_letter(person, platform_id, step="sent", **data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0


def test_postal_letter_to_a_platform_without_address_is_refused(person, app):
    platform_id = add_platform(person, **{**FRENCH_SHOP, "address": ""})
    response = post_letter(person, platform_id, channel="post", step="sent")
    assert response.status_code == 400
    assert "This platform has no postal address" in response.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0 and count_rows(app)["ledger_entries"] == 2  # the profile's seal, the platform


def test_letter_needs_the_persons_name(auth, app):
    auth.register()
    platform_id = add_platform(auth, **FRENCH_SHOP)
    response = post_letter(auth, platform_id, step="pdf")
    assert response.status_code == 400 and "Fill in your name in your profile first" in response.get_data(as_text=True)


def test_postal_delivery_is_estimated_until_the_receipt_date_is_entered(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    sent_on = date.today() - timedelta(days=2)
    request_page = post_letter(person, platform_id, channel="post", step="sent", sent_on=sent_on.isoformat()).headers[
        "Location"
    ]
    html = client.get(request_page).get_data(as_text=True)
    assert "estimate: enter the date on the delivery receipt" in html
    request_id = request_page.rsplit("/", 1)[1]
    person.post(
        request_page,
        {"status": "delivered", "delivered_on": (sent_on + timedelta(days=1)).isoformat()},
        action=f"/requests/{request_id}/update",
    )
    assert "estimate:" not in client.get(request_page).get_data(as_text=True)


def test_extension_answer_with_file_and_closing(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    sent_on = date(2026, 11, 2)
    request_page = post_letter(person, platform_id, step="sent", sent_on=sent_on.isoformat()).headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    update = f"/requests/{request_id}/update"
    assert person.post(request_page, {"status": "extended"}, action=update).status_code == 302
    extended = response_due(sent_on, country="FR", extended=True)
    assert f"{extended.strftime('%b')} {extended.day}, {extended.year}" in client.get(request_page).get_data(
        as_text=True
    )
    secret = b"their copy of my data: Zo\xc3\xab, 12 rue de la Paix"
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(request_page).get_data(as_text=True)
    ).group(1)
    answered = client.post(
        update,
        data={
            "csrf_token": token,
            "status": "answered",
            "note": "Sent a ZIP",
            "file": (io.BytesIO(secret), "copy.txt"),
        },
        content_type="multipart/form-data",
    )
    assert answered.status_code == 302
    html = client.get(request_page).get_data(as_text=True)
    file_link = re.search(r'href="(/requests/[^"]+/files/[^"]+)">copy.txt', html).group(1)
    assert client.get(file_link).data == secret
    with app.app_context():
        stored = db.session().scalar(sa.select(RequestFile.content))
        assert secret not in stored  # sealed
    assert person.post(request_page, {"status": "closed"}, action=update).status_code == 302
    assert person.post(request_page, {"status": "answered"}, action=update).status_code == 400  # closed is final
    kinds = [e["type"] for e in events_of(app)]
    assert kinds.count("request.updated") == 3
    assert events_of(app)[-2]["data"]["sha256"] == hashlib.sha256(secret).hexdigest()


def test_too_large_answer_is_refused_and_changes_nothing(person, client, app):
    app.config["MAX_REPLY_FILE_BYTES"] = 10
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="sent").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(request_page).get_data(as_text=True)
    ).group(1)
    response = client.post(
        f"/requests/{request_id}/update",
        data={"csrf_token": token, "status": "answered", "file": (io.BytesIO(b"x" * 11), "big.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "The file is too large." in response.get_data(as_text=True)
    assert count_rows(app)["request_files"] == 0
    assert 'id="request-status">Sent' in client.get(request_page).get_data(as_text=True)


def test_requests_are_out_of_reach_of_others(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="sent").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    person.logout()
    intruder = Auth(app.test_client())
    intruder.register(email="mallory@example.org")
    assert intruder.client.get(request_page).status_code == 404
    assert intruder.client.get(request_page + "/letter.pdf").status_code == 404
    assert intruder.post("/dashboard", {"status": "closed"}, action=f"/requests/{request_id}/update").status_code == 404
    assert intruder.client.get(letter_url(platform_id)).status_code == 404


def test_request_details_are_sealed(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    post_letter(person, platform_id, step="sent", details="Mon numéro secret 4471-XYZ")
    with app.app_context():
        stored = db.session().scalar(sa.select(Request.details))
    assert b"4471-XYZ" not in stored and b"Boutique" not in stored


def test_due_soon_and_answered_requests_need_action(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    post_letter(person, platform_id, step="sent", sent_on=(datetime.now(UTC).date() - timedelta(days=27)).isoformat())
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Needs your attention" in html and "answer due by" in html


def _calendar_link(person, client, **data) -> str:
    response = person.post("/settings", data, action="/settings/calendar", prefix="calendar")
    assert response.status_code == 200
    link = re.search(r'id="calendar-link">([^<]+)<', response.get_data(as_text=True)).group(1)
    return link.replace("http://localhost", "")


def test_calendar_feed_of_due_dates(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    link = _calendar_link(person, client)
    assert client.get(link).data.count(b"BEGIN:VEVENT") == 0
    sent_on = date(2026, 11, 20)
    post_letter(person, platform_id, step="sent", sent_on=sent_on.isoformat())
    feed = client.get(link)
    assert feed.mimetype == "text/calendar"
    body = feed.get_data(as_text=True)
    assert "SUMMARY:GDPR request due: access" in body
    assert f"DTSTART;VALUE=DATE:{response_due(sent_on, country='FR').strftime('%Y%m%d')}" in body
    assert "Boutique" not in body  # no platform names unless asked
    with app.app_context():
        from consent.models import CalendarFeed

        assert b"access" not in db.session().scalar(sa.select(CalendarFeed.content))  # sealed
    named = _calendar_link(person, client, **{"calendar-include_names": "y"})
    assert client.get(link).status_code == 404  # the old link stopped working
    assert "Boutique" in client.get(named).get_data(as_text=True).replace("\r\n ", "")  # unfold lines
    person.post("/settings", {"calendar-revoke": "y"}, action="/settings/calendar", prefix="calendar")
    assert client.get(named).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404


@pytest.fixture
def smtp_server():
    """A real SMTP server on this machine that keeps what it receives."""
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.messages: list[tuple[str, list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port on the loopback interface
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def shop_in_directory(app, folder) -> str:
    """The shop as the directory knows it; returns its slug for the platform form."""
    from tests.test_directory import company, run_import, write_directory

    record = company("shopwise", FRENCH_SHOP["name"], email=FRENCH_SHOP["email"])
    run_import(app, write_directory(folder, [record]))
    return "shopwise"


def test_send_from_the_app_through_smtp(person, client, app, smtp_server, tmp_path):
    handler, port = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_FROM="letters@consent.example")
    platform_id = add_platform(person, **FRENCH_SHOP, directory=shop_in_directory(app, tmp_path))
    assert "Send it now by e-mail" in client.get(letter_url(platform_id)).get_data(as_text=True)
    response = post_letter(person, platform_id, step="send_email")
    assert response.status_code == 302
    ((mail_from, rcpt_tos, content),) = handler.messages
    assert mail_from == "letters@consent.example" and rcpt_tos == ["privacy@shopwise.example"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["From"].addresses[0].display_name == "Zoë Dupré"
    assert message["Reply-To"].addresses[0].addr_spec == "ada@example.org"
    assert "Demande d'accès" in message["Subject"]
    assert count_rows(app)["requests"] == 1 and events_of(app)[-1]["type"] == "letter.sent"


def test_smtp_failure_records_nothing(person, client, app, tmp_path):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_STARTTLS=False, SMTP_FROM="letters@consent.example")
    platform_id = add_platform(person, **FRENCH_SHOP, directory=shop_in_directory(app, tmp_path))
    response = post_letter(person, platform_id, step="send_email")
    assert response.status_code == 400 and "could not be sent" in response.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0


def test_the_same_request_to_several_platforms(person, client, app):
    import zipfile

    first = add_platform(person, **FRENCH_SHOP)
    second = add_platform(
        person,
        **{**SHOP, "name": "Kredit Wächter GmbH", "country": "DE", "email": "", "address": "Weg 1\n10115 Berlin"},
    )
    zipped = person.post(
        "/requests/several", {"kind": "access", "language": "auto", "platforms": [first, second], "step": "zip"}
    )
    assert zipped.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(zipped.data))
    names = sorted(archive.namelist())
    assert names == [
        "01-boutique-eclair-sarl.pdf",
        "01-boutique-eclair-sarl.txt",
        "02-kredit-wachter-gmbh.pdf",
        "02-kredit-wachter-gmbh.txt",
    ]
    assert "Objet : Demande d'accès" in archive.read("01-boutique-eclair-sarl.txt").decode()
    assert "\n\nAntrag auf Auskunft über meine" in archive.read("02-kredit-wachter-gmbh.txt").decode()
    assert count_rows(app)["requests"] == 0  # downloading records nothing
    chosen = {"kind": "access", "language": "auto", "platforms": [first, second]}
    asked = person.post("/requests/several", {**chosen, "step": "sent"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Record 2 letters as sent today?" in page and "cannot be unsent" in page
    assert count_rows(app)["requests"] == 0  # asked, not recorded
    assert person.post("/requests/several", {**chosen, "step": "review", "confirm": "y"}).status_code == 200
    assert count_rows(app)["requests"] == 0  # "Not yet" records nothing
    recorded = person.post("/requests/several", {**chosen, "step": "sent", "confirm": "y"})
    assert recorded.status_code == 302 and count_rows(app)["requests"] == 2
    listing = client.get("/requests").get_data(as_text=True)
    assert "Boutique Éclair SARL" in listing and "Kredit Wächter GmbH" in listing
    channels = {e["data"]["channel"] for e in events_of(app) if e["type"] == "letter.sent"}
    assert channels == {"email", "post"}  # each platform by the way it can be reached


def test_several_at_once_needs_platforms_and_a_known_kind(person, app):
    add_platform(person, **FRENCH_SHOP)
    empty = person.post("/requests/several", {"kind": "access", "language": "auto", "step": "sent"})
    assert empty.status_code == 400 and "Tick at least one platform." in empty.get_data(as_text=True)
    bad = person.post("/requests/several", {"kind": "complaint", "language": "auto", "platforms": [], "step": "sent"})
    assert bad.status_code == 400 and "Not a valid choice." in bad.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0


def test_draft_then_sent(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    saved = post_letter(person, platform_id, step="draft", channel="post")
    assert saved.status_code == 302
    request_page = saved.headers["Location"]
    html = client.get(request_page).get_data(as_text=True)
    assert 'id="request-status">Draft' in html
    # A draft is not sent: the ledger only seals that the person's requests changed.
    assert [e["type"] for e in events_of(app)] == ["records.sealed", "platform.added", "records.sealed"]
    assert events_of(app)[-1]["data"] == {"records": ["requests"]}
    assert "written, not sent yet" in client.get("/dashboard").get_data(as_text=True)
    request_id = request_page.rsplit("/", 1)[1]
    future = (date.today() + timedelta(days=3)).isoformat()
    refused = person.post(request_page, {"sent_on": future}, action=f"/requests/{request_id}/sent")
    assert refused.status_code == 400 and "A letter cannot be sent in the future." in refused.get_data(as_text=True)
    sent_on = date.today() - timedelta(days=1)
    sent = person.post(
        request_page, {"sent_on": sent_on.isoformat(), "confirm": "y"}, action=f"/requests/{request_id}/sent"
    )
    assert sent.status_code == 302
    html = client.get(request_page).get_data(as_text=True)
    assert 'id="request-status">Sent' in html and "estimate: enter the date on the delivery receipt" in html
    assert events_of(app)[-1]["type"] == "letter.sent"
    again = person.post(
        request_page, {"sent_on": sent_on.isoformat(), "confirm": "y"}, action=f"/requests/{request_id}/sent"
    )
    assert again.status_code == 400 and len([e for e in events_of(app) if e["type"] == "letter.sent"]) == 1


def test_german_letters_name_uses_in_german(person, client, app):
    platform_id = add_platform(person, **{**SHOP, "country": "DE"})
    add_use(person, platform_id, "DirectMarketing")
    use_id = use_ids(app, platform_id)["Direct marketing (newsletters, offers by e-mail, post or phone)"]
    decide(person, use_id, "withdraw")
    page = client.get(f"{letter_url(platform_id)}?kind=withdrawal&use={use_id}").get_data(as_text=True)
    assert "- Direktwerbung (Newsletter, Angebote per E-Mail, Post oder Telefon)" in page
    assert "Widerruf meiner Einwilligung" in page
    assert '<html lang="en">' in page  # the interface itself stays in the person's language
