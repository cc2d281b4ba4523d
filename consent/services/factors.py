"""Second factors and the logins a person can see and end.

A person with a second factor logs in in two steps: the password opens a *pending* login
(consent.services.accounts), which opens nothing but the second step; a code from their
authenticator app (TOTP), their passkey (WebAuthn), or their recovery code as a
single-use backup, completes it. Five wrong
answers end the pending login: back to the password. Wrong answers are also counted per
account across logins (consent.services.attempts, over a day): whoever holds the password
cannot get five more guesses at the code by logging in again, as often as they like. A
browser that has completed a log-in to the account before is counted apart, so a thief
who knows the password never slows the owner's own browsers down.

Sensitive changes (the password, the e-mail, the recovery code, the factors themselves,
deleting the account) ask for a factor confirmed within the last ten minutes of this
login, besides the password. Adding or removing a factor ends every other login.

What a second factor does not do: protect the data from someone with the database *and*
the password (the password unwraps the data key by itself), nor from an operator who
changes the code. It stops a stolen or guessed password from opening a login.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pyotp
import sqlalchemy as sa
import webauthn
from sqlalchemy.orm import Session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from consent import keys
from consent.errors import DecryptionError, LoginExpired, WrongCode
from consent.models import Login, SecondFactor, User
from consent.services import accounts, attempts, transaction
from consent.services.accounts import AccountSettings, ActiveLogin
from consent.vault import Vault

__all__ = ["WrongCode"]  # raised here; consent.errors holds it so that attempts counts it

#: Wrong codes a pending login may give before it ends.
MAX_WRONG_CODES = 5
#: How recent a confirmed factor must be for a sensitive change.
FRESH_FOR = timedelta(minutes=10)
#: TOTP codes are accepted one 30-second step early or late (clocks drift).
_DRIFT = 1
#: The shortest window over which wrong answers are counted per account. Three codes of
#: a million are right at any moment: at the login window (15 minutes, ten free) a
#: patient thief would still get about 1,170 guesses a day; over a day, with the
#: doubling delays, about 18 (docs/security.md).
_GUESS_WINDOW = timedelta(days=1)

T = TypeVar("T")


@dataclass(frozen=True)
class Guesses:
    """Where this browser's second-factor answers for this account are counted."""

    limits: attempts.Limits
    bucket: bytes = field(repr=False)
    #: A browser that completed a log-in here before: its own count, cleared by a right answer.
    known: bool


def guesses(settings: AccountSettings, email: str, device: str | None) -> Guesses:
    """The count for answers from a browser holding ``device`` (its device mark, if any)."""
    limits = settings.limits
    limits = attempts.Limits(limits.free, max(limits.window, _GUESS_WINDOW), limits.argon2_slots)
    known = keys.device_of(device, email, settings.email_lookup_key) if device else None
    purpose = f"second-factor/{known.hex()}" if known else "second-factor"
    return Guesses(limits, keys.attempts_key(purpose, email, settings.email_lookup_key), known is not None)


@dataclass(frozen=True)
class Factor:
    id: str
    kind: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class LoginView:
    """A login as the logins page shows it."""

    id: str
    device: str
    created_at: datetime
    last_seen_at: datetime
    this_one: bool
    pending: bool


