"""GDPR letters: what each kind says, in the languages of Europe. Pure: no Flask, no
database.

Each language is a folder, templates/letters/<language>/: ``words.toml`` holds the short
texts (subjects, names of letters, labels, the date line, the grounds for restriction)
and ``<kind>.txt`` the body of each kind, a Jinja template extending ``base.txt``.
consent.letters.output turns a composed letter into text, PDF, an e-mail or a mail link.

A letter never carries a placeholder for the person to fill in: what a kind needs (the
correction for a rectification, a ground for a restriction, the particular situation for
an objection under Article 21(1)) is asked for, and its absence is a LetterError.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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
#: Kinds that ask the controller for something within the time limit of Article 12(3).
REQUESTS = ("access", "rectification", "erasure", "restriction", "portability", "objection", "withdrawal")
#: The letters' languages, in the order a person is offered them; each is a folder of templates.
_ORDER = ("fr", "en", "de", "es", "it", "nl", "pl", "pt")
#: Article 18(1)(a)-(d).
GROUNDS = ("a", "b", "c", "d")


def _available() -> tuple[str, ...]:
    root = resource_dir("templates") / "letters"
    return tuple(lang for lang in _ORDER if (root / lang / "words.toml").is_file())


LANGUAGES = _available()


class LetterError(ConsentError):
    """A letter cannot be composed as asked. ``missing`` names what the person must give
    (``details``, ``grounds``, ``situation``, ``name``), or is empty for a caller's mistake."""

    def __init__(self, message: str, *, missing: str = "") -> None:
        super().__init__(message)
        self.missing = missing


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
    """Everything a letter is written from. ``today`` is the day it is sent, ``received``
    the day it reaches the recipient (estimated for post) and ``due`` the deadline it
    states: the caller computes both from the same rules as the tracker."""

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
    received: date | None = None
    direct_marketing: bool = False
    #: The town written beside the date ("Strasbourg, le 29 janvier 2027").
    place: str = ""
    #: Restriction: which of Article 18(1)(a)-(d) apply.
    grounds: tuple[str, ...] = ()
    #: Objection under Article 21(1): the grounds relating to the person's particular situation.
    situation: str = ""
    #: Portability: the controller to transmit the data to directly (Article 20(2)), if any.
    transmit_to: str = ""
    #: What is enclosed (a complaint's evidence), named in the letter's language.
    enclosures: tuple[str, ...] = ()
    #: Where anyone reads how to check the ledger references the letter cites.
    verify_url: str = ""


@dataclass(frozen=True)
class Letter:
    """A composed letter: ``text`` is the whole of it as plain text (what is sent, stored
    and fingerprinted); the parts let a layout place each block where it belongs."""

    kind: str
    language: str
    subject: str
    text: str
    sender: Identity
    recipient: Party
    sender_block: str = ""
    recipient_block: str = ""
    dateline: str = ""
    #: From the salutation to the signature.
    body: str = ""
    #: The word that introduces the subject in plain text ("Objet : "); empty where the convention has none.
    subject_label: str = ""
    attachments: tuple[str, ...] = field(default=())

    def parts(self) -> dict[str, str]:
        """What a stored letter keeps to be laid out again."""
        return {
            "sender_block": self.sender_block,
            "recipient_block": self.recipient_block,
            "dateline": self.dateline,
            "body": self.body,
            "subject_label": self.subject_label,
        }


@functools.cache
def words(language: str) -> dict[str, Any]:
    """The short texts of a language (templates/letters/<language>/words.toml)."""
    if language not in LANGUAGES:
        raise LetterError(f"unknown language: expected one of {', '.join(LANGUAGES)}, got {language!r}")
    path = resource_dir("templates") / "letters" / language / "words.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def name_of(kind: str, language: str) -> str:
    """A letter's name as a list item ("Request for access (Article 15 GDPR)")."""
    names: dict[str, str] = words(language)["names"]
    return names.get(kind, kind)


@functools.cache
def _environment() -> Environment:
    # Plain text, not HTML: each output (PDF, e-mail) escapes for its own markup.
    return Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=False,  # noqa: S701
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def day(value: date, language: str) -> str:
    """A date written out in the language's long form ("1er mars 2027", "1. März 2027")."""
    w = words(language)
    text = format_date(value, format="long", locale=w["locale"])
    if value.day == 1 and w.get("first_day"):
        text = re.sub(r"^1(?=\D)", w["first_day"], text)
    return text


def _name(text: str) -> str:
    """A name on one line, however it was typed."""
    return " ".join(text.split())


