"""Requests, the steps with consequences: confirm before recording or sending, delete a
draft (confirmed), edit a letter by hand before sending, change its kind, the reminder's
own status, and text downloads' Content-Type."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from consent import db
from consent.deadlines import response_due
from consent.services import accounts, ledger
from tests.conftest import PASSWORD, Auth, count_rows
from tests.test_platforms import add_platform
from tests.test_requests import FRENCH_SHOP, events_of, letter_url, post_letter, shop_in_directory, smtp_server

__all__ = ["smtp_server"]  # the fixture, used here by name

ACCESS_SUBJECT = "Demande d'accès à mes données personnelles (article 15 du RGPD)"
ERASURE_SUBJECT = "Demande d'effacement de mes données personnelles (article 17 du RGPD)"


def shown(page: str) -> dict[str, str]:
    """What the compose page holds: the letter's text area and the hidden record of what it showed."""
    found = {
        name: html.unescape(m.group(1))
        for name in ("composed", "text_kind", "csrf_token")
        if (m := re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page))
    }
    area = re.search(r'<textarea[^>]*name="text"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    found["text"] = html.unescape(area.group(1)) if area else ""
    return found


def compose(person: Auth, platform_id: str, kind: str = "access") -> dict[str, str]:
    """The page after "Update the letter" with the choices ``post_shown`` sends."""
    page = post_letter(person, platform_id, kind=kind, step="preview")
    assert page.status_code == 200
    return shown(page.get_data(as_text=True))


def post_shown(person: Auth, platform_id: str, held: dict[str, str], **data):
    """The letter form as the browser posts it: the text area and what the page showed."""
    form = {
        "kind": "access",
        "language": "fr",
        "channel": "email",
        "include_address": "y",
        "include_email": "y",
        "composed": held["composed"],
        "text_kind": held["text_kind"],
        "text": held["text"],
        "csrf_token": held["csrf_token"],
    }
    form.update(data)
    return person.client.post(letter_url(platform_id), data=form)


def letter_events(app) -> list[dict]:
    return [e for e in events_of(app) if e["type"] == "letter.sent"]


# -- Record as sent: a confirmation that says what follows ------------------------------


def test_recording_as_sent_asks_first_and_says_what_follows(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    sent_on = datetime.now(UTC).date() - timedelta(days=1)
    asked = post_shown(person, platform_id, held, step="sent", sent_on=sent_on.isoformat())
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'id="confirm-sent"' in page
    due = response_due(sent_on, country="FR")
    assert f"must answer by {due.strftime('%b')} {due.day}, {due.year}" in page  # the deadline for that day
    assert "It cannot be unsent" in page and "Your ledger records that you sent it" in page
    assert f'name="sent_on" value="{sent_on.isoformat()}"' in page  # the date goes on with the confirmation
    assert count_rows(app)["requests"] == 0 and letter_events(app) == []

    confirmed = post_shown(person, platform_id, shown(page), step="sent", sent_on=sent_on.isoformat(), confirm="y")
    assert confirmed.status_code == 302
    assert count_rows(app)["requests"] == 1 and len(letter_events(app)) == 1
    request_page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert f'id="due-date">{due.strftime("%b")} {due.day}, {due.year}' in request_page


def test_a_date_that_cannot_be_is_refused_before_the_confirmation(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    refused = post_shown(person, platform_id, held, step="sent", sent_on=future)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "A letter cannot be sent in the future." in page
    assert 'id="confirm-sent"' not in page and count_rows(app)["requests"] == 0


def test_a_draft_is_recorded_as_sent_only_once_confirmed(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="draft").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    asked = person.post(request_page, {"sent_on": ""}, action=f"/requests/{request_id}/sent")
    assert asked.status_code == 200 and 'id="confirm-sent"' in asked.get_data(as_text=True)
    assert 'id="request-status">Draft' in client.get(request_page).get_data(as_text=True)
    assert letter_events(app) == []
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    refused = person.post(request_page, {"sent_on": future}, action=f"/requests/{request_id}/sent")
    assert refused.status_code == 400 and "A letter cannot be sent in the future." in refused.get_data(as_text=True)
    done = person.post(request_page, {"sent_on": "", "confirm": "y"}, action=f"/requests/{request_id}/sent")
    assert done.status_code == 302 and len(letter_events(app)) == 1


def test_sending_by_email_from_the_app_asks_first(person, client, app, smtp_server, tmp_path):
    handler, port = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_FROM="letters@consent.example")
    platform_id = add_platform(person, **FRENCH_SHOP, directory=shop_in_directory(app, tmp_path))
    held = compose(person, platform_id)
    asked = post_shown(person, platform_id, held, step="send_email")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Send this letter now?" in page
    assert "The app e-mails it to privacy@shopwise.example" in page
    assert handler.messages == [] and count_rows(app)["requests"] == 0
    sent = post_shown(person, platform_id, shown(page), step="send_email", confirm="y")
    assert sent.status_code == 302 and len(handler.messages) == 1 and count_rows(app)["requests"] == 1


# -- Delete a draft, confirmed ------------------------------------------------------------


def test_deleting_a_draft_asks_then_deletes_it(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="draft").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    assert "Delete this draft" in client.get(request_page).get_data(as_text=True)
    asked = person.post(request_page, {}, action=f"/requests/{request_id}/delete")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Delete this draft?" in page and 'id="confirm-delete-yes"' in page
    assert count_rows(app)["requests"] == 1
    deleted = person.post(request_page, {"confirm": "y"}, action=f"/requests/{request_id}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/requests"
    assert count_rows(app)["requests"] == 0
    assert client.get(request_page).status_code == 404
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        assert ledger.verify(s, login).ok  # the deletion is sealed like any change of the person's records
    assert "letter.sent" not in [e["type"] for e in events_of(app)]


def test_a_sent_letter_cannot_be_deleted(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="sent").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    assert "Delete this draft" not in client.get(request_page).get_data(as_text=True)
    before = count_rows(app)
    refused = person.post(request_page, {"confirm": "y"}, action=f"/requests/{request_id}/delete")
    assert refused.status_code == 400 and "Only a draft can be deleted" in refused.get_data(as_text=True)
    assert count_rows(app) == before


def test_someone_elses_draft_cannot_be_deleted(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="draft").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    person.logout()
    intruder = Auth(app.test_client())
    intruder.register(email="mallory@example.org")
    refused = intruder.post("/dashboard", {"confirm": "y"}, action=f"/requests/{request_id}/delete")
    assert refused.status_code == 404 and count_rows(app)["requests"] == 1


def test_deleting_without_the_forms_token_is_refused(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_id = post_letter(person, platform_id, step="draft").headers["Location"].rsplit("/", 1)[1]
    refused = client.post(f"/requests/{request_id}/delete", data={"confirm": "y"})
    assert refused.status_code == 400 and count_rows(app)["requests"] == 1


# -- A letter the person edits before sending --------------------------------------------


def test_an_edited_letter_is_recorded_word_for_word_with_the_laws_deadline(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    assert ACCESS_SUBJECT in held["text"]
    edited = held["text"].replace("Madame, Monsieur,", "Madame la déléguée,") + "\nP.S. Merci de répondre par écrit.\n"
    # A browser sends a text area's line breaks as CRLF.
    preview = post_shown(person, platform_id, held, step="preview", text=edited.replace("\n", "\r\n"))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="letter-edited"' in page
    assert shown(page)["text"] == edited  # kept, not written again
    txt = post_shown(person, platform_id, shown(page), step="txt")
    assert txt.get_data(as_text=True) == edited  # the download is the edited text

    sent_on = datetime.now(UTC).date()
    asked = post_shown(person, platform_id, shown(page), step="sent").get_data(as_text=True)
    assert "You edited the text by hand" in asked
    done = post_shown(person, platform_id, shown(asked), step="sent", confirm="y")
    assert done.status_code == 302
    request_page = done.headers["Location"]
    html_page = client.get(request_page).get_data(as_text=True)
    assert 'id="letter-edited">Edited by hand' in html_page
    due = response_due(sent_on, country="FR")
    assert f'id="due-date">{due.strftime("%b")} {due.day}, {due.year}' in html_page  # from sending()
    stored = client.get(request_page + "/letter.txt").get_data(as_text=True)
    assert stored == edited
    (event,) = letter_events(app)
    assert event["data"]["sha256"] == hashlib.sha256(edited.encode("utf-8")).hexdigest()
    assert event["data"]["due"] == due.isoformat()
    assert client.get(request_page + "/letter.pdf").mimetype == "application/pdf"


def test_an_edited_draft_keeps_its_text_when_recorded_as_sent(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    edited = held["text"] + "\nMerci.\n"
    saved = post_shown(person, platform_id, held, step="draft", text=edited)
    assert saved.status_code == 302
    request_page = saved.headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    assert "(edited by hand)" in client.get(request_page).get_data(as_text=True)
    sent_on = datetime.now(UTC).date() - timedelta(days=2)
    sent = person.post(
        request_page, {"sent_on": sent_on.isoformat(), "confirm": "y"}, action=f"/requests/{request_id}/sent"
    )
    assert sent.status_code == 302
    assert client.get(request_page + "/letter.txt").get_data(as_text=True) == edited
    (event,) = letter_events(app)
    assert event["data"]["sha256"] == hashlib.sha256(edited.encode()).hexdigest()
    assert event["data"]["due"] == response_due(sent_on, country="FR").isoformat()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   \n  ", "The letter is empty"),
        ("Madame,\x1b[2J Monsieur", "Remove the invisible control characters"),
        ("Madame \u202egnp.exe", "Remove the invisible control characters"),
        ("x" * 30_001, "Field cannot be longer than 30000 characters."),
    ],
)
def test_a_bad_edited_letter_is_refused_and_changes_nothing(person, app, text, message):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    before = count_rows(app)
    for step in ("sent", "draft"):
        refused = post_shown(person, platform_id, held, step=step, text=text, confirm="y")
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert count_rows(app) == before


def test_write_it_again_drops_the_edit(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    page = post_shown(person, platform_id, held, step="rewrite", text="Bonjour.").get_data(as_text=True)
    assert shown(page)["text"] == held["text"] and "your changes to its text are gone" in page


# -- The kind of letter: the preview follows it -------------------------------------------


def test_changing_the_kind_writes_the_letter_again(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    page = post_shown(person, platform_id, held, kind="erasure", step="kind").get_data(as_text=True)
    now = shown(page)
    assert ERASURE_SUBJECT in now["text"] and ACCESS_SUBJECT not in now["text"]
    assert now["text_kind"] == "erasure"
    assert '<select autofocus' in page and 'id="kind"' in page  # back where the person was


def test_no_button_acts_on_a_letter_the_page_did_not_show(person, app):
    """Without a script, the page still shows the access letter while the menu says erasure:
    a download or a record then shows the erasure letter first, and does nothing else."""
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    for step in ("txt", "pdf", "draft", "sent"):
        response = post_shown(person, platform_id, held, kind="erasure", step=step, confirm="y")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and response.mimetype == "text/html", step
        assert "Your choices changed the letter: read it again" in page
        assert ERASURE_SUBJECT in shown(page)["text"]
    assert count_rows(app)["requests"] == 0
    # Once shown, the erasure letter is the one downloaded.
    shown_now = shown(post_shown(person, platform_id, held, kind="erasure", step="kind").get_data(as_text=True))
    txt = post_shown(person, platform_id, shown_now, kind="erasure", step="txt")
    assert txt.mimetype == "text/plain" and ERASURE_SUBJECT in txt.get_data(as_text=True)


def test_an_edit_made_for_another_kind_is_not_kept(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    edited = held["text"] + "\nMerci.\n"
    page = post_shown(person, platform_id, held, kind="erasure", step="kind", text=edited).get_data(as_text=True)
    assert "You changed the kind of letter" in page
    assert ERASURE_SUBJECT in shown(page)["text"] and "Merci." not in shown(page)["text"]


# -- A reminder's own status --------------------------------------------------------------


def test_a_reminder_is_not_overdue_the_day_it_is_sent(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    original_page = post_letter(person, platform_id, step="sent", sent_on="2026-09-01").headers["Location"]
    original = original_page.rsplit("/", 1)[1]
    reminder_page = post_letter(person, platform_id, kind="reminder", parent=original, step="sent").headers["Location"]
    due = response_due(date(2026, 9, 1), country="FR")
    page = client.get(reminder_page).get_data(as_text=True)
    assert 'id="request-status">Reminder sent' in page
    assert f'id="reminder-due">the answer was due on {due.strftime("%b")} {due.day}, {due.year}' in page
    assert "Overdue" not in page
    listing = client.get("/requests").get_data(as_text=True)
    assert listing.count("Reminder sent") == 1 and listing.count('status-refused">Overdue<') == 1  # the original still is
    assert 'id="request-status">Overdue' in client.get(original_page).get_data(as_text=True)


# -- Text downloads ------------------------------------------------------------------------


def test_text_downloads_name_their_charset_once(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    assert post_letter(person, platform_id, step="txt").headers["Content-Type"] == "text/plain; charset=utf-8"
    request_page = post_letter(person, platform_id, step="sent").headers["Location"]
    download = client.get(request_page + "/letter.txt")
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_a_drafts_page_gives_each_id_once(person, client, app):
    """A draft's page has two forms (record as sent, delete): their hidden inputs carry no
    id, so no id repeats (axe duplicate-id), asking or not."""
    platform_id = add_platform(person, **FRENCH_SHOP)
    request_page = post_letter(person, platform_id, step="draft").headers["Location"]
    request_id = request_page.rsplit("/", 1)[1]
    pages = [
        client.get(request_page).get_data(as_text=True),
        person.post(request_page, {"sent_on": ""}, action=f"/requests/{request_id}/sent").get_data(as_text=True),
        person.post(request_page, {}, action=f"/requests/{request_id}/delete").get_data(as_text=True),
    ]
    for page in pages:
        ids = re.findall(r'\sid="([^"]+)"', page)
        assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_a_drafts_page_shows_no_sending_dates(person, client):
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = client.get(post_letter(person, platform_id, step="draft").headers["Location"]).get_data(as_text=True)
    assert "<dt>Written</dt>" in page and "By e-mail" in page
    assert "Received by them" not in page and 'id="due-date"' not in page


def test_an_untouched_letter_is_not_edited_when_the_address_was_typed_in_a_browser(person, client, app):
    """A browser sends a text area's line breaks as CR LF: the profile's address keeps them,
    the letter holds them, and the browser gives the letter's text area back with LF. That
    is the letter as the page showed it, not a hand edit (found by an outsider's walk)."""
    person.post("/profile", {"full_name": "Zoë Dupré", "postal_address": "12 rue de la Paix\r\n75002 Paris", "country": "FR"})
    platform_id = add_platform(person, **FRENCH_SHOP)
    held = compose(person, platform_id)
    assert "12 rue de la Paix" in held["text"]
    as_a_browser_sends_it = held["text"].replace("\r\n", "\n").replace("\n", "\r\n")
    draft = post_shown(person, platform_id, held, step="draft", text=as_a_browser_sends_it)
    assert draft.status_code == 302
    assert "Edited by hand" not in client.get(draft.headers["Location"]).get_data(as_text=True)
