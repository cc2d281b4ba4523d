"""When a controller must answer a data-protection request. Pure: dates in, dates out.

Sources:

- GDPR Art. 12(3): the controller answers "without undue delay and in any event within
  one month of receipt of the request"; the period "may be extended by two further months
  where necessary", if the controller informs the person within the first month.
- GDPR Art. 78(2): a supervisory authority that does not handle a complaint, or does not
  inform the person of its progress or outcome, "within three months" may be taken to court.
- Regulation (EEC, Euratom) No 1182/71 determining the rules applicable to periods,
  dates and time limits, Art. 3, which the GDPR's periods follow:
  - 3(1): the day during which the event (the receipt) occurs does not count;
  - 3(2)(c): a period of months ends with the last hour of the day in the last month that
    falls on the same date as the day from which the period runs, or, where that date
    does not occur in the last month, with the last hour of that month's last day;
  - 3(4): a period whose last day is a public holiday, a Sunday or a Saturday ends with
    the last hour of the following working day.

The public holidays are those of the country, and where known of the region, in which the
act is due (the controller's for an answer, the authority's for a complaint), from the
`holidays` package. An unknown region counts the national holidays only: in every country
where `consent.places.region_of` names a region, those are a subset of each region's, so
a deadline never falls later than the law allows (it may fall a day early).

The extension: "two further months" are counted from the end of the first month, that end
taken before the Art. 3(4) shift, and the working-day rule applied once, to the last day.
Counted so, the extended period never ends later than three months from receipt, and for a
request received on the 29th to 31st it can end up to two days earlier (received 31 January
2027: the first month ends on 28 February, the extension on 28 April, not 30 April). Where
the text allows two readings, the person is never made to wait longer than either allows.
See docs/deadlines.md.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta

import holidays

#: GDPR Art. 12(3): one month, and two further months when extended.
RESPONSE_MONTHS = 1
EXTENSION_MONTHS = 2
#: GDPR Art. 78(2): three months for the supervisory authority.
COMPLAINT_MONTHS = 3


def add_months(start: date, months: int) -> date:
    """The same date ``months`` later, or that month's last day when the date does not exist
    (Regulation 1182/71 Art. 3(2)(c))."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@functools.cache
def _supported_countries() -> frozenset[str]:
    # Checked before asking the package: `country_holidays` looks the code up as an
    # attribute of the module, where "JAN" or "BANK" are constants, not countries.
    return frozenset(holidays.list_supported_countries())


@functools.lru_cache(maxsize=1024)
def _subdivision(country: str, region: str) -> str:
    """The package's own code for ``region`` (a code or a name it knows, in any case), or ""."""
    wanted = region.strip().casefold()
    if not wanted:
        return ""
    entity = getattr(holidays, country)
    for code, aliases in entity.get_subdivision_aliases().items():
        if wanted == code.casefold() or wanted in (alias.casefold() for alias in aliases):
            return str(code)
    return ""


@functools.lru_cache(maxsize=1024)
def _public_holidays(country: str, region: str, year: int) -> frozenset[date]:
    code = country.strip().upper()
    if code not in _supported_countries():
        return frozenset()  # a country the package does not know: weekends only
    subdivision = _subdivision(code, region)
    return frozenset(holidays.country_holidays(code, subdiv=subdivision or None, years=year))


def is_working_day(day: date, *, country: str, region: str = "") -> bool:
    """Not a Saturday, a Sunday or a public holiday of ``country`` (ISO 3166-1 alpha-2).

    ``region`` is a subdivision as the `holidays` package names it ("NW", "BY", "57", "CT"):
    its own holidays count too; an unknown one counts the national holidays only.
    """
    if day.weekday() >= 5:
        return False
    return not country or day not in _public_holidays(country, region, day.year)


def next_working_day(day: date, *, country: str, region: str = "") -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day, country=country, region=region):
        day += timedelta(days=1)
    return day


def response_due(received_on: date, *, country: str, region: str = "", extended: bool = False) -> date:
    """The last day on which the controller may answer a request received on ``received_on``.

    ``country`` and ``region`` are the controller's (their public holidays count);
    ``extended`` when the controller announced the two-month extension of GDPR Art. 12(3).
    """
    first_month_ends = add_months(received_on, RESPONSE_MONTHS)
    if not extended:
        return next_working_day(first_month_ends, country=country, region=region)
    # The two further months run from the first month's own last day, not from the working
    # day Art. 3(4) would move it to: the shift lets an act be done on the last day of a
    # period, it does not lengthen the period that follows. Counted so, the extension never
    # ends later than three months from receipt; the min() states that bound, not trusting it.
    extension_ends = min(
        add_months(first_month_ends, EXTENSION_MONTHS),
        add_months(received_on, RESPONSE_MONTHS + EXTENSION_MONTHS),
    )
    return next_working_day(extension_ends, country=country, region=region)


def complaint_due(received_on: date, *, country: str, region: str = "") -> date:
    """The last day on which a supervisory authority must handle a complaint it received on
    ``received_on``, or inform the person of its progress (GDPR Art. 78(2)).

    ``country`` and ``region`` are the authority's: its public holidays count, not the
    controller's the complaint is about.
    """
    return next_working_day(add_months(received_on, COMPLAINT_MONTHS), country=country, region=region)
