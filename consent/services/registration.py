"""Registration by e-mail, when the instance sends mail: an address proves itself first.

The page that takes an address says the same whatever the address ("we sent a link"),
and only the mailbox learns whether it already has an account here. So registration no
longer tells anyone which addresses have accounts, and nobody can open an account, or
have the instance send mail, in someone else's name.

The link carries the address encrypted (consent.keys.seal_link): the instance keeps
nothing until the person chooses their password, and the link stops working once the
account exists (the address is taken) or after a day.

The recovery code a new account (or a reset) gets is shown until the person says they
kept it: ``seal_shown_code`` keeps it for that page, sealed to the login.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from consent import keys
from consent.errors import DecryptionError
from consent.services import accounts, attempts, transaction

LINK_LIFETIME = timedelta(hours=24)
#: Mails one address may receive from the registration page in a day: enough for a person
#: who lost the first one, too few to flood someone else's inbox.
MAILS_PER_ADDRESS = 3


@dataclass(frozen=True)
class Invitation:
    """What to mail to ``email``: a link to finish registering (``token``), or, when the
    address has an account already (``token`` is None), a reminder of how to log in."""

    email: str
    token: str | None = field(repr=False)


def invite(
    s: Session, settings: accounts.AccountSettings, secret: bytes, email: str, *, now: datetime | None = None
) -> Invitation | None:
    """What to send to ``email``, or None when it has had its mails for the day."""
    now = now or datetime.now(UTC)
    email = email.strip()
    quota = keys.attempts_key("register-mail", email, settings.email_lookup_key)
    if not attempts.spend(s, quota, allowed=MAILS_PER_ADDRESS, per=timedelta(days=1), now=now):
        return None
    with transaction(s):
        taken = accounts.find_user(s, settings, email) is not None
    return Invitation(email, None if taken else keys.seal_link("register", email, secret, now=now))


def invited_address(secret: bytes, token: str, *, now: datetime | None = None) -> str | None:
    """The address a registration link was sent to, while the link is valid."""
    return keys.open_link("register", token, secret, now=now or datetime.now(UTC), max_age=LINK_LIFETIME)


#: What binds a recovery code kept for display to the login that was shown it.
_SHOWN_CODE = b"recovery-code-shown:"


def seal_shown_code(login: accounts.ActiveLogin, code: str) -> str:
    """A fresh recovery code, sealed under the person's data key and bound to this login,
    so the page that shows it can show it again (after a language switch or a reload)
    until the person says they kept it. Whoever reads the cookie without the login, or
    after it ended, reads nothing."""
    sealed = login.key.seal(code.encode(), aad=_SHOWN_CODE + login.lookup)
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def open_shown_code(login: accounts.ActiveLogin, sealed: str) -> str | None:
    """The code ``seal_shown_code`` sealed for this login, or None (another login's, or altered)."""
    try:
        return login.key.open(base64.urlsafe_b64decode(sealed), aad=_SHOWN_CODE + login.lookup).decode()
    except (binascii.Error, ValueError, DecryptionError, UnicodeDecodeError):
        return None
