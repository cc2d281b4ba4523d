"""Accounts: register, log in and out, change or reset the password, delete.

Each function is one transaction on the session it is given. The clock is read here (or
passed in by tests); the key hierarchy itself lives in consent.keys.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import keys, passwords
from consent.errors import (
    DecryptionError,
    EmailTaken,
    InvalidCredentials,
    LoginExpired,
    WrongPassword,
    WrongRecoveryCode,
)
from consent.keys import Argon2Params, DataKey
from consent.models import LedgerHead, Login, SecondFactor, User
from consent.services import attempts, integrity, transaction
from consent.vault import Vault


@dataclass(frozen=True)
class AccountSettings:
    argon2: Argon2Params
    email_lookup_key: bytes = field(repr=False)
    login_idle: timedelta
    login_lifetime: timedelta
    #: Free attempts per address and kind (and per device) within the window; after them,
    #: each attempt waits twice as long as the one before (consent.services.attempts).
    max_failures: int = 10
    failure_window: timedelta = timedelta(minutes=15)
    #: Argon2 computations this process runs at once.
    argon2_slots: int = 2

    @property
    def limits(self) -> attempts.Limits:
        return attempts.Limits(self.max_failures, self.failure_window, self.argon2_slots)


@dataclass(frozen=True)
class ActiveLogin:
    """A login that is still valid, with the data key its cookie unlocked."""

    user: User
    key: DataKey = field(repr=False)
    #: The secret held in the cookie; the database only knows its hash, ``lookup``.
    token: str = field(repr=False)
    #: The password was right, the second factor is still to come (consent.services.factors).
    pending: bool = False

    @property
    def lookup(self) -> bytes:
        return keys.login_lookup(self.token)

    @property
    def vault(self) -> Vault:
        return Vault(self.key)


@dataclass(frozen=True)
class NewCredentials:
    """What a person must be shown once: a fresh recovery code; and their new login."""

    recovery_code: str = field(repr=False)
    login: ActiveLogin


def _now() -> datetime:
    return datetime.now(UTC)


def _password_aad(user_id: uuid.UUID) -> bytes:
    return b"consent/dek/password:" + user_id.bytes


def _recovery_aad(user_id: uuid.UUID) -> bytes:
    return b"consent/dek/recovery:" + user_id.bytes


def _login_aad(lookup: bytes) -> bytes:
    return b"consent/dek/login:" + lookup


def find_user(s: Session, settings: AccountSettings, email: str) -> User | None:
    return s.scalar(sa.select(User).where(User.email_lookup == keys.email_lookup(email, settings.email_lookup_key)))


def register(
    s: Session,
    settings: AccountSettings,
    *,
    email: str,
    password: str,
    language: str | None = None,
    now: datetime | None = None,
) -> NewCredentials:
    """Create an account with a fresh data key and signing key, and log it in."""
    now = now or _now()
    passwords.check_new_password(password, context=[email])
    with attempts.argon2_slot(settings.limits), transaction(s), integrity.unguarded(s):
        if find_user(s, settings, email) is not None:
            raise EmailTaken("an account with this e-mail address exists")
        key = DataKey.generate()
        signing = keys.SigningKeyPair.generate()
        user = User(
            id=uuid.uuid4(),
            email_lookup=keys.email_lookup(email, settings.email_lookup_key),
            signing_public_key=signing.public,
            language=language,
            created_at=now,
        )
        vault = Vault(key)
        vault.write(user, "email", email.strip())
        vault.write_bytes(user, "signing_private_key", signing.private)
        _set_password(user, key, password, settings)
        code = _set_recovery_code(user, key)
        s.add(user)
        head = LedgerHead(user_id=user.id, user=user, size=0, frontier=b"")
        s.add(head)
        login = _open_login(s, user, key, now)
        integrity.seal_new_account(s, login, head)
        try:
            s.flush()
        except sa.exc.IntegrityError:  # the same address registered a moment ago
            raise EmailTaken("an account with this e-mail address exists") from None
    return NewCredentials(code, login)


def _set_password(user: User, key: DataKey, password: str, settings: AccountSettings) -> None:
    user.password_hash = passwords.hasher(settings.argon2).hash(password)
    user.password_salt = keys.new_salt()
    user.password_kdf = settings.argon2.encode()
    kek = keys.password_kek(password, user.password_salt, settings.argon2)
    user.dek_by_password = key.wrap_with(kek, aad=_password_aad(user.id))


def _set_recovery_code(user: User, key: DataKey) -> str:
    code = keys.new_recovery_code()
    user.recovery_salt = keys.new_salt()
    user.dek_by_recovery = key.wrap_with(keys.recovery_kek(code, user.recovery_salt), aad=_recovery_aad(user.id))
    return code


def _open_login(s: Session, user: User, key: DataKey, now: datetime, *, pending: bool = False) -> ActiveLogin:
    token = keys.new_login_token()
    lookup = keys.login_lookup(token)
    s.add(
        Login(
            lookup=lookup,
            user=user,
            created_at=now,
            last_seen_at=now,
            wrapped_dek=key.wrap_with(keys.login_kek(token), aad=_login_aad(lookup)),
            pending=pending,
        )
    )
    return ActiveLogin(user, key, token, pending)


def renew_login(s: Session, login: ActiveLogin, old: Login, now: datetime) -> ActiveLogin:
    """``login``, complete, under a new token, in the caller's transaction: its row ``old``
    gives way to a new one that keeps its start (the absolute lifetime still counts from
    the password). Called when the second step completes a pending login, so that whoever
    saw or planted the pending login's cookie holds nothing after it."""
    renewed = _open_login(s, old.user, login.key, now)
    s.flush()
    row = s.get_one(Login, renewed.lookup)
    row.created_at = old.created_at
    row.factor_confirmed_at = now
    s.delete(old)
    return renewed


