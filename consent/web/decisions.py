"""What the web layer says about decisions: their messages, dates and event descriptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _

from consent import vocabulary
from consent.errors import DecisionError
from consent.ledger import events
from consent.ledger.state import EXPIRED, GRANTED, REFUSED, WITHDRAWN
from consent.services.platforms import UNDO_WITHIN


def decision_moment(day: date | None, *, today: date) -> datetime | None:
    """When a decision was made, from the date the person gives; None means now.

    A past day counts from noon UTC, so that it stays the same calendar day in every
    time zone from UTC-11 to UTC+11.
    """
    if day is None or day == today:
        return None
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def decision_message(error: DecisionError) -> str:
    messages = {
        "in_future": _("A decision cannot be dated in the future."),
        "already_granted": _("This use is granted already."),
        "already_refused": _("This use is refused already."),
        "granted": _("This use is granted: withdraw it rather than refuse it."),
        "not_granted": _("This use is not granted, so it cannot be withdrawn, renewed or expire."),
        "archived": _("This platform is archived: bring it back from the archive to change its uses."),
        "not_archived": _("This platform is not archived."),
        "no_expiry": _("Give the new end date of the consent, or tick “No end date”."),
        "expiry_past": _("The new end date cannot be in the past."),
        "undo_unknown": _("There is no withdrawal of this use to undo."),
        "undo_not_latest": _("This withdrawal can no longer be undone: a later decision on this use followed it."),
        "undo_too_late": _(
            "This withdrawal can no longer be undone (only within %(minutes)d minutes). Grant the use again instead.",
            minutes=UNDO_WITHIN // timedelta(minutes=1),
        ),
        "no_name": _("Enter the platform's name."),
        "no_purpose": _("Choose or describe a purpose."),
    }
    return messages.get(error.reason, _("This decision cannot be recorded."))


def use_label(purpose: str, label: str) -> str:
    """A use's name in the person's language: the vocabulary's, translated, for a known
    purpose; the person's own words otherwise (never passed through gettext, whose result
    a template would take for trusted markup)."""
    if purpose in vocabulary.PURPOSES:
        return _(vocabulary.PURPOSES[purpose])
    return label


def category_label(iri: str) -> str:
    return _(vocabulary.CATEGORIES[iri]) if iri in vocabulary.CATEGORIES else iri


def status_label(status: str) -> str:
    return {
        GRANTED: _("Granted"),
        REFUSED: _("Refused"),
        WITHDRAWN: _("Withdrawn"),
        EXPIRED: _("Expired"),
    }.get(status, status)


def event_label(kind: str) -> str:
    return {
        events.PLATFORM_ADDED: _("Platform added"),
        events.PLATFORM_CHANGED: _("Platform details changed"),
        events.PLATFORM_ARCHIVED: _("Platform archived"),
        events.PLATFORM_UNARCHIVED: _("Platform brought back from the archive"),
        events.USE_GRANTED: _("Granted"),
        events.USE_REFUSED: _("Refused"),
        events.USE_WITHDRAWN: _("Withdrawn"),
        events.USE_RENEWED: _("Renewed"),
        events.USE_EXPIRED: _("Expired"),
        events.LETTER_SENT: _("Letter sent"),
        events.REQUEST_UPDATED: _("Request updated"),
        events.RECORDS_SEALED: _("Your records updated"),
        events.PLATFORM_ERASED: _("Platform erased"),
    }.get(kind, kind)


def records_label(kind: str) -> str:
    """What a ``records.sealed`` event names: the kinds of the person's own records."""
    return {
        "users": _("account"),
        "profiles": _("profile"),
        "platforms": _("platforms"),
        "uses": _("uses"),
        "requests": _("requests and drafts"),
        "request_files": _("files of answers"),
    }.get(kind, kind)


def letter_label(kind: str) -> str:
    return {
        "access": _("Access request"),
        "rectification": _("Rectification request"),
        "erasure": _("Erasure request"),
        "restriction": _("Restriction request"),
        "portability": _("Portability request"),
        "objection": _("Objection"),
        "withdrawal": _("Withdrawal of consent"),
        "reminder": _("Reminder"),
        "complaint": _("Complaint to the supervisory authority"),
    }.get(kind, "")


def request_status_label(status: str) -> str:
    return {
        "draft": _("Draft"),
        "sent": _("Sent"),
        "extended": _("Extended by the platform"),
        "answered": _("Answered"),
        "partly_answered": _("Partly answered"),
        "refused": _("Refused by the platform"),
        "overdue": _("Overdue"),
        "complaint_filed": _("Complaint filed"),
        "closed": _("Closed"),
    }.get(status, status)
