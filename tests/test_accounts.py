"""Account flows through the real pages: register, log in and out, change and reset the
password, delete; and the bad input each of them must refuse without changing anything."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from consent import db
from consent.models import Login, User
from tests.conftest import NEW_PASSWORD, PASSWORD, Auth, count_rows, csrf_token, recovery_code_from


def logins_of(app) -> int:
    return count_rows(app)["logins"]


def test_register_shows_the_recovery_code_once_and_logs_in(client, auth, app):
    response = auth.register()
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    code = recovery_code_from(html)
    assert len(code) == 39 and code.count("-") == 7
    assert 'download="consent-recovery-code.txt"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/dashboard").status_code == 200
    assert code not in client.get("/dashboard").get_data(as_text=True)
    assert code not in client.get("/settings").get_data(as_text=True)
    assert count_rows(app)["users"] == 1


def test_registering_the_same_email_twice_is_refused(client, auth, app):
    auth.register()
    auth.logout()
    response = auth.register(email="ADA@example.org")
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert count_rows(app)["users"] == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "password": PASSWORD, "confirm": PASSWORD}, "Enter your e-mail address."),
        ({"email": "not-an-email", "password": PASSWORD, "confirm": PASSWORD}, "Enter a valid e-mail address."),
        ({"email": "a" * 250 + "@example.org", "password": PASSWORD, "confirm": PASSWORD}, "at most 254 characters"),
        ({"email": "ada@example.org", "password": "", "confirm": ""}, "Enter a password."),
        ({"email": "ada@example.org", "password": "short one", "confirm": "short one"}, "Use at least 12 characters."),
        ({"email": "ada@example.org", "password": "x" * 300, "confirm": "x" * 300}, "Use at most 256 characters."),
        ({"email": "ada@example.org", "password": "password1234", "confirm": "password1234"}, "too common"),
        ({"email": "ada@example.org", "password": PASSWORD, "confirm": PASSWORD + "x"}, "The two passwords differ."),
    ],
)
def test_bad_registration_gets_its_message_and_creates_nothing(auth, app, data, message):
    response = auth.post("/register", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_rows(app) == dict.fromkeys(count_rows(app), 0)


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, app):
    response = client.post("/register", data={"email": "ada@example.org", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert count_rows(app)["users"] == 0


def test_post_with_a_forged_csrf_token_is_refused(client, app):
    csrf_token(client, "/register")  # a session exists, but the token sent is not its own
    response = client.post(
        "/register",
        data={"csrf_token": "forged", "email": "ada@example.org", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 400
    assert count_rows(app)["users"] == 0


def test_login_and_logout(client, auth):
    auth.register()
    auth.logout()
    assert client.get("/dashboard").status_code == 302
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_login_failure_does_not_say_whether_the_email_exists(auth):
    auth.register()
    auth.logout()
    wrong_password = auth.login(password="not the right one")
    unknown_email = auth.login(email="nobody@example.org")
    assert wrong_password.status_code == unknown_email.status_code == 400
    message = "The e-mail address or the password is wrong."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_email.get_data(as_text=True)


def test_login_refuses_redirects_to_other_sites(auth):
    auth.register()
    auth.logout()
    token = csrf_token(auth.client, "/login")
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]:
        response = auth.client.post(
            f"/login?next={target}", data={"csrf_token": token, "email": "ada@example.org", "password": PASSWORD}
        )
        assert response.headers["Location"] == "/dashboard", target
        auth.logout()
        token = csrf_token(auth.client, "/login")
    response = auth.client.post(
        "/login?next=/settings", data={"csrf_token": token, "email": "ada@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/settings"


def test_cookie_replayed_after_logout_is_refused(client, auth, app):
    auth.register()
    stolen = client.get_cookie("consent_session").value
    auth.logout()
    assert logins_of(app) == 0
    thief = app.test_client()
    thief.set_cookie("consent_session", stolen)
    response = thief.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_by_get_is_not_allowed(client, auth, app):
    auth.register()
    assert client.get("/logout").status_code == 405
    assert logins_of(app) == 1


@pytest.mark.parametrize("age", ["idle", "lifetime"])
def test_expired_login_is_refused_and_removed(client, auth, app, age):
    auth.register()
    with app.app_context():
        s = db.session()
        login = s.scalar(sa.select(Login))
        if age == "idle":
            login.last_seen_at = datetime.now(UTC) - timedelta(minutes=31)
        else:
            login.created_at = datetime.now(UTC) - timedelta(hours=13)
        s.commit()
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert logins_of(app) == 0


def test_active_login_is_kept_alive(client, auth, app):
    auth.register()
    with app.app_context():
        s = db.session()
        login = s.scalar(sa.select(Login))
        login.last_seen_at = datetime.now(UTC) - timedelta(minutes=29)
        s.commit()
    assert client.get("/dashboard").status_code == 200
    with app.app_context():
        seen = db.session().scalar(sa.select(Login.last_seen_at))
    assert datetime.now(UTC) - seen < timedelta(minutes=1)


def test_change_password_ends_other_logins_but_not_this_one(client, auth, app):
    auth.register()
    other = app.test_client()
    Auth(other).login()
    assert logins_of(app) == 2
    response = auth.post(
        "/settings",
        {"password-current": PASSWORD, "password-password": NEW_PASSWORD, "password-confirm": NEW_PASSWORD},
        action="/settings/password",
        prefix="password",
    )
    assert response.status_code == 302
    assert logins_of(app) == 1
    assert client.get("/dashboard").status_code == 200
    assert other.get("/dashboard").status_code == 302
    auth.logout()
    assert auth.login().status_code == 400
    assert auth.login(password=NEW_PASSWORD).status_code == 302


def test_change_password_with_wrong_current_password_changes_nothing(client, auth, app):
    auth.register()
    with app.app_context():
        before = db.session().scalar(sa.select(User.dek_by_password))
    response = auth.post(
        "/settings",
        {
            "password-current": "wrong password here",
            "password-password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
        },
        action="/settings/password",
        prefix="password",
    )
    assert response.status_code == 400
    assert "The current password is wrong." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(sa.select(User.dek_by_password)) == before


def test_reset_with_recovery_code(client, auth, app):
    code = recovery_code_from(auth.register().get_data(as_text=True))
    auth.post("/profile", {"full_name": "Ada Lovelace", "country": "GB"})
    other = app.test_client()
    Auth(other).login()
    auth.logout()
    response = auth.post(
        "/reset",
        {"email": "ada@example.org", "recovery_code": code.lower(), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 200
    new_code = recovery_code_from(response.get_data(as_text=True))
    assert new_code != code
    assert logins_of(app) == 1  # every earlier login ended; this one is new
    assert other.get("/dashboard").status_code == 302
    # The data key survived: the profile still opens.
    assert "Ada Lovelace" in client.get("/profile").get_data(as_text=True)
    auth.logout()
    assert auth.login(password=NEW_PASSWORD).status_code == 302
    auth.logout()
    # The used code is spent.
    again = auth.post(
        "/reset",
        {"email": "ada@example.org", "recovery_code": code, "password": PASSWORD + "!", "confirm": PASSWORD + "!"},
    )
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("email", "code", "message"),
    [
        ("ada@example.org", "0000-0000-0000-0000-0000-0000-0000-0000", "does not open an account"),
        ("nobody@example.org", None, "does not open an account"),
        ("ada@example.org", "too short", "does not open an account"),
        ("ada@example.org", "", "Enter your recovery code."),
    ],
)
def test_wrong_recovery_code_is_refused_and_changes_nothing(auth, app, email, code, message):
    real = recovery_code_from(auth.register().get_data(as_text=True))
    auth.logout()
    with app.app_context():
        before = db.session().scalar(sa.select(User.password_hash))
    response = auth.post(
        "/reset",
        {
            "email": email,
            "recovery_code": real if code is None else code,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(sa.select(User.password_hash)) == before


def test_new_recovery_code_replaces_the_old_one(client, auth, app):
    old = recovery_code_from(auth.register().get_data(as_text=True))
    response = auth.post(
        "/settings", {"recovery-current": PASSWORD}, action="/settings/recovery-code", prefix="recovery"
    )
    assert response.status_code == 200
    new = recovery_code_from(response.get_data(as_text=True))
    assert new != old
    auth.logout()
    refused = auth.post(
        "/reset", {"email": "ada@example.org", "recovery_code": old, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 400
    accepted = auth.post(
        "/reset", {"email": "ada@example.org", "recovery_code": new, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 200


def test_new_recovery_code_needs_the_password(auth, app):
    auth.register()
    with app.app_context():
        before = db.session().scalar(sa.select(User.dek_by_recovery))
    response = auth.post(
        "/settings", {"recovery-current": "wrong password"}, action="/settings/recovery-code", prefix="recovery"
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session().scalar(sa.select(User.dek_by_recovery)) == before


def test_delete_account_removes_every_row_of_the_user(client, auth, app):
    # Someone else's rows must stay.
    bystander = app.test_client()
    Auth(bystander).register(email="grace@example.org")
    Auth(bystander).post("/profile", {"full_name": "Grace Hopper"})
    before = count_rows(app)
    auth.register()
    auth.post("/profile", {"full_name": "Ada Lovelace", "postal_address": "12 St James's Square"})
    Auth(app.test_client()).login()
    during = count_rows(app)
    assert (during["users"], during["profiles"], during["logins"], during["ledger_heads"]) == (2, 2, 3, 2)
    response = auth.post(
        "/settings", {"delete-current": PASSWORD, "delete-understood": "y"}, action="/settings/delete", prefix="delete"
    )
    assert response.status_code == 302
    assert count_rows(app) == before
    assert client.get("/dashboard").status_code == 302
    assert auth.login().status_code == 400
    assert bystander.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delete-current": "wrong password", "delete-understood": "y"}, "The current password is wrong."),
        ({"delete-current": PASSWORD}, "Tick the box to confirm."),
        ({"delete-understood": "y"}, "Enter your current password."),
    ],
)
def test_delete_account_refused_without_password_and_confirmation(auth, app, data, message):
    auth.register()
    before = count_rows(app)
    response = auth.post("/settings", data, action="/settings/delete", prefix="delete")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    after = count_rows(app)
    # A wrong password is a guess, counted against this login; nothing else changes.
    assert after.pop("failed_attempts") == before.pop("failed_attempts") + (message == "The current password is wrong.")
    assert after == before


def test_profile_round_trip(client, auth):
    auth.register()
    response = auth.post(
        "/profile",
        {
            "full_name": "Ada Lovelace",
            "postal_address": "12 St James's Square\nLondon",
            "country": "GB",
            "correspondence_email": "ada@post.example",
            "date_of_birth": "1815-12-10",
            "phone": "+44 20 7946 0000",
        },
    )
    assert response.status_code == 302
    html = client.get("/profile").get_data(as_text=True)
    for value in [
        "Ada Lovelace",
        "12 St James&#39;s Square\nLondon",
        "ada@post.example",
        "1815-12-10",
        "+44 20 7946 0000",
    ]:
        assert value in html
    assert '<option selected value="GB">' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "x" * 201, "Field cannot be longer than 200 characters."),
        ("postal_address", "x" * 501, "Field cannot be longer than 500 characters."),
        ("correspondence_email", "nope", "Enter a valid e-mail address."),
        ("phone", "call me maybe", "Enter a phone number"),
        ("country", "XX", "Not a valid choice."),
        ("date_of_birth", "10/12/1815", "Not a valid date value."),
    ],
)
def test_bad_profile_input_gets_its_message_and_changes_nothing(client, auth, field, value, message):
    auth.register()
    auth.post("/profile", {"full_name": "Ada Lovelace"})
    response = auth.post("/profile", {"full_name": "Someone Else", field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    response = client.get("/profile").get_data(as_text=True)
    assert "Ada Lovelace" in response and "Someone Else" not in response


def test_pages_need_a_login(client):
    for path in ["/dashboard", "/profile", "/settings"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_every_response_carries_the_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_session_cookie_flags(client, auth):
    auth.register()
    cookie = client.get_cookie("consent_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


def test_session_cookie_is_secure_over_https(app):
    client = app.test_client()
    page = client.get("/register", base_url="https://localhost")
    assert "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")


def test_error_pages_leak_nothing(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail ada@example.org")

    app.testing = False  # let the 500 handler answer instead of pytest seeing the error
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret detail" not in body and "Traceback" not in body and "RuntimeError" not in body
    assert "Something went wrong on our side" in body
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "There is nothing at this address." in missing.get_data(as_text=True)


def test_oversized_request_is_refused(client):
    response = client.post("/login", data={"email": "x" * (9 * 1024 * 1024)})
    assert response.status_code == 413


def _failures_now(app, minutes_ago: int) -> None:
    """Move every recorded failure into the past."""
    from consent.models import FailedAttempt

    with app.app_context():
        s = db.session()
        for row in s.scalars(sa.select(FailedAttempt)):
            row.at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        s.commit()


@pytest.mark.parametrize("email", ["ada@example.org", "nobody@example.org"])
def test_login_from_a_stranger_is_slowed_after_ten_failures_for_known_and_unknown_addresses(app, email):
    Auth(app.test_client()).register()
    stranger = Auth(app.test_client())  # a browser that never logged in to this address
    for _ in range(10):
        assert stranger.login(email=email, password="wrong password here").status_code == 400
    slowed = stranger.login(email=email, password=PASSWORD)
    assert slowed.status_code == 429
    assert slowed.headers["Retry-After"] == "1"
    assert "Too many attempts for this address. Wait 1 second and try again." in slowed.get_data(as_text=True)
    assert logins_of(app) == 1  # the registering browser's only: not even the right password got in
    assert stranger.login(email="grace@example.org", password="wrong password here").status_code == 400
    _failures_now(app, minutes_ago=16)
    if email == "ada@example.org":
        assert stranger.login(password=PASSWORD).status_code == 302  # older failures no longer count
    else:
        assert stranger.login(email=email, password="wrong password here").status_code == 400


def test_recovery_attempts_are_throttled(app):
    code = recovery_code_from(Auth(app.test_client()).register().get_data(as_text=True))
    stranger = Auth(app.test_client())
    wrong = "0000-0000-0000-0000-0000-0000-0000-0000"
    for _ in range(10):
        data = {"email": "ada@example.org", "recovery_code": wrong, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert stranger.post("/reset", data).status_code == 400
    data = {"email": "ada@example.org", "recovery_code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    slowed = stranger.post("/reset", data)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    _failures_now(app, minutes_ago=16)
    assert stranger.post("/reset", data).status_code == 200