@functools.lru_cache(maxsize=4)
def _decoy_hash(params: Argon2Params) -> str:
    return passwords.hasher(params).hash("consent: a password no account has")


def _unlock_with_password(user: User, password: str, settings: AccountSettings) -> DataKey | None:
    """The data key, or None when the password is wrong. Costs the same either way."""
    params = Argon2Params.decode(user.password_kdf)
    if not passwords.verify_password(params, user.password_hash, password):
        keys.password_kek(password, user.password_salt, params)  # same cost as success
        return None
    kek = keys.password_kek(password, user.password_salt, params)
    try:
        return DataKey.unwrap(user.dek_by_password, kek, aad=_password_aad(user.id))
    except DecryptionError:
        return None


def _bucket(settings: AccountSettings, purpose: str, email: str, device: str | None) -> tuple[bytes, bool]:
    """Where an attempt is counted, and whether it is a known browser's own bucket.

    A browser that logged in to this address before shows its device mark and is counted
    apart, so strangers' failures never slow the owner down (consent.services.attempts).
    """
    known = keys.device_of(device, email, settings.email_lookup_key) if device else None
    if known is None:
        return keys.attempts_key(purpose, email, settings.email_lookup_key), False
    return keys.attempts_key(f"{purpose}/{known.hex()}", email, settings.email_lookup_key), True


def device_mark(settings: AccountSettings, email: str, device: str | None) -> str:
    """What a browser keeps after logging in to ``email``: its mark for this address,
    under the same device id it had, or a new one."""
    known = keys.device_of(device, email, settings.email_lookup_key) if device else None
    return keys.device_mark(known or keys.new_device_id(), email, settings.email_lookup_key)


def log_in(
    s: Session,
    settings: AccountSettings,
    *,
    email: str,
    password: str,
    device: str | None = None,
    now: datetime | None = None,
) -> ActiveLogin:
    """A new login for these credentials, or InvalidCredentials; TooManyAttempts when this
    attempt must wait (consent.services.attempts); Busy when the server is at its Argon2 limit.

    An unknown e-mail costs as much as a wrong password, so neither the answer nor its
    timing tells whether the address has an account; it is throttled the same way.
    ``device`` is the browser's device mark (device_mark), if it has one.
    """
    now = now or _now()
    bucket, known = _bucket(settings, "login", email, device)
    with attempts.attempt(s, settings.limits, bucket, now, forgive=known), attempts.argon2_slot(settings.limits):
        return _log_in(s, settings, email=email, password=password, now=now)


