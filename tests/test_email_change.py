"""Changing the account's e-mail address (issue 9): the password, then, when the instance
sends mail, a link to the new address opened while logged in; the old address is told."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, Auth, count_rows
from tests.test_registration import SITE, _mails_to, mailbox  # noqa: F401  (a fixture)
from tests.test_requests import smtp_server  # noqa: F401  (a fixture)


def _ask(auth: Auth, new: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return auth.post("/settings/email", {"email-email": new, "email-current": password}, prefix="email")


def _can_log_in(app, address: str) -> bool:  # type: ignore[no-untyped-def]
    return Auth(app.test_client()).login(email=address).status_code == 302


def test_without_mail_the_password_changes_the_address_at_once(app, auth):
    auth.register()
    changed = _ask(auth, "ada@new.example")
    assert changed.status_code == 302
    assert "ada@new.example" in auth.client.get("/settings").get_data(as_text=True)
    assert _can_log_in(app, "ada@new.example") and not _can_log_in(app, "ada@example.org")
    assert auth.client.get("/ledger").status_code == 200  # the seal moved with the change: no alarm


@pytest.mark.parametrize(
    ("new", "password", "message"),
    [
        ("ada@new.example", "wrong password", "The current password is wrong."),
        ("not an address", PASSWORD, "Enter a valid e-mail address."),
        ("grace@example.org", PASSWORD, "Another account has this address."),
    ],
)
def test_a_refused_change_changes_nothing(app, auth, new, password, message):
    Auth(app.test_client()).register(email="grace@example.org")
    auth.register()
    before = count_rows(app)
    refused = _ask(auth, new, password)
    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    after = count_rows(app)
    after.pop("failed_attempts"), before.pop("failed_attempts")  # a wrong password is a counted guess
    assert after == before
    assert _can_log_in(app, "ada@example.org")


def _link(message) -> str:  # type: ignore[no-untyped-def]
    match = re.search(re.escape(SITE) + r"(/settings/email/[A-Za-z0-9_=-]+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def test_with_mail_the_new_address_confirms_by_its_link_and_the_old_one_is_told(app, auth, mailbox):  # noqa: F811
    app.config["SMTP_HOST"] = ""
    auth.register()
    app.config["SMTP_HOST"] = "127.0.0.1"
    asked = _ask(auth, "ada@new.example")
    assert asked.status_code == 302
    (message,) = _mails_to(mailbox, "ada@new.example")
    link = _link(message)
    assert _can_log_in(app, "ada@example.org")  # nothing changed yet
    page = auth.client.get(link)
    assert page.status_code == 200 and "Make ada@new.example the address of this account?" in page.get_data(as_text=True)
    assert _can_log_in(app, "ada@example.org")  # a GET changes nothing
    assert auth.client.post(link, data={}).status_code == 400  # no CSRF token
    assert auth.post(link, {}).status_code == 302
    assert _can_log_in(app, "ada@new.example") and not _can_log_in(app, "ada@example.org")
    (notice,) = _mails_to(mailbox, "ada@example.org")
    assert "is now ada@new.example" in notice.get_content()


def test_a_link_for_another_account_or_altered_changes_nothing(app, auth, mailbox):  # noqa: F811
    app.config["SMTP_HOST"] = ""
    auth.register()
    grace = Auth(app.test_client())
    grace.register(email="grace@example.org")
    app.config["SMTP_HOST"] = "127.0.0.1"
    _ask(auth, "ada@new.example")
    link = _link(_mails_to(mailbox, "ada@new.example")[0])
    before = count_rows(app)
    for who, path in ((grace, link), (auth, link[:-5] + "AAAAA")):
        refused = who.client.get(path)
        assert refused.status_code == 400 and "This link is not valid" in refused.get_data(as_text=True)
    assert count_rows(app) == before
    assert _can_log_in(app, "ada@example.org") and _can_log_in(app, "grace@example.org")