def _now() -> datetime:
    return datetime.now(UTC)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str, issuer: str) -> str:
    """What the QR code carries for an authenticator app (otpauth://totp/...)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def has_factor(s: Session, login: ActiveLogin) -> bool:
    return bool(s.scalar(sa.select(sa.exists().where(SecondFactor.user_id == login.user.id))))


def has_totp(s: Session, login: ActiveLogin) -> bool:
    return _has_kind(s, login, "totp")


def has_passkey(s: Session, login: ActiveLogin) -> bool:
    return _has_kind(s, login, "passkey")


def _has_kind(s: Session, login: ActiveLogin, kind: str) -> bool:
    query = sa.exists().where(SecondFactor.user_id == login.user.id, SecondFactor.kind == kind)
    return bool(s.scalar(sa.select(query)))


def list_factors(s: Session, login: ActiveLogin) -> list[Factor]:
    vault = Vault(login.key)
    rows = s.scalars(
        sa.select(SecondFactor).where(SecondFactor.user_id == login.user.id).order_by(SecondFactor.created_at)
    )
    return [Factor(str(r.id), r.kind, name, r.created_at) for r in rows if (name := _open(vault, r, "name")) is not None]


def _open(vault: Vault, row: SecondFactor, field: str) -> str | None:
    """A factor's sealed value, or None for a row the person's key does not open (one an
    operator wrote): it is neither shown nor accepted, and breaks nothing."""
    try:
        return vault.read(row, field)
    except DecryptionError:
        return None


def _step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the allowed drift; None otherwise."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - _DRIFT, current + _DRIFT + 1):
        if totp.generate_otp(step) == code:  # one code per step; constant-time enough for 6 digits
            return step
    return None


def add_totp(s: Session, login: ActiveLogin, *, secret: str, code: str, name: str, now: datetime | None = None) -> None:
    """Add an authenticator app once it has shown it holds ``secret`` (a current ``code``).
    Every other login ends; this one counts as freshly confirmed."""
    now = now or _now()
    step = _step_of(secret, code, now)
    if step is None:
        raise WrongCode("the code does not match the new secret")
    with transaction(s):
        row = SecondFactor(id=uuid.uuid4(), user_id=login.user.id, kind="totp", created_at=now)
        vault = Vault(login.key)
        vault.write(row, "name", name.strip() or "Authenticator app")
        vault.write(row, "secret", json.dumps({"secret": secret, "last_step": step}))
        s.add(row)
        _end_others(s, login)
        _confirmed(s, login, now)


def remove(s: Session, login: ActiveLogin, factor_id: uuid.UUID) -> None:
    """Remove one of the person's factors (404-like LookupError for anyone else's)."""
    with transaction(s):
        row = s.scalar(
            sa.select(SecondFactor).where(SecondFactor.id == factor_id, SecondFactor.user_id == login.user.id)
        )
        if row is None:
            raise LookupError("no such factor of this person")
        s.delete(row)
        _end_others(s, login)


def _answer(
    s: Session, login: ActiveLogin, guesses: Guesses, now: datetime, check: Callable[[Login], T | None]
) -> tuple[ActiveLogin, T]:
    """One answer at the second step (or to "confirm it is you"): ``check`` runs in the
    transaction, with the login's row as it stands, and returns what a right answer gives,
    None for a wrong one. A right answer returns the login (under a new token when it
    completed a pending one: the caller gives the browser the new cookie) and that.

    A wrong answer raises WrongCode, counted per login (the fifth ends it: LoginExpired)
    and per account (TooManyAttempts before the check when this one must wait)."""
    ended = False
    try:
        with attempts.attempt(s, guesses.limits, guesses.bucket, now, forgive=guesses.known):
            with transaction(s):
                _lock_person(s, login)
                row = _login_row(s, login)
                given = check(row)
                if given is not None:
                    if row.pending:
                        return accounts.renew_login(s, login, row, now), given
                    _confirmed(s, login, now)
                    return login, given
                row.factor_failures += 1
                ended = row.factor_failures >= MAX_WRONG_CODES
                if ended:
                    s.delete(row)
            raise WrongCode("a wrong second-factor answer")  # counted by attempts, then translated
    except WrongCode:
        if ended:
            raise LoginExpired(f"{MAX_WRONG_CODES} wrong second-factor answers") from None
        raise


def confirm(
    s: Session, login: ActiveLogin, code: str, *, guesses: Guesses, now: datetime | None = None
) -> ActiveLogin:
    """Complete a pending login, or refresh a confirmation, with an authenticator's code;
    the login it leaves (see _answer).

    WrongCode when no factor gives this code now (or it was used already).
    """
    now = now or _now()
    vault = Vault(login.key)

    def check(_row: Login) -> bool | None:
        for factor in s.scalars(
            sa.select(SecondFactor)
            .where(SecondFactor.user_id == login.user.id, SecondFactor.kind == "totp")
            .execution_options(populate_existing=True)
        ):
            opened = _open(vault, factor, "secret")
            if opened is None:
                continue
            stored = json.loads(opened)
            step = _step_of(stored["secret"], code, now)
            if step is not None and step > stored["last_step"]:  # a code works once
                vault.write(factor, "secret", json.dumps({**stored, "last_step": step}))
                return True
        return None

    return _answer(s, login, guesses, now, check)[0]


def confirm_with_recovery_code(
    s: Session, login: ActiveLogin, code: str, *, guesses: Guesses, now: datetime | None = None
) -> tuple[ActiveLogin, str]:
    """Complete the second step with the recovery code, which is then used up: the new one
    returned (with the login, see _answer) must be shown to the person, once. A wrong one
    is WrongCode, counted like a wrong authenticator code."""
    now = now or _now()

    def check(_row: Login) -> str | None:
        user = s.get_one(User, login.user.id, populate_existing=True)
        return accounts.new_recovery_code_for(user, login.key) if accounts.opens_with_recovery_code(user, code) else None

    return _answer(s, login, guesses, now, check)


def recently_confirmed(s: Session, login: ActiveLogin, *, now: datetime | None = None) -> bool:
    """Whether a sensitive change may go ahead: no factor, or one confirmed lately."""
    if not has_factor(s, login):
        return True
    row = s.get(Login, login.lookup)
    return bool(row and row.factor_confirmed_at and (now or _now()) - row.factor_confirmed_at < FRESH_FOR)


def note_device(s: Session, login: ActiveLogin, description: str) -> None:
    """Remember, sealed, what the logins page calls this login."""
    with transaction(s):
        row = _login_row(s, login)
        Vault(login.key).write(row, "device", description[:100])


def list_logins(s: Session, login: ActiveLogin) -> list[LoginView]:
    vault = Vault(login.key)
    rows = s.scalars(sa.select(Login).where(Login.user_id == login.user.id).order_by(Login.last_seen_at.desc()))
    return [
        LoginView(
            r.lookup.hex(),
            _device(vault, r),
            r.created_at,
            r.last_seen_at,
            r.lookup == login.lookup,
            r.pending,
        )
        for r in rows
    ]


def _device(vault: Vault, row: Login) -> str:
    try:
        return vault.read(row, "device") or ""
    except DecryptionError:
        return ""


def end_login(s: Session, login: ActiveLogin, login_id: str) -> None:
    """End one of the person's logins (LookupError for one that is not theirs)."""
    try:
        lookup = bytes.fromhex(login_id)
    except ValueError:
        raise LookupError("not a login id") from None
    with transaction(s):
        ended = s.execute(sa.delete(Login).where(Login.lookup == lookup, Login.user_id == login.user.id))
        if ended.rowcount != 1:  # type: ignore[attr-defined]
            raise LookupError("no such login of this person")


