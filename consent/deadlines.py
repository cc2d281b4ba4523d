"""When a controller must answer a data-protection request. Pure: dates in, dates out.

Sources:

- GDPR Art. 12(3): the controller answers "without undue delay and in any event within
  one month of receipt of the request"; the period "may be extended by two further months
  where necessary", if the controller informs the person within the first month.
- Regulation (EEC, Euratom) No 1182/71 determining the rules applicable to periods,
  dates and time limits, Art. 3, which the GDPR's periods follow:
  - 3(1): the day during which the event (the receipt) occurs does not count;
  - 3(2)(c): a period of months ends with the last hour of the day in the last month that
    falls on the same date as the day from which the period runs, or, where that date
    does not occur in the last month, with the last hour of that month's last day;
  - 3(4): a period whose last day is a public holiday, a Sunday or a Saturday ends with
    the last hour of the following working day.

The public holidays are those of the controller's country, from the `holidays` package
(national holidays; regional ones are not counted, so a deadline never falls later than
the law allows). The extension is counted, like the first month, from the receipt: three
months from the day of receipt.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta

import holidays

#: GDPR Art. 12(3): one month, and two further months when extended.
RESPONSE_MONTHS = 1
EXTENSION_MONTHS = 2


def add_months(start: date, months: int) -> date:
    """The same date ``months`` later, or that month's last day when the date does not exist
    (Regulation 1182/71 Art. 3(2)(c))."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country.upper(), years=year))
    except NotImplementedError:
        return frozenset()  # a country the package does not know: weekends only


def is_working_day(day: date, *, country: str) -> bool:
    """Not a Saturday, a Sunday or a public holiday of ``country`` (ISO 3166-1 alpha-2)."""
    if day.weekday() >= 5:
        return False
    return not country or day not in _public_holidays(country, day.year)


def next_working_day(day: date, *, country: str) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day, country=country):
        day += timedelta(days=1)
    return day


def response_due(received_on: date, *, country: str, extended: bool = False) -> date:
    """The last day on which the controller may answer a request received on ``received_on``.

    ``country`` is the controller's (its public holidays count); ``extended`` when the
    controller announced the two-month extension of GDPR Art. 12(3).
    """
    months = RESPONSE_MONTHS + (EXTENSION_MONTHS if extended else 0)
    return next_working_day(add_months(received_on, months), country=country)
