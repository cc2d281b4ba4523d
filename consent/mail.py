"""Sending a letter through the instance's SMTP server (only when one is configured)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from consent.errors import ConsentError
from consent.letters.output import one_line


class MailError(ConsentError):
    """The SMTP server refused the message or could not be reached."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    starttls: bool
    sender: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SmtpSettings | None:
        if not config["SMTP_HOST"]:
            return None
        return cls(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["SMTP_USERNAME"],
            config["SMTP_PASSWORD"],
            config["SMTP_STARTTLS"],
            config["SMTP_FROM"],
        )


def notice(settings: SmtpSettings, to: str, subject: str, text: str) -> EmailMessage:
    """A message from the instance itself (a registration link, say), to one address."""
    message = EmailMessage()
    message["From"] = Address(addr_spec=settings.sender)
    message["To"] = Address(addr_spec=to)
    message["Subject"] = one_line(subject)
    message.set_content(text)
    return message


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send ``message`` from the instance's address, in the name of whoever it is From;
    replies go to them (Reply-To)."""
    person = message["From"]
    del message["From"]
    name = one_line(person.addresses[0].display_name) if person else ""
    message["From"] = Address(display_name=name, addr_spec=settings.sender)
    if person is not None and person.addresses[0].addr_spec != settings.sender:
        message["Reply-To"] = person
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=30) as server:
            if settings.starttls:
                server.starttls(context=ssl.create_default_context())
            if settings.username:
                server.login(settings.username, settings.password)
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as e:
        raise MailError(f"the SMTP server did not take the message: {type(e).__name__}") from None
