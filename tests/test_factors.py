"""Second factors (issue 9): an authenticator app (TOTP) with the recovery code as its
single-use backup; a stolen password alone no longer logs in; sensitive changes ask for
the factor; the logins page shows and ends logins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from consent import create_app, db, migrate
from consent.models import Login, User
from consent.services import factors
from tests.conftest import NEW_PASSWORD, PASSWORD, Auth, count_rows, csrf_token, recovery_code_from, test_settings
from tests.test_registration import SITE, _mails_to, mailbox  # noqa: F401  (a fixture)
from tests.test_requests import smtp_server  # noqa: F401  (a fixture)

_SECRET = re.compile(r'name="totp-secret" type="hidden" value="([A-Z2-7]+)"')


def _code(secret: str, *, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


def turn_on(auth: Auth, name: str = "phone") -> str:
    """Set up an authenticator app through the page, as a person does; returns its secret."""
    page = auth.client.get("/settings/security").get_data(as_text=True)
    secret = _SECRET.search(page).group(1)
    data = {"totp-secret": secret, "totp-name": name, "totp-code": _code(secret), "totp-current": PASSWORD}
    response = auth.post("/settings/security", data, action="/settings/security/totp", prefix="totp")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return secret


def second_step(auth: Auth, **data: str):  # type: ignore[no-untyped-def]
    return auth.post("/login/second-step", data)


@pytest.fixture
def protected(app, auth) -> tuple[Auth, str]:
    """Ada, with an authenticator app, logged out."""
    auth.register()
    secret = turn_on(auth)
    auth.logout()
    return auth, secret


def test_a_stolen_password_alone_does_not_log_in(app, protected):
    _ada, _secret = protected
    thief = Auth(app.test_client())
    answer = thief.login()
    assert answer.status_code == 302 and "/login/second-step" in answer.headers["Location"]
    step = thief.client.get("/login/second-step").get_data(as_text=True)
    assert 'href="/dashboard"' not in step and "ledger-freshness" not in step  # nothing offered that would not open
    for path in ("/dashboard", "/platforms", "/ledger", "/settings", "/profile", "/ledger/export.json"):
        page = thief.client.get(path)
        assert page.status_code == 302 and "/login/second-step" in page.headers["Location"], path
    assert thief.post("/login/second-step", {}, action="/logout").status_code == 302  # logging out still works
    assert thief.client.get("/dashboard").headers["Location"].startswith("/login?")


def test_a_pending_login_neither_reads_nor_sets_the_account_s_language(app, protected):
    ada, secret = protected
    ada.login()
    assert second_step(ada, code=_code(secret, steps=1)).status_code == 302
    ada.post("/settings", {"language": "fr"}, action="/language")  # Ada reads French
    thief = Auth(app.test_client())
    thief.login()
    english = {"Accept-Language": "en"}
    page = thief.client.get("/login/second-step", headers=english).get_data(as_text=True)
    assert "Second step" in page  # the browser's language, not the account's
    assert thief.post("/login/second-step", {"language": "en"}, action="/language").status_code == 302
    with app.app_context():
        assert db.session().query(User.language).scalar() == "fr"  # unchanged by the thief
    assert "Tableau de bord" in ada.client.get("/dashboard", headers=english).get_data(as_text=True)


def test_the_code_completes_the_log_in_once(app, protected):
    ada, secret = protected
    ada.login(password=PASSWORD)
    code = _code(secret, steps=1)  # a code from the next step: clocks drift
    assert second_step(ada, code=code).status_code == 302
    assert ada.client.get("/dashboard").status_code == 200
    other = Auth(app.test_client())
    other.login()
    replayed = second_step(other, code=code)
    assert replayed.status_code == 400 and "used already" in replayed.get_data(as_text=True)
    assert other.client.get("/dashboard").status_code == 302


def test_the_second_step_gives_the_login_a_new_token(app, protected):
    """Whoever saw or planted the pending login's cookie holds nothing once the owner has
    passed the second step: the completed login has a token of its own."""
    ada, secret = protected
    ada.login()
    pending_cookie = ada.client.get_cookie("consent_session").value
    with app.app_context():
        (before,) = [row.lookup for row in db.session().query(Login)]
    done = second_step(ada, code=_code(secret, steps=1))
    assert done.status_code == 302 and ada.client.get("/dashboard").status_code == 200
    with app.app_context():
        (after,) = db.session().query(Login).all()
    assert after.lookup != before and not after.pending
    planted = app.test_client()
    planted.set_cookie("consent_session", pending_cookie)
    assert planted.get("/dashboard").headers["Location"].startswith("/login")


def test_five_wrong_codes_end_the_pending_login(app, protected):
    _ada, _secret = protected
    thief = Auth(app.test_client())
    thief.login()
    for _ in range(4):
        assert second_step(thief, code="000000").status_code == 400
    ended = second_step(thief, code="000000")
    assert ended.status_code == 302 and ended.headers["Location"].endswith("/login")
    assert thief.client.get("/dashboard").status_code == 302
    with app.app_context():
        assert db.session().query(Login).filter(Login.pending.is_(True)).count() == 0


def _app_with(database_url: str, **overrides: object):  # type: ignore[no-untyped-def]
    app = create_app(test_settings(database_url, **overrides))
    with app.app_context():
        migrate.upgrade(db.engine())
    return app


def test_logging_in_again_gives_a_thief_no_fresh_guesses_at_the_code(database_url):
    """Five wrong codes end a pending login, but whoever has the password could log in
    again and again: wrong answers are also counted per account, over a day. The owner's
    browser, which completed a log-in before, is counted apart and not slowed down."""
    app = _app_with(database_url, LOGIN_MAX_FAILURES=6, GUESSES_PER_ADDRESS="1000 per minute")
    ada = Auth(app.test_client())
    ada.register()
    secret = turn_on(ada)
    ada.logout()
    wrong = 0
    while wrong < 6:  # the free ones, over two pending logins (four, then two)
        thief = Auth(app.test_client())
        answer = thief.login()
        assert "consent_device" not in answer.headers.get("Set-Cookie", "")  # the password alone marks nothing
        for _ in range(min(4, 6 - wrong)):
            assert second_step(thief, code="000000").status_code == 400
            wrong += 1
    thief = Auth(app.test_client())
    thief.login()
    for data in ({"code": _code(secret)}, {"recovery_code": "0000-0000-0000-0000-0000-0000-0000-0000"}):
        refused = second_step(thief, **data)  # even the right code must wait now
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "Too many attempts" in refused.get_data(as_text=True)
        assert thief.client.get("/dashboard").status_code == 302
    with app.app_context():  # the refusals did not count against the last pending login
        pending = db.session().query(Login).filter(Login.pending.is_(True))
        assert sorted(row.factor_failures for row in pending) == [0, 2, 4]
    ada.login()
    done = second_step(ada, code=_code(secret, steps=1))  # the first code was used to turn it on
    assert done.status_code == 302 and ada.client.get("/dashboard").status_code == 200
    assert "consent_device" in done.headers.get("Set-Cookie", "")  # marked again, now that it is done
    with app.app_context():
        db.engine().dispose()


def test_the_recovery_code_stands_in_once_and_is_replaced(app, auth):
    code = recovery_code_from(auth.register().get_data(as_text=True))
    turn_on(auth)
    auth.post("/login/second-step", {}, action="/logout")
    auth.login()
    assert second_step(auth, recovery_code="0000-0000-0000-0000-0000-0000-0000-0000").status_code == 400
    shown = second_step(auth, recovery_code=code)
    assert shown.status_code == 200
    new_code = recovery_code_from(shown.get_data(as_text=True))
    assert new_code != code
    assert auth.client.get("/dashboard").status_code == 200
    auth.logout()
    auth.login()
    assert second_step(auth, recovery_code=code).status_code == 400  # used up
    assert second_step(auth, recovery_code=new_code).status_code == 200


def test_a_wrong_first_code_turns_nothing_on(app, auth):
    auth.register()
    page = auth.client.get("/settings/security").get_data(as_text=True)
    secret = _SECRET.search(page).group(1)
    before = count_rows(app)
    for data in (
        {"totp-code": "123456", "totp-current": PASSWORD},
        {"totp-code": _code(secret), "totp-current": "wrong password"},
        {"totp-code": "", "totp-current": PASSWORD},
    ):
        response = auth.post("/settings/security", {"totp-secret": secret, **data}, action="/settings/security/totp", prefix="totp")
        assert response.status_code == 400
    after = count_rows(app)
    after.pop("failed_attempts"), before.pop("failed_attempts")  # the wrong password is a counted guess
    assert after == before and after["second_factors"] == 0


def test_turning_a_factor_on_ends_the_other_logins(app, auth):
    auth.register()
    elsewhere = Auth(app.test_client())
    elsewhere.login()
    turn_on(auth)
    assert elsewhere.client.get("/dashboard").status_code == 302
    assert auth.client.get("/dashboard").status_code == 200


def test_sensitive_changes_ask_for_a_recent_factor(app, protected, monkeypatch):
    ada, secret = protected
    ada.login()
    assert second_step(ada, code=_code(secret, steps=1)).status_code == 302
    with app.app_context():  # eleven minutes later
        s = db.session()
        for row in s.query(Login):
            row.factor_confirmed_at = datetime.now(UTC) - timedelta(minutes=11)
        s.commit()
    data = {"password-current": PASSWORD, "password-password": NEW_PASSWORD, "password-confirm": NEW_PASSWORD}
    asked = ada.post("/settings", data, action="/settings/password", prefix="password")
    assert asked.status_code == 302 and "/login/second-step" in asked.headers["Location"]
    assert Auth(app.test_client()).login().headers["Location"].find("second-step") > 0  # old password still works
    assert ada.client.get("/settings/email").headers["Location"].find("second-step") > 0
    later = datetime.now(UTC) + timedelta(minutes=2)  # a code of a step not used yet
    monkeypatch.setattr(factors, "_now", lambda: later)
    assert second_step(ada, code=pyotp.TOTP(secret).at(later)).status_code == 302
    assert ada.post("/settings", data, action="/settings/password", prefix="password").status_code == 302
    assert "/login/second-step" in Auth(app.test_client()).login(password=NEW_PASSWORD).headers["Location"]


def _ten_minutes_pass(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        s = db.session()
        for row in s.query(Login):
            row.factor_confirmed_at = datetime.now(UTC) - timedelta(minutes=11)
        s.commit()


def test_after_confirming_it_is_you_a_mail_link_opens_where_it_led(app, auth, mailbox, monkeypatch):  # noqa: F811
    """fresh_factor_required brings a GET back to its own address (the e-mail change's
    link from the mail, token included), and a POST back to its form's page."""
    app.config["SMTP_HOST"] = ""
    auth.register()
    secret = turn_on(auth)  # confirmed now, for ten minutes
    app.config["SMTP_HOST"] = "127.0.0.1"
    asked = auth.post("/settings/email", {"email-email": "ada@new.example", "email-current": PASSWORD}, prefix="email")
    assert asked.status_code == 302
    (message,) = _mails_to(mailbox, "ada@new.example")
    link = re.search(re.escape(SITE) + r"(/settings/email/[A-Za-z0-9_=-]+)", message.get_content()).group(1)
    _ten_minutes_pass(app)
    sent = auth.client.get(link)
    assert sent.status_code == 302 and sent.headers["Location"].startswith("/login/second-step?")
    later = datetime.now(UTC) + timedelta(minutes=2)
    monkeypatch.setattr(factors, "_now", lambda: later)
    back = auth.post(sent.headers["Location"], {"code": pyotp.TOTP(secret).at(later)})
    assert back.status_code == 302 and back.headers["Location"] == link
    page = auth.client.get(link).get_data(as_text=True)
    assert "Make ada@new.example the address of this account?" in page
    token = csrf_token(auth.client, link)
    _ten_minutes_pass(app)
    posted = auth.client.post(link, data={"csrf_token": token})  # a POST comes back to its decorator's page
    assert posted.status_code == 302 and posted.headers["Location"] == "/login/second-step?next=/settings"
    assert Auth(app.test_client()).login().status_code == 302  # the old address still logs in: nothing changed


