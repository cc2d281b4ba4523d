"""The calendar feed: the due dates of a person's requests, at a secret URL they can revoke.

By default the feed names no platform ("GDPR request due: access"), so a calendar
service that stores it learns nothing about whom the person deals with.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from icalendar import Alarm, Calendar, Event
from sqlalchemy.orm import Session

from consent import keys
from consent.errors import DecryptionError
from consent.keys import DataKey
from consent.models import CalendarFeed
from consent.services import transaction
from consent.services.accounts import ActiveLogin

_TITLES = {
    "access": "access",
    "rectification": "rectification",
    "erasure": "erasure",
    "restriction": "restriction",
    "portability": "portability",
    "objection": "objection",
    "withdrawal": "withdrawal of consent",
    "reminder": "reminder",
    "complaint": "complaint to the authority",
}


#: When a due date reminds the person (RFC 5545 section 3.6.6, TRIGGER relative to the start
#: of the all-day event, its midnight): at 09:00 three days before, and at 09:00 on the day.
ALARMS = (
    (timedelta(days=-3, hours=9), "in three days"),
    (timedelta(hours=9), "today"),
)


def _aad(login_user_id: object) -> bytes:
    return b"consent/calendar:" + str(login_user_id).encode()


def _items(s: Session, login: ActiveLogin, include_names: bool) -> list[dict[str, Any]]:
    from consent.services import requests  # requests refreshes the feed: import here, not at the top

    today = datetime.now(UTC).date()
    return [
        {"uid": r.id, "due": due.isoformat(), "kind": r.kind, "platform": r.platform_name if include_names else ""}
        for r in requests.list_requests(s, login)
        if r.status_on(today) in ("sent", "extended", "overdue") and (due := r.due) is not None
    ]


def create(s: Session, login: ActiveLogin, *, include_names: bool, now: datetime | None = None) -> str:
    """A new feed (replacing any earlier one, whose URL stops working); returns its URL token."""
    now = now or datetime.now(UTC)
    token = keys.new_login_token()
    feed_key = DataKey.generate()
    with transaction(s):
        s.execute(sa.delete(CalendarFeed).where(CalendarFeed.user_id == login.user.id))
        s.flush()
        s.add(
            CalendarFeed(
                user_id=login.user.id,
                lookup=keys.login_lookup(token),
                key_by_token=feed_key.wrap_with(keys.feed_kek(token), aad=_aad(login.user.id)),
                key_by_dek=login.key.seal_key(feed_key, aad=_aad(login.user.id)),
                include_names=include_names,
                content=feed_key.seal(json.dumps(_items(s, login, include_names)).encode(), aad=_aad(login.user.id)),
                updated_at=now,
            )
        )
    return token


def refresh(s: Session, login: ActiveLogin) -> None:
    """Re-seal the feed's content after a request changed (inside the caller's transaction)."""
    feed = s.get(CalendarFeed, login.user.id)
    if feed is None:
        return
    feed_key = login.key.open_key(feed.key_by_dek, aad=_aad(login.user.id))
    feed.content = feed_key.seal(json.dumps(_items(s, login, feed.include_names)).encode(), aad=_aad(login.user.id))
    feed.updated_at = datetime.now(UTC)


def revoke(s: Session, login: ActiveLogin) -> None:
    with transaction(s):
        s.execute(sa.delete(CalendarFeed).where(CalendarFeed.user_id == login.user.id))


def has_feed(s: Session, login: ActiveLogin) -> CalendarFeed | None:
    return s.get(CalendarFeed, login.user.id)


def read(s: Session, token: str) -> list[dict[str, Any]] | None:
    """The feed behind a URL token, or None (unknown, revoked, or not opening)."""
    feed = s.scalar(sa.select(CalendarFeed).where(CalendarFeed.lookup == keys.login_lookup(token)))
    if feed is None:
        return None
    try:
        feed_key = DataKey.unwrap(feed.key_by_token, keys.feed_kek(token), aad=_aad(feed.user_id))
        items: list[dict[str, Any]] = json.loads(feed_key.open(feed.content, aad=_aad(feed.user_id)))
    except DecryptionError:
        return None
    return items


def to_ics(items: list[dict[str, Any]], *, now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Consent manager//due dates//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "GDPR requests")
    for item in items:
        event = Event()
        event.add("uid", f"{item['uid']}@consent-manager")
        title = f"GDPR request due: {_TITLES.get(item['kind'], item['kind'])}"
        summary = f"{title} ({item['platform']})" if item["platform"] else title
        event.add("summary", summary)
        event.add("dtstart", date.fromisoformat(item["due"]))
        event.add("dtstamp", now)
        for trigger, when in ALARMS:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary.replace("GDPR request due:", f"GDPR request due {when}:", 1))
            alarm.add("trigger", trigger)
            event.add_component(alarm)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
