"""GDPR letters: what each kind says, in French, English and German. Pure: no Flask, no
database. The texts are Jinja templates in templates/letters/<language>/<kind>.txt;
consent.letters.output turns a composed letter into text, PDF, an e-mail or a mailto link.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from consent.errors import ConsentError
from consent.resources import resource_dir

KINDS = (
    "access",
    "rectification",
    "erasure",
    "restriction",
    "portability",
    "objection",
    "withdrawal",
    "reminder",
    "complaint",
)
LANGUAGES = ("fr", "en", "de")

SUBJECTS = {
    "en": {
        "access": "Request for access to my personal data (Article 15 GDPR)",
        "rectification": "Request for rectification of my personal data (Article 16 GDPR)",
        "erasure": "Request for erasure of my personal data (Article 17 GDPR)",
        "restriction": "Request for restriction of processing (Article 18 GDPR)",
        "portability": "Request for data portability (Article 20 GDPR)",
        "objection": "Objection to the processing of my personal data (Article 21 GDPR)",
        "withdrawal": "Withdrawal of my consent (Article 7(3) GDPR)",
        "reminder": "Reminder: my request of {sent} is still unanswered",
        "complaint": "Complaint against {platform} (Article 77 GDPR)",
    },
    "fr": {
        "access": "Demande d'accès à mes données personnelles (article 15 du RGPD)",
        "rectification": "Demande de rectification de mes données personnelles (article 16 du RGPD)",
        "erasure": "Demande d'effacement de mes données personnelles (article 17 du RGPD)",
        "restriction": "Demande de limitation du traitement (article 18 du RGPD)",
        "portability": "Demande de portabilité de mes données (article 20 du RGPD)",
        "objection": "Opposition au traitement de mes données personnelles (article 21 du RGPD)",
        "withdrawal": "Retrait de mon consentement (article 7, paragraphe 3, du RGPD)",
        "reminder": "Relance : ma demande du {sent} reste sans réponse",
        "complaint": "Réclamation contre {platform} (article 77 du RGPD)",
    },
    "de": {
        "access": "Antrag auf Auskunft über meine personenbezogenen Daten (Art. 15 DSGVO)",
        "rectification": "Antrag auf Berichtigung meiner personenbezogenen Daten (Art. 16 DSGVO)",
        "erasure": "Antrag auf Löschung meiner personenbezogenen Daten (Art. 17 DSGVO)",
        "restriction": "Antrag auf Einschränkung der Verarbeitung (Art. 18 DSGVO)",
        "portability": "Antrag auf Datenübertragbarkeit (Art. 20 DSGVO)",
        "objection": "Widerspruch gegen die Verarbeitung meiner personenbezogenen Daten (Art. 21 DSGVO)",
        "withdrawal": "Widerruf meiner Einwilligung (Art. 7 Abs. 3 DSGVO)",
        "reminder": "Erinnerung: mein Antrag vom {sent} ist unbeantwortet",
        "complaint": "Beschwerde gegen {platform} (Art. 77 DSGVO)",
    },
}

#: "I sent you <what>": how a reminder or complaint names the original request.
WHAT = {
    "en": {
        "access": "a request for access to my personal data (Article 15 GDPR)",
        "rectification": "a request for rectification (Article 16 GDPR)",
        "erasure": "a request for erasure (Article 17 GDPR)",
        "restriction": "a request for restriction of processing (Article 18 GDPR)",
        "portability": "a request for data portability (Article 20 GDPR)",
        "objection": "an objection to processing (Article 21 GDPR)",
        "withdrawal": "the withdrawal of my consent (Article 7(3) GDPR)",
        "reminder": "a reminder",
    },
    "fr": {
        "access": "une demande d'accès à mes données personnelles (article 15 du RGPD)",
        "rectification": "une demande de rectification (article 16 du RGPD)",
        "erasure": "une demande d'effacement (article 17 du RGPD)",
        "restriction": "une demande de limitation du traitement (article 18 du RGPD)",
        "portability": "une demande de portabilité (article 20 du RGPD)",
        "objection": "une opposition au traitement (article 21 du RGPD)",
        "withdrawal": "le retrait de mon consentement (article 7, paragraphe 3, du RGPD)",
        "reminder": "une relance",
    },
    "de": {
        "access": "einen Antrag auf Auskunft über meine personenbezogenen Daten (Art. 15 DSGVO)",
        "rectification": "einen Antrag auf Berichtigung (Art. 16 DSGVO)",
        "erasure": "einen Antrag auf Löschung (Art. 17 DSGVO)",
        "restriction": "einen Antrag auf Einschränkung der Verarbeitung (Art. 18 DSGVO)",
        "portability": "einen Antrag auf Datenübertragbarkeit (Art. 20 DSGVO)",
        "objection": "einen Widerspruch gegen die Verarbeitung (Art. 21 DSGVO)",
        "withdrawal": "den Widerruf meiner Einwilligung (Art. 7 Abs. 3 DSGVO)",
        "reminder": "eine Erinnerung",
    },
}

_LABELS = {
    "en": {"email": "E-mail: ", "phone": "Phone: ", "birth": "Date of birth: "},
    "fr": {"email": "E-mail : ", "phone": "Téléphone : ", "birth": "Date de naissance : "},
    "de": {"email": "E-Mail: ", "phone": "Telefon: ", "birth": "Geburtsdatum: "},
}

_TIMELINE = {
    "en": (
        "{sent}: I sent {what}",
        "{received}: you received it{estimated}",
        "{due}: the time limit expired",
        " (estimated)",
    ),
    "fr": (
        "{sent} : j'ai adressé {what}",
        "{received} : réception par le responsable{estimated}",
        "{due} : expiration du délai",
        " (date estimée)",
    ),
    "de": (
        "{sent}: ich habe {what} geschickt",
        "{received}: Eingang beim Verantwortlichen{estimated}",
        "{due}: Ablauf der Frist",
        " (geschätzt)",
    ),
}


class LetterError(ConsentError):
    """A letter cannot be composed as asked (unknown kind or language, missing facts)."""


@dataclass(frozen=True)
class Identity:
    """Who writes: only the details the person chose to include."""

    name: str
    address: str = ""
    email: str = ""
    phone: str = ""
    birth: date | None = None


@dataclass(frozen=True)
class Party:
    """Who receives the letter (a controller or an authority)."""

    name: str
    address: str = ""
    email: str = ""


@dataclass(frozen=True)
class LedgerReference:
    """A ledger event a letter cites: the decision it announces."""

    label: str
    decided: date
    index: int
    hash: str
    size: int
    root: str


@dataclass(frozen=True)
class Original:
    """The request a reminder or a complaint is about."""

    kind: str
    sent: date
    received: date
    due: date
    estimated: bool = False
    partial: bool = False


@dataclass(frozen=True)
class LetterRequest:
    kind: str
    language: str
    sender: Identity
    recipient: Party
    today: date
    identifiers: tuple[tuple[str, str], ...] = ()
    uses: tuple[str, ...] = ()
    details: str = ""
    references: tuple[LedgerReference, ...] = ()
    #: The verifier key of the person's ledger, named with the references so they can be checked.
    ledger_key: str = ""
    original: Original | None = None
    platform: Party | None = None
    due: date | None = None
    direct_marketing: bool = False


@dataclass(frozen=True)
class Letter:
    kind: str
    language: str
    subject: str
    text: str
    sender: Identity
    recipient: Party
    attachments: tuple[str, ...] = field(default=())


@functools.cache
def _environment() -> Environment:
    # Plain text, not HTML: each output (PDF, e-mail) escapes for its own markup.
    return Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=False,  # noqa: S701
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _day(day: date, language: str) -> str:
    # English letters go to European addresses: "1 September 2026", not "September 1, 2026".
    return format_date(day, format="long", locale="en_GB" if language == "en" else language)


def _name(text: str) -> str:
    """A name on one line, however it was typed."""
    return " ".join(text.split())


def _block(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def compose(request: LetterRequest) -> Letter:
    """The letter's subject and text, in the request's language."""
    if request.kind not in KINDS:
        raise LetterError(f"unknown letter kind: expected one of {', '.join(KINDS)}, got {request.kind!r}")
    if request.language not in LANGUAGES:
        raise LetterError(f"unknown language: expected one of {', '.join(LANGUAGES)}, got {request.language!r}")
    if request.kind in ("reminder", "complaint") and request.original is None:
        raise LetterError(f"a {request.kind} needs the original request it is about")
    if request.kind == "complaint" and request.platform is None:
        raise LetterError("a complaint needs the controller it is against")
    if not request.sender.name.strip():
        raise LetterError("a letter needs the sender's name")
    lang = request.language
    labels = _LABELS[lang]
    sender = request.sender
    sender_block = _block(
        _name(sender.name),
        sender.address,
        labels["email"] + sender.email if sender.email else "",
        labels["phone"] + sender.phone if sender.phone else "",
        labels["birth"] + _day(sender.birth, lang) if sender.birth else "",
    )
    original = None
    timeline: list[str] = []
    if request.original is not None:
        o = request.original
        what = WHAT[lang].get(o.kind, o.kind)
        original = {
            "what": what,
            "sent": _day(o.sent, lang),
            "received": _day(o.received, lang),
            "due": _day(o.due, lang),
            "estimated": o.estimated,
            "partial": o.partial,
        }
        sent_line, received_line, due_line, estimated = _TIMELINE[lang]
        timeline = [
            sent_line.format(sent=original["sent"], what=what),
            received_line.format(received=original["received"], estimated=estimated if o.estimated else ""),
            due_line.format(due=original["due"]),
        ]
    subject = SUBJECTS[lang][request.kind].format(
        sent=original["sent"] if original else "", platform=_name(request.platform.name) if request.platform else ""
    )
    text = (
        _environment()
        .get_template(f"letters/{lang}/{request.kind}.txt")
        .render(
            sender_block=sender_block,
            recipient_block=_block(_name(request.recipient.name), request.recipient.address),
            place_date=_day(request.today, lang),
            subject=subject,
            signature=_name(sender.name),
            identifiers=[(k, v) for k, v in request.identifiers if v.strip()],
            uses=list(request.uses),
            details=request.details.strip(),
            references=[{**r.__dict__, "decided": _day(r.decided, lang)} for r in request.references],
            ledger_key=request.ledger_key,
            original=original,
            timeline=timeline,
            platform_block=_block(_name(request.platform.name), request.platform.address) if request.platform else "",
            due=_day(request.due, lang) if request.due else "",
            email=bool(sender.email),
            direct_marketing=request.direct_marketing,
        )
    )
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return Letter(request.kind, lang, subject, text, sender, request.recipient)
