"""Response deadlines: GDPR Art. 12(3) and 78(2) counted per Regulation 1182/71 Art. 3."""

import subprocess
import sys
from datetime import date, timedelta

import pytest

from consent.deadlines import add_months, complaint_due, is_working_day, next_working_day, response_due


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
        (date(2026, 1, 31), "FR", True, date(2026, 4, 28), "extended: first month ends 28 Feb, two more: 28 Apr"),
        (date(2026, 11, 30), "DE", True, date(2027, 3, 1), "extended: 30 Dec, then 28 Feb 2027, a Sunday"),
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


@pytest.mark.parametrize(
    ("received", "country", "region", "due", "why"),
    [
        # 1 Nov 2027 is a Monday: All Saints is a holiday in NW, BY, BW, RP and SL, not in Berlin.
        (date(2027, 10, 1), "DE", "NW", date(2027, 11, 2), "All Saints in North Rhine-Westphalia: Tuesday"),
        (date(2027, 10, 1), "DE", "BY", date(2027, 11, 2), "All Saints in Bavaria"),
        (date(2027, 10, 1), "DE", "BW", date(2027, 11, 2), "All Saints in Baden-Wuerttemberg"),
        (date(2027, 10, 1), "DE", "RP", date(2027, 11, 2), "All Saints in Rhineland-Palatinate"),
        (date(2027, 10, 1), "DE", "SL", date(2027, 11, 2), "All Saints in Saarland"),
        (date(2027, 10, 1), "DE", "BE", date(2027, 11, 1), "no All Saints in Berlin: the Monday itself"),
        (date(2027, 10, 1), "DE", "", date(2027, 11, 1), "region unknown: national holidays only"),
        (date(2027, 10, 1), "DE", "ZZ", date(2027, 11, 1), "a region Germany does not have: national"),
        (date(2027, 10, 1), "DE", "nw", date(2027, 11, 2), "the code in lower case"),
        (date(2027, 10, 1), "DE", "Nordrhein-Westfalen", date(2027, 11, 2), "the Land by its name"),
        (date(2027, 10, 1), "IE", "NW", date(2027, 11, 1), "Ireland has no regions in the package: national"),
        (date(2027, 10, 1), "", "NW", date(2027, 11, 1), "no country: weekends only, the region ignored"),
        # Alsace-Moselle: Good Friday (26 Mar 2027) and 26 December are holidays there only.
        # 26 Mar 2027 is a Friday; then a weekend and Easter Monday, a holiday all over France.
        (date(2027, 2, 26), "FR", "57", date(2027, 3, 30), "Good Friday in Moselle, then Easter Monday"),
        (date(2027, 2, 26), "FR", "6AE", date(2027, 3, 30), "Good Friday in Alsace"),
        (date(2027, 2, 26), "FR", "", date(2027, 3, 26), "Good Friday is a working day in Paris"),
        (date(2028, 11, 26), "FR", "57", date(2028, 12, 27), "26 Dec 2028 (a Tuesday) in Moselle"),
        (date(2028, 11, 26), "FR", "", date(2028, 12, 26), "26 Dec is a working day elsewhere in France"),
        # Spain: 19 Mar 2027 (a Friday) is Saint Joseph in Madrid, not in Catalonia;
        # 11 Sep 2026 (a Friday) is the National Day of Catalonia.
        (date(2027, 2, 19), "ES", "MD", date(2027, 3, 22), "Saint Joseph in Madrid: Monday"),
        (date(2027, 2, 19), "ES", "CT", date(2027, 3, 19), "no Saint Joseph in Catalonia"),
        (date(2026, 8, 11), "ES", "CT", date(2026, 9, 14), "La Diada: Monday"),
        (date(2026, 8, 11), "ES", "MD", date(2026, 9, 11), "a working day in Madrid"),
        # United Kingdom: Saint Andrew's Day (Monday 30 Nov 2026) in Scotland; Easter Monday
        # (29 Mar 2027) in England, Wales and Northern Ireland, not in Scotland.
        (date(2026, 10, 30), "GB", "SCT", date(2026, 12, 1), "Saint Andrew's Day in Scotland"),
        (date(2026, 10, 30), "GB", "ENG", date(2026, 11, 30), "a working day in England"),
        (date(2027, 2, 28), "GB", "ENG", date(2027, 3, 30), "28 Mar is Easter Sunday, then Easter Monday"),
        (date(2027, 2, 28), "GB", "SCT", date(2027, 3, 29), "no Easter Monday in Scotland"),
    ],
)
def test_response_due_counts_the_regions_holidays(received, country, region, due, why):
    assert response_due(received, country=country, region=region) == due, why


