"""Requests: a letter sent to a platform, followed to its legal deadline.

Sending a letter and recording the platform's answer are ledger events; the ledger keeps
the SHA-256 of the letter (and of an answer's file or note), never their text, which
stays sealed in the request's row.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consent import letters, places
from consent.deadlines import add_months, complaint_due, next_working_day, response_due
from consent.directory import authorities
from consent.directory.search import fold
from consent.errors import ConsentError
from consent.ledger import events
from consent.letters import Letter, LetterRequest
from consent.models import Platform, Request, RequestFile
from consent.services import calendar, integrity
from consent.services.accounts import ActiveLogin
from consent.services.ledger import LedgerWriter

CHANNELS = ("email", "post", "webform")
OPEN = frozenset({"sent", "extended"})
ANSWERS = ("answered", "partly_answered", "refused")
#: What a person may record, from which statuses.
_MOVES = {
    "extended": OPEN - {"extended"},
    "answered": OPEN,
    "partly_answered": OPEN,
    "refused": OPEN,
    "closed": OPEN | set(ANSWERS) | {"complaint_filed", "draft"},
}
DUE_SOON = timedelta(days=7)


class RequestError(ConsentError):
    """A request cannot be recorded or changed as asked; ``reason`` names the rule:
    ``channel``, ``in_future``, ``before_gdpr``, ``placeholder``, ``late_extension``, ``before_sending``, ``no_address``, ``no_email``,
    ``not_allowed``, ``too_large``, ``unknown``, ``text_empty``, ``text_invisible``, ``text_too_long``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class RequestView:
    id: str
    platform_id: str
    platform_name: str
    country: str
    kind: str
    language: str
    channel: str
    subject: str
    text: str
    sha256: str
    sent_on: date | None
    received_on: date | None
    estimated: bool
    extended: bool
    status: str
    created: date
    parent: str | None = None
    recipient: str = ""
    replies: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    #: The deadline computed when the letter was sent (and again on an extension or a
    #: corrected delivery date): the one its text states. None for letters older than it.
    stated_due: date | None = None
    #: How to write the letter again, for a draft sent another day.
    composition: dict[str, Any] | None = None
    authority: str = ""
    #: The letter's blocks, to lay it out again (empty for letters older than them).
    parts: dict[str, str] = field(default_factory=dict)
    #: The person changed the composed text by hand before sending it.
    edited: bool = False

    @property
    def due(self) -> date | None:
        """The legal deadline; None while the letter is a draft, not yet sent."""
        if self.received_on is None:
            return None
        if self.stated_due is not None:
            return self.stated_due
        if self.kind == "complaint":
            # GDPR Art. 78(2): the authority must handle the complaint or report on it within three months.
            return next_working_day(add_months(self.received_on, 3), country=self.country)
        return response_due(self.received_on, country=self.country, extended=self.extended)

    def status_on(self, today: date) -> str:
        """The status as the person reads it on ``today``. A reminder restates its original's
        deadline, which has passed by the time one is written: its own status says it went
        out ("reminder_sent"), never "overdue" on the day it is sent."""
        if self.kind == "reminder" and self.status in OPEN:
            return "reminder_sent"
        due = self.due
        return "overdue" if self.status in OPEN and due is not None and today > due else self.status

    def needs_action(self, today: date) -> str | None:
        """Why the person should look at it now, if they should: overdue, due soon, or answered but not closed."""
        status = self.status_on(today)
        due = self.due
        if status in ("overdue", "draft"):
            return status
        if status in OPEN and due is not None and due - today <= DUE_SOON:
            return "due_soon"
        if status in ANSWERS:
            return "answered"
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _platform(s: Session, login: ActiveLogin, platform_id: uuid.UUID) -> tuple[Platform, dict[str, Any]]:
    row = s.scalar(sa.select(Platform).where(Platform.id == platform_id, Platform.user_id == login.user.id))
    if row is None:
        raise RequestError("unknown", "no such platform")
    return row, json.loads(login.vault.read_bytes(row, "details"))


def _check_channel(recipient: letters.Party, channel: str) -> None:
    if channel not in CHANNELS:
        raise RequestError("channel", f"expected a channel among {', '.join(CHANNELS)}, got {channel!r}")
    if channel == "post" and not recipient.address.strip():
        raise RequestError("no_address", "a postal letter needs the recipient's postal address")
    if channel == "email" and not recipient.email.strip():
        raise RequestError("no_email", "an e-mail needs the recipient's address")


