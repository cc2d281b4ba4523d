"""Registration and reset show every error of the form at once (issue 11), not one per try,
and a form with errors changes nothing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, Auth, count_rows
from tests.test_registration import _link, _mails_to, mailbox  # noqa: F401  (a fixture)
from tests.test_requests import smtp_server  # noqa: F401  (a fixture)

BAD_EMAIL = "Enter a valid e-mail address."
SHORT = "Use at least 12 characters."
COMMON = "This password is too common or too easy to guess. A few unrelated words make a strong one."
DIFFER = "The two passwords differ."


def _errors(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<p class="error" id="[\w-]+-error">(.*?)</p>', html, re.S)]


@pytest.mark.parametrize(
    ("password", "confirm", "expected"),
    [
        ("short", "other", [BAD_EMAIL, SHORT, DIFFER]),
        ("password1234", "password1234!", [BAD_EMAIL, COMMON, DIFFER]),
        ("password1234", "password1234", [BAD_EMAIL, COMMON]),
    ],
)
def test_registration_shows_every_error_at_once(app, auth, password, confirm, expected):
    before = count_rows(app)
    page = auth.post("/register", {"email": "ada@", "password": password, "confirm": confirm})
    assert page.status_code == 400
    assert _errors(page.get_data(as_text=True)) == [e.replace("'", "&#39;") for e in expected]
    assert count_rows(app) == before


def test_a_weak_password_alone_is_still_said_once(app, auth):
    page = auth.post("/register", {"email": "ada@example.org", "password": "short", "confirm": "short"})
    assert page.status_code == 400 and _errors(page.get_data(as_text=True)) == [SHORT]
    assert count_rows(app)["users"] == 0


def test_reset_shows_every_error_at_once(app, auth):
    auth.register()
    auth.logout()
    before = count_rows(app)
    page = auth.post("/reset", {"email": "ada@", "recovery_code": "", "password": "short", "confirm": "other"})
    assert page.status_code == 400
    assert _errors(page.get_data(as_text=True)) == [BAD_EMAIL, "Enter your recovery code.", SHORT, DIFFER]
    assert count_rows(app) == before


def test_choosing_the_password_from_the_link_shows_every_error_at_once(app, client, mailbox):  # noqa: F811
    Auth(client).post("/register", {"email": "ada@example.org"})
    (message,) = _mails_to(mailbox, "ada@example.org")
    link = _link(message)
    assert link
    page = Auth(client).post(link, {"password": "short", "confirm": "other"})
    assert page.status_code == 400
    assert _errors(page.get_data(as_text=True)) == [SHORT, DIFFER]
    assert count_rows(app)["users"] == 0
    done = Auth(client).post(link, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 200 and count_rows(app)["users"] == 1