def test_deleting_the_account_takes_its_factors_with_it(app, auth):
    auth.register()
    turn_on(auth)
    Auth(app.test_client()).login()  # a pending login too
    data = {"delete-current": PASSWORD, "delete-understood": "y"}
    assert auth.post("/settings", data, action="/settings/delete", prefix="delete").status_code == 302
    after = count_rows(app)
    assert (after["users"], after["second_factors"], after["logins"]) == (0, 0, 0)


def test_removing_the_factor_needs_password_and_factor(app, protected):
    ada, secret = protected
    ada.login()
    assert second_step(ada, code=_code(secret, steps=1)).status_code == 302
    page = ada.client.get("/settings/security").get_data(as_text=True)
    action = re.search(r'action="(/settings/security/[0-9a-f-]+/remove)"', page).group(1)
    wrong = ada.post("/settings/security", {"remove-current": "wrong password"}, action=action, prefix="remove")
    assert wrong.status_code == 400 and count_rows(app)["second_factors"] == 1
    assert ada.post("/settings/security", {"remove-current": PASSWORD}, action=action, prefix="remove").status_code == 302
    assert count_rows(app)["second_factors"] == 0
    fresh = Auth(app.test_client())
    assert fresh.login().headers["Location"].endswith("/dashboard")


def test_another_person_cannot_remove_a_factor(app, protected):
    ada, secret = protected
    ada.login()
    assert second_step(ada, code=_code(secret, steps=1)).status_code == 302
    action = re.search(
        r'action="(/settings/security/[0-9a-f-]+/remove)"', ada.client.get("/settings/security").get_data(as_text=True)
    ).group(1)
    grace = Auth(app.test_client())
    grace.register(email="grace@example.org")
    assert grace.post("/settings/security", {"remove-current": PASSWORD}, action=action, prefix="remove").status_code == 404
    assert count_rows(app)["second_factors"] == 1


