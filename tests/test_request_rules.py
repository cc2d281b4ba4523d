"""The requests' rules without a database: what a filter matches, what an edited letter may
hold, and a reminder's own status."""

from __future__ import annotations

from datetime import date

import pytest

from consent.services.requests import MAX_LETTER_CHARS, RequestError, RequestFilter, RequestView, edited_text

TODAY = date(2026, 11, 28)


def view(**changes) -> RequestView:
    base = {
        "id": "r",
        "platform_id": "p",
        "platform_name": "Boutique Éclair SARL",
        "country": "FR",
        "kind": "access",
        "language": "fr",
        "channel": "email",
        "subject": "",
        "text": "",
        "sha256": "",
        "sent_on": date(2026, 11, 1),
        "received_on": date(2026, 11, 1),
        "estimated": False,
        "extended": False,
        "status": "sent",
        "created": date(2026, 11, 1),
        "stated_due": date(2026, 12, 1),
    }
    return RequestView(**{**base, **changes})


@pytest.mark.parametrize(
    ("wanted", "item", "expected"),
    [
        (RequestFilter(platform="ECLAIR"), view(), True),
        (RequestFilter(platform="  "), view(), True),
        (RequestFilter(platform="bank"), view(), False),
        (RequestFilter(kind="erasure"), view(), False),
        (RequestFilter(status="sent"), view(), True),
        (RequestFilter(status="sent"), view(kind="reminder", stated_due=date(2026, 10, 1)), True),
        (RequestFilter(status="overdue"), view(kind="reminder", stated_due=date(2026, 10, 1)), False),
        (RequestFilter(status="overdue"), view(stated_due=date(2026, 11, 27)), True),
        (RequestFilter(status="answered"), view(status="partly_answered"), True),
        (RequestFilter(status="refused"), view(status="partly_answered"), False),
        (RequestFilter(due_soon=True), view(stated_due=date(2026, 12, 5)), True),  # in 7 days
        (RequestFilter(due_soon=True), view(stated_due=date(2026, 12, 6)), False),  # in 8
        (RequestFilter(due_soon=True), view(stated_due=date(2026, 11, 27)), False),  # overdue already
        (RequestFilter(due_soon=True), view(status="answered", stated_due=date(2026, 12, 1)), False),
    ],
)
def test_what_a_filter_matches(wanted, item, expected):
    assert wanted.matches(item, TODAY) is expected


def test_a_reminder_reads_as_sent_not_overdue():
    reminder = view(kind="reminder", stated_due=date(2026, 10, 1))
    assert reminder.status_on(TODAY) == "reminder_sent"
    assert reminder.needs_action(TODAY) is None  # its original is the one that is overdue
    assert view(kind="reminder", status="answered").status_on(TODAY) == "answered"


def test_an_edited_text_keeps_every_character_but_crlf():
    assert edited_text("Madame,\r\n\r\n\tMerci.\r\n") == "Madame,\n\n\tMerci.\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "text_empty"),
        (" \n\t ", "text_empty"),
        ("x" * (MAX_LETTER_CHARS + 1), "text_too_long"),
        ("a\x00b", "text_invisible"),
        ("a\x85b", "text_invisible"),
        ("a\u2066b", "text_invisible"),
    ],
)
def test_a_bad_edited_text_is_refused(text, reason):
    with pytest.raises(RequestError) as refused:
        edited_text(text)
    assert refused.value.reason == reason
