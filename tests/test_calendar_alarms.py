"""The calendar feed's alarms: each open request's due date reminds the person three days
before and on the day (RFC 5545 section 3.6.6, VALARM with ACTION:DISPLAY)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from consent.deadlines import response_due
from consent.services.calendar import to_ics
from tests.test_platforms import add_platform
from tests.test_requests import FRENCH_SHOP, _calendar_link, post_letter


def _unfolded_lines(body: bytes) -> list[str]:
    """The content lines of an iCalendar stream (RFC 5545 section 3.1: CRLF, folds undone)."""
    text = body.decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "every line ends with CRLF"
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def _alarms(body: bytes) -> dict[str, list[dict[str, str]]]:
    """A strict walk over the lines: VALARMs nested in VEVENTs, each with exactly ACTION,
    DESCRIPTION and TRIGGER, by the event's UID."""
    found: dict[str, list[dict[str, str]]] = {}
    stack: list[str] = []
    uid, alarm = "", {}
    for line in _unfolded_lines(body):
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            alarm = {} if value == "VALARM" else alarm
        elif name == "END":
            assert stack.pop() == value, f"END:{value} closes another component"
            if value == "VALARM":
                assert stack[-1] == "VEVENT" and sorted(alarm) == ["ACTION", "DESCRIPTION", "TRIGGER"], alarm
                found.setdefault(uid, []).append(alarm)
        elif stack and stack[-1] == "VALARM":
            assert name not in alarm, f"{name} twice in one alarm"
            alarm[name] = value
        elif name == "UID":
            uid = value
    assert stack == []
    return found


def test_each_due_date_has_alarms_three_days_before_and_on_the_day():
    body = to_ics(
        [{"uid": "r1", "due": "2026-12-21", "kind": "access", "platform": ""}],
        now=datetime(2026, 11, 28, tzinfo=UTC),
    )
    ((uid, alarms),) = _alarms(body).items()
    assert uid == "r1@consent-manager"
    assert alarms == [
        {"ACTION": "DISPLAY", "DESCRIPTION": "GDPR request due in three days: access", "TRIGGER": "-P2DT15H"},
        {"ACTION": "DISPLAY", "DESCRIPTION": "GDPR request due today: access", "TRIGGER": "PT9H"},
    ]
    # The same feed read by a full parser: the alarms fall at 09:00 three days before and on the day.
    (event,) = Calendar.from_ical(body).walk("VEVENT")
    start = datetime.combine(event.decoded("DTSTART"), datetime.min.time())
    when = [start + alarm.decoded("TRIGGER") for alarm in event.walk("VALARM")]
    assert when == [datetime(2026, 12, 18, 9), datetime(2026, 12, 21, 9)]


def test_the_feed_gives_open_requests_alarms_and_names_no_platform(person, client, app):
    platform_id = add_platform(person, **FRENCH_SHOP)
    link = _calendar_link(person, client)
    sent_on = datetime.now(UTC).date() - timedelta(days=3)
    original = post_letter(person, platform_id, step="sent", sent_on=sent_on.isoformat()).headers["Location"]
    parent = original.rsplit("/", 1)[1]
    older = post_letter(person, platform_id, step="sent", sent_on="2026-09-01").headers["Location"]
    # A reminder restates its original's deadline: it adds no second event, nor alarms.
    reminder = post_letter(person, platform_id, kind="reminder", parent=parent, step="sent").headers["Location"]
    body = client.get(link).data
    alarms = _alarms(body)
    assert sorted(alarms) == sorted(f"{page.rsplit('/', 1)[1]}@consent-manager" for page in (original, older))
    assert f"{reminder.rsplit('/', 1)[1]}@consent-manager" not in alarms
    assert all(len(a) == 2 for a in alarms.values())
    assert b"Boutique" not in body
    due = response_due(sent_on, country="FR")
    (event,) = [e for e in Calendar.from_ical(body).walk("VEVENT") if str(e["UID"]) == f"{parent}@consent-manager"]
    assert event.decoded("DTSTART") == due
    assert [e.decoded("TRIGGER") for e in event.walk("VALARM")] == [timedelta(days=-3, hours=9), timedelta(hours=9)]