def _log_in(s: Session, settings: AccountSettings, *, email: str, password: str, now: datetime) -> ActiveLogin:
    with transaction(s):
        user = find_user(s, settings, email)
        if user is None:
            passwords.verify_password(settings.argon2, _decoy_hash(settings.argon2), password)
            keys.password_kek(password, keys.new_salt(), settings.argon2)
            raise InvalidCredentials("e-mail or password does not match")
        key = _unlock_with_password(user, password, settings)
        if key is None:
            raise InvalidCredentials("e-mail or password does not match")
        if user.password_kdf != settings.argon2.encode():
            _set_password(user, key, password, settings)  # the operator raised the cost
        # With a second factor, the password opens only the second step.
        has_factor = s.scalar(sa.select(sa.exists().where(SecondFactor.user_id == user.id)))
        return _open_login(s, user, key, now, pending=bool(has_factor))


def resume(s: Session, settings: AccountSettings, token: str, *, now: datetime | None = None) -> ActiveLogin | None:
    """The login behind a cookie's token, or None when it has ended or expired.

    An expired login is deleted, so the same cookie can never come back.
    """
    now = now or _now()
    lookup = keys.login_lookup(token)
    login = s.get(Login, lookup)
    if login is None:
        return None
    if now - login.last_seen_at > settings.login_idle or now - login.created_at > settings.login_lifetime:
        with transaction(s):
            s.delete(login)
        return None
    try:
        key = DataKey.unwrap(login.wrapped_dek, keys.login_kek(token), aad=_login_aad(lookup))
    except DecryptionError:
        return None
    # Recording every request would write on every page; once a minute is enough for
    # an idle timeout counted in minutes.
    if now - login.last_seen_at > timedelta(minutes=1):
        with transaction(s):
            login.last_seen_at = now
    return ActiveLogin(login.user, key, token, login.pending)


def log_out(s: Session, token: str) -> None:
    with transaction(s):
        s.execute(sa.delete(Login).where(Login.lookup == keys.login_lookup(token)))


def _end_other_logins(s: Session, user: User, keep: bytes | None) -> None:
    query = sa.delete(Login).where(Login.user_id == user.id)
    if keep is not None:
        query = query.where(Login.lookup != keep)
    s.execute(query)


def _confirm_password(user: User, password: str, settings: AccountSettings) -> None:
    if _unlock_with_password(user, password, settings) is None:
        raise WrongPassword("the current password does not match")


@contextmanager
def _reauthenticating(s: Session, settings: AccountSettings, login: ActiveLogin) -> Iterator[None]:
    """Around a change that asks for the password again. Guesses are counted per login:
    whoever holds a stolen cookie cannot try passwords at leisure, nor slow the owner's
    other logins down."""
    bucket = keys.attempts_key("confirm", login.lookup.hex(), settings.email_lookup_key)
    with attempts.attempt(s, settings.limits, bucket, _now()), attempts.argon2_slot(settings.limits):
        yield


def change_password(s: Session, settings: AccountSettings, login: ActiveLogin, *, current: str, new: str) -> None:
    """Re-wrap the data key under a new password and end every other login."""
    passwords.check_new_password(new, context=[Vault(login.key).read(login.user, "email") or ""])
    with _reauthenticating(s, settings, login), transaction(s):
        user = s.merge(login.user)
        _confirm_password(user, current, settings)
        _set_password(user, login.key, new, settings)
        _end_other_logins(s, user, keep=login.lookup)


def opens_with_recovery_code(user: User, code: str) -> bool:
    """Whether ``code`` is the account's recovery code (it unwraps the data key)."""
    try:
        kek = keys.recovery_kek(code, user.recovery_salt)
        DataKey.unwrap(user.dek_by_recovery, kek, aad=_recovery_aad(user.id))
    except (DecryptionError, WrongRecoveryCode):
        return False
    return True