@dataclass(frozen=True)
class Sending:
    """A letter as it goes out on a given day: its text, and the dates the tracker follows.
    The letter states ``due`` counted from ``expected`` (the day it should arrive); the
    tracker counts from ``received`` (the delivery date, once the person knows it)."""

    letter: Letter
    expected: date
    received: date
    estimated: bool
    due: date | None


def deadline_place(kind: str, platform: dict[str, Any], authority_id: str = "") -> tuple[str, str]:
    """Whose public holidays count: the controller's country and region, from its address
    when the platform names no country; for a complaint, the authority's (it is the one
    that must act within three months)."""
    if kind == "complaint":
        authority = authorities.by_id(authority_id)
        if authority is None:
            raise RequestError("unknown", "no such supervisory authority")
        return authority.country, places.region_of(authority.country, authority.postal_address)
    address = str(platform.get("address") or "")
    country = places.country_of(address) or str(platform.get("country") or "")
    return country, places.region_of(country, address)


def sending(
    request: LetterRequest,
    *,
    channel: str,
    sent_on: date,
    delivered_on: date | None = None,
    post_delivery_days: int = 3,
    country: str,
    region: str = "",
    parent_due: date | None = None,
) -> Sending:
    """The one place a letter's dates come from, for the preview, the draft and the
    record alike: the letter is dated the day it is sent and states the deadline counted
    from the day it should arrive (the same day by e-mail, ``post_delivery_days`` later by
    post). A reminder restates the original deadline rather than starting its own."""
    expected = sent_on + timedelta(days=post_delivery_days) if channel == "post" else sent_on
    received, estimated = (delivered_on, False) if delivered_on else (expected, channel == "post")
    due_of = _due_rule(request.kind, country=country, region=region, parent_due=parent_due)
    letter = letters.compose(replace(request, today=sent_on, received=expected, due=due_of(expected)))
    return Sending(letter, expected, received, estimated, due_of(received))


def _due_rule(kind: str, *, country: str, region: str, parent_due: date | None, extended: bool = False) -> Any:
    def due(received: date) -> date | None:
        if kind == "reminder":
            return parent_due
        if kind == "complaint":
            return complaint_due(received, country=country, region=region)
        return response_due(received, country=country, region=region, extended=extended)

    return due


#: The longest letter a person may write by hand: ten pages of text, more than any of the nine.
MAX_LETTER_CHARS = 30_000
#: What a letter's text may not hold: C0 and C1 controls (tab and line breaks aside) and the
#: bidi embeddings, overrides and isolates, which make a text show other than it is.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)