@pytest.mark.parametrize(
    ("received", "country", "due", "why"),
    [
        # Received on the 31st: the first month ends on a shorter month's last day, and the
        # two further months run from that day, not from the day of receipt.
        (date(2027, 1, 31), "DE", date(2027, 4, 28), "28 Feb, then 28 Apr (a Wednesday); not 30 Apr"),
        (date(2027, 1, 30), "DE", date(2027, 4, 28), "28 Feb, then 28 Apr; not 30 Apr"),
        (date(2027, 1, 29), "DE", date(2027, 4, 28), "28 Feb, then 28 Apr; not 29 Apr"),
        (date(2027, 5, 31), "FR", date(2027, 8, 30), "30 Jun, then 30 Aug (a Monday); not 31 Aug"),
        (date(2027, 12, 31), "DE", date(2028, 3, 31), "31 Jan 2028, then 31 Mar (a Friday): as three months"),
        (date(2027, 10, 31), "DE", date(2028, 1, 31), "30 Nov, then 30 Jan 2028, a Sunday: Monday 31 Jan"),
        (date(2027, 7, 31), "FR", date(2027, 11, 2), "31 Aug, then 31 Oct (a Sunday); 1 Nov is All Saints"),
        (date(2028, 1, 31), "DE", date(2028, 5, 2), "29 Feb 2028, then 29 Apr, a Saturday; 1 May Labour Day"),
        (date(2027, 3, 31), "ES", date(2027, 6, 30), "30 Apr, then 30 Jun (a Wednesday): as three months"),
        (date(2027, 11, 29), "DE", date(2028, 2, 29), "29 Dec, then 29 Feb in a leap year (a Tuesday)"),
    ],
)
def test_extension_counts_two_further_months_from_the_first_months_end(received, country, due, why):
    assert response_due(received, country=country, extended=True) == due, why


def test_extension_runs_from_the_first_months_end_before_its_working_day_shift():
    # Received 31 Jan 2027: the first month ends on Sunday 28 Feb, which Art. 3(4) would move
    # to Monday 1 Mar; counted from 1 Mar the extension would end on 1 May (then 3 May).
    assert response_due(date(2027, 1, 31), country="DE") == date(2027, 3, 1)
    assert response_due(date(2027, 1, 31), country="DE", extended=True) == date(2027, 4, 28)


def test_extension_never_ends_later_than_three_months_from_receipt():
    day = date(2026, 1, 1)
    while day < date(2029, 1, 1):
        three_months = next_working_day(add_months(day, 3), country="DE", region="BY")
        extended = response_due(day, country="DE", region="BY", extended=True)
        assert response_due(day, country="DE", region="BY") < extended <= three_months, day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("received", "country", "region", "due", "why"),
    [
        (date(2027, 3, 10), "FR", "", date(2027, 6, 10), "three months, a Thursday"),
        (date(2027, 8, 1), "DE", "NW", date(2027, 11, 2), "1 Nov 2027, All Saints in NW"),
        (date(2027, 8, 1), "DE", "BE", date(2027, 11, 1), "the Berlin authority: no All Saints"),
        (date(2026, 11, 30), "IE", "", date(2027, 3, 1), "28 Feb 2027 is a Sunday"),
        (date(2027, 9, 30), "ES", "CT", date(2027, 12, 30), "30 Dec 2027, a Thursday"),
        (date(2027, 4, 1), "", "", date(2027, 7, 1), "no country: weekends only"),
    ],
)
def test_complaint_due_counts_three_months_with_the_authoritys_holidays(received, country, region, due, why):
    assert complaint_due(received, country=country, region=region) == due, why


@pytest.mark.parametrize("country", ["XX", "JAN", "BANK", "de ", "", "  ", "\x00", "D" * 10_000])
@pytest.mark.parametrize("region", ["", "XX", "\x00", "BY" * 5_000, "Zone A"])
def test_odd_countries_and_regions_never_raise(country, region):
    due = response_due(date(2027, 10, 1), country=country, region=region)
    assert date(2027, 11, 1) <= due <= date(2027, 11, 2)


def test_deadlines_module_needs_no_flask():
    code = (
        "import sys, consent.deadlines; print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
