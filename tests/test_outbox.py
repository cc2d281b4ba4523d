"""The instance's mail server is no open relay (issue 9): letters go only to a company's
address from the directory, an authority's or the person's own, a few a day, and replies
go to the address registration verified."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.conftest import count_rows
from tests.test_platforms import add_platform
from tests.test_requests import (  # smtp_server is a fixture
    FRENCH_SHOP,
    events_of,
    post_letter,
    shop_in_directory,
    smtp_server,  # noqa: F401
)


@pytest.fixture
def outbox(app, smtp_server):  # noqa: F811
    handler, port = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_FROM="letters@consent.example")
    return handler.messages


def _sent(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return count_rows(app)["requests"], len(events_of(app))


def test_replies_go_to_the_verified_address_not_the_one_typed_in_the_profile(person, app, outbox, tmp_path):
    person.post("/profile", {"full_name": "Zoë Dupré", "country": "FR", "correspondence_email": "zoe@elsewhere.example"})
    platform_id = add_platform(person, **FRENCH_SHOP, directory=shop_in_directory(app, tmp_path))
    assert "Send it now by e-mail" in post_letter(person, platform_id).get_data(as_text=True)
    assert post_letter(person, platform_id, step="send_email").status_code == 302
    ((mail_from, recipients, content),) = outbox
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert mail_from == "letters@consent.example" and recipients == ["privacy@shopwise.example"]
    assert message["From"].addresses[0].addr_spec == "letters@consent.example"
    assert message["Reply-To"].addresses[0].addr_spec == "ada@example.org"
    assert "zoe@elsewhere.example" in message.get_content()  # the letter itself still gives it


@pytest.mark.parametrize(
    "platform",
    [
        {},  # typed by hand: the app does not know this address
        {"directory": "shopwise", "email": "victim@example.net"},  # from the directory, address changed
    ],
)
def test_an_address_the_app_does_not_know_gets_no_mail(person, app, outbox, tmp_path, platform):
    shop_in_directory(app, tmp_path)
    platform_id = add_platform(person, **{**FRENCH_SHOP, **platform})
    shown = post_letter(person, platform_id)  # the letter, with the ways to send it
    assert shown.status_code == 200 and "Download as e-mail" in shown.get_data(as_text=True)
    assert "Send it now by e-mail" not in shown.get_data(as_text=True)
    before = _sent(app)
    response = post_letter(person, platform_id, step="send_email")
    assert response.status_code == 400
    assert "The app sends e-mails only to a company&#39;s address from its directory" in response.get_data(as_text=True)
    assert outbox == [] and _sent(app) == before


def test_a_letter_to_oneself_may_go_out(person, app, outbox):
    platform_id = add_platform(person, **{**FRENCH_SHOP, "email": "Ada@Example.org"})
    assert post_letter(person, platform_id, step="send_email").status_code == 302
    assert [recipients for _, recipients, _ in outbox] == [["Ada@Example.org"]]


def test_a_person_sends_at_most_the_day_s_quota(person, app, outbox, tmp_path):
    app.config["MAILS_PER_DAY"] = 2
    platform_id = add_platform(person, **FRENCH_SHOP, directory=shop_in_directory(app, tmp_path))
    assert [post_letter(person, platform_id, step="send_email").status_code for _ in range(2)] == [302, 302]
    before = _sent(app)
    refused = post_letter(person, platform_id, step="send_email")
    assert refused.status_code == 400
    assert "You have sent as many e-mails from the app today as it allows." in refused.get_data(as_text=True)
    assert len(outbox) == 2 and _sent(app) == before


def test_supervisory_authorities_are_known_recipients(app):
    from consent import db
    from consent.directory import authorities
    from consent.services import accounts, outbox
    from tests.conftest import PASSWORD

    with app.app_context():
        settings = app.extensions["consent.accounts"]
        login = accounts.register(db.session(), settings, email="ada@example.org", password=PASSWORD).login
        authority = next(a for a in authorities.bundled() if a.email)
        assert outbox.known_recipient(db.session(), login, authority.email.upper(), directory_entry="")
        assert not outbox.known_recipient(db.session(), login, "someone@example.net", directory_entry="")
        assert not outbox.known_recipient(db.session(), login, "", directory_entry="nonexistent")