def test_the_totp_secret_is_sealed(app, protected):
    _ada, secret = protected
    with app.app_context(), db.engine().connect() as conn:
        dump = b"".join(bytes(v) for row in conn.exec_driver_sql("SELECT name, secret FROM second_factors") for v in row)
    assert secret.encode() not in dump and b"phone" not in dump


def test_an_instance_can_require_a_second_factor(database_url):
    app = create_app(test_settings(database_url, REQUIRE_SECOND_FACTOR=True))
    with app.app_context():
        migrate.upgrade(db.engine())
    auth = Auth(app.test_client())
    assert auth.register().status_code == 200  # the recovery code, shown once
    sent = auth.client.get("/dashboard")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/settings/security")
    turn_on(auth)
    assert auth.client.get("/dashboard").status_code == 200
    with app.app_context():
        db.engine().dispose()


# --- the logins page -------------------------------------------------------------------


def test_the_logins_page_lists_logins_with_their_device_and_ends_one(app, auth):
    auth.register()
    phone = Auth(app.test_client())
    phone.client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
    )
    phone.login()
    page = auth.client.get("/settings/logins").get_data(as_text=True)
    assert "Chrome on Android" in page and "(this one)" in page
    login_id = re.search(r'name="login" value="([0-9a-f]{64})"', page).group(1)
    assert auth.post("/settings/logins", {"login": login_id}, action="/settings/logins/end").status_code == 302
    assert phone.client.get("/dashboard").status_code == 302  # ended: it stops at its next request
    assert auth.client.get("/dashboard").status_code == 200