def end_other_logins(s: Session, login: ActiveLogin) -> None:
    with transaction(s):
        _end_others(s, login)


def _end_others(s: Session, login: ActiveLogin) -> None:
    s.execute(sa.delete(Login).where(Login.user_id == login.user.id, Login.lookup != login.lookup))


def _lock_person(s: Session, login: ActiveLogin) -> None:
    """The first write of an answer's transaction, to the person's row: on PostgreSQL it
    locks the row, on SQLite the database. Two answers at once (the same code or recovery
    code sent from two logins) then take turns, and the second reads what the first wrote
    (reads after it use populate_existing): a code works once even then."""
    s.execute(sa.update(User).where(User.id == login.user.id).values(language=User.language))


def _login_row(s: Session, login: ActiveLogin) -> Login:
    row = s.get(Login, login.lookup, with_for_update=True)
    if row is None:
        raise LoginExpired("this login has ended")
    return row


def _confirmed(s: Session, login: ActiveLogin, now: datetime) -> None:
    row = _login_row(s, login)
    row.pending = False
    row.factor_failures = 0
    row.factor_confirmed_at = now


# --- passkeys (WebAuthn, py_webauthn) ----------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the site's domain (``id``) and its origin. Browsers refuse
    an IP address as the id, so passkeys need the app at a name (localhost counts)."""

    id: str
    origin: str
    name: str = "Consent manager"


def _passkeys(s: Session, login: ActiveLogin) -> list[tuple[SecondFactor, dict[str, Any]]]:
    vault = Vault(login.key)
    rows = s.scalars(
        sa.select(SecondFactor)
        .where(SecondFactor.user_id == login.user.id, SecondFactor.kind == "passkey")
        .execution_options(populate_existing=True)  # the signature counter as last written
    )
    return [(row, json.loads(opened)) for row in rows if (opened := _open(vault, row, "secret")) is not None]


def _challenge(login: ActiveLogin, row: Login) -> bytes:
    """What a passkey must sign for this login now. Kept nowhere: it is derived from the
    login's secret token (the cookie's; the database holds only its hash) and from what
    the login row says of its answers, which every checked answer changes (a right one
    sets factor_confirmed_at, a wrong one counts in factor_failures). So every page shows
    the same challenge until an answer is checked, and a signature works once.

    Not kept in the session: the session is a cookie, and a background request answered
    after the page that put a challenge in it would have put back the cookie without it.
    """
    confirmed = row.factor_confirmed_at.isoformat() if row.factor_confirmed_at else "-"
    state = f"consent/passkey-challenge/v1\0{confirmed}\0{row.factor_failures}".encode()
    return hmac.new(login.token.encode(), state, hashlib.sha256).digest()


def _current_challenge(s: Session, login: ActiveLogin) -> bytes:
    row = s.get(Login, login.lookup, populate_existing=True)
    if row is None:
        raise LoginExpired("this login has ended")
    return _challenge(login, row)


def passkey_registration(s: Session, login: ActiveLogin, rp: RelyingParty, account: str) -> str:
    """The options for the browser's navigator.credentials.create(), as JSON."""
    options = webauthn.generate_registration_options(
        challenge=_current_challenge(s, login),
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=login.user.id.bytes,
        user_name=account,
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(stored["credential_id"]))
            for _row, stored in _passkeys(s, login)
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
    )
    return webauthn.options_to_json(options)


