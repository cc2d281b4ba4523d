"""The recovery code is never lost before the person says they kept it (issue 11): the
page that shows it survives a language switch and a reload, the code never enters a URL
or the cookie in the clear, and it goes only when the person confirms."""

from __future__ import annotations

import base64
import re

import pytest
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, Auth, recovery_code_from
from tests.test_factors import second_step, turn_on

NEW_PASSWORD = "a different passphrase for ada"


def _form_token(html: str, action: str) -> str:
    """The CSRF token of the form posting to ``action`` on a page, as a browser sends it."""
    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posting to {action}"
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', form.group(1))
    assert token, f"no CSRF token in the form posting to {action}"
    return token.group(1)


def _switch_language(client: FlaskClient, html: str, language: str):  # type: ignore[no-untyped-def]
    """Press a language button in the footer of ``html``, as the browser would."""
    form = re.search(r'<form[^>]*action="/language"[^>]*>(.*?)</form>', html, re.S)
    assert form
    following = re.search(r'name="next" value="([^"]*)"', form.group(1))
    data = {"csrf_token": _form_token(html, "/language"), "language": language}
    if following:
        data["next"] = following.group(1)
    return client.post("/language", data=data, follow_redirects=True)


def _cookie_text(client: FlaskClient) -> str:
    cookie = client.get_cookie("consent_session")
    assert cookie is not None
    payload = cookie.value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):  # itsdangerous compresses long payloads
        import zlib

        raw = zlib.decompress(raw)
    return raw.decode()


def _register(auth: Auth) -> tuple[str, str]:
    shown = auth.register()
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    return recovery_code_from(html), html


def _reset(auth: Auth, code: str) -> tuple[str, str]:
    data = {"email": "ada@example.org", "recovery_code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    shown = auth.post("/reset", data)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    html = shown.get_data(as_text=True)
    return recovery_code_from(html), html


def _new_from_settings(auth: Auth) -> tuple[str, str]:
    shown = auth.post("/settings", {"recovery-current": PASSWORD}, action="/settings/recovery-code", prefix="recovery")
    assert shown.status_code == 200, shown.get_data(as_text=True)[:2000]
    html = shown.get_data(as_text=True)
    return recovery_code_from(html), html


@pytest.mark.parametrize("after", ["registration", "reset", "settings"])
def test_switching_the_language_on_the_recovery_code_page_keeps_the_code(client, auth, after):
    code, html = _register(auth)
    if after == "reset":
        auth.logout()
        code, html = _reset(auth, code)
    if after == "settings":
        old = code
        code, html = _new_from_settings(auth)
        assert code != old
    switched = _switch_language(client, html, "fr")
    assert switched.status_code == 200, switched.get_data(as_text=True)[:2000]
    page = switched.get_data(as_text=True)
    assert recovery_code_from(page) == code
    assert '<html lang="fr">' in page
    assert code not in switched.request.url and code not in _cookie_text(client)  # never in a URL, never in clear


def test_the_code_stays_until_the_person_says_they_kept_it(client, auth):
    code, html = _register(auth)
    assert client.get("/dashboard").status_code == 200  # the person may look around first
    again = client.get("/recovery-code")
    assert again.status_code == 200 and recovery_code_from(again.get_data(as_text=True)) == code
    kept = client.post("/recovery-code/kept", data={"csrf_token": _form_token(html, "/recovery-code/kept")})
    assert kept.status_code == 302 and kept.headers["Location"] == "/dashboard"
    gone = client.get("/recovery-code")
    assert gone.status_code == 302 and gone.headers["Location"] == "/dashboard"
    assert code not in client.get("/dashboard").get_data(as_text=True)


def test_confirming_needs_the_form_and_a_get_changes_nothing(client, auth):
    code, _html = _register(auth)
    assert client.get("/recovery-code/kept").status_code == 405
    assert client.post("/recovery-code/kept", data={}).status_code == 400  # no CSRF token
    assert recovery_code_from(client.get("/recovery-code").get_data(as_text=True)) == code


def test_the_kept_code_opens_only_for_the_login_it_was_shown_to(app, client, auth):
    code, _html = _register(auth)
    with client.session_transaction() as session:
        stolen = dict(session["recovery_code"])
    other = app.test_client()
    Auth(other).login()
    with other.session_transaction() as session:
        session["recovery_code"] = stolen  # a copy of the first browser's cookie value
    refused = other.get("/recovery-code")
    assert refused.status_code == 302 and refused.headers["Location"] == "/dashboard"
    assert code not in other.get("/dashboard").get_data(as_text=True)
    auth.logout()  # and logging out forgets it
    with client.session_transaction() as session:
        assert "recovery_code" not in session


def test_the_recovery_code_page_needs_a_login(client):
    response = client.get("/recovery-code")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_new_code_after_a_second_step_with_the_old_one_is_kept_too(client, auth):
    code, _html = _register(auth)
    turn_on(auth)
    auth.logout()
    auth.login()
    shown = second_step(auth, recovery_code=code)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    new_code = recovery_code_from(html)
    switched = _switch_language(client, html, "fr")
    assert switched.status_code == 200 and recovery_code_from(switched.get_data(as_text=True)) == new_code