def test_ending_every_other_login(app, auth):
    auth.register()
    others = [Auth(app.test_client()) for _ in range(2)]
    for other in others:
        other.login()
    assert auth.post("/settings/logins", {}, action="/settings/logins/end-others").status_code == 302
    assert [o.client.get("/dashboard").status_code for o in others] == [302, 302]
    assert auth.client.get("/dashboard").status_code == 200


def test_nobody_ends_another_person_s_login(app, auth):
    auth.register()
    with app.app_context():
        (ada_login,) = [r.lookup.hex() for r in db.session().query(Login)]
    grace = Auth(app.test_client())
    grace.register(email="grace@example.org")
    before = count_rows(app)
    for bad in (ada_login, "0" * 64, "zz", ""):
        response = grace.post("/settings/logins", {"login": bad}, action="/settings/logins/end")
        assert response.status_code in (400, 404), bad
    assert count_rows(app) == before
    assert auth.client.get("/dashboard").status_code == 200


# --- passkeys without a browser: what the server refuses --------------------------------


def test_at_an_ip_address_the_page_says_passkeys_need_a_name(app, auth):
    auth.register()
    named = auth.client.get("/settings/security").get_data(as_text=True)  # the test client is at localhost
    assert "data-passkey-options" in named
    app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
    page = auth.client.get("/settings/security").get_data(as_text=True)
    assert "Passkeys need this site opened by its name" in page and "data-passkey-options" not in page


