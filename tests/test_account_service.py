"""The accounts service on its own, below the web layer."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from consent import db, keys, passwords
from consent.errors import InvalidCredentials
from consent.keys import Argon2Params
from consent.models import User
from consent.services import accounts, integrity, profiles
from tests.conftest import PASSWORD


@pytest.fixture
def settings(app):
    return app.extensions["consent.accounts"]


def test_unknown_email_costs_the_same_argon2_work_as_a_wrong_password(app, settings, monkeypatch):
    with app.app_context():
        accounts.register(db.session(), settings, email="ada@example.org", password=PASSWORD)
        calls: list[str] = []
        real_verify, real_kek = passwords.verify_password, keys.password_kek
        monkeypatch.setattr(passwords, "verify_password", lambda *a: calls.append("verify") or real_verify(*a))
        monkeypatch.setattr(keys, "password_kek", lambda *a: calls.append("kek") or real_kek(*a))
        for email, password in [("ada@example.org", "wrong password here"), ("nobody@example.org", PASSWORD)]:
            calls.clear()
            with pytest.raises(InvalidCredentials, match="e-mail or password does not match"):
                accounts.log_in(db.session(), settings, email=email, password=password)
            assert sorted(calls) == ["kek", "verify"], email


def test_raised_argon2_cost_applies_at_next_login(app, settings):
    stronger = replace(settings, argon2=Argon2Params(time_cost=2, memory_kib=128, parallelism=1))
    with app.app_context():
        s = db.session()
        new = accounts.register(s, settings, email="ada@example.org", password=PASSWORD)
        profiles.update_profile(s, new.login, {"full_name": "Ada Lovelace"})
        login = accounts.log_in(s, stronger, email="ada@example.org", password=PASSWORD)
        user = s.scalar(sa.select(User))
        assert user.password_kdf == "t=2,m=128,p=1"
        assert user.password_hash.startswith("$argon2id$v=19$m=128,t=2,p=1$")
        assert profiles.read_profile(s, login)["full_name"] == "Ada Lovelace"
        again = accounts.log_in(s, stronger, email="ada@example.org", password=PASSWORD)
        assert profiles.read_profile(s, again)["full_name"] == "Ada Lovelace"


def test_resume_refuses_a_token_that_does_not_open_its_row(app, settings):
    with app.app_context():
        s = db.session()
        new = accounts.register(s, settings, email="ada@example.org", password=PASSWORD)
        assert accounts.resume(s, settings, new.login.token) is not None
        assert accounts.resume(s, settings, keys.new_login_token()) is None


def test_resume_measures_expiry_from_the_given_clock(app, settings):
    with app.app_context():
        s = db.session()
        start = datetime.now(UTC)
        new = accounts.register(s, settings, email="ada@example.org", password=PASSWORD, now=start)
        token = new.login.token
        assert accounts.resume(s, settings, token, now=start + timedelta(minutes=29)) is not None
        assert accounts.resume(s, settings, token, now=start + timedelta(minutes=58)) is not None
        assert accounts.resume(s, settings, token, now=start + timedelta(minutes=58 + 31)) is None
        assert accounts.resume(s, settings, token, now=start + timedelta(minutes=59)) is None  # gone for good


def test_profile_rejects_unknown_fields(app, settings):
    with app.app_context():
        s = db.session()
        new = accounts.register(s, settings, email="ada@example.org", password=PASSWORD)
        with pytest.raises(ValueError, match=r"got \['nickname'\]"):
            profiles.update_profile(s, new.login, {"nickname": "Ada"})


@pytest.mark.parametrize("plain", ["Ada Lovelace", b"Ada Lovelace"])
def test_a_sealed_column_refuses_plaintext(app, settings, plain):
    from consent.errors import ConsentError
    from consent.models import Profile

    with app.app_context():
        s = db.session()
        new = accounts.register(s, settings, email="ada@example.org", password=PASSWORD)
        s.add(Profile(user_id=new.login.user.id, full_name=plain, updated_at=datetime.now(UTC)))
        with pytest.raises(sa.exc.StatementError) as caught:
            s.commit()
        assert isinstance(caught.value.orig, ConsentError)
        s.rollback()
        assert s.scalar(sa.select(sa.func.count()).select_from(Profile)) == 0


def test_sealed_value_moved_to_another_row_does_not_open(app, settings):
    from consent.errors import DecryptionError, IntegrityAlarm
    from consent.models import Profile

    with app.app_context():
        s = db.session()
        ada = accounts.register(s, settings, email="ada@example.org", password=PASSWORD).login
        profiles.update_profile(s, ada, {"full_name": "Ada Lovelace", "phone": "+44 1"})
        row = s.get(Profile, ada.user.id)
        with integrity.unguarded(s):
            row.phone = row.full_name  # a thief swaps two ciphertexts of the same person
            s.commit()
        with pytest.raises(DecryptionError):
            ada.vault.read(row, "phone")
        with pytest.raises(IntegrityAlarm) as alarm:
            profiles.read_profile(s, ada)
        assert alarm.value.problems == [("replayed", f"profiles:{ada.user.id}: phone is not the value the app last wrote")]