def edited_text(text: str) -> str:
    """A letter's text as the person wrote it by hand, ready to be stored, or a RequestError.
    Line breaks are made LF (a browser sends a text area's as CRLF); nothing else changes,
    so the text stored, downloaded and fingerprinted is the one the person wrote."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise RequestError("text_empty", "expected the letter's text, got an empty one")
    if len(text) > MAX_LETTER_CHARS:
        raise RequestError("text_too_long", f"expected at most {MAX_LETTER_CHARS} characters, got {len(text)}")
    if not _INVISIBLE.isdisjoint(text):
        raise RequestError("text_invisible", "the letter's text holds invisible control characters")
    return text


def save_draft(
    s: Session,
    login: ActiveLogin,
    platform_id: uuid.UUID,
    request: LetterRequest,
    *,
    channel: str,
    parent: uuid.UUID | None = None,
    authority: str = "",
    text: str | None = None,
    now: datetime | None = None,
) -> uuid.UUID:
    """Keep a letter to send later: a request in the "draft" status, not yet sent. Its
    text is written again, with that day's dates, when it is recorded as sent, unless the
    person wrote it by hand (``text``): that text is kept word for word."""
    now = now or _now()
    _check_channel(request.recipient, channel)
    text = edited_text(text) if text is not None else None
    with integrity.personal_transaction(s, login):
        row = _new_draft(
            s,
            login,
            platform_id,
            request,
            channel=channel,
            parent=parent,
            authority=authority,
            today=now.date(),
            text=text,
        )
        row.created_at = row.updated_at = now
    return row.id


def _new_draft(
    s: Session,
    login: ActiveLogin,
    platform_id: uuid.UUID,
    request: LetterRequest,
    *,
    channel: str,
    parent: uuid.UUID | None,
    authority: str,
    today: date,
    text: str | None = None,
) -> Request:
    _, platform = _platform(s, login, platform_id)
    country, region = deadline_place(request.kind, platform, authority)
    parent_due = _parent_due(s, login, parent)
    draft = sending(request, channel=channel, sent_on=today, country=country, region=region, parent_due=parent_due)
    row = Request(id=uuid.uuid4(), user_id=login.user.id, platform_id=platform_id)
    _write(
        login,
        row,
        {
            **_letter_fields(draft.letter),
            "channel": channel,
            "sent_on": None,
            "received_on": None,
            "estimated": False,
            "extended": False,
            "status": "draft",
            "parent": str(parent) if parent else None,
            "replies": [],
            "composition": letters.to_json(request),
            "authority": authority,
            "deadline_country": country,
            "deadline_region": region,
            **(_hand_written(text) if text is not None else {}),
        },
    )
    s.add(row)
    return row


def _hand_written(text: str) -> dict[str, Any]:
    """The fields of a letter whose text the person edited: that text, its fingerprint, and
    no layout blocks (they describe the composed text, not this one; a PDF lays it out whole)."""
    return {"text": text, "sha256": _sha256(text.encode("utf-8")), "parts": {}, "edited": True}


def _letter_fields(letter: Letter) -> dict[str, Any]:
    return {
        "kind": letter.kind,
        "language": letter.language,
        "subject": letter.subject,
        "text": letter.text,
        "sha256": _sha256(letter.text.encode("utf-8")),
        "recipient": letter.recipient.name,
        "parts": letter.parts(),
    }


def _parent_due(s: Session, login: ActiveLogin, parent: uuid.UUID | None) -> date | None:
    if parent is None:
        return None
    row = _own(s, login, parent)
    return _view(login, row, {}).due


def record_sent(
    s: Session,
    login: ActiveLogin,
    platform_id: uuid.UUID,
    request: LetterRequest,
    *,
    channel: str,
    sent_on: date,
    delivered_on: date | None = None,
    post_delivery_days: int = 3,
    parent: uuid.UUID | None = None,
    authority: str = "",
    text: str | None = None,
    now: datetime | None = None,
) -> uuid.UUID:
    """Record that the letter ``request`` describes was sent on ``sent_on``: a tracked
    request and a ledger event, in one transaction (a letter that cannot be sent on that
    date leaves no draft behind). ``text`` is the letter as the person edited it by hand:
    then that text is what is stored and fingerprinted, while the deadline still comes
    from ``sending()``. Returns the request's id."""
    now = now or _now()
    _check_channel(request.recipient, channel)
    _check_dates(sent_on, delivered_on, now)
    text = edited_text(text) if text is not None else None
    with integrity.personal_transaction(s, login):
        row = _new_draft(
            s,
            login,
            platform_id,
            request,
            channel=channel,
            parent=parent,
            authority=authority,
            today=sent_on,
            text=text,
        )
        row.created_at = row.updated_at = now
        s.flush()
        _mark_sent(
            s, login, row, sent_on=sent_on, delivered_on=delivered_on, post_delivery_days=post_delivery_days, now=now
        )
    return row.id


#: The GDPR applies from 25 May 2018 (Art. 99(2)): no letter under it was sent before.
GDPR_APPLIES = date(2018, 5, 25)


def check_dates(sent_on: date, delivered_on: date | None, *, now: datetime | None = None) -> None:
    """Refuse (RequestError) the dates a letter cannot have been sent and delivered on:
    asked before the person confirms, so that a confirmation never ends in a refusal."""
    _check_dates(sent_on, delivered_on, now or _now())


def _check_dates(sent_on: date, delivered_on: date | None, now: datetime) -> None:
    if sent_on < GDPR_APPLIES:
        raise RequestError("before_gdpr", "a GDPR letter cannot be sent before 25 May 2018")
    if sent_on > now.date():
        raise RequestError("in_future", "a letter cannot be sent in the future")
    if delivered_on is not None and (delivered_on < sent_on or delivered_on > now.date()):
        raise RequestError("before_sending", "the delivery date must fall between sending and today")