def new_recovery_code_for(user: User, key: DataKey) -> str:
    """A new recovery code in place of the old one (the caller has checked who asks)."""
    return _set_recovery_code(user, key)


def replace_recovery_code(s: Session, settings: AccountSettings, login: ActiveLogin, *, password: str) -> str:
    """A new recovery code; the old one stops working."""
    with _reauthenticating(s, settings, login), transaction(s):
        user = s.merge(login.user)
        _confirm_password(user, password, settings)
        return _set_recovery_code(user, login.key)


def reset_password(
    s: Session,
    settings: AccountSettings,
    *,
    email: str,
    recovery_code: str,
    new_password: str,
    device: str | None = None,
    now: datetime | None = None,
) -> NewCredentials:
    """Set a new password with the recovery code: a new code replaces the used one, every
    login ends, and a new one opens."""
    now = now or _now()
    passwords.check_new_password(new_password, context=[email])
    bucket, known = _bucket(settings, "reset", email, device)
    with attempts.attempt(s, settings.limits, bucket, now, forgive=known), attempts.argon2_slot(settings.limits):
        return _reset_password(s, settings, email=email, recovery_code=recovery_code, new_password=new_password, now=now)


def _reset_password(
    s: Session, settings: AccountSettings, *, email: str, recovery_code: str, new_password: str, now: datetime
) -> NewCredentials:
    with transaction(s):
        user = find_user(s, settings, email)
        if user is None:
            raise WrongRecoveryCode("no account opens with this e-mail and code")
        try:
            kek = keys.recovery_kek(recovery_code, user.recovery_salt)
            key = DataKey.unwrap(user.dek_by_recovery, kek, aad=_recovery_aad(user.id))
        except DecryptionError:
            raise WrongRecoveryCode("no account opens with this e-mail and code") from None
        _set_password(user, key, new_password, settings)
        code = _set_recovery_code(user, key)
        _end_other_logins(s, user, keep=None)
        login = _open_login(s, user, key, now)
    return NewCredentials(code, login)


def delete_account(s: Session, settings: AccountSettings, login: ActiveLogin, *, password: str) -> None:
    """Delete the account and every row that belongs to it."""
    with _reauthenticating(s, settings, login), transaction(s):
        user = s.merge(login.user)
        _confirm_password(user, password, settings)
        with integrity.unguarded(s):  # every row goes, with the manifest that lists them
            s.delete(user)
            s.flush()


def set_language(s: Session, login: ActiveLogin, language: str | None) -> None:
    with transaction(s):
        s.merge(login.user).language = language


def set_time_zone(s: Session, login: ActiveLogin, zone: str | None) -> None:
    """The zone the person chose for the times shown (None: follow the browser), sealed
    under their key. The caller checks that it is an IANA zone (consent.web.times)."""
    with transaction(s):
        user = s.merge(login.user)
        login.vault.write(user, "time_zone", zone)


def confirm_password(s: Session, settings: AccountSettings, login: ActiveLogin, password: str) -> None:
    """WrongPassword unless ``password`` is the account's (guesses counted per login)."""
    with _reauthenticating(s, settings, login), transaction(s):
        _confirm_password(s.merge(login.user), password, settings)


def change_email(s: Session, settings: AccountSettings, login: ActiveLogin, new_email: str) -> None:
    """Make ``new_email`` the account's address (the one it logs in with and gets replies
    at); EmailTaken when another account has it. The caller has made sure it is the
    person's: their password, and a link sent to the address when the instance sends mail."""
    new_email = new_email.strip()
    with integrity.personal_transaction(s, login):
        user = s.get(User, login.user.id)
        if user is None:
            raise LoginExpired("the account is gone")
        other = find_user(s, settings, new_email)
        if other is not None and other.id != user.id:
            raise EmailTaken("another account has this e-mail address")
        user.email_lookup = keys.email_lookup(new_email, settings.email_lookup_key)
        login.vault.write(user, "email", new_email)
        try:
            s.flush()
        except sa.exc.IntegrityError:  # taken a moment ago
            raise EmailTaken("another account has this e-mail address") from None
