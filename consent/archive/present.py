"""What an archive shows the person: its index.html and key card, rendered with the app's
templates and translations (so: in an app context, from the page or the command)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from consent import keycard
from consent.ledger.note import VerifierKey
from consent.services.archive import Presentation


def _profile_labels() -> list[tuple[str, str]]:
    return [
        ("full_name", _("Full name")),
        ("postal_address", _("Postal address")),
        ("correspondence_email", _("E-mail for correspondence")),
        ("date_of_birth", _("Date of birth")),
        ("phone", _("Phone")),
        ("country", _("Country")),
        ("authority", _("Supervisory authority")),
    ]


def index_html(doc: dict[str, Any]) -> str:
    names = {p["id"]: (p.get("details") or {}).get("name", "") for p in doc["platforms"]}
    return render_template(
        "archive/index.html",
        doc=doc,
        names=names,
        profile_labels=_profile_labels(),
        language=str(get_locale() or "en"),
    )


def key_card_pdf(key: VerifierKey) -> bytes:
    lines = [
        _("Keep this card away from the server that hosts your ledger."),
        _("With it, anyone can check offline that a ledger export or a receipt is yours:"),
        "consent verify FILE --key KEY",
        _("Key ID: %(fingerprint)s", fingerprint=keycard.fingerprint(key)),
        _("Ledger: %(origin)s", origin=key.name),
    ]
    return keycard.to_pdf(key, title=_("Consent ledger: key card"), lines=lines)


def presentation() -> Presentation:
    return Presentation(index_html=index_html, key_card_pdf=key_card_pdf)