def mark_sent(
    s: Session,
    login: ActiveLogin,
    request_id: uuid.UUID,
    *,
    sent_on: date,
    delivered_on: date | None = None,
    post_delivery_days: int = 3,
    now: datetime | None = None,
) -> None:
    """A draft was sent: it is dated that day, its deadline starts, and the ledger records
    the letter's SHA-256."""
    now = now or _now()
    _check_dates(sent_on, delivered_on, now)
    with integrity.personal_transaction(s, login):
        row = _own(s, login, request_id)
        _mark_sent(
            s, login, row, sent_on=sent_on, delivered_on=delivered_on, post_delivery_days=post_delivery_days, now=now
        )


def _mark_sent(
    s: Session,
    login: ActiveLogin,
    row: Request,
    *,
    sent_on: date,
    delivered_on: date | None,
    post_delivery_days: int,
    now: datetime,
) -> None:
    details = _read(login, row)
    if details["status"] != "draft":
        raise RequestError("not_allowed", f"cannot send a request that is {details['status']}")
    parent = uuid.UUID(details["parent"]) if details.get("parent") else None
    if details.get("composition"):
        # The letter is written again for the day it goes out: its date and its deadline.
        done = sending(
            letters.from_json(details["composition"]),
            channel=details["channel"],
            sent_on=sent_on,
            delivered_on=delivered_on,
            post_delivery_days=post_delivery_days,
            country=details["deadline_country"],
            region=details["deadline_region"],
            parent_due=_parent_due(s, login, parent),
        )
        if not details.get("edited"):
            details.update(_letter_fields(done.letter))
        # A letter edited by hand keeps its text word for word; its deadline is still the law's.
        received, estimated, due = done.received, done.estimated, done.due
    else:  # a draft kept before letters were dated on sending: its text stays as it is
        if details["kind"] in ("rectification", "restriction") and "[" in details["text"]:
            # Letters of that time could hold "[Describe here ...]": never sign one.
            raise RequestError("placeholder", "this draft still holds a placeholder; write the letter again")
        expected = sent_on + timedelta(days=post_delivery_days) if details["channel"] == "post" else sent_on
        received, estimated = (delivered_on, False) if delivered_on else (expected, details["channel"] == "post")
        due = None
    details.update(
        sent_on=sent_on.isoformat(),
        received_on=received.isoformat(),
        estimated=estimated,
        status="sent",
        due=due.isoformat() if due else None,
    )
    if parent is not None:
        _mark_parent(s, login, parent, details["kind"], now)
    _write(login, row, details)
    row.updated_at = now
    # The event is dated when the letter went out (noon UTC of that day, if not today).
    sent_at = now if sent_on == now.date() else datetime.combine(sent_on, time(12), tzinfo=UTC)
    data = {"request": str(row.id), "kind": details["kind"], "channel": details["channel"], "sha256": details["sha256"]}
    if due is not None:
        data["due"] = due.isoformat()
    LedgerWriter(s, login, now).record(events.LETTER_SENT, platform=row.platform_id, data=data, at=sent_at)
    s.flush()
    calendar.refresh(s, login)


def _mark_parent(s: Session, login: ActiveLogin, parent: uuid.UUID, kind: str, now: datetime) -> None:
    """A complaint about a request marks it "complaint filed"."""
    if kind != "complaint":
        return
    row = _own(s, login, parent)
    details = _read(login, row)
    details["status"] = "complaint_filed"
    _write(login, row, details)
    row.updated_at = now