def test_at_an_ip_address_the_second_step_says_where_a_passkey_works(app, auth):
    """A person whose only factor is a passkey, at 127.0.0.1: the page says to open the
    site by its name (their recovery code still works there)."""
    import json
    import uuid

    from consent.models import SecondFactor
    from consent.services import accounts
    from consent.vault import Vault

    auth.register()
    auth.logout()
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email="ada@example.org", password=PASSWORD)
        row = SecondFactor(id=uuid.uuid4(), user_id=login.user.id, kind="passkey", created_at=datetime.now(UTC))
        Vault(login.key).write(row, "name", "laptop")
        Vault(login.key).write(row, "secret", json.dumps({"credential_id": "AAAA", "public_key": "AAAA", "sign_count": 0}))
        s.add(row)
        s.commit()
    auth.login()
    named = auth.client.get("/login/second-step").get_data(as_text=True)  # the test client is at localhost
    assert "data-passkey-options" in named and "Passkeys need this site opened by its name" not in named
    app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
    page = auth.client.get("/login/second-step").get_data(as_text=True)
    assert "Passkeys need this site opened by its name" in page and "data-passkey-options" not in page
    assert 'name="recovery_code"' in page


@pytest.mark.parametrize("response", ["not json", "{}", '{"id": "AAAA", "type": "public-key"}', "[1, 2]"])
def test_a_forged_passkey_answer_adds_nothing_and_logs_nobody_in(app, protected, response):
    ada, secret = protected
    ada.login()
    assert second_step(ada, code=_code(secret, steps=1)).status_code == 302
    ada.client.get("/settings/security")  # a challenge to answer
    before = count_rows(app)
    data = {"passkey-response": response, "passkey-name": "mine", "passkey-current": PASSWORD}
    refused = ada.post("/settings/security", data, action="/settings/security/passkey", prefix="passkey")
    assert refused.status_code == 400 and "This passkey could not be checked." in refused.get_data(as_text=True)
    after = count_rows(app)
    after.pop("failed_attempts"), before.pop("failed_attempts")
    assert after == before
    thief = Auth(app.test_client())
    thief.login()
    answered = second_step(thief, passkey=response)
    assert answered.status_code == 400 and thief.client.get("/dashboard").status_code == 302


@pytest.mark.parametrize("secret", ["", "SHORT", "a" * 40, "Z" * 65])
def test_an_altered_secret_is_refused_and_the_page_offers_a_fresh_one(app, auth, secret):
    auth.register()
    data = {"totp-secret": secret, "totp-code": "123456", "totp-current": PASSWORD}
    response = auth.post("/settings/security", data, action="/settings/security/totp", prefix="totp")
    assert response.status_code == 400
    assert _SECRET.search(response.get_data(as_text=True)).group(1) != secret
    assert count_rows(app)["second_factors"] == 0