def add_passkey(
    s: Session,
    login: ActiveLogin,
    rp: RelyingParty,
    *,
    response: str,
    name: str,
    now: datetime | None = None,
) -> None:
    """Keep the passkey the browser made, once its answer to this login's challenge checks
    out. Every other login ends; this one counts as freshly confirmed."""
    now = now or _now()
    with transaction(s):
        _lock_person(s, login)
        try:
            made = webauthn.verify_registration_response(
                credential=response,
                expected_challenge=_challenge(login, _login_row(s, login)),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as e:
            raise WrongCode(f"the passkey's registration does not verify: {type(e).__name__}") from None
        stored = {
            "credential_id": bytes_to_base64url(made.credential_id),
            "public_key": bytes_to_base64url(made.credential_public_key),
            "sign_count": made.sign_count,
        }
        row = SecondFactor(id=uuid.uuid4(), user_id=login.user.id, kind="passkey", created_at=now)
        vault = Vault(login.key)
        vault.write(row, "name", name.strip() or "Passkey")
        vault.write(row, "secret", json.dumps(stored))
        s.add(row)
        _end_others(s, login)
        _confirmed(s, login, now)


def passkey_authentication(s: Session, login: ActiveLogin, rp: RelyingParty) -> str | None:
    """Options for navigator.credentials.get() over the person's passkeys, as JSON; None
    without any."""
    keys_ = _passkeys(s, login)
    if not keys_:
        return None
    options = webauthn.generate_authentication_options(
        challenge=_current_challenge(s, login),
        rp_id=rp.id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(stored["credential_id"])) for _row, stored in keys_
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return webauthn.options_to_json(options)


def confirm_passkey(
    s: Session,
    login: ActiveLogin,
    rp: RelyingParty,
    *,
    response: str,
    guesses: Guesses,
    now: datetime | None = None,
) -> ActiveLogin:
    """Complete a pending login, or refresh a confirmation, with a passkey's signature over
    this login's challenge; the login it leaves (see _answer). WrongCode (counted like a
    wrong code) when it does not verify."""
    now = now or _now()
    try:
        answered = json.loads(response).get("id", "")
    except (ValueError, AttributeError):
        answered = ""

    def check(row: Login) -> bool | None:
        for factor, stored in _passkeys(s, login):
            if answered != stored["credential_id"]:
                continue
            try:
                checked = webauthn.verify_authentication_response(
                    credential=response,
                    expected_challenge=_challenge(login, row),
                    expected_rp_id=rp.id,
                    expected_origin=rp.origin,
                    credential_public_key=base64url_to_bytes(stored["public_key"]),
                    credential_current_sign_count=stored["sign_count"],
                )
            except (WebAuthnException, ValueError, KeyError, TypeError):
                return None
            Vault(login.key).write(factor, "secret", json.dumps({**stored, "sign_count": checked.new_sign_count}))
            return True
        return None

    return _answer(s, login, guesses, now, check)[0]