def _read(login: ActiveLogin, row: Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(login.vault.read_bytes(row, "details"))
    return data


def _write(login: ActiveLogin, row: Request, details: dict[str, Any]) -> None:
    login.vault.write_bytes(row, "details", json.dumps(details, ensure_ascii=False).encode())


def _own(s: Session, login: ActiveLogin, request_id: uuid.UUID) -> Request:
    row = s.scalar(sa.select(Request).where(Request.id == request_id, Request.user_id == login.user.id))
    if row is None:
        raise RequestError("unknown", "no such request")
    return row


def update(
    s: Session,
    login: ActiveLogin,
    request_id: uuid.UUID,
    *,
    status: str,
    note: str = "",
    file: tuple[str, bytes] | None = None,
    delivered_on: date | None = None,
    max_file_bytes: int = 5 * 1024 * 1024,
    now: datetime | None = None,
) -> None:
    """Record what happened: an extension, an answer (with a note and a file), or closing it.
    ``delivered_on`` corrects an estimated postal delivery date instead."""
    now = now or _now()
    if file is not None and len(file[1]) > max_file_bytes:
        raise RequestError("too_large", f"expected a file of at most {max_file_bytes} bytes, got {len(file[1])}")
    with integrity.personal_transaction(s, login):
        row = _own(s, login, request_id)
        details = _read(login, row)
        if status == "delivered":
            if (
                delivered_on is None
                or not details["sent_on"]
                or delivered_on < date.fromisoformat(details["sent_on"])
                or delivered_on > now.date()
            ):
                raise RequestError("before_sending", "the delivery date must fall between sending and today")
            details["received_on"], details["estimated"] = delivered_on.isoformat(), False
            _restate_due(details)
        else:
            if status not in _MOVES or details["status"] not in _MOVES[status]:
                raise RequestError("not_allowed", f"cannot go from {details['status']} to {status}")
            if status == "extended" and details.get("due") and now.date() > date.fromisoformat(details["due"]):
                # Art. 12(3): the controller must announce the extension within the first
                # month; announced after it, it extends nothing and the request stays overdue.
                raise RequestError("late_extension", "an extension announced after the deadline extends nothing")
            digest = _sha256(file[1] if file else note.encode("utf-8"))
            reply: dict[str, Any] = {
                "on": now.date().isoformat(),
                "status": status,
                "note": note.strip(),
                "sha256": digest,
            }
            if file is not None:
                file_row = RequestFile(id=uuid.uuid4(), user_id=login.user.id, request_id=row.id, created_at=now)
                login.vault.write(file_row, "name", file[0][:200] or "file")
                login.vault.write_bytes(file_row, "content", file[1])
                s.add(file_row)
                reply["file"] = str(file_row.id)
            details["replies"].append(reply)
            details["status"] = status
            if status == "extended":
                details["extended"] = True
                _restate_due(details)
            LedgerWriter(s, login, now).record(
                events.REQUEST_UPDATED,
                platform=row.platform_id,
                data={"request": str(row.id), "status": status, "sha256": digest},
            )
        _write(login, row, details)
        row.updated_at = now
        s.flush()
        calendar.refresh(s, login)


def _restate_due(details: dict[str, Any]) -> None:
    """The deadline again, after the delivery date is corrected or an extension announced."""
    if details.get("due") is None or details["kind"] == "reminder":
        return  # a letter from before dates were stored, or a reminder, which keeps its original's
    rule = _due_rule(
        details["kind"],
        country=details["deadline_country"],
        region=details["deadline_region"],
        parent_due=None,
        extended=bool(details.get("extended")),
    )
    details["due"] = rule(date.fromisoformat(details["received_on"])).isoformat()


def _view(login: ActiveLogin, row: Request, platform: dict[str, Any]) -> RequestView:
    d = _read(login, row)
    return RequestView(
        id=str(row.id),
        platform_id=str(row.platform_id),
        platform_name=platform.get("name", ""),
        country=platform.get("country", ""),
        kind=d["kind"],
        language=d["language"],
        channel=d["channel"],
        subject=d["subject"],
        text=d["text"],
        sha256=d["sha256"],
        sent_on=date.fromisoformat(d["sent_on"]) if d["sent_on"] else None,
        received_on=date.fromisoformat(d["received_on"]) if d["received_on"] else None,
        estimated=d["estimated"],
        extended=d["extended"],
        status=d["status"],
        created=row.created_at.date(),
        parent=d.get("parent"),
        recipient=d.get("recipient", ""),
        replies=d["replies"],
        stated_due=date.fromisoformat(d["due"]) if d.get("due") else None,
        composition=d.get("composition"),
        authority=d.get("authority", ""),
        parts=d.get("parts") or {},
        edited=bool(d.get("edited")),
    )


def letter_of(s: Session, login: ActiveLogin, view: RequestView, *, today: date, post_delivery_days: int) -> Letter:
    """The letter of a request: as it was sent, or, for a draft, as it reads if sent today."""
    if view.status == "draft" and view.composition and not view.edited:
        parent = uuid.UUID(view.parent) if view.parent else None
        details = _read(login, _own(s, login, uuid.UUID(view.id)))
        return sending(
            letters.from_json(view.composition),
            channel=view.channel,
            sent_on=today,
            post_delivery_days=post_delivery_days,
            country=details["deadline_country"],
            region=details["deadline_region"],
            parent_due=_parent_due(s, login, parent),
        ).letter
    return Letter(
        view.kind,
        view.language,
        view.subject,
        view.text,
        letters.Identity(""),
        letters.Party(view.recipient),
        sender_block=view.parts.get("sender_block", ""),
        recipient_block=view.parts.get("recipient_block", ""),
        dateline=view.parts.get("dateline", ""),
        body=view.parts.get("body", ""),
        subject_label=view.parts.get("subject_label", ""),
    )


def list_requests(s: Session, login: ActiveLogin, *, platform_id: uuid.UUID | None = None) -> list[RequestView]:
    """The person's requests, newest first."""
    integrity.check(s, login)
    platforms = {
        row.id: json.loads(login.vault.read_bytes(row, "details"))
        for row in s.scalars(sa.select(Platform).where(Platform.user_id == login.user.id))
    }
    query = sa.select(Request).where(Request.user_id == login.user.id)
    if platform_id is not None:
        query = query.where(Request.platform_id == platform_id)
    views = [_view(login, row, platforms.get(row.platform_id, {})) for row in s.scalars(query)]
    return sorted(views, key=lambda v: (v.sent_on or v.created, v.id), reverse=True)


def get_request(s: Session, login: ActiveLogin, request_id: uuid.UUID) -> RequestView | None:
    integrity.check(s, login)
    row = s.scalar(sa.select(Request).where(Request.id == request_id, Request.user_id == login.user.id))
    if row is None:
        return None
    _, platform = _platform(s, login, row.platform_id)
    view = _view(login, row, platform)
    view.files = [
        {"id": str(f.id), "name": login.vault.read(f, "name")}
        for f in s.scalars(
            sa.select(RequestFile).where(RequestFile.request_id == row.id, RequestFile.user_id == login.user.id)
        )
    ]
    return view


def read_file(s: Session, login: ActiveLogin, request_id: uuid.UUID, file_id: uuid.UUID) -> tuple[str, bytes] | None:
    integrity.check(s, login)
    row = s.scalar(
        sa.select(RequestFile).where(
            RequestFile.id == file_id, RequestFile.request_id == request_id, RequestFile.user_id == login.user.id
        )
    )
    if row is None:
        return None
    return login.vault.read(row, "name") or "file", login.vault.read_bytes(row, "content")


def delete_draft(s: Session, login: ActiveLogin, request_id: uuid.UUID) -> None:
    """Delete a letter kept as a draft. A draft was never sent, so no ledger event is about
    it; a request that was sent is part of the record and cannot be deleted."""
    with integrity.personal_transaction(s, login):
        row = _own(s, login, request_id)
        if _read(login, row)["status"] != "draft":
            raise RequestError("not_allowed", "only a draft can be deleted")
        s.delete(row)


@dataclass(frozen=True)
class RequestFilter:
    """What the person looks for on the requests page; every part is optional. ``status`` is
    one a person reads: "answered" takes in a partial answer, "sent" a reminder sent."""

    platform: str = ""
    kind: str = ""
    status: str = ""
    due_soon: bool = False

    @property
    def active(self) -> bool:
        return bool(self.platform.strip() or self.kind or self.status or self.due_soon)

    def matches(self, view: RequestView, today: date) -> bool:
        status = view.status_on(today)
        if self.platform.strip() and fold(self.platform) not in fold(view.platform_name):
            return False
        if self.kind and view.kind != self.kind:
            return False
        if self.status == "answered" and status not in ("answered", "partly_answered"):
            return False
        if self.status == "sent" and status not in ("sent", "reminder_sent"):
            return False
        if self.status and self.status not in ("answered", "sent") and status != self.status:
            return False
        if self.due_soon:
            due = view.due
            if status not in OPEN or due is None or due < today or due - today > DUE_SOON:
                return False
        return True


def search_requests(
    s: Session, login: ActiveLogin, wanted: RequestFilter, *, today: date | None = None
) -> list[RequestView]:
    """The person's requests that match ``wanted``, newest first. "Due soon" means an open
    request whose answer is due within the next seven days (an overdue one is "overdue")."""
    today = today or _now().date()
    return [view for view in list_requests(s, login) if wanted.matches(view, today)]
