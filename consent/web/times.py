"""Times shown in the person's time zone, and days the person gave shown as days.

Whose zone: the one chosen in Settings (sealed under the person's key, like their
profile: where someone lives is theirs to tell), else the one their browser reported
with the last form it sent (kept in the session cookie, never in the database), else
the instance's default (UTC). Every time shown names its zone ("2:05 PM +0100",
"8:05 AM EST"), so a time is never read in a zone the page does not say.

Days: the ledger keeps a moment for every decision. A decision the person dated to a
past day is stored at noon UTC of that day (consent.web.decisions.decision_moment) and
a lapsed grant at midnight UTC after its last day; both are recorded later than they
are dated. Such a moment has no time of day, and shows as its day, the same in every
zone; any other moment shows in the person's zone.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytz
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_timezone
from flask_login import current_user

from consent.errors import DecryptionError

#: The hidden field that consent/static/timezone.js fills in every form sent by POST.
BROWSER_FIELD = "browser_time_zone"
#: Where the browser's zone is kept between requests (the session cookie).
SESSION_KEY = "time_zone"
DEFAULT_ZONE = "UTC"
#: The regions of the IANA database whose zones are named after a place.
_AREAS = frozenset({"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"})
#: The times of day the app gives a moment it made from a day (see the module's docstring).
_DAY_TIMES = (time(12, 0), time(0, 0))


@functools.cache
def known_zones() -> frozenset[str]:
    """IANA zone names both zoneinfo and pytz (which Flask-Babel uses) know."""
    return frozenset(zoneinfo.available_timezones() & pytz.all_timezones_set)


@functools.cache
def menu_zones() -> tuple[str, ...]:
    """The zones Settings offers: UTC and the current, city-named ones (no "US/Eastern")."""
    named = (z for z in pytz.common_timezones if z.split("/", 1)[0] in _AREAS and z in known_zones())
    return ("UTC", *sorted(named))


def valid_zone(name: object) -> str | None:
    """``name`` when it is a zone both libraries know, else None."""
    return name if isinstance(name, str) and name in known_zones() else None


def chosen_zone() -> str | None:
    """The zone the person chose in Settings; None when they follow their browser."""
    if not has_request_context() or not current_user.is_authenticated or current_user.login.pending:
        return None
    try:
        return valid_zone(current_user.vault.read(current_user.login.user, "time_zone"))
    except DecryptionError:
        # Not the person's own sealed choice (a value moved from elsewhere): ignored. Every
        # time shown names its zone, so the browser's zone, or UTC, misleads no one.
        return None


def browser_zone() -> str | None:
    """The zone the browser reported with its last form (None without JavaScript)."""
    return valid_zone(session.get(SESSION_KEY)) if has_request_context() else None


def select_time_zone() -> str:
    """Flask-Babel's timezone selector: the zone of every time format_datetime writes."""
    return chosen_zone() or browser_zone() or default_zone()


def default_zone() -> str:
    return valid_zone(current_app.config.get("BABEL_DEFAULT_TIMEZONE")) or DEFAULT_ZONE


def zone_source() -> str:
    """Where the zone of this page comes from: "chosen", "browser" or "default"."""
    if chosen_zone():
        return "chosen"
    return "browser" if browser_zone() else "default"


def current_zone() -> str:
    return str(get_timezone())


def remember_browser_zone() -> None:
    """Before each POST: keep the zone the browser sent along, when it is one.

    Nothing is written to the database: a zone the browser reports is a fact about this
    device, and only the person's own choice in Settings is kept with the account.
    """
    if request.method != "POST":
        return
    zone = valid_zone(request.form.get(BROWSER_FIELD))
    if zone and session.get(SESSION_KEY) != zone:
        session[SESSION_KEY] = zone


# --- formatting ---------------------------------------------------------------------------


def _moment(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def made_from_a_day(at: datetime | str, recorded: datetime | str | None = None) -> bool:
    """Whether the app made this moment from a day the person gave (or an expiry date).

    Such a moment is noon or midnight UTC exactly and, when ``recorded`` is known, was
    recorded at another moment: a decision taken "now" is dated when it is recorded.
    """
    at = _moment(at)
    if at.astimezone(UTC).timetz().replace(tzinfo=None) not in _DAY_TIMES:
        return False
    return recorded is None or _moment(recorded) != at


def when(value: datetime | str | None) -> str:
    """A moment in the person's language and zone, naming the zone: "Jan 5, 2026, 2:05:00 PM +0100"."""
    if value is None or value == "":
        return ""
    moment = _moment(value)
    return f"{format_datetime(moment, 'medium')} {format_datetime(moment, 'z')}"


def day_of(value: datetime | str) -> date:
    """The day a moment fell on for the person; a moment made from a day keeps that day."""
    moment = _moment(value)
    if made_from_a_day(moment):
        return moment.astimezone(UTC).date()
    return moment.astimezone(zoneinfo.ZoneInfo(current_zone())).date()


def isodate(value: date | datetime | str | None) -> str:
    """A day in the person's language: from a date, its ISO text, or a moment (its day,
    as ``day_of`` says); empty for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value) > 10):
        return str(format_date(day_of(value)))
    return str(format_date(value if isinstance(value, date) else date.fromisoformat(value)))


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in the person's zone, in UTC."""
    zone = zoneinfo.ZoneInfo(current_zone())
    return (datetime.combine(day + timedelta(days=1), time(), tzinfo=zone) - timedelta(seconds=1)).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    """The first second of ``day`` in the person's zone, in UTC."""
    return datetime.combine(day, time(), tzinfo=zoneinfo.ZoneInfo(current_zone())).astimezone(UTC)


def init_app(app: Flask) -> None:
    app.before_request(remember_browser_zone)
    app.jinja_env.filters["isodate"] = isodate
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals.update(time_zone=current_zone, time_zone_source=zone_source)