def _block(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def said(text: str) -> bool:
    """Whether ``text`` holds anything visible: blanks and invisible format characters
    (a lone zero-width space) are not words the person wrote."""
    return any(not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc", "Zs") for c in text)


def _check(request: LetterRequest) -> None:
    if request.kind not in KINDS:
        raise LetterError(f"unknown letter kind: expected one of {', '.join(KINDS)}, got {request.kind!r}")
    if request.language not in LANGUAGES:
        raise LetterError(f"unknown language: expected one of {', '.join(LANGUAGES)}, got {request.language!r}")
    if request.kind in ("reminder", "complaint") and request.original is None:
        raise LetterError(f"a {request.kind} needs the original request it is about")
    if request.kind == "complaint" and request.platform is None:
        raise LetterError("a complaint needs the controller it is against")
    if not request.sender.name.strip():
        raise LetterError("a letter needs the sender's name", missing="name")
    if request.kind == "rectification" and not said(request.details):
        raise LetterError("a rectification needs what is wrong and what it should say", missing="details")
    if request.kind == "restriction":
        if not request.grounds:
            raise LetterError("a restriction needs at least one ground of Article 18(1)", missing="grounds")
        unknown = set(request.grounds) - set(GROUNDS)
        if unknown:
            raise LetterError(f"expected grounds among {', '.join(GROUNDS)}, got {sorted(unknown)}")
    if request.kind == "objection" and not request.direct_marketing and not said(request.situation):
        # Article 21(1) asks for grounds relating to the person's particular situation.
        raise LetterError("an objection needs the grounds of your particular situation", missing="situation")


def compose(request: LetterRequest) -> Letter:
    """The letter's subject and text, in the request's language."""
    _check(request)
    lang = request.language
    w = words(lang)
    labels = w["labels"]
    sender = request.sender
    sender_block = _block(
        _name(sender.name),
        sender.address.strip(),
        labels["email"] + sender.email if sender.email else "",
        labels["phone"] + sender.phone if sender.phone else "",
        labels["birth"] + day(sender.birth, lang) if sender.birth else "",
    )
    recipient_block = _block(_name(request.recipient.name), request.recipient.address.strip())
    original = None
    timeline: list[str] = []
    if request.original is not None:
        o = request.original
        what = w["what"].get(o.kind, o.kind)
        original = {
            "what": what,
            "sent": day(o.sent, lang),
            "received": day(o.received, lang),
            "due": day(o.due, lang),
            "estimated": o.estimated,
            "partial": o.partial,
        }
        t = w["timeline"]
        timeline = [
            t["sent"].format(sent=original["sent"], what=what),
            t["received"].format(received=original["received"], estimated=t["estimated"] if o.estimated else ""),
            t["due"].format(due=original["due"]),
        ]
    subject = w["subjects"][request.kind].format(
        sent=original["sent"] if original else "", platform=_name(request.platform.name) if request.platform else ""
    )
    place = _name(request.place)
    dateline = (w["dateline"] if place else w["date_only"]).format(place=place, date=day(request.today, lang))
    # Post arrives later than it is sent: the deadline is stated with the day it assumes.
    later = request.received is not None and request.received != request.today
    body = (
        _environment()
        .get_template(f"letters/{lang}/{request.kind}.txt")
        .render(
            signature=_name(sender.name),
            identifiers=[(k, v) for k, v in request.identifiers if v.strip()],
            uses=list(request.uses),
            details=request.details.strip(),
            references=[{**r.__dict__, "decided": day(r.decided, lang)} for r in request.references],
            ledger_key=request.ledger_key,
            original=original,
            timeline=timeline,
            platform_block=_block(_name(request.platform.name), request.platform.address.strip())
            if request.platform
            else "",
            due=day(request.due, lang) if request.due else "",
            received=day(request.received, lang) if later and request.received else "",
            email=bool(sender.email),
            direct_marketing=request.direct_marketing,
            grounds=[w["grounds"][g] for g in GROUNDS if g in request.grounds],
            situation=request.situation.strip(),
            transmit_to=_name(request.transmit_to),
            enclosures=list(request.enclosures),
            enclosures_label=w["enclosures"],
            verify_note=w["verify_note"].format(url=request.verify_url)
            if request.verify_url and request.references
            else "",
        )
    )
    body = _tidy(body)
    text = _tidy("\n\n".join([sender_block, recipient_block, dateline, w["subject_label"] + subject, body]))
    return Letter(
        request.kind,
        lang,
        subject,
        text,
        sender,
        request.recipient,
        sender_block=sender_block,
        recipient_block=recipient_block,
        dateline=dateline,
        body=body,
        subject_label=w["subject_label"],
    )


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def to_json(request: LetterRequest) -> dict[str, Any]:
    """A letter request as JSON, to write the letter again later (a draft sent another day)."""

    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if hasattr(value, "__dataclass_fields__"):
            return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
        return value

    result: dict[str, Any] = plain(request)
    return result


def from_json(data: dict[str, Any]) -> LetterRequest:
    """The letter request ``to_json`` wrote."""

    def when(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    sender = data["sender"]
    return LetterRequest(
        kind=data["kind"],
        language=data["language"],
        sender=Identity(**{**sender, "birth": when(sender.get("birth"))}),
        recipient=Party(**data["recipient"]),
        today=date.fromisoformat(data["today"]),
        identifiers=tuple((k, v) for k, v in data.get("identifiers", ())),
        uses=tuple(data.get("uses", ())),
        details=data.get("details", ""),
        references=tuple(
            LedgerReference(**{**r, "decided": date.fromisoformat(r["decided"])}) for r in data.get("references", ())
        ),
        ledger_key=data.get("ledger_key", ""),
        original=Original(
            **{
                **data["original"],
                **{k: date.fromisoformat(data["original"][k]) for k in ("sent", "received", "due")},
            }
        )
        if data.get("original")
        else None,
        platform=Party(**data["platform"]) if data.get("platform") else None,
        due=when(data.get("due")),
        received=when(data.get("received")),
        direct_marketing=bool(data.get("direct_marketing")),
        place=data.get("place", ""),
        grounds=tuple(data.get("grounds", ())),
        situation=data.get("situation", ""),
        transmit_to=data.get("transmit_to", ""),
        enclosures=tuple(data.get("enclosures", ())),
        verify_url=data.get("verify_url", ""),
    )
