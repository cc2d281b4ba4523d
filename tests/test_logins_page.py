"""The logins page (issue 9): a person's logins with their device and last seen, this one
marked; ending one or every other; an ended login stops at its very next request; every
password or factor change ends the other logins. (More in tests/test_factors.py.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from consent import db
from consent.models import Login
from consent.web.second_factor import describe_device
from tests.conftest import NEW_PASSWORD, PASSWORD, Auth, count_rows, csrf_token, recovery_code_from
from tests.test_factors import _code, turn_on

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def _client(app, user_agent: str) -> Auth:  # type: ignore[no-untyped-def]
    other = Auth(app.test_client())
    other.client.environ_base["HTTP_USER_AGENT"] = user_agent
    return other


def _login_ids(page: str) -> list[str]:
    return re.findall(r'name="login" value="([0-9a-f]{64})"', page)


def test_an_ended_login_stops_at_its_next_request(app, auth):
    """Two browsers: the laptop ends the phone's login while the phone has a form open
    (with a valid CSRF token); the phone's next GET and its POST both meet the log-in."""
    auth.register()
    phone = _client(app, SAFARI_IPHONE)
    phone.login()
    token = csrf_token(phone.client, "/platforms/new")
    page = auth.client.get("/settings/logins").get_data(as_text=True)
    (phone_login,) = _login_ids(page)
    assert auth.post("/settings/logins", {"login": phone_login}, action="/settings/logins/end").status_code == 302
    before = count_rows(app)
    posted = phone.client.post("/platforms/new", data={"csrf_token": token, "name": "Acme"})
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/login")
    assert count_rows(app) == before  # the POST wrote nothing
    assert phone.client.get("/dashboard").headers["Location"].startswith("/login")
    assert auth.client.get("/dashboard").status_code == 200
    assert _login_ids(auth.client.get("/settings/logins").get_data(as_text=True)) == []


def test_the_page_names_each_device_marks_this_one_and_shows_last_seen(app, auth):
    auth.client.environ_base["HTTP_USER_AGENT"] = FIREFOX_LINUX
    auth.register()
    _client(app, SAFARI_IPHONE).login()
    with app.app_context():  # the phone was last seen long ago
        s = db.session()
        phone = s.scalars(sa.select(Login).order_by(Login.created_at.desc())).first()
        phone.last_seen_at = datetime(2026, 1, 2, 15, 4, tzinfo=UTC)
        s.commit()
    page = auth.client.get("/settings/logins").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    assert len(rows) == 2
    this = next(r for r in rows if "(this one)" in r)
    assert "Firefox on Linux" in this and 'name="login"' not in this  # no button to end this one
    other = next(r for r in rows if "(this one)" not in r)
    assert "Safari on iOS" in other and "Jan 2, 2026" in other and 'name="login"' in other


def test_the_device_is_sealed(app, auth):
    auth.client.environ_base["HTTP_USER_AGENT"] = FIREFOX_LINUX
    auth.register()
    with app.app_context(), db.engine().connect() as conn:
        (stored,) = conn.execute(sa.select(Login.device)).scalars()
    assert stored and b"Firefox" not in bytes(stored) and b"Linux" not in bytes(stored)
    assert "Firefox on Linux" in auth.client.get("/settings/logins").get_data(as_text=True)


def test_the_owner_sees_a_thief_waiting_at_the_second_step_and_ends_that_login(app, auth):
    auth.register()
    secret = turn_on(auth)
    thief = _client(app, FIREFOX_LINUX)
    thief.login()  # the password was stolen: a pending login
    token = csrf_token(thief.client, "/login/second-step")
    page = auth.client.get("/settings/logins").get_data(as_text=True)
    assert "waiting for the second factor" in page and "Firefox on Linux" in page
    (pending,) = _login_ids(page)
    assert auth.post("/settings/logins", {"login": pending}, action="/settings/logins/end").status_code == 302
    ended = thief.client.post("/login/second-step", data={"csrf_token": token, "code": _code(secret, steps=1)})
    # even the right code comes too late
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert thief.client.get("/dashboard").headers["Location"].startswith("/login")


def _change_password(auth: Auth) -> None:
    data = {"password-current": PASSWORD, "password-password": NEW_PASSWORD, "password-confirm": NEW_PASSWORD}
    assert auth.post("/settings", data, action="/settings/password", prefix="password").status_code == 302


def _remove_factor(auth: Auth) -> None:
    page = auth.client.get("/settings/security").get_data(as_text=True)
    action = re.search(r'action="(/settings/security/[0-9a-f-]+/remove)"', page).group(1)
    assert auth.post("/settings/security", {"remove-current": PASSWORD}, action=action, prefix="remove").status_code == 302


@pytest.mark.parametrize("change", [_change_password, turn_on, _remove_factor])
def test_every_password_or_factor_change_ends_the_other_logins(app, auth, change):
    auth.register()
    if change is _remove_factor:
        turn_on(auth)
    others = [_client(app, SAFARI_IPHONE), _client(app, FIREFOX_LINUX)]
    for other in others:
        other.login()
    change(auth)  # each asserts it went through
    assert [o.client.get("/dashboard").status_code for o in others] == [302, 302]
    assert auth.client.get("/dashboard").status_code == 200
    assert _login_ids(auth.client.get("/settings/logins").get_data(as_text=True)) == []


def test_a_reset_ends_every_login(app, auth):
    code = recovery_code_from(auth.register().get_data(as_text=True))
    stranger = Auth(app.test_client())
    data = {"email": "ada@example.org", "recovery_code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert stranger.post("/reset", data).status_code == 200
    assert auth.client.get("/dashboard").headers["Location"].startswith("/login")


def test_ending_needs_the_csrf_token_and_changes_nothing_without(app, auth):
    auth.register()
    phone = _client(app, SAFARI_IPHONE)
    phone.login()
    (phone_login,) = _login_ids(auth.client.get("/settings/logins").get_data(as_text=True))
    before = count_rows(app)
    for action, data in (("/settings/logins/end", {"login": phone_login}), ("/settings/logins/end-others", {})):
        assert auth.client.post(action, data=data).status_code == 400
        assert auth.client.post(action, data={**data, "csrf_token": "forged"}).status_code == 400
    assert count_rows(app) == before
    assert phone.client.get("/dashboard").status_code == 200
    assert auth.client.get("/settings/logins/end").status_code == 405  # no state change on GET


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iOS"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
         "Safari/537.36", "Chrome on macOS"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown device"),
        ("<script>\u202e\x00evil" + "x" * 200, "scriptevil" + "x" * 30),
    ],
)
def test_the_device_is_described_in_a_few_plain_words(app, user_agent, shown):
    with app.test_request_context():
        assert describe_device(user_agent) == shown
