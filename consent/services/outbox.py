"""What the instance's mail server may carry for a person: letters to the companies and
authorities it knows, or to the person themselves, a few a day.

Without these rules, anyone who can register could make the instance send any text to
any address (an open relay, whose reputation would sink every person's letters). A
company's address comes from the directory (its operator's import, not what a person
typed), an authority's ships with the app, and the person's own is the one registration
verified.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from consent.directory import authorities
from consent.errors import ConsentError
from consent.services import attempts, directory
from consent.services.accounts import ActiveLogin
from consent.vault import Vault


class MailRefused(ConsentError):
    """The instance will not send this mail. ``reason``: ``recipient`` (an address it does
    not know for this company) or ``quota`` (the day's mails are sent)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _same(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().lower() == b.strip().lower()


def known_recipient(s: Session, login: ActiveLogin, recipient: str, *, directory_entry: str) -> bool:
    """Whether ``recipient`` is the directory's address for the company, an authority's,
    or the person's own (verified) address."""
    own = Vault(login.key).read(login.user, "email") or ""
    if _same(recipient, own) or any(_same(recipient, a.email) for a in authorities.bundled()):
        return True
    entry = directory.resolve(s, directory_entry) if directory_entry else None
    return entry is not None and _same(recipient, str(entry.record.get("email", "")))


def clear_to_send(
    s: Session,
    login: ActiveLogin,
    recipient: str,
    *,
    directory_entry: str,
    per_day: int,
    now: datetime | None = None,
) -> None:
    """Raise MailRefused unless this mail may go out; when it may, it counts in the day's."""
    if not known_recipient(s, login, recipient, directory_entry=directory_entry):
        raise MailRefused("recipient", "the recipient is neither the directory's address, an authority's, nor the person's")
    quota = hashlib.sha256(b"consent/mail-quota/v1\x00" + login.user.id.bytes).digest()
    if not attempts.spend(s, quota, allowed=per_day, per=timedelta(days=1), now=now or datetime.now(UTC)):
        raise MailRefused("quota", f"{per_day} mails sent in the last day")
