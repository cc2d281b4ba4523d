"""Response deadlines: GDPR Art. 12(3) counted per Regulation 1182/71 Art. 3."""

import subprocess
import sys
from datetime import date

import pytest

from consent.deadlines import add_months, is_working_day, next_working_day, response_due


@pytest.mark.parametrize(
    ("received", "country", "extended", "due", "why"),
    [
        (date(2026, 3, 10), "FR", False, date(2026, 4, 10), "same date next month (a Friday)"),
        (date(2026, 1, 15), "FR", False, date(2026, 2, 16), "15 Feb 2026 is a Sunday: next Monday"),
        (date(2026, 1, 31), "DE", False, date(2026, 3, 2), "31 Feb does not exist: 28 Feb, a Saturday: Monday 2 Mar"),
        (date(2024, 1, 31), "DE", False, date(2024, 2, 29), "leap year: 29 Feb 2024, a Thursday"),
        (date(2023, 1, 31), "DE", False, date(2023, 2, 28), "non-leap year: 28 Feb 2023, a Tuesday"),
        (date(2026, 3, 31), "FR", False, date(2026, 4, 30), "31 Apr does not exist: 30 Apr, a Thursday"),
        (date(2026, 4, 1), "FR", False, date(2026, 5, 4), "1 May (Friday) is Labour Day, then a weekend"),
        (date(2026, 4, 8), "FR", False, date(2026, 5, 11), "8 May 2026 is Victory Day in France"),
        (date(2026, 4, 8), "DE", False, date(2026, 5, 8), "8 May is no holiday in Germany"),
        (date(2026, 11, 25), "DE", False, date(2026, 12, 28), "Christmas Day (Friday) and a weekend"),
        (date(2026, 2, 28), "GB", False, date(2026, 3, 30), "received on a Saturday; 28 Mar is a Saturday"),
        (date(2026, 12, 15), "IE", False, date(2027, 1, 15), "across the year end (a Friday)"),
        (date(2026, 1, 31), "FR", True, date(2026, 4, 30), "extended: three months from receipt, 30 Apr"),
        (date(2026, 11, 30), "DE", True, date(2027, 3, 1), "extended: 28 Feb 2027 is a Sunday"),
        (date(2026, 7, 14), "FR", True, date(2026, 10, 14), "extended: a Wednesday"),
        (date(2026, 4, 8), "", False, date(2026, 5, 8), "no country known: weekends only"),
    ],
)
def test_response_due(received, country, extended, due, why):
    assert response_due(received, country=country, extended=extended) == due, why


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 5, 15), 12, date(2027, 5, 15)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_working_days():
    assert not is_working_day(date(2026, 11, 28), country="FR")  # Saturday
    assert not is_working_day(date(2026, 11, 29), country="FR")  # Sunday
    assert not is_working_day(date(2026, 11, 11), country="FR")  # Armistice Day
    assert is_working_day(date(2026, 11, 11), country="DE")
    assert is_working_day(date(2026, 11, 27), country="XX")  # unknown country: weekends only
    assert next_working_day(date(2026, 12, 25), country="GB") == date(2026, 12, 29)  # 25, 26 (28 substitute)


def test_deadlines_module_needs_no_flask():
    code = (
        "import sys, consent.deadlines; print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
