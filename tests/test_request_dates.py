"""One source of truth for dates: the day a letter is dated, the deadline it states and the
deadline the tracker follows come from the same rule, for e-mail and post, drafts sent
later, extensions, reminders and complaints."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from consent import db
from consent.deadlines import complaint_due, response_due
from consent.letters import day
from consent.models import Request
from consent.services import accounts, integrity, ledger, requests
from tests.conftest import PASSWORD, count_rows
from tests.test_platforms import SHOP, add_platform
from tests.test_requests import FRENCH_SHOP, events_of, letter_url, post_letter

IRISH = {**SHOP, "name": "Instagram", "country": "", "address": "4 Grand Canal Square\nDublin 2\nIreland"}


def tracked(app, request_page: str) -> requests.RequestView:
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        found = requests.get_request(s, login, uuid.UUID(request_page.rsplit("/", 1)[1]))
        assert found is not None
        return found


def sent_text(client, request_page: str) -> str:
    return client.get(request_page + "/letter.txt").get_data(as_text=True)


def test_an_email_states_the_deadline_the_tracker_follows(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = post_letter(person, platform_id, step="sent").headers["Location"]
    view = tracked(app, page)
    today = datetime.now(UTC).date()
    assert view.due == response_due(today, country="FR")
    assert f"soit au plus tard le {day(view.due, 'fr')}" in sent_text(client, page)
    assert events_of(app)[-1]["data"]["due"] == view.due.isoformat()  # the ledger vouches for it


def test_a_posted_letter_names_the_receipt_it_assumes_and_the_same_deadline(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    sent_on = datetime.now(UTC).date() - timedelta(days=10)
    page = post_letter(person, platform_id, channel="post", step="sent", sent_on=sent_on.isoformat()).headers[
        "Location"
    ]
    view = tracked(app, page)
    arrives = sent_on + timedelta(days=app.config["POST_DELIVERY_DAYS"])
    assert view.received_on == arrives and view.estimated
    assert view.due == response_due(arrives, country="FR")
    text = sent_text(client, page)
    assert f"Le {day(sent_on, 'fr')}" in text or f"le {day(sent_on, 'fr')}" in text  # dated the day it went out
    assert f"s'il vous parvient le {day(arrives, 'fr')}, au plus tard le {day(view.due, 'fr')}" in text
    # The receipt says it arrived a day later: the deadline follows the law, from that day.
    delivered = arrives + timedelta(days=1)
    request_id = page.rsplit("/", 1)[1]
    person.post(page, {"status": "delivered", "delivered_on": delivered.isoformat()}, action=f"/requests/{request_id}/update")
    assert tracked(app, page).due == response_due(delivered, country="FR")


def test_a_draft_sent_later_is_dated_and_counted_from_the_day_it_is_sent(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        written = datetime(2026, 11, 2, 9, tzinfo=UTC)
        page = post_letter(person, platform_id, step="draft", channel="post").headers["Location"]
        request_id = uuid.UUID(page.rsplit("/", 1)[1])
        draft_text = requests.get_request(s, login, request_id).text
        sent_on = datetime.now(UTC).date() - timedelta(days=1)
        requests.mark_sent(s, login, request_id, sent_on=sent_on, post_delivery_days=3)
        view = requests.get_request(s, login, request_id)
    arrives = sent_on + timedelta(days=3)
    assert view.due == response_due(arrives, country="FR")
    assert view.text != draft_text, "the letter is written again for the day it went out"
    assert day(sent_on, "fr") in view.text and f"au plus tard le {day(view.due, 'fr')}" in view.text
    assert events_of(app)[-1]["data"]["sha256"] == view.sha256
    assert written  # the draft's own day does not matter any more


def test_an_extension_moves_the_deadline_by_the_shorter_reading(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    sent_on = date(2026, 11, 2)
    page = post_letter(person, platform_id, step="sent", sent_on=sent_on.isoformat()).headers["Location"]
    request_id = page.rsplit("/", 1)[1]
    assert person.post(page, {"status": "extended"}, action=f"/requests/{request_id}/update").status_code == 302
    assert tracked(app, page).due == response_due(sent_on, country="FR", extended=True)


def test_recording_a_note_never_announces_an_extension(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = post_letter(person, platform_id, step="sent").headers["Location"]
    request_id = page.rsplit("/", 1)[1]
    html = client.get(page).get_data(as_text=True)
    assert '<option disabled selected value="">Choose what happened</option>' in html
    before = len(events_of(app))
    refused = person.post(page, {"note": "They called me"}, action=f"/requests/{request_id}/update")
    assert refused.status_code == 400 and "Choose what happened." in refused.get_data(as_text=True)
    assert len(events_of(app)) == before and not tracked(app, page).extended


def test_a_reminder_restates_the_original_deadline_and_starts_none(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    sent_on = date(2026, 9, 1)
    original = post_letter(person, platform_id, step="sent", sent_on=sent_on.isoformat()).headers["Location"]
    original_due = tracked(app, original).due
    reminder = post_letter(
        person, platform_id, kind="reminder", parent=original.rsplit("/", 1)[1], step="sent"
    ).headers["Location"]
    assert tracked(app, reminder).due == original_due
    assert f"a expiré le {day(original_due, 'fr')}" in sent_text(client, reminder)


def test_a_complaint_counts_three_months_with_the_authoritys_holidays(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    original = post_letter(person, platform_id, step="sent", sent_on="2026-09-01").headers["Location"]
    complaint = post_letter(
        person,
        platform_id,
        kind="complaint",
        parent=original.rsplit("/", 1)[1],
        authority="fr-cnil",
        channel="post",
        step="sent",
    ).headers["Location"]
    view = tracked(app, complaint)
    assert view.due == complaint_due(view.received_on, country="FR", region="")
    assert f"soit au plus tard le {day(view.due, 'fr')}" in sent_text(client, complaint)


def test_a_company_in_ireland_is_counted_with_irish_holidays(person, client, app):
    """Instagram's address is in Dublin: a month from 26 September 2026 ends on Monday 26
    October, the October bank holiday in Ireland (not in France): the deadline is the 27th."""
    platform_id = add_platform(person, **IRISH)
    page = post_letter(person, platform_id, language="en", step="sent", sent_on="2026-09-26").headers["Location"]
    assert tracked(app, page).due == date(2026, 10, 27)
    assert "that is by 27 October 2026 at the latest" in sent_text(client, page)


@pytest.mark.parametrize("kind", ["rectification", "restriction"])
def test_letters_that_need_the_persons_words_are_not_offered_in_bulk(person, app, kind):
    platform_id = add_platform(person, **FRENCH_SHOP)
    refused = person.post("/requests/several", {"kind": kind, "language": "auto", "platforms": [platform_id], "step": "sent"})
    assert refused.status_code == 400 and "Not a valid choice." in refused.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0


def test_a_rectification_without_the_correction_is_not_written(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    refused = post_letter(person, platform_id, kind="rectification", step="sent")
    assert refused.status_code == 400
    assert "Say what is wrong and what it should say" in refused.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0
    written = post_letter(person, platform_id, kind="restriction", grounds=["a"], step="sent")
    assert written.status_code == 302 and "point a)" in sent_text(client, written.headers["Location"])


def test_a_german_complaint_goes_to_the_authority_of_the_persons_land(auth, client, app):
    auth.register()
    auth.post(
        "/profile",
        {"full_name": "Jana Weber", "postal_address": "Kavalleriestraße 2\n40213 Düsseldorf", "country": "DE"},
    )
    platform_id = add_platform(auth, **{**SHOP, "country": "DE", "address": "Weg 1\n10115 Berlin\nDeutschland"})
    page = client.get(letter_url(platform_id) + "?kind=complaint").get_data(as_text=True)
    assert '<option selected value="de-nw-ldi">' in page


def test_a_long_letter_gets_a_mail_link_with_its_subject_and_a_copy_button(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = client.get(letter_url(platform_id) + "?kind=access").get_data(as_text=True)
    link = re.search(r'href="(mailto:[^"]+)"', page).group(1)
    assert len(link) < 2000 and "subject=Demande%20d%27acc%C3%A8s" in link.replace("&amp;", "&")
    assert 'data-copy="letter-text"' in page and 'id="letter-text"' in page


def test_downloads_are_named_for_the_day_the_kind_and_the_platform(person, client, app):
    platform_id = add_platform(person, **{**FRENCH_SHOP, "name": "../../etc/passwd Éclair"})
    pdf = post_letter(person, platform_id, step="pdf")
    disposition = pdf.headers["Content-Disposition"]
    today = datetime.now(UTC).date().isoformat()
    assert f"{today} access request - " in disposition or f"{today}%20access%20request%20-%20" in disposition
    assert "../" not in disposition and "\r" not in disposition and "\n" not in disposition
    eml = post_letter(person, platform_id, step="eml")
    assert b"X-Unsent: 1" in eml.data


def test_a_draft_from_before_holding_a_placeholder_is_never_signed(person, client, app):
    """A rectification kept as a draft by the old code carries "[Describe here ...]" and no
    composition to write it again: recording it as sent is refused and changes nothing."""
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = post_letter(person, platform_id, kind="rectification", details="Dupré, not Dupre.", step="draft")
    request_id = uuid.UUID(page.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        with integrity.personal_transaction(s, login):  # as the old code wrote it, sealed
            row = s.get(Request, request_id)
            details = requests._read(login, row)
            details.pop("composition")
            details["text"] = "Madame, Monsieur,\n\n[Describe here what is wrong and what it should say.]\n"
            requests._write(login, row, details)
    before = len(events_of(app))
    refused = person.post(
        page.headers["Location"], {"sent_on": "", "confirm": "y"}, action=f"/requests/{request_id}/sent"
    )
    assert refused.status_code == 400 and "still holds a placeholder" in refused.get_data(as_text=True)
    assert len(events_of(app)) == before and tracked(app, page.headers["Location"]).status == "draft"


def test_invisible_characters_are_not_the_persons_words(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    refused = post_letter(person, platform_id, kind="rectification", details="\u200b", step="sent")
    assert refused.status_code == 400 and count_rows(app)["requests"] == 0


def test_a_gdpr_letter_was_not_sent_before_the_gdpr(person, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    refused = post_letter(person, platform_id, step="sent", sent_on="2018-05-24")
    assert refused.status_code == 400 and "before 25 May 2018" in refused.get_data(as_text=True)
    assert count_rows(app)["requests"] == 0
    assert post_letter(person, platform_id, step="sent", sent_on="2018-05-25").status_code == 302


def test_a_complaint_downloads_with_its_evidence(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    original = post_letter(person, platform_id, step="sent", sent_on="2026-09-01").headers["Location"]
    original_id = original.rsplit("/", 1)[1]
    person.post(original, {"status": "partly_answered", "note": "Only a CSV of orders"}, action=f"/requests/{original_id}/update")
    complaint = post_letter(
        person, platform_id, kind="complaint", parent=original_id, authority="fr-cnil", channel="post", step="sent"
    ).headers["Location"]
    assert "with its evidence (PDF)" in client.get(complaint).get_data(as_text=True)
    response = client.get(complaint + "/evidence.pdf")
    assert response.mimetype == "application/pdf" and "complaint" in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    response.close()
    assert "Réclamation contre Boutique Éclair SARL" in text
    assert text.count("Réclamation contre Boutique Éclair SARL") == 1  # not again as its own exhibit
    assert "Demande d'accès (article 15 du RGPD)" in text and "Only a CSV of orders" in text
    assert "http://localhost/verify" in text or "/verify" in text
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        assert str(ledger.verifier_key(login)) in text.replace("\n", "")
    # Only a complaint has evidence, and only its owner's.
    assert client.get(original + "/evidence.pdf").status_code == 404


def test_the_verification_instructions_are_public(client):
    page = client.get("/verify").get_data(as_text=True)
    assert "consent verify" in page and "SHA-256" in page


def test_an_extension_after_the_deadline_extends_nothing(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    page = post_letter(person, platform_id, step="sent", sent_on="2026-09-01").headers["Location"]
    request_id = page.rsplit("/", 1)[1]
    before, due = len(events_of(app)), tracked(app, page).due
    refused = person.post(page, {"status": "extended"}, action=f"/requests/{request_id}/update")
    assert refused.status_code == 400 and "within the first month" in refused.get_data(as_text=True)
    view = tracked(app, page)
    assert len(events_of(app)) == before and view.due == due and not view.extended


def test_a_request_and_its_follow_ups_link_to_each_other(person, client, app):
    """A reminder and a complaint say which letter they follow up, that letter lists them,
    and no second reminder is offered once one was sent (found by an outsider's walk)."""
    platform_id = add_platform(person, **FRENCH_SHOP)
    original = post_letter(person, platform_id, step="sent", sent_on="2026-09-01").headers["Location"]
    original_id = original.rsplit("/", 1)[1]
    page = client.get(original).get_data(as_text=True)
    assert f'href="/platforms/{platform_id}"' in page  # back to the platform
    assert "kind=reminder" in page
    reminder = post_letter(person, platform_id, kind="reminder", parent=original_id, step="sent").headers["Location"]
    page = client.get(original).get_data(as_text=True)
    assert "kind=reminder" not in page and "kind=complaint" in page  # one reminder; the complaint next
    complaint = post_letter(
        person, platform_id, kind="complaint", parent=original_id, authority="fr-cnil", channel="post", step="sent"
    ).headers["Location"]
    page = client.get(original).get_data(as_text=True)
    listed = page.split('id="followed-by"', 1)[1].split("</ul>", 1)[0]
    assert f'href="{reminder}"' in listed and f'href="{complaint}"' in listed
    for follow_up in (reminder, complaint):
        assert f'<a href="{original}" id="follows">' in client.get(follow_up).get_data(as_text=True)


@pytest.mark.parametrize("kind", ["objection", "rectification", "restriction"])
def test_a_letter_that_needs_words_asks_for_them_without_an_error_on_arrival(person, client, kind):
    """Opening the page is not a mistake: what to add is said as a hint; sending without it
    is still refused with the same words (found by an outsider's walk)."""
    platform_id = add_platform(person, **FRENCH_SHOP)
    arriving = client.get(f"/platforms/{platform_id}/letter?kind={kind}")
    page = arriving.get_data(as_text=True)
    assert arriving.status_code == 200 and 'id="letter-notice"' in page and 'class="flash flash-error" role="alert"' not in page
    refused = post_letter(person, platform_id, kind=kind, step="sent")
    assert refused.status_code == 400 and 'class="flash flash-error" role="alert"' in refused.get_data(as_text=True)
