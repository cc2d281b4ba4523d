"""The person's time zone for every time shown, and days shown as days (issue 11)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime

from consent import db, migrate
from consent.db import make_engine
from consent.errors import ConsentError
from consent.models import User
from consent.web import times
from tests.conftest import Auth, count_rows, csrf_token
from tests.test_platforms import add_platform, add_use, all_events

BERLIN = "Europe/Berlin"


def _choose(auth, zone: str):
    return auth.post("/settings", {"tz-time_zone": zone}, action="/settings/time-zone", prefix="tz")


def _shown(moment: str, zone: str) -> str:
    """What the page shows of a ledger time, in English, in ``zone``."""
    at = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return f"{format_datetime(at, 'medium', tzinfo=ZoneInfo(zone), locale='en')} {format_datetime(at, 'z', tzinfo=ZoneInfo(zone), locale='en')}"


def test_a_time_shows_in_the_zone_the_person_chose(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    granted = all_events(app)[-1]
    assert _choose(person, BERLIN).status_code == 302
    page = client.get(f"/ledger/events/{granted['index']}").get_data(as_text=True)
    assert _shown(granted["at"], BERLIN) in page
    assert _shown(granted["at"], "UTC") not in page
    assert re.search(r"[+-]0[12]00|CES?T", _shown(granted["at"], BERLIN))  # the zone is named
    assert "this page shows them in Europe/Berlin" in page
    ledger = client.get("/ledger").get_data(as_text=True)
    assert _shown(granted["at"], BERLIN) in ledger and "Times are shown in Europe/Berlin." in ledger


def test_the_chosen_zone_is_sealed_and_can_go_back_to_the_browser(person, client, app):
    assert _choose(person, BERLIN).status_code == 302
    with app.app_context():
        stored = db.session().scalar(sa.select(User.time_zone))
    assert stored is not None and BERLIN.encode() not in stored  # ciphertext, not the name
    settings = client.get("/settings").get_data(as_text=True)
    assert "Times are shown in Europe/Berlin, as you chose." in settings
    assert '<option selected value="Europe/Berlin">Europe/Berlin</option>' in settings
    assert _choose(person, "").status_code == 302
    with app.app_context():
        assert db.session().scalar(sa.select(User.time_zone)) is None
    assert "Times are shown in UTC: your browser has not told its time zone" in client.get("/settings").get_data(
        as_text=True
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "US/Eastern", "../../etc/passwd", "x" * 300])
def test_a_zone_not_on_the_menu_is_refused_and_changes_nothing(person, client, app, zone):
    before = count_rows(app)
    with app.app_context():
        sealed_before = db.session().scalar(sa.select(User.time_zone))
    answer = _choose(person, zone)
    assert answer.status_code == 400
    assert "Choose a time zone from the list." in answer.get_data(as_text=True)
    assert count_rows(app) == before
    with app.app_context():
        assert db.session().scalar(sa.select(User.time_zone)) == sealed_before


def test_the_browser_zone_comes_with_a_form_and_stays_out_of_the_database(person, client, app):
    platform_id = add_platform(person)
    with app.app_context():
        before = db.session().scalar(sa.select(User.time_zone))
    # Any POST form carries it (timezone.js adds the field): here, a use decided now.
    add_use(person, platform_id, "Marketing", browser_time_zone="Asia/Tokyo")
    granted = all_events(app)[-1]
    page = client.get("/ledger").get_data(as_text=True)
    assert _shown(granted["at"], "Asia/Tokyo") in page
    assert "Times are shown in Asia/Tokyo, the time zone of your browser." in client.get("/settings").get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session().scalar(sa.select(User.time_zone)) == before  # nothing written
    # A choice in Settings wins over the browser's.
    _choose(person, BERLIN)
    assert _shown(granted["at"], BERLIN) in client.get("/ledger").get_data(as_text=True)


def test_a_zone_the_browser_sends_that_is_no_zone_is_ignored(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", browser_time_zone="Not/A_Zone")
    granted = all_events(app)[-1]
    assert _shown(granted["at"], "UTC") in client.get("/ledger").get_data(as_text=True)


def test_the_browser_zone_survives_logging_in(auth, client):
    auth.register()
    auth.logout()
    token = csrf_token(client, "/login")
    answer = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "ada@example.org",
            "password": "plum orchard lantern 42",
            "browser_time_zone": BERLIN,
        },
    )
    assert answer.status_code == 302
    assert "the time zone of your browser" in client.get("/settings").get_data(as_text=True)


def test_without_javascript_times_are_utc_and_say_so(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    granted = all_events(app)[-1]
    page = client.get("/ledger").get_data(as_text=True)
    assert _shown(granted["at"], "UTC").endswith(" UTC") and _shown(granted["at"], "UTC") in page
    assert "Times are shown in UTC." in page


def test_a_backdated_decision_shows_its_day_without_an_invented_time(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", decided_on="2026-03-02")
    granted = all_events(app)[-1]
    assert granted["at"] == "2026-03-02T12:00:00Z"
    _choose(person, "Pacific/Auckland")  # UTC+13 in March: noon UTC is already the 3rd there... at 01:00
    for page in (client.get("/ledger"), client.get(f"/ledger/events/{granted['index']}")):
        text = page.get_data(as_text=True)
        assert "Mar 2, 2026" in text
        assert "12:00:00 PM" not in text and "1:00:00 AM" not in text and "Mar 3, 2026" not in text
    platform = client.get(f"/platforms/{platform_id}").get_data(as_text=True)
    assert "12:00:00 PM" not in platform


def test_an_expiry_shows_as_the_day_the_grant_lapsed(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing", decided_on="2026-01-10", expires="2026-02-01")
    person.logout()
    person.login()  # records the expiry
    expired = all_events(app)[-1]
    assert expired["type"] == "use.expired" and expired["at"] == "2026-02-02T00:00:00Z"
    _choose(person, "America/New_York")  # where that midnight UTC is the evening before
    text = client.get(f"/ledger/events/{expired['index']}").get_data(as_text=True)
    assert "Feb 2, 2026" in text and "Feb 1, 2026, 7:00" not in text


def test_what_stood_on_a_day_ends_that_day_in_the_persons_zone(person, client, app):
    platform_id = add_platform(person)
    add_use(person, platform_id, "Marketing")
    granted = all_events(app)[-1]
    _choose(person, "Pacific/Kiritimati")  # UTC+14
    at = datetime.fromisoformat(granted["at"].replace("Z", "+00:00"))
    local_day = at.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    text = client.get(f"/ledger/as-of?date={local_day.isoformat()}").get_data(as_text=True)
    assert "Nothing was recorded yet on that date." not in text and "Marketing" in text


def test_made_from_a_day_needs_noon_or_midnight_and_a_later_record():
    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert times.made_from_a_day(noon, datetime(2026, 3, 5, 9, 30, tzinfo=UTC))
    assert times.made_from_a_day("2026-02-02T00:00:00Z", "2026-02-03T08:00:00Z")
    assert not times.made_from_a_day(noon, noon)  # decided now, at noon exactly
    assert not times.made_from_a_day("2026-03-02T12:00:01Z", "2026-03-05T09:30:00Z")


def test_day_of_a_moment_is_in_the_persons_zone(app):
    with app.test_request_context():
        from flask import session

        session[times.SESSION_KEY] = "America/Los_Angeles"
        assert times.select_time_zone() == "America/Los_Angeles"
        assert times.day_of("2026-05-01T03:00:00Z") == date(2026, 4, 30)
        assert times.day_of("2026-05-01T12:00:00Z") == date(2026, 5, 1)  # made from a day
        assert times.isodate("2026-05-01T03:00:00Z") == "Apr 30, 2026"
        assert times.isodate("2026-05-01") == "May 1, 2026"
        assert times.isodate(None) == ""


def test_the_settings_menu_offers_only_zones_both_libraries_know():
    zones = times.menu_zones()
    assert "Europe/Berlin" in zones and "UTC" in zones and "US/Eastern" not in zones
    assert all(times.valid_zone(z) == z for z in zones)
    assert times.valid_zone("Europe/Atlantis") is None and times.valid_zone(None) is None


def test_the_time_zone_column_takes_only_ciphertext(person, app):
    with app.app_context():
        user = db.session().scalar(sa.select(User))
        user.time_zone = b"Europe/Berlin"
        with pytest.raises(sa.exc.StatementError) as raised:
            db.session().flush()
        assert isinstance(raised.value.orig, ConsentError)
        db.session().rollback()


def test_the_migration_adds_the_sealed_time_zone_column(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine, "b7d41e2a9c05")
    assert "time_zone" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
    migrate.upgrade(engine)
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("users")}
    assert columns["time_zone"]["nullable"] and isinstance(columns["time_zone"]["type"], sa.LargeBinary)
    migrate.downgrade(engine, "b7d41e2a9c05")
    assert "time_zone" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
    engine.dispose()


def test_a_sealed_zone_moved_from_another_account_is_ignored(person, client, app):
    _choose(person, "Asia/Tokyo")
    grace = Auth(app.test_client())
    grace.register(email="grace@example.org")
    _choose(grace, "America/New_York")
    with app.app_context():
        s = db.session()
        users = s.scalars(sa.select(User)).all()
        ada, other = sorted(users, key=lambda u: u.created_at)
        ada.time_zone = other.time_zone  # an operator copies Grace's sealed choice into Ada's row
        s.commit()
    page = client.get("/settings")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "America/New_York" not in text.split('id="time-zone-now"')[1].split("</p>")[0]
    assert "Times are shown in UTC" in text
