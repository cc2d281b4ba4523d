"""Registration by e-mail when the instance sends mail (issue 9): the page never tells
whether an address has an account, and no account exists before its address answers."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

import pytest

from consent import create_app, keys
from consent.errors import ConfigError
from tests.conftest import PASSWORD, Auth, count_rows, recovery_code_from, test_settings
from tests.test_requests import smtp_server  # noqa: F401  (a fixture)

SITE = "https://consent.example"


@pytest.fixture
def mailbox(app, smtp_server):  # noqa: F811
    handler, port = smtp_server
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_FROM="hello@consent.example", PUBLIC_URL=SITE
    )
    return handler.messages


def _mails_to(messages, address: str) -> list[email.message.EmailMessage]:  # type: ignore[no-untyped-def]
    found = []
    for _sender, recipients, content in messages:
        if address in recipients:
            found.append(email.message_from_bytes(content, policy=email.policy.default))
    return found


def _link(message) -> str | None:  # type: ignore[no-untyped-def]
    match = re.search(re.escape(SITE) + r"(/register/[A-Za-z0-9_=-]+)", message.get_content())
    return match.group(1) if match else None


def _ask(client, address: str):  # type: ignore[no-untyped-def]
    return Auth(client).post("/register", {"email": address})


def _page_text(response, address: str) -> str:  # type: ignore[no-untyped-def]
    text = response.get_data(as_text=True).replace(address, "<address>")
    return re.sub(r'value="[^"]*"', 'value=""', text)


def test_registration_goes_through_a_link_sent_to_the_address(app, client, mailbox):
    before = count_rows(app)
    asked = _ask(client, "ada@example.org")
    assert asked.status_code == 200
    assert "We sent a message to ada@example.org." in asked.get_data(as_text=True)
    assert count_rows(app)["users"] == before["users"] == 0  # nothing before the address answers
    (message,) = _mails_to(mailbox, "ada@example.org")
    assert message["From"].addresses[0].addr_spec == "hello@consent.example"
    assert message["Subject"] == "Finish creating your account"
    link = _link(message)
    assert link is not None
    page = client.get(link)
    assert page.status_code == 200 and "ada@example.org" in page.get_data(as_text=True)
    done = Auth(client).post(link, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 200
    recovery_code_from(done.get_data(as_text=True))
    assert count_rows(app)["users"] == 1
    assert client.get("/dashboard").status_code == 200
    # The link has done its work: the account exists, so it cannot make another.
    client.post("/logout", data={})
    again = Auth(app.test_client()).post(link, {"password": PASSWORD, "confirm": PASSWORD})
    assert again.status_code == 400 and "An account with this address exists already" in again.get_data(as_text=True)
    assert count_rows(app)["users"] == 1


def test_the_page_says_the_same_whether_or_not_the_address_has_an_account(app, mailbox):
    owner = Auth(app.test_client())
    app.config["SMTP_HOST"] = ""
    owner.register()  # an account made before the instance sent mail
    app.config["SMTP_HOST"] = "127.0.0.1"
    before = count_rows(app)
    taken = _ask(app.test_client(), "ada@example.org")
    free = _ask(app.test_client(), "grace@example.org")
    assert taken.status_code == free.status_code == 200
    assert _page_text(taken, "ada@example.org") == _page_text(free, "grace@example.org")
    # Only the mailbox learns which: a reminder to log in, without a registration link.
    (reminder,) = _mails_to(mailbox, "ada@example.org")
    assert reminder["Subject"] == "Your account" and _link(reminder) is None
    assert f"{SITE}/login" in reminder.get_content() and f"{SITE}/reset" in reminder.get_content()
    after = count_rows(app)
    after.pop("failed_attempts"), before.pop("failed_attempts")  # the mail quota counts
    assert after == before


def test_links_in_mails_use_the_configured_address_not_the_host_a_client_sent(app, client, mailbox):
    assert _ask(client, "ada@example.org").status_code == 200
    forged = app.test_client()
    forged.environ_base["HTTP_HOST"] = "evil.example"
    page = forged.get("/register", headers={"Host": "evil.example"})
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    forged.post("/register", data={"csrf_token": csrf, "email": "grace@example.org"}, headers={"Host": "evil.example"})
    assert len(_mails_to(mailbox, "grace@example.org")) == 1
    for message in _mails_to(mailbox, "ada@example.org") + _mails_to(mailbox, "grace@example.org"):
        assert "evil.example" not in message.get_content()
        assert _link(message) is not None


@pytest.mark.parametrize("kind", ["tampered", "expired", "other purpose", "garbage"])
def test_a_link_that_is_altered_or_old_opens_nothing(app, client, mailbox, kind):
    secret = app.config["SECRET_KEY"].encode()
    now = datetime.now(UTC)
    token = {
        "tampered": keys.seal_link("register", "ada@example.org", secret, now=now)[:-4] + "AAAA",
        "expired": keys.seal_link("register", "ada@example.org", secret, now=now - timedelta(hours=25)),
        "other purpose": keys.seal_link("email", "ada@example.org", secret, now=now),
        "garbage": "x" * 300,
    }[kind]
    before = count_rows(app)
    page = client.get(f"/register/{token}")
    assert page.status_code == 400 and "This link is not valid" in page.get_data(as_text=True)
    assert "ada@example.org" not in page.get_data(as_text=True)
    assert count_rows(app) == before


def test_an_address_gets_at_most_three_registration_mails_a_day(app, mailbox):
    answers = [_ask(app.test_client(), "victim@example.org") for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert len({_page_text(a, "victim@example.org") for a in answers}) == 1  # the same page every time
    assert len(_mails_to(mailbox, "victim@example.org")) == 3


def test_a_mail_server_that_is_down_is_said_and_nothing_is_made(app, client):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_STARTTLS=False, SMTP_FROM="a@b.example", PUBLIC_URL=SITE)
    before = count_rows(app)
    response = _ask(client, "ada@example.org")
    assert response.status_code == 503
    assert "The e-mail could not be sent. Try again later." in response.get_data(as_text=True)
    assert count_rows(app)["users"] == before["users"]


def test_sending_mail_needs_the_public_address(database_url):
    with pytest.raises(ConfigError, match="public_url"):
        create_app(test_settings(database_url, SMTP_HOST="127.0.0.1", SMTP_FROM="a@b.example"))