def test_a_factor_row_written_by_an_operator_is_neither_shown_nor_accepted(app, protected):
    """The operator cannot seal a secret under Ada's key: a row they write does not open,
    and it breaks nothing (the recovery code still gets Ada in)."""
    import uuid

    import sqlalchemy as sa

    from consent.models import SecondFactor
    from tests.test_integrity import operator

    ada, secret = protected
    forged_secret = pyotp.random_base32()
    operator(
        app,
        sa.insert(SecondFactor).values(
            id=uuid.uuid4(), user_id=sa.select(SecondFactor.user_id).scalar_subquery(), kind="totp",
            name=b"\x01" + b"n" * 40, secret=b"\x01" + b"s" * 60, created_at=datetime.now(UTC),
        ),
    )
    ada.login()
    refused = second_step(ada, code=pyotp.TOTP(forged_secret).now())
    assert refused.status_code == 400
    assert second_step(ada, code=_code(secret, steps=1)).status_code == 302
    page = ada.client.get("/settings/security").get_data(as_text=True)
    assert page.count("authenticator app ·") == 1  # Ada's own, not the forged one


# --- answers at the same moment ----------------------------------------------------------


def _race(app, monkeypatch, answer) -> list[str]:  # type: ignore[no-untyped-def]
    """Two pending logins of Ada answer at once, both having read her factors before either
    writes (unless the first holds a lock, then the second waits for it): what each got."""
    import threading

    from consent.services import accounts

    settings = app.extensions["consent.accounts"]
    with app.app_context():
        tokens = [accounts.log_in(db.session(), settings, email="ada@example.org", password=PASSWORD).token for _ in range(2)]
    both_read = threading.Barrier(2)
    original = factors._step_of
    opened = accounts.opens_with_recovery_code

    def meet() -> None:
        try:
            both_read.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other one waits for a lock this one holds

    monkeypatch.setattr(factors, "_step_of", lambda *a: (meet(), original(*a))[1])
    monkeypatch.setattr(accounts, "opens_with_recovery_code", lambda *a: (meet(), opened(*a))[1])
    results: list[str] = []

    def run(token: str) -> None:
        with app.app_context():
            s = db.session()
            login = accounts.resume(s, settings, token)
            assert login is not None and login.pending
            try:
                answer(s, login, factors.guesses(settings, "ada@example.org", None))
                results.append("in")
            except factors.WrongCode:
                results.append("refused")

    threads = [threading.Thread(target=run, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(results)


def test_one_code_sent_by_two_logins_at_once_opens_one(app, protected, monkeypatch):
    _ada, secret = protected
    code = _code(secret, steps=1)
    assert _race(app, monkeypatch, lambda s, login, g: factors.confirm(s, login, code, guesses=g)) == ["in", "refused"]


def test_one_recovery_code_sent_by_two_logins_at_once_opens_one(app, auth, monkeypatch):
    code = recovery_code_from(auth.register().get_data(as_text=True))
    turn_on(auth)
    answer = lambda s, login, g: factors.confirm_with_recovery_code(s, login, code, guesses=g)  # noqa: E731
    assert _race(app, monkeypatch, answer) == ["in", "refused"]


# --- passkeys without a browser: a software authenticator ----------------------------------


class SoftKey:
    """A passkey authenticator in a few lines (ES256, "none" attestation), to answer the
    pages' WebAuthn options as a browser would: what the server checks is the real thing."""

    def __init__(self, origin: str = "http://localhost") -> None:
        import os

        from cryptography.hazmat.primitives.asymmetric import ec

        self.origin = origin
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0

    @staticmethod
    def _b64(raw: bytes) -> str:
        import base64

        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def _client_data(self, kind: str, challenge: str) -> bytes:
        import json

        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def _auth_data(self, rp_id: str, flags: int, attested: bytes = b"") -> bytes:
        import hashlib

        self.counter += 1
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + self.counter.to_bytes(4, "big") + attested

    def create(self, options: dict) -> str:  # type: ignore[type-arg]
        import json

        import cbor2

        numbers = self.private.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + cose
        auth_data = self._auth_data(options["rp"]["id"], 0x01 | 0x04 | 0x40, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"])
        return json.dumps({
            "id": self._b64(self.credential_id), "rawId": self._b64(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": self._b64(client_data), "attestationObject": self._b64(attestation)},
        })

    def get(self, options: dict) -> str:  # type: ignore[type-arg]
        import hashlib
        import json

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        auth_data = self._auth_data(options["rpId"], 0x01 | 0x04)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.private.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": self._b64(self.credential_id), "rawId": self._b64(self.credential_id), "type": "public-key",
            "response": {
                "clientDataJSON": self._b64(client_data), "authenticatorData": self._b64(auth_data),
                "signature": self._b64(signature),
            },
        })


def _options(page: str) -> dict:  # type: ignore[type-arg]
    import html
    import json

    return json.loads(html.unescape(re.search(r'data-passkey-options="([^"]+)"', page).group(1)))


def _add_passkey(auth: Auth, key: SoftKey):  # type: ignore[no-untyped-def]
    options = _options(auth.client.get("/settings/security").get_data(as_text=True))
    data = {"passkey-response": key.create(options), "passkey-name": "laptop", "passkey-current": PASSWORD}
    return auth.post("/settings/security", data, action="/settings/security/passkey", prefix="passkey")


def test_a_passkey_signature_works_once_and_for_its_own_login_only(app, auth):
    auth.register()
    key = SoftKey()
    assert _add_passkey(auth, key).status_code == 302
    assert count_rows(app)["second_factors"] == 1
    auth.logout()
    auth.login()
    page = auth.client.get("/login/second-step").get_data(as_text=True)
    options = _options(page)
    assert _options(auth.client.get("/login/second-step").get_data(as_text=True)) == options  # the same until answered
    answer = key.get(options)
    thief = Auth(app.test_client())  # with the password, and a signature seen on its way
    thief.login()
    stolen = second_step(thief, passkey=answer)
    assert stolen.status_code == 400 and thief.client.get("/dashboard").status_code == 302
    assert second_step(auth, passkey=answer).status_code == 302
    assert auth.client.get("/dashboard").status_code == 200
    _ten_minutes_pass(app)
    replayed = second_step(auth, passkey=answer)  # "confirm it is you" with the same signature
    assert replayed.status_code == 400 and not _options(replayed.get_data(as_text=True)) == options
    fresh = key.get(_options(auth.client.get("/login/second-step").get_data(as_text=True)))
    assert second_step(auth, passkey=fresh).status_code == 302


def test_a_passkey_made_for_another_site_is_not_added(app, auth):
    auth.register()
    before = count_rows(app)
    refused = _add_passkey(auth, SoftKey(origin="http://localhost.evil.example"))
    assert refused.status_code == 400 and "This passkey could not be checked." in refused.get_data(as_text=True)
    after = count_rows(app)
    after.pop("failed_attempts"), before.pop("failed_attempts")
    assert after == before


def test_a_background_request_answered_late_does_not_lose_the_challenge(app, auth):
    """The page's background requests (the ledger's freshness check) may be answered after
    the page, and put back the session cookie as it was when they were sent: the challenge
    must not live there. Here the browser keeps the older cookie, as it would."""
    auth.register()
    key = SoftKey()
    auth.client.get("/settings")  # a page with forms: the session holds its CSRF secret
    older = auth.client.get_cookie("consent_session").value
    page = auth.client.get("/settings/security").get_data(as_text=True)
    token = re.search(r'name="passkey-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    auth.client.set_cookie("consent_session", older)  # the late answer's Set-Cookie
    data = {
        "passkey-csrf_token": token, "passkey-response": key.create(_options(page)),
        "passkey-name": "laptop", "passkey-current": PASSWORD,
    }
    assert auth.client.post("/settings/security/passkey", data=data).status_code == 302
    assert count_rows(app)["second_factors"] == 1
